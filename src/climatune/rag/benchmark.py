"""rag_benchmark: retrieval per index and the four systems side by side -> metrics.json,
comparison.md and plots.

Run alone: python -m climatune.rag.benchmark --retrieval flat.json hnsw.json ... --systems base.json ... --out-dir results/rag
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .._util import figure, read_json, setup_logging, write_json

log = logging.getLogger(__name__)

RETRIEVAL_KEYS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "ann_recall@10", "p50_ms", "p95_ms",
                  "batched_ms_per_query", "faiss_threads", "vectors")
SYSTEM_KEYS = ("p50_ms", "p95_ms", "retrieval_p50_ms", "generation_p50_ms", "retrieval_share", "rougeL", "answer_ppl",
               "context_hit_rate", "questions")


def run(retrieval_jsons: list, system_jsons: list, out_metrics, out_md, out_png=None) -> dict:
    retrieval, systems = {}, {}
    for p in retrieval_jsons:
        r = read_json(p)
        retrieval[r["index"]] = {k: r[k] for k in RETRIEVAL_KEYS}
        retrieval[r["index"]]["query_embedding_p50_ms"] = r["query_embedding"]["p50_ms"]
        if "reranked" in r:
            retrieval[r["index"]]["reranked"] = r["reranked"]
    for p in system_jsons:
        s = read_json(p)
        systems[s["system"]] = {k: s[k] for k in SYSTEM_KEYS}
    metrics = {"retrieval": retrieval, "systems": systems}
    write_json(out_metrics, metrics)
    Path(out_md).write_text(markdown(metrics))
    if out_png:
        plot(metrics, out_png)
    log.info("RAG benchmark: %s", {k: (v["rougeL"], v["p50_ms"]) for k, v in systems.items()})
    return metrics


def markdown(m: dict) -> str:
    lines = ["# RAG benchmark", "", "## Retrieval (relevance against each question's source chunks; ANN recall "
             "against exact search)", "",
             "| index | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 | ANN recall@10 | p50 ms | p95 ms | "
             "batched ms/query | threads |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in m["retrieval"].items():
        lines.append(f"| {name} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['recall@10']:.3f} | "
                     f"{r['mrr@10']:.3f} | {r['ndcg@10']:.3f} | {r['ann_recall@10']:.3f} | {r['p50_ms']:.3f} | "
                     f"{r['p95_ms']:.3f} | {r['batched_ms_per_query']:.4f} | {r['faiss_threads']} |")
        if "reranked" in r:
            rr = r["reranked"]
            lines.append(f"| {name} + rerank ({rr['method']}) | {rr['recall@1']:.3f} | {rr['recall@5']:.3f} | "
                         f"{rr['recall@10']:.3f} | {rr['mrr@10']:.3f} | {rr['ndcg@10']:.3f} | | "
                         f"+{rr['rerank_p50_ms']:.1f} | +{rr['rerank_p95_ms']:.1f} | | |")
    lines += ["", "## RAG vs fine-tuned (same questions; time per request, one at a time)", "",
              "| system | ROUGE-L | answer perplexity | p50 ms | p95 ms | retrieval p50 ms | generation p50 ms | "
              "retrieval share | source in context |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in m["systems"].items():
        lines.append(f"| {name} | {s['rougeL']:.3f} | {s['answer_ppl']:.2f} | {s['p50_ms']:.0f} | {s['p95_ms']:.0f} | "
                     f"{s['retrieval_p50_ms']:.1f} | {s['generation_p50_ms']:.0f} | {100 * s['retrieval_share']:.1f}% | "
                     f"{100 * s['context_hit_rate']:.0f}% |")
    lines += ["", "Answer perplexity is the perplexity of the reference answer given the system's prompt "
              "(lower is better); ROUGE-L compares the generated answer with the reference (higher is better).", ""]
    return "\n".join(lines)


def plot(m: dict, out_png) -> None:
    import numpy as np

    with figure(out_png, 3, (14, 3.8)) as (_, ax):
        names = list(m["retrieval"])
        x = np.arange(len(names))
        for i, key in enumerate(("recall@1", "recall@10", "ndcg@10", "ann_recall@10")):
            ax[0].bar(x + (i - 1.5) * 0.2, [m["retrieval"][n][key] for n in names], 0.2, label=key)
        ax[0].set(xticks=x, xticklabels=names, ylim=(0, 1.05), title="retrieval quality")
        ax[0].legend(fontsize=7)
        ax[1].bar(names, [m["retrieval"][n]["p50_ms"] for n in names], color="tab:gray")
        ax[1].set(ylabel="ms per query (p50, single)", title="search latency")
        sy = list(m["systems"])
        ret = [m["systems"][s]["retrieval_p50_ms"] for s in sy]
        gen = [m["systems"][s]["generation_p50_ms"] for s in sy]
        ax[2].bar(sy, gen, label="generation")
        ax[2].bar(sy, ret, bottom=gen, label="retrieval")
        for i, s in enumerate(sy):
            ax[2].text(i, gen[i] + ret[i], f"R-L {m['systems'][s]['rougeL']:.2f}", ha="center", va="bottom",
                       fontsize=8)
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
