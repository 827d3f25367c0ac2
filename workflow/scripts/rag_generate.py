"""Rule rag_generate: one system answers every question, timed (see climatune.rag.generate)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.rag import generate

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    i, g = snakemake.input, snakemake.params.g
    generate.run(i.questions, snakemake.wildcards.system, i.model, snakemake.output.answers, i.get("chunks"),
                 i.get("index"), g["index"], dict(snakemake.params.index_params), snakemake.params.embedder,
                 g["context_chunks"], g["max_new_tokens"], g["max_prompt_tokens"], dict(snakemake.params.rerank))
