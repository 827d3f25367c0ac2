"""The retrieval part of rag_benchmark: each index's entry of metrics.json, the comparison tables
(BM25 vs dense vs hybrid side by side, one table per task) and the doc_recall@5 plot."""

from __future__ import annotations

import math

from . import relevance as R

FAMILY = {"bm25": "lexical", "flat": "dense", "hnsw": "dense", "ivfpq": "dense", "hybrid": "hybrid"}
ORDER = ("bm25", "flat", "hnsw", "ivfpq", "hybrid")  # lexical, dense, fused: the comparison reads left to right
SPEED_KEYS = ("ann_recall@10", "ann_note", "p50_ms", "p95_ms", "mean_ms", "batched_ms_per_query", "faiss_threads",
              "chunks", "k", "questions", "judged_questions")
BLOCKS = (*R.TASKS, "all")
OLD = "n/a (not measured: this retrieval JSON predates per-task metrics; rerun rag_retrieve)"
TABLE_KEYS = ("doc_recall@1", "doc_recall@5", "doc_recall@10", "doc_mrr@10", "page_recall@5", "recall@10", "mrr@10",
              "ndcg@10")
HEADER = ("| index | kind | doc R@1 | doc R@5 | doc R@10 | doc MRR@10 | page R@5 | chunk R@10 | chunk MRR@10 | "
          "chunk nDCG@10 |")


def _block(b: dict | None) -> dict:
    """A task's metrics as retrieve.py wrote them, or all None with a note for an old file."""
    if b is None:
        return {"questions": None, **dict.fromkeys(R.METRIC_KEYS),
                **{f"{lv}_note": OLD for lv in ("doc", "page", "chunk")}}
    return dict(b)


def entry(r: dict) -> dict:
    """One index's entry of metrics.json: relevance per task and over all, speed and ANN recall (None
    with `ann_note` where undefined), and the reranked relevance where reranking ran."""
    e = {k: r.get(k) for k in SPEED_KEYS if k in r}
    if e.get("ann_recall@10") is None:
        e["ann_recall@10"] = None
        e.setdefault("ann_note", "n/a (undefined)")
    e["query_embedding_p50_ms"] = (r.get("query_embedding") or {}).get("p50_ms")
    e.update({t: _block(r.get(t)) for t in BLOCKS})
    if "reranked" in r:
        rr = r["reranked"]
        e["reranked"] = {**{k: rr.get(k) for k in ("method", "candidates", "rerank_p50_ms", "rerank_p95_ms")},
                         **{t: _block(rr.get(t)) for t in BLOCKS}}
    return e


def ordered(retrieval: dict) -> list[str]:
    """Index names: bm25, the dense ones, hybrid; anything else after them."""
    return sorted(retrieval, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def _c(v, spec: str = ".3f") -> str:
    """A table cell: the number formatted, or n/a where it is undefined."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:{spec}}"


def _row(name: str, kind: str, b: dict) -> str:
    return f"| {name} | {kind} | " + " | ".join(_c(b.get(k)) for k in TABLE_KEYS) + " |"


def _task_table(retrieval: dict, task: str) -> list[str]:
    """One task's table: every index (and its reranked variant) in one row; notes for what is n/a."""
    names = ordered(retrieval)
    first = retrieval[names[0]][task]
    title = "All questions" if task == "all" else f"Task `{task}`"
    if not first.get("questions"):
        return [f"### {title}: 0 questions", "", f"Every metric of this task is {R.NO_QUESTION}." if
                first.get("questions") == 0 else f"Every metric of this task is {OLD}.", ""]
    lines = [f"### {title}: {first['questions']} questions ({first['doc_questions']} with a source document, "
             f"{first['page_questions']} with a source page, {first['chunk_questions']} with chunk relevance)", "",
             HEADER, "|" + "---|" * (len(TABLE_KEYS) + 2)]
    notes: dict[str, str] = {}
    for name in names:
        parts = [(name, FAMILY.get(name, "?"), retrieval[name][task])]
        if "reranked" in retrieval[name]:
            rr = retrieval[name]["reranked"]
            parts.append((f"{name} + rerank ({rr['method']})", FAMILY.get(name, "?"), rr[task]))
        for label, kind, b in parts:
            lines.append(_row(label, kind, b))
            for level in ("doc", "page", "chunk"):
                if b.get(f"{level}_note"):
                    notes.setdefault(f"{level} level", b[f"{level}_note"])
    return lines + ["", *(f"- {k}: {v}" for k, v in notes.items()), ""]


def _speed_table(retrieval: dict) -> list[str]:
    lines = ["### Speed (search only; the question's embedding is timed apart)", "",
             "| index | kind | ANN recall@10 | p50 ms | p95 ms | batched ms/query | query embedding p50 ms | threads |",
             "|---|---|---|---|---|---|---|---|"]
    notes = []
    for name in ordered(retrieval):
        r = retrieval[name]
        lines.append(f"| {name} | {FAMILY.get(name, '?')} | {_c(r.get('ann_recall@10'))} | {_c(r.get('p50_ms'))} | "
                     f"{_c(r.get('p95_ms'))} | {_c(r.get('batched_ms_per_query'), '.4f')} | "
                     f"{_c(r.get('query_embedding_p50_ms'), '.1f')} | {_c(r.get('faiss_threads'), 'd')} |")
        if "reranked" in r:
            rr = r["reranked"]
            lines.append(f"| {name} + rerank ({rr['method']}) | | | {_c(rr.get('rerank_p50_ms'), '+.1f')} | "
                         f"{_c(rr.get('rerank_p95_ms'), '+.1f')} | | | |")
        if r.get("ann_recall@10") is None and r.get("ann_note"):
            notes.append(f"- {name}: ANN recall {r['ann_note']}")
    return lines + ["", *notes, ""] if notes else lines + [""]


def markdown(retrieval: dict) -> list[str]:
    """The retrieval section of comparison.md."""
    if not retrieval:
        return ["## Retrieval", "", "No index was measured.", ""]
    lines = ["## Retrieval: BM25 vs dense vs hybrid", "",
             "doc R@k: share of questions whose source document is among the documents of the top k chunks "
             "(source-document hit rate at k); doc MRR@10: mean 1/rank of the first chunk from it; page R@5: "
             "the same hit rate at 5 for the source page. Chunk-level recall, MRR and nDCG (BEIR) count only "
             "questions whose relevant chunks are known (automatic questions cut from a span).", ""]
    for task in BLOCKS:
        lines += _task_table(retrieval, task)
    return lines + _speed_table(retrieval)


def plot(ax, retrieval: dict) -> None:
    """doc_recall@5 per index (bm25, dense, hybrid), one bar per task; an undefined value draws nothing."""
    import numpy as np

    names = ordered(retrieval)
    x = np.arange(len(names))
    width = 0.8 / len(R.TASKS)
    for i, task in enumerate(R.TASKS):
        vals = [retrieval[n][task].get("doc_recall@5") for n in names]
        ax.bar(x + (i - (len(R.TASKS) - 1) / 2) * width, [np.nan if v is None else v for v in vals], width,
               label=task)
    ax.set(xticks=x, xticklabels=names, ylim=(0, 1.05), ylabel="doc_recall@5", title="source document in top 5")
    ax.legend(fontsize=7, loc="lower right")
