"""One search for every index kind: question texts in, ranked chunk ids out.

  flat | hnsw | ivfpq   FAISS search of the question's embedding (index.py)
  bm25                  lexical search of the question's words (bm25.py)
  hybrid                reciprocal-rank fusion (RRF) of the bm25 ranking and the ranking of a dense
                        index (rag.hybrid.dense): score(chunk) = sum over the two lists of
                        1 / (rrf_k + rank), rank counted from 1, each list `candidates` deep
                        (Cormack, Clarke & Buettcher 2009, whose rrf_k = 60 is the usual constant)

rag_retrieve measures every kind through `Searcher`, and the *_rag systems of rag_generate retrieve
through it, so what is measured is what answers are built on:

    s = Searcher("hybrid", ["results/rag/index/bm25", "results/rag/index/flat"])
    s.search(["How fast does the sea rise?"], k=5)   # -> [[12, 40, 3, 7, 19]]

Run alone: python -m climatune.rag.search hybrid results/rag/index/bm25 results/rag/index/flat --query "sea level"
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence

import numpy as np

from .._settings import default, default_section
from .._util import UserError, setup_logging
from . import index as I

log = logging.getLogger(__name__)

DENSE = I.TYPES
KINDS = (*I.BUILT, "hybrid")  # everything rag.indexes may name


class SearchError(UserError):
    """A search kind or its index files that cannot work together."""


def rrf(rankings: Sequence[Sequence[int]], k: float = 60) -> list[int]:
    """Reciprocal-rank fusion of several rankings (best first): every chunk scores the sum over the
    rankings it appears in of 1 / (k + rank), rank counted from 1; ties go to the chunk with the better
    single rank, then the smaller id. Returns every chunk of every ranking, best first."""
    score: dict[int, float] = {}
    best: dict[int, int] = {}
    for ranking in rankings:
        for rank, c in enumerate(ranking, 1):
            score[c] = score.get(c, 0.0) + 1.0 / (k + rank)
            best[c] = min(best.get(c, rank), rank)
    return sorted(score, key=lambda c: (-score[c], best[c], c))


def hybrid_params(params: dict | None) -> dict:
    """config.yaml's rag.hybrid with `params` on top; `dense_params` (the dense index's own settings,
    which rag.<dense> holds) default to config.yaml's too."""
    p = {**default("rag", "hybrid"), **(params or {})}
    unknown = sorted(set(p) - {"dense", "rrf_k", "candidates", "dense_params"})
    if unknown or p["dense"] not in DENSE or p["rrf_k"] < 0 or p["candidates"] < 1:
        raise SearchError(f"rag.hybrid: dense must be one of {', '.join(DENSE)}, rrf_k >= 0, candidates >= 1 "
                          f"(known keys: dense, rrf_k, candidates); got {params}")
    if p.get("dense_params") is None:
        p["dense_params"] = own_params(p["dense"], None)
    return p


def own_params(kind: str, params: dict | None) -> dict:
    """`params`, or where None config.yaml's rag.<kind> (flat has no settings)."""
    return dict(params) if params is not None else default_section("rag").get(kind, {})


def parts(kind: str, params: dict | None = None) -> list[str]:
    """The index types `kind` reads, in the order Searcher takes their paths: hybrid is bm25, then its
    dense index."""
    if kind not in KINDS:
        raise SearchError(f"unknown index kind '{kind}'; known: {', '.join(KINDS)}")
    return ["bm25", hybrid_params(params)["dense"]] if kind == "hybrid" else [kind]


