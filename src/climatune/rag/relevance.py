"""Retrieval relevance at two levels, per task (`cloze`, `question`) and over all questions (`all`).

Document level, over every question with a known source document (`source_doc`):
  doc_recall@k   source-document hit rate at k: the share of questions whose source document is the
                 document of at least one of the top k retrieved chunks. Each question has exactly one
                 relevant document, so this is recall@k counted in documents (equal to success@k).
  doc_mrr@10     the mean of 1 / rank of the first chunk from the source document among the top 10
                 (0 where there is none).
  page_recall@5  source-page hit rate at 5, over the questions that name a page (`source_page`,
                 `page`, or a source "doc#page") when the chunks carry pages: a hit when one of the
                 top 5 chunks comes from the source document and spans that page (`page`..`page_end`).

Chunk level, only where chunk relevance is defined: automatic questions (origin "auto") whose
`relevant` list names the chunks holding the span they were cut from: recall@1/5/10, MRR@10 and
nDCG@10 as BEIR defines them (binary relevance; metrics.py). A question whose source is a whole
document or page has no such list (marking all its chunks relevant made recall@5 = 5 / chunks in the
document: a measure of document length); for it chunk-level metrics read n/a.

A question's task is its `task` field, else `cloze` for automatic and `question` for user-file
questions. A metric over no question is None with a note saying why, never NaN.
"""

from __future__ import annotations

import numpy as np

from . import metrics as Mx

TASKS = ("cloze", "question")
DOC_KEYS = ("doc_recall@1", "doc_recall@5", "doc_recall@10", "doc_mrr@10")
PAGE_KEYS = ("page_recall@5",)
CHUNK_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
METRIC_KEYS = (*DOC_KEYS, *PAGE_KEYS, *CHUNK_KEYS)
NO_QUESTION = "n/a (0 questions)"
NOTES = {"doc": "n/a (no question with a known source document)",
         "page": "n/a (no question names a page, or the chunks carry no pages)",
         "chunk": "n/a (chunk relevance is defined only for automatic questions cut from a known span; "
                  "these have a whole-document or page source)"}


def task_of(q: dict) -> str:
    """The question's task: its `task`, else cloze (automatic) or question (user file)."""
    return q.get("task") or ("cloze" if q.get("origin", "auto") == "auto" else "question")


def source_page(q: dict) -> int | None:
    """The page a question names (`source_page`, `page`, or the "#<page>" of its source), or None."""
    for v in (q.get("source_page"), q.get("page"), str(q.get("source") or "").rpartition("#")[2] or None):
        if isinstance(v, int) or (isinstance(v, str) and v.isdigit()):
            return int(v)
    return None


def chunk_judged(q: dict) -> bool:
    """Whether chunk-level relevance is defined for `q` (see the module's docstring)."""
    return q.get("origin", "auto") == "auto" and bool(q.get("relevant"))


def doc_recall_at_k(ranked: list[int], chunk_doc: dict[int, str], doc: str, k: int) -> float:
    """1.0 if one of the first k chunks of `ranked` comes from `doc`, else 0.0."""
    return float(any(chunk_doc.get(c) == doc for c in ranked[:k]))


def doc_mrr_at_k(ranked: list[int], chunk_doc: dict[int, str], doc: str, k: int = 10) -> float:
    """1 / rank of the first chunk from `doc` among the first k (0.0 if none)."""
    for i, c in enumerate(ranked[:k]):
        if chunk_doc.get(c) == doc:
            return 1.0 / (i + 1)
    return 0.0


def page_recall_at_k(ranked: list[int], chunks: dict[int, dict], doc: str, page: int, k: int) -> float:
    """1.0 if one of the first k chunks comes from `doc` and spans `page` (its `page`..`page_end`)."""
    def spans(c: dict | None) -> bool:
        return c is not None and c["doc"] == doc and c["page"] <= page <= c.get("page_end", c["page"])

    return float(any(spans(chunks.get(c)) for c in ranked[:k]))


def _one(ranked: list[int], q: dict, chunks: dict[int, dict], chunk_doc: dict[int, str], paged: bool) -> dict:
    """One question's metrics at each level where they are defined (None where not)."""
    doc, page = q.get("source_doc"), source_page(q)
    row = {"task": task_of(q), "doc": None, "page": None, "chunk": None}
    if doc:
        row["doc"] = {f"doc_recall@{k}": doc_recall_at_k(ranked, chunk_doc, doc, k) for k in (1, 5, 10)}
        row["doc"]["doc_mrr@10"] = doc_mrr_at_k(ranked, chunk_doc, doc)
        if page is not None and paged:
            row["page"] = {"page_recall@5": page_recall_at_k(ranked, chunks, doc, page, 5)}
    if chunk_judged(q):
        rel = set(q["relevant"])
        row["chunk"] = {**{f"recall@{k}": Mx.recall_at_k(ranked, rel, k) for k in (1, 5, 10)},
                        "mrr@10": Mx.mrr_at_k(ranked, rel), "ndcg@10": Mx.ndcg_at_k(ranked, rel)}
    return row


def block(rows: list[dict]) -> dict:
    """Mean metrics over `rows` (from `_one`): question counts per level, each metric, and a note per
    level where it is undefined."""
    out: dict = {"questions": len(rows)}
    for level, keys in (("doc", DOC_KEYS), ("page", PAGE_KEYS), ("chunk", CHUNK_KEYS)):
        scored = [r[level] for r in rows if r[level] is not None]
        out[f"{level}_questions"] = len(scored)
        for key in keys:
            out[key] = round(float(np.mean([s[key] for s in scored])), 4) if scored else None
        if not scored:
            out[f"{level}_note"] = NO_QUESTION if not rows else NOTES[level]
    return out


def score(rankings, qs: list[dict], chunks: list[dict]) -> dict:
    """{task: block} for cloze and question (also any other task the questions name) and `all`.
    `rankings`: each question's ranked chunk ids, a list in the order of `qs` or a dict by question id."""
    ranked = [rankings[q["id"]] for q in qs] if isinstance(rankings, dict) else list(rankings)
    by_id = {c["id"]: c for c in chunks}
    chunk_doc = {c["id"]: c["doc"] for c in chunks}
    paged = bool(chunks) and all("page" in c for c in chunks)
    rows = [_one(r, q, by_id, chunk_doc, paged) for r, q in zip(ranked, qs)]
    tasks = [*TASKS, *sorted({r["task"] for r in rows} - set(TASKS))]
    out = {t: block([r for r in rows if r["task"] == t]) for t in tasks}
    out["all"] = block(rows)
    return out
