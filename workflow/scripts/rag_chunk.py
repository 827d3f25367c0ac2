"""Rule rag_chunk: documents -> token chunks with provenance (see climatune.rag.chunk)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.rag import chunk

with rule_log(snakemake.log[0]):
    p = snakemake.params
    chunk.run(snakemake.input.split, Path(snakemake.input.texts[0]).parent, snakemake.output[0], p.embedder,
              p.chunk_tokens, p.overlap)
