"""rag_benchmark: retrieval per index and the four systems side by side -> metrics.json,
comparison.md and plots.

Run alone: python -m climatune.rag.benchmark --retrieval flat.json hnsw.json ... --systems base.json ... --out-dir results/rag
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from .._util import figure, read_json, setup_logging, write_json

log = logging.getLogger(__name__)

RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "ann_recall@10", "p50_ms", "p95_ms",
                  "batched_ms_per_query", "faiss_threads", "vectors")
SYSTEM_KEYS = ("p50_ms", "p95_ms", "retrieval_p50_ms", "generation_p50_ms", "retrieval_share", "rougeL", "answer_ppl",
               "context_hit_rate", "questions")


NO_SOURCE = "n/a (0 questions with a known source)"
RELEVANCE_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def finite(obj):
    """`obj` with every NaN or infinite number replaced by None: JSON has no NaN, and a table that
    prints "nan" explains nothing."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def _retrieval_entry(r: dict) -> dict:
    """One index's row of metrics.json; undefined relevance metrics are None with a note saying why."""
    e = finite({k: r.get(k) for k in RETRIEVAL_KEYS})
    e["query_embedding_p50_ms"] = finite((r.get("query_embedding") or {}).get("p50_ms"))
    e["judged_questions"] = r.get("judged_questions")
    parts = [("", e)]
    if "reranked" in r:
        e["reranked"] = finite(r["reranked"])
        parts.append(("reranked ", e["reranked"]))
    for label, part in parts:
        if any(part.get(k) is None for k in RELEVANCE_KEYS):
            part["relevance_note"] = (part.get("relevance_note") or r.get("relevance_note")
                                      or (NO_SOURCE if r.get("judged_questions") == 0 else "n/a (undefined)"))
    return e


def run(retrieval_jsons: list, system_jsons: list, out_metrics, out_md, out_png=None) -> dict:
    retrieval, systems = {}, {}
    for p in retrieval_jsons:
        r = read_json(p)
        retrieval[r["index"]] = _retrieval_entry(r)
    judged = [r.get("judged_questions") for r in retrieval.values()]
    for p in system_jsons:
        s = read_json(p)
        systems[s["system"]] = finite({k: s.get(k) for k in SYSTEM_KEYS})
        if judged and all(j == 0 for j in judged):  # "source in context" needs a known source
            systems[s["system"]].update(context_hit_rate=None, context_hit_note=NO_SOURCE)
    metrics = {"retrieval": retrieval, "systems": systems}
    write_json(out_metrics, metrics)
    Path(out_md).write_text(markdown(metrics))
    if out_png:
        plot(metrics, out_png)
    log.info("RAG benchmark: %s", {k: (v["rougeL"], v["p50_ms"]) for k, v in systems.items()})
    return metrics


def _c(v, spec: str = ".3f", scale: float = 1, suffix: str = "") -> str:
    """A table cell: the number formatted, or n/a where it is undefined."""
    v = finite(v)
    return "n/a" if v is None else f"{v * scale:{spec}}{suffix}"


def markdown(m: dict) -> str:
    lines = ["# RAG benchmark", "", "## Retrieval (relevance against each question's source chunks; ANN recall "
             "against exact search)", "",
             "| index | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 | ANN recall@10 | p50 ms | p95 ms | "
             "batched ms/query | threads |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, r in m["retrieval"].items():
        rel = " | ".join(_c(r.get(k)) for k in RELEVANCE_KEYS)
        lines.append(f"| {name} | {rel} | {_c(r['ann_recall@10'])} | {_c(r['p50_ms'])} | {_c(r['p95_ms'])} | "
                     f"{_c(r['batched_ms_per_query'], '.4f')} | {r['faiss_threads']} |")
        notes += [f"- {name}: recall, MRR and nDCG {r['relevance_note']}"] if r.get("relevance_note") else []
        if "reranked" in r:
            rr = r["reranked"]
            rel = " | ".join(_c(rr.get(k)) for k in RELEVANCE_KEYS)
            lines.append(f"| {name} + rerank ({rr['method']}) | {rel} | | {_c(rr['rerank_p50_ms'], '+.1f')} | "
                         f"{_c(rr['rerank_p95_ms'], '+.1f')} | | |")
            notes += [f"- {name} + rerank: {rr['relevance_note']}"] if rr.get("relevance_note") else []
    lines += ["", *notes, ""] if notes else [""]
    lines += _systems_table(m["systems"])
    return "\n".join(lines)


def _systems_table(systems: dict) -> list[str]:
    lines = ["## RAG vs fine-tuned (same questions; time per request, one at a time)", "",
             "| system | ROUGE-L | answer perplexity | p50 ms | p95 ms | retrieval p50 ms | generation p50 ms | "
             "retrieval share | source in context |", "|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, s in systems.items():
        lines.append(f"| {name} | {_c(s['rougeL'])} | {_c(s['answer_ppl'], '.2f')} | {_c(s['p50_ms'], '.0f')} | "
                     f"{_c(s['p95_ms'], '.0f')} | {_c(s['retrieval_p50_ms'], '.1f')} | "
                     f"{_c(s['generation_p50_ms'], '.0f')} | {_c(s['retrieval_share'], '.1f', 100, '%')} | "
                     f"{_c(s['context_hit_rate'], '.0f', 100, '%')} |")
        if s.get("context_hit_note") and not notes:
            notes.append(f"- source in context: {s['context_hit_note']}")
    return lines + (["", *notes] if notes else []) + [
        "", "Answer perplexity is the perplexity of the reference answer given the system's prompt "
        "(lower is better); ROUGE-L compares the generated answer with the reference (higher is better).", ""]


def _num(v) -> float:
    """A value for a plot: NaN (nothing drawn) where undefined."""
    return float("nan") if v is None else float(v)


def plot(m: dict, out_png) -> None:
    import numpy as np

    with figure(out_png, 3, (14, 3.8)) as (_, ax):
        names = list(m["retrieval"])
        x = np.arange(len(names))
        for i, key in enumerate(("recall@1", "recall@10", "ndcg@10", "ann_recall@10")):
            ax[0].bar(x + (i - 1.5) * 0.2, [_num(m["retrieval"][n][key]) for n in names], 0.2, label=key)
        ax[0].set(xticks=x, xticklabels=names, ylim=(0, 1.05), title="retrieval quality")
        ax[0].legend(fontsize=7)
        ax[1].bar(names, [_num(m["retrieval"][n]["p50_ms"]) for n in names], color="tab:gray")
        ax[1].set(ylabel="ms per query (p50, single)", title="search latency")
        sy = list(m["systems"])
        ret = [_num(m["systems"][s]["retrieval_p50_ms"]) for s in sy]
        gen = [_num(m["systems"][s]["generation_p50_ms"]) for s in sy]
        ax[2].bar(sy, gen, label="generation")
        ax[2].bar(sy, ret, bottom=gen, label="retrieval")
        for i, s in enumerate(sy):
            ax[2].text(i, np.nan_to_num(gen[i] + ret[i]), f"R-L {_c(m['systems'][s]['rougeL'], '.2f')}",
                       ha="center", va="bottom", fontsize=8)
        ax[2].set(ylabel="ms per request (p50)", title="RAG vs fine-tuned")
        ax[2].legend(fontsize=7)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.benchmark", description=__doc__.splitlines()[0])
    ap.add_argument("--retrieval", nargs="+", required=True)
    ap.add_argument("--systems", nargs="+", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    d = Path(a.out_dir)
    run(a.retrieval, a.systems, d / "metrics.json", d / "comparison.md", d / "rag.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
