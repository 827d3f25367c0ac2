"""Rule rag_retrieve: one index's retrieval quality and latency (see climatune.rag.retrieve)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.rag import retrieve

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    i, p = snakemake.input, snakemake.params
    retrieve.run(i.questions, i.chunks, i.get("embeddings"), list(i.index), snakemake.wildcards.index, snakemake.output[0],
                 dict(p.params), p.embedder, p.k, p.min_seconds, p.faiss_threads or snakemake.threads, dict(p.rerank),
                 lm_dir=i.get("lm"))
