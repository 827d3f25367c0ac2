"""rag_retrieve: one index's retrieval quality and query latency on the question set.

Every index kind (flat, hnsw, ivfpq, bm25, hybrid) is searched through search.Searcher, the search
rag_generate uses. Relevance is reported per task (`cloze`, `question`) and over `all` questions at two
levels (relevance.py): document (doc_recall@1/5/10, doc_mrr@10, page_recall@5: the source document or
page found) and chunk (recall@1/5/10, MRR@10, nDCG@10), the latter only where chunk relevance is
defined. ANN recall@10 (agreement with exact search, which says nothing about relevance) is reported
for the FAISS indexes only: BM25 and hybrid approximate no exact search, so theirs is null with a note.
Latency is search time per query, single-query and batched, after an untimed warm-up search, repeated
until `min_seconds` have passed (as FAISS's benchmarks do: `timed` below, which bench/rag_bench.py uses
too) so that tiny indexes give stable numbers; the FAISS thread count is recorded. A timed search
starts from the question's embedding where it needs one (FAISS, hybrid) and from its text (BM25
tokenises inside the timed search); query embedding time is measured separately, as it is the same for
every dense index.

Run alone: python -m climatune.rag.retrieve questions.jsonl chunks.jsonl hnsw --type hnsw --embeddings embeddings.npy --out hnsw.json
           python -m climatune.rag.retrieve questions.jsonl chunks.jsonl bm25 flat --type hybrid --out hybrid.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

from .._settings import default
from .._util import environment, setup_logging, write_json
from . import metrics as Mx
from . import relevance as R
from . import search as S
from .chunk import read_chunks
from .questions import read_questions

log = logging.getLogger(__name__)


def timed(fn, warmup: int = 1, min_seconds: float = 1.0, round_calls: int = 1, min_runs: int = 1) -> dict:
    """Time `fn(i)` the way FAISS's benchmarks do (bench_all_ivf's --min_test_duration): `warmup` untimed
    calls, then rounds of `round_calls` timed calls (i = 0 .. round_calls-1) until at least `min_seconds`
    have passed and `min_runs` calls were made; only whole rounds are run, so every i counts alike.

    Returns runs, total_s (wall time of the timed calls), per_call_s (each call's seconds) and
    p50_ms / p95_ms / mean_ms over the calls. bench/ uses it too (bench/_common.py)."""
    if round_calls < 1:
        raise ValueError("timed: round_calls must be at least 1")
    for i in range(warmup):
        fn(i % round_calls)
    per_call = []
    t_start = time.perf_counter()
    while True:
        for i in range(round_calls):
            t0 = time.perf_counter()
            fn(i)
            per_call.append(time.perf_counter() - t0)
        total = time.perf_counter() - t_start
        if total >= min_seconds and len(per_call) >= min_runs:
            break
    p = Mx.percentiles_ms(per_call)
    return {"runs": len(per_call), "total_s": total, "per_call_s": per_call,
            "p50_ms": p["p50_ms"], "p95_ms": p["p95_ms"], "mean_ms": p["mean_ms"]}


def search_latency(index, q: np.ndarray, k: int, min_seconds: float, max_queries: int = 0,
                   warmup: int = 1) -> dict:
    """Search time of `index` for queries `q` (the rag_retrieve stage's and bench/rag_bench.py's numbers):
    single-query searches over (the first `max_queries` of) `q`, then batched searches of all of `q`, each
    timed with `timed` for at least `min_seconds`. Returns p50_ms / p95_ms / mean_ms of one single-query
    search, single_runs (how many were timed) and batched_ms_per_query (unrounded)."""
    nq = min(len(q), max_queries) if max_queries else len(q)
    single = timed(lambda i: index.search(q[i : i + 1], k), warmup, min_seconds, round_calls=nq)
    batched = timed(lambda i: index.search(q, k), warmup, min_seconds)
    return {"p50_ms": single["p50_ms"], "p95_ms": single["p95_ms"], "mean_ms": single["mean_ms"],
            "single_runs": single["runs"],
            "batched_ms_per_query": batched["total_s"] / (batched["runs"] * len(q)) * 1e3}


def run(questions_jsonl, chunks_jsonl, embeddings_npy, index_path, kind: str, out_json, params: dict | None = None,
        embedder: str | None = None, k: int | None = None, min_seconds: float | None = None,
        threads: int | None = None, rerank_cfg: dict | None = None, lm_dir=None) -> dict:
    """Retrieval quality and latency of one index kind; arguments left None come from config.yaml's `rag:`.
    `index_path`: what search.Searcher takes (for hybrid the bm25 folder, then the dense one);
    `embeddings_npy`: the chunk embeddings, for the ANN recall of FAISS indexes (None otherwise)."""
    embedder = default("rag", "embedder") if embedder is None else embedder
    k = default("rag", "top_k") if k is None else k
    min_seconds = default("rag", "min_seconds") if min_seconds is None else min_seconds
    threads = default("rag", "threads") if threads is None else threads
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    qs, chunks = read_questions(questions_jsonl), read_chunks(chunks_jsonl)
    searcher = S.Searcher(kind, index_path, params, embedder)
    t0 = time.perf_counter()
    texts = [q["question"] for q in qs]
    qv = searcher.embed(texts)
    rankings = searcher.search(texts, k, qv)
    res = {"index": kind, "params": searcher.params, "chunks": searcher.ntotal, "k": k, "questions": len(qs),
           "judged_questions": sum(R.chunk_judged(q) for q in qs),
           "faiss_threads": faiss.omp_get_max_threads() if searcher.needs_vectors else None,
           **R.score(rankings, qs, chunks), **ann_recall(searcher, qv, rankings, embeddings_npy, k)}
    lat = latency(searcher, texts, qv, k, min_seconds)
    res.update({p: lat[p] for p in ("p50_ms", "p95_ms", "mean_ms")})
    res["batched_ms_per_query"] = round(lat["batched_ms_per_query"], 4)
    res["query_embedding"] = embedding_latency(searcher, texts)
    res["rankings"] = {q["id"]: rankings[i] for i, q in enumerate(qs)}
    if rerank_cfg and rerank_cfg.get("enabled"):
        n = rerank_cfg.get("candidates", 20)  # searched deeper than k where asked: the reranker sees them all
        cand = rankings if n <= k else searcher.search(texts, n, qv)
        res["reranked"] = _rerank(qs, cand, k, chunks, rerank_cfg, lm_dir)
    res["environment"] = environment()
    res["seconds"] = round(time.perf_counter() - t0, 2)
    write_json(out_json, res)
    a, f = res["all"], _fmt
    log.info("%s: doc_recall@5 %s, doc_mrr@10 %s, chunk recall@10 %s, nDCG@10 %s, ANN recall@10 %s, search p50 "
             "%.3f ms (%s threads), batched %.4f ms/query", kind, f(a["doc_recall@5"]), f(a["doc_mrr@10"]),
             f(a["recall@10"]), f(a["ndcg@10"]), f(res["ann_recall@10"]), res["p50_ms"], res["faiss_threads"],
             res["batched_ms_per_query"])
    return res


ANN_NOTE = "n/a (ANN recall compares an approximate dense search with exact search; {} approximates none)"


def ann_recall(searcher: S.Searcher, qv, rankings: list[list[int]], embeddings_npy, k: int) -> dict:
    """ANN recall@10 of a FAISS index against exact search of `embeddings_npy`; None with a note for
    bm25 and hybrid (or where no embeddings are given)."""
    if searcher.kind not in S.DENSE or embeddings_npy is None or not rankings:
        return {"ann_recall@10": None, "ann_note": ANN_NOTE.format(searcher.kind)
                if searcher.kind not in S.DENSE else "n/a (no embeddings or no questions)"}
    exact = np.argsort(-(qv @ np.load(embeddings_npy).T), axis=1, kind="stable")[:, :k]
    return {"ann_recall@10": round(float(np.mean([Mx.ann_recall_at_k(r, e.tolist(), 10)
                                                  for r, e in zip(rankings, exact)])), 4)}


def latency(searcher: S.Searcher, texts: list[str], qv, k: int, min_seconds: float) -> dict:
    """search_latency of the searcher: a FAISS index is timed directly on the query embeddings; bm25 and
    hybrid through search.Queries (the question's text, and its embedding for hybrid)."""
    if searcher.kind in S.DENSE:
        return search_latency(searcher.dense, qv, k, min_seconds)
    view = S.Queries(searcher, texts, qv)
    return search_latency(view, view.pairs, k, min_seconds)


def embedding_latency(searcher: S.Searcher, texts: list[str]) -> dict | None:
    """Single-question embedding time over (up to 32) questions, as a request sees it; None for bm25."""
    if not searcher.needs_vectors or not texts:
        return None
    searcher.embed(texts[:1])  # warm-up, untimed
    embed_s = []
    for t in texts[:32]:
        t0 = time.perf_counter()
        searcher.embed([t])
        embed_s.append(time.perf_counter() - t0)
    return Mx.percentiles_ms(embed_s)


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _rerank(qs: list[dict], candidates: list[list[int]], k: int, chunks: list[dict], cfg: dict, lm_dir) -> dict:
    """Rerank each question's first-stage `candidates` (searched `rerank.candidates` deep, at least k)
    and score the top k of the new order as the first stage is scored."""
    from .rerank import build_reranker, rerank

    texts = {c["id"]: c["text"] for c in chunks}
    rr = build_reranker(cfg.get("method", "lm"), cfg.get("model"), lm_dir) if qs else None
    n = cfg.get("candidates", 20)
    out, times = [], []
    for q, cand in zip(qs, candidates):
        t0 = time.perf_counter()
        out.append(rerank(rr, q["question"], cand[:n], texts)[:k])
        times.append(time.perf_counter() - t0)
    res = R.score(out, qs, chunks)
    lat = Mx.percentiles_ms(times) if times else {"p50_ms": None, "p95_ms": None}
    res.update({"method": cfg.get("method", "lm"), "candidates": n, "rerank_p50_ms": lat["p50_ms"],
                "rerank_p95_ms": lat["p95_ms"]})
    log.info("reranked (%s, %d candidates, top %d kept): doc_recall@5 %s, chunk recall@10 %s, rerank p50 %s ms",
             res["method"], n, k, _fmt(res["all"]["doc_recall@5"]), _fmt(res["all"]["recall@10"]),
             _fmt(res["rerank_p50_ms"]))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.retrieve", description=__doc__.splitlines()[0])
    ap.add_argument("questions")
    ap.add_argument("chunks")
    ap.add_argument("index", nargs="+", help="the index folder(s) or .faiss file; hybrid: bm25's, then the dense one")
    ap.add_argument("--type", required=True, choices=S.KINDS)
    ap.add_argument("--embeddings", help="embeddings.npy: ANN recall of a FAISS index against exact search")
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="{}")
    ap.add_argument("--min-seconds", type=float, help="default: config.yaml rag.min_seconds")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.questions, a.chunks, a.embeddings, a.index, a.type, a.out, json.loads(a.params) or None,
        min_seconds=a.min_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
