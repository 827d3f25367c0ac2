"""rag_index: one index per type, a folder results/rag/index/<type>/ with its description in <type>.json.

  flat   FAISS exact inner-product search over the chunk embeddings (the reference for ANN recall)
  hnsw   FAISS graph search: M links per node, efConstruction at build, efSearch at query time
  ivfpq  FAISS inverted lists (nlist cells, nprobe visited) of product-quantised codes (m sub-vectors
         of nbits each); optional exact re-ranking of k_factor x k candidates (IndexRefineFlat)
  bm25   the lexical baseline over the chunk texts (bm25s; bm25.py), built from chunks.jsonl

(`hybrid` has no index of its own: it fuses bm25 and a dense index at search time; search.py.)
Embeddings are L2-normalised, so inner product is cosine similarity. Parameters are checked before
any work with a message naming the key: IVF-PQ needs enough training vectors for its k-means. A FAISS
index is written to <out>/index.faiss when `out` is a folder name, or to `out` itself if it ends in .faiss.

Run alone: python -m climatune.rag.index embeddings.npy --type hnsw --out hnsw --params '{"M": 32}'
           python -m climatune.rag.index chunks.jsonl --type bm25 --out bm25
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from .._util import UserError, setup_logging, write_json

log = logging.getLogger(__name__)

TYPES = ("flat", "hnsw", "ivfpq")  # the FAISS (dense) ones
BUILT = (*TYPES, "bm25")  # every type this stage builds
FAISS_FILE = "index.faiss"  # inside an index folder
DEFAULTS = {"flat": {}, "hnsw": {"M": 32, "ef_construction": 40, "ef_search": 64},
            "ivfpq": {"nlist": 256, "m": 48, "nbits": 8, "nprobe": 16, "refine_k_factor": 0}}
MIN_POINTS_PER_CENTROID = 39  # FAISS warns below this many training points per centroid


class IndexParamError(UserError):
    """Index parameters that cannot work for these vectors."""


def divisors(n: int) -> list[int]:
    """The values of IVF-PQ's m that work for dimension n: its divisors."""
    return [m for m in range(1, n + 1) if n % m == 0]


def check_params(kind: str, params: dict, n: int, d: int) -> dict:
    """Merged parameters, or IndexParamError listing every problem at once."""
    if kind not in TYPES:
        raise IndexParamError(f"unknown index type '{kind}'; known: {', '.join(TYPES)}")
    unknown = sorted(set(params) - set(DEFAULTS[kind]))
    p = {**DEFAULTS[kind], **{k: v for k, v in params.items() if k in DEFAULTS[kind]}}
    errors = [f"rag.{kind}: unknown key(s) {unknown}; known: {sorted(DEFAULTS[kind])}"] if unknown else []
    if kind == "hnsw":
        if p["M"] < 2:
            errors.append(f"rag.hnsw.M must be >= 2, got {p['M']}")
        if p["ef_search"] < 1 or p["ef_construction"] < 1:
            errors.append("rag.hnsw.ef_search and ef_construction must be >= 1")
    if kind == "ivfpq":
        if d % p["m"]:
            errors.append(f"rag.ivfpq.m={p['m']} must divide the embedding dimension {d} (values that work: "
                          f"{', '.join(map(str, divisors(d)))})")
        if not 1 <= p["nbits"] <= 16:
            errors.append(f"rag.ivfpq.nbits must be in 1..16, got {p['nbits']}")
        if not 1 <= p["nprobe"] <= p["nlist"]:
            errors.append(f"rag.ivfpq.nprobe must be in 1..nlist={p['nlist']}, got {p['nprobe']}")
        need = max(p["nlist"], 2 ** p["nbits"])
        if n < need:
            errors.append(f"IVF-PQ needs at least max(nlist={p['nlist']}, 2^nbits={2 ** p['nbits']}) = {need} "
                          f"training vectors, but there are {n} chunks: lower rag.ivfpq.nlist / nbits, or index "
                          "more text")
        elif n < MIN_POINTS_PER_CENTROID * p["nlist"]:
            log.warning("IVF-PQ: %d vectors for nlist=%d is under FAISS's advice of %d per cell; cells will be "
                        "poorly trained", n, p["nlist"], MIN_POINTS_PER_CENTROID)
    if errors:
        raise IndexParamError("; ".join(errors))
    return p


