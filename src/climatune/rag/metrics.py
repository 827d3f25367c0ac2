"""Retrieval and answer metrics, as BEIR/MTEB define them (binary relevance), plus ROUGE-L.

Relevance metrics compare a ranking with the set of relevant chunk ids of a question; ANN recall
compares an approximate ranking with the exact one and says nothing about relevance."""

from __future__ import annotations

import math
import re

import numpy as np


def recall_at_k(ranked: list[int], relevant: set[int], k: int) -> float:
    """Share of the relevant chunks found in the top k."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def mrr_at_k(ranked: list[int], relevant: set[int], k: int = 10) -> float:
    for i, c in enumerate(ranked[:k]):
        if c in relevant:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at_k(ranked: list[int], relevant: set[int], k: int = 10) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, c in enumerate(ranked[:k]) if c in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def ann_recall_at_k(approx: list[int], exact: list[int], k: int = 10) -> float:
    """Share of the exact top-k neighbours that the approximate search also returns in its top k."""
    truth = [c for c in exact[:k] if c >= 0]
    return len(set(approx[:k]) & set(truth)) / len(truth) if truth else 0.0


def retrieval_summary(rankings: list[list[int]], relevant: list[set[int]]) -> dict:
    """Mean recall@1/5/10, MRR@10 and nDCG@10 over questions."""
    out = {}
    for k in (1, 5, 10):
        out[f"recall@{k}"] = float(np.mean([recall_at_k(r, rel, k) for r, rel in zip(rankings, relevant)]))
    out["mrr@10"] = float(np.mean([mrr_at_k(r, rel) for r, rel in zip(rankings, relevant)]))
    out["ndcg@10"] = float(np.mean([ndcg_at_k(r, rel) for r, rel in zip(rankings, relevant)]))
    return {k: round(v, 4) for k, v in out.items()}


_TOKEN = re.compile(r"\w+", re.UNICODE)


def _tokens(s: str) -> list[str]:
    return _TOKEN.findall(s.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence)."""
    c, r = _tokens(candidate), _tokens(reference)
    if not c or not r:
        return 0.0
    prev = [0] * (len(r) + 1)
    for a in c:
        cur = [0]
        for j, b in enumerate(r):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, rc = lcs / len(c), lcs / len(r)
    return 2 * p * rc / (p + rc)


def percentiles_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "mean_ms": round(float(ms.mean()), 3), "n": int(len(ms))}
