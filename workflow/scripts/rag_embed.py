"""Rule rag_embed: chunks -> normalised embeddings (see climatune.rag.embed)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.rag import embed

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    embed.run(snakemake.input[0], snakemake.output.vectors, snakemake.params.embedder, snakemake.params.batch)