def build(vectors: np.ndarray, kind: str, params: dict, seed: int = 1234):
    """A trained, filled FAISS index of `kind`; vectors are float32 [n, d], L2-normalised."""
    return _build(vectors, kind, check_params(kind, params, *vectors.shape), seed)


def _build(vectors: np.ndarray, kind: str, p: dict, seed: int):
    """`build` with parameters already checked and merged (check_params)."""
    import faiss

    d = vectors.shape[1]
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, p["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = p["ef_construction"]
        index.hnsw.efSearch = p["ef_search"]
    else:
        quant = faiss.IndexFlatIP(d)
        ivf = faiss.IndexIVFPQ(quant, d, p["nlist"], p["m"], p["nbits"], faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = seed
        ivf.pq.cp.seed = seed
        ivf.nprobe = p["nprobe"]
        index = ivf
        if p["refine_k_factor"] > 0:
            index = faiss.IndexRefineFlat(ivf)
            index.k_factor = float(p["refine_k_factor"])
        index.train(x)
    index.add(x)
    return index


def set_search_params(index, kind: str, params: dict) -> None:
    """Query-time parameters (efSearch, nprobe) survive neither write_index nor a change of mind."""
    import faiss

    p = {**DEFAULTS[kind], **params}
    if kind == "hnsw":
        faiss.downcast_index(index).hnsw.efSearch = p["ef_search"]
    elif kind == "ivfpq":
        base = faiss.downcast_index(index.base_index) if isinstance(index, faiss.IndexRefine) else index
        faiss.downcast_index(base).nprobe = p["nprobe"]


def index_bytes(index) -> int:
    """Size of the serialised index: what it costs in memory, roughly."""
    import faiss

    return int(faiss.serialize_index(index).size)


def faiss_file(path) -> Path:
    """The FAISS file of an index: `path` itself if it ends in .faiss, else path/index.faiss."""
    path = Path(path)
    return path if path.suffix == ".faiss" else path / FAISS_FILE


def load(path, kind: str, params: dict):
    """A FAISS index (a .faiss file or an index folder) with its query-time parameters set."""
    import faiss

    if kind not in TYPES:
        raise IndexParamError(f"'{kind}' is not a FAISS index ({', '.join(TYPES)}): search every kind through "
                              "climatune.rag.search.Searcher")

    index = faiss.read_index(str(faiss_file(path)))
    set_search_params(index, kind, params)
    return index


def run(source, kind: str, out_index, params: dict | None = None, seed: int = 1234, threads: int = 0):
    """Build the index of `kind` from `source` (embeddings.npy; chunks.jsonl for bm25) into `out_index`
    (a folder, or a .faiss file) and describe it in `out_index` with the suffix .json."""
    if kind == "bm25":
        from . import bm25

        return bm25.run(source, out_index, params)
    import faiss

    embeddings_npy = source
    if threads:
        faiss.omp_set_num_threads(threads)
    x = np.load(embeddings_npy)
    p = check_params(kind, params or {}, *x.shape)
    t0 = time.perf_counter()
    index = _build(x, kind, p, seed)
    dt = time.perf_counter() - t0
    path = faiss_file(out_index)
    path.parent.mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(path))
    size = os.path.getsize(path)
    info = {"type": kind, "params": p, "vectors": int(x.shape[0]),
            "dim": int(x.shape[1]), "build_s": round(dt, 3), "bytes": size, "bytes_per_vector": round(size / len(x), 2)}
    write_json(Path(out_index).with_suffix(".json"), info)
    log.info("%s index: %d vectors in %.2fs, %.1f bytes/vector", kind, len(x), dt, size / len(x))
    return index


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.index", description=__doc__.splitlines()[0])
    ap.add_argument("source", help="embeddings.npy (FAISS types) or chunks.jsonl (bm25)")
    ap.add_argument("--type", required=True, choices=BUILT)
    ap.add_argument("--out", required=True, help="index folder (or a .faiss file); its description: <out>.json")
    ap.add_argument("--params", default="{}", help="JSON object, e.g. '{\"M\": 32, \"ef_search\": 64}'")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.source, a.type, a.out, json.loads(a.params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