class Searcher:
    """Any index kind behind one call: `search(texts, k)` -> for each text its top k chunk ids, best first
    (fewer where the index returns fewer: BM25 leaves out chunks without a shared term).

    `paths`: the index (an index folder or .faiss file) of `kind`, or the list parts(kind) names (for
    hybrid: the bm25 folder, then the dense one); an entry may also be an index already loaded (a FAISS
    index, a bm25.BM25Index), as bench/rag_bench.py passes them. `params`: the kind's settings (config.yaml's
    rag.<kind>; None: config.yaml's). `embedder`: what embeds the questions of dense and hybrid kinds."""

    def __init__(self, kind: str, paths, params: dict | None = None, embedder: str | None = None):
        names = parts(kind, params)
        paths = list(paths) if isinstance(paths, (list, tuple)) else [paths]
        if len(paths) != len(names):
            raise SearchError(f"index kind '{kind}' reads {len(names)} index(es) ({', '.join(names)}), "
                              f"got {len(paths)} path(s): {paths}")
        self.kind, self.params = kind, hybrid_params(params) if kind == "hybrid" else own_params(kind, params)
        self.bm25 = self.dense = self.model = None
        for name, path in zip(names, paths):
            loaded = not isinstance(path, (str, os.PathLike))
            if name == "bm25":
                from .bm25 import BM25Index

                self.bm25 = path if loaded else BM25Index(path)
            else:
                self.dense = path if loaded else I.load(path, name, self.params.get("dense_params", self.params))
        if self.dense is not None:
            from .embed import load_embedder

            self.model = load_embedder(default("rag", "embedder") if embedder is None else embedder)
        self.ntotal = int(self.dense.ntotal if self.dense is not None else self.bm25.ntotal)

    @property
    def needs_vectors(self) -> bool:
        """Whether a search uses the question's embedding (dense and hybrid kinds)."""
        return self.dense is not None

    def embed(self, texts: list[str]) -> np.ndarray | None:
        """The questions' embeddings (what `search` would compute), or None for bm25."""
        from .embed import embed_texts

        return embed_texts(self.model, list(texts)) if self.needs_vectors else None

    def search(self, texts: list[str], k: int, vectors: np.ndarray | None = None) -> list[list[int]]:
        """Top k chunk ids of each text; `vectors`: their embeddings if already computed (embed)."""
        if self.needs_vectors and vectors is None:
            vectors = self.embed(texts)
        if self.kind != "hybrid":
            return self._dense(vectors, k) if self.dense is not None else self.bm25.search(texts, k)
        depth = max(k, self.params["candidates"])
        lexical, dense = self.bm25.search(texts, depth), self._dense(vectors, depth)
        return [rrf([a, b], self.params["rrf_k"])[:k] for a, b in zip(lexical, dense)]

    def _dense(self, vectors: np.ndarray, k: int) -> list[list[int]]:
        _, ids = self.dense.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, self.ntotal))
        return [[int(i) for i in row if i >= 0] for row in ids]


class Queries:
    """A searcher seen the way search latency is timed (retrieve.search_latency): `search(q, k)` over a
    slice of `pairs`, the (text, embedding or None) of each question, so that a timed BM25 or hybrid
    search includes everything but the question's embedding, like a timed FAISS search."""

    def __init__(self, searcher: Searcher, texts: list[str], vectors: np.ndarray | None):
        self.searcher = searcher
        self.pairs = list(zip(texts, vectors if vectors is not None else [None] * len(texts)))

    def search(self, pairs: list, k: int) -> list[list[int]]:
        texts = [t for t, _ in pairs]
        vectors = np.stack([v for _, v in pairs]) if self.searcher.needs_vectors else None
        return self.searcher.search(texts, k, vectors)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.search", description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=KINDS)
    ap.add_argument("paths", nargs="+", help="the index folder(s): for hybrid the bm25 one, then the dense one")
    ap.add_argument("--query", action="append", required=True, help="a question (repeatable)")
    ap.add_argument("--k", type=int, help="default: config.yaml rag.top_k")
    ap.add_argument("--params", default="{}", help="JSON object over config.yaml's rag.<kind>")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    s = Searcher(a.kind, a.paths if len(a.paths) > 1 else a.paths[0], json.loads(a.params) or None)
    for q, ids in zip(a.query, s.search(a.query, a.k or default("rag", "top_k"))):
        print(f"{q!r}: chunks {ids}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
