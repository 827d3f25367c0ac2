"""Rule rag_index: embeddings -> one FAISS index, or chunk texts -> the BM25 index (see climatune.rag.index)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.rag import index

with rule_log(snakemake.log[0]):
    index.run(snakemake.input[0], snakemake.wildcards.index, snakemake.output.index, dict(snakemake.params.params),
              seed=snakemake.params.seed, threads=snakemake.threads)
