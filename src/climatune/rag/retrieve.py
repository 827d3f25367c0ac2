"""rag_retrieve: one index's retrieval quality and query latency on the question set.

Relevance (recall@1/5/10, MRR@10, nDCG@10 against each question's source chunks) is reported apart
from ANN recall@10 (agreement with exact search, which says nothing about relevance). Latency is
search time per query, single-query and batched, after an untimed warm-up search, repeated until
`min_seconds` have passed (as FAISS's benchmarks do: `timed` below, which bench/rag_bench.py uses too)
so that tiny indexes give stable numbers; the FAISS thread count is recorded. Query embedding time is
measured separately: it is the same for every index.

Run alone: python -m climatune.rag.retrieve questions.jsonl chunks.jsonl embeddings.npy hnsw.faiss --type hnsw --out hnsw.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

from .._settings import default
from .._util import environment, setup_logging, write_json
from . import index as I
from . import metrics as Mx
from .chunk import read_chunks
from .embed import embed_texts, load_embedder
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
    """Retrieval quality and latency of one index; arguments left None come from config.yaml's `rag:`."""
    embedder = default("rag", "embedder") if embedder is None else embedder
    k = default("rag", "top_k") if k is None else k
    min_seconds = default("rag", "min_seconds") if min_seconds is None else min_seconds
    threads = default("rag", "threads") if threads is None else threads
    import faiss

    if threads:
        faiss.omp_set_num_threads(threads)
    qs = read_questions(questions_jsonl)
    chunks = read_chunks(chunks_jsonl)
    texts = {c["id"]: c["text"] for c in chunks}
    model = load_embedder(embedder)
    t0 = time.perf_counter()
    qv = embed_texts(model, [q["question"] for q in qs])
    embed_s = []
    for q in qs[: min(len(qs), 32)]:  # single-query embedding latency, as a request sees it
        t = time.perf_counter()
        embed_texts(model, [q["question"]])
        embed_s.append(time.perf_counter() - t)
    index = I.load(index_path, kind, params or {})
    _, approx = index.search(qv, k)
    exact = np.argsort(-(qv @ np.load(embeddings_npy).T), axis=1, kind="stable")[:, :k]
    judged = [i for i, q in enumerate(qs) if q["relevant"]]
    rankings = [approx[i].tolist() for i in range(len(qs))]
    res = {"index": kind, "params": {**I.DEFAULTS[kind], **(params or {})}, "vectors": int(index.ntotal), "k": k,
           "questions": len(qs), "judged_questions": len(judged), "faiss_threads": faiss.omp_get_max_threads(),
           **relevance(rankings, qs, judged),
           "ann_recall@10": round(float(np.mean([Mx.ann_recall_at_k(approx[i].tolist(), exact[i].tolist(), 10)
                                                  for i in range(len(qs))])), 4) if qs else None}
    lat = search_latency(index, qv, k, min_seconds)
    res.update({p: lat[p] for p in ("p50_ms", "p95_ms", "mean_ms")})
    res["batched_ms_per_query"] = round(lat["batched_ms_per_query"], 4)
    res["query_embedding"] = Mx.percentiles_ms(embed_s)
    res["rankings"] = {q["id"]: rankings[i] for i, q in enumerate(qs)}
    if rerank_cfg and rerank_cfg.get("enabled"):
        n = rerank_cfg.get("candidates", 20)  # searched deeper than k where asked: the reranker sees them all
        cand = approx[judged] if n <= k or not judged else index.search(qv[judged], n)[1]
        res["reranked"] = _rerank([qs[i] for i in judged], cand, k, texts, rerank_cfg, lm_dir)
    res["environment"] = environment()
    res["seconds"] = round(time.perf_counter() - t0, 2)
    write_json(out_json, res)
    log.info("%s: recall@10 %s, nDCG@10 %s, MRR@10 %s, ANN recall@10 %s, search p50 %.3f ms (%d threads), "
             "batched %.4f ms/query", kind, *(_fmt(res[m]) for m in ("recall@10", "ndcg@10", "mrr@10", "ann_recall@10")),
             res["p50_ms"], res["faiss_threads"], res["batched_ms_per_query"])
    return res


NO_SOURCE = "n/a (0 questions with a known source)"
RELEVANCE_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def relevance(rankings: list[list[int]], qs: list[dict], judged: list[int]) -> dict:
    """recall@1/5/10, MRR@10, nDCG@10 over the questions with a known source; with none, each is None
    and `relevance_note` says why (JSON has no NaN, and a table must not print it)."""
    if not judged:
        return {**dict.fromkeys(RELEVANCE_KEYS), "relevance_note": NO_SOURCE}
    return Mx.retrieval_summary([rankings[i] for i in judged], [set(qs[i]["relevant"]) for i in judged])


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _rerank(qs: list[dict], candidates: np.ndarray, k: int, texts: dict, cfg: dict, lm_dir) -> dict:
    """Rerank each judged question's first-stage `candidates` (searched `rerank.candidates` deep, at
    least k) and score the top k of the new order."""
    from .rerank import build_reranker, rerank

    rr = build_reranker(cfg.get("method", "lm"), cfg.get("model"), lm_dir) if qs else None
    n = cfg.get("candidates", 20)
    out, times = [], []
    for q, cand in zip(qs, candidates):
        t0 = time.perf_counter()
        out.append(rerank(rr, q["question"], cand[:n].tolist(), texts)[:k])
        times.append(time.perf_counter() - t0)
    res = relevance(out, qs, list(range(len(qs))))
    lat = Mx.percentiles_ms(times) if times else {"p50_ms": None, "p95_ms": None}
    res.update({"method": cfg.get("method", "lm"), "candidates": n, "rerank_p50_ms": lat["p50_ms"],
                "rerank_p95_ms": lat["p95_ms"]})
    log.info("reranked (%s, %d candidates, top %d kept): recall@10 %s, nDCG@10 %s, rerank p50 %s ms", res["method"],
             n, k, _fmt(res["recall@10"]), _fmt(res["ndcg@10"]), _fmt(res["rerank_p50_ms"]))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.retrieve", description=__doc__.splitlines()[0])
    for a_ in ("questions", "chunks", "embeddings", "index"):
        ap.add_argument(a_)
    ap.add_argument("--type", required=True, choices=I.TYPES)
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="{}")
    ap.add_argument("--min-seconds", type=float, help="default: config.yaml rag.min_seconds")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.questions, a.chunks, a.embeddings, a.index, a.type, a.out, json.loads(a.params), min_seconds=a.min_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
