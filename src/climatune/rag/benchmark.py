"""rag_benchmark: retrieval per index and the four systems side by side -> metrics.json,
comparison.md and plots.

metrics.json: `retrieval.<index>` for every index (bm25, the FAISS ones, hybrid) with its speed
(p50_ms, p95_ms, batched_ms_per_query, ann_recall@10 or null with ann_note) and its relevance per
task, `retrieval.<index>.<task>.<metric>` for the tasks cloze and question and `retrieval.<index>.all`
(relevance.py defines the metrics); `systems.<system>` for every system: exact_match, contains_key,
token_f1, rougeL, bleu, chrf, answer_ppl over all questions, the same per task under
`systems.<system>.tasks.<task>` (scoring.py defines them), latency and context_hit_rate;
`questions`: the question set's counts per task and form, shared-run statistics and skipped user
questions (questions.json of rag_questions). answers.md: one row per question (answers_table.py).
No NaN anywhere (`finite`).

Run alone: python -m climatune.rag.benchmark --retrieval flat.json hnsw.json ... --systems base.json ... --out-dir results/rag
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from .._util import figure, read_json, read_jsonl, setup_logging, write_json
from . import answers_table as AT
from . import retrieval_table as RT

log = logging.getLogger(__name__)

SYSTEM_KEYS = ("exact_match", "contains_key", "token_f1", "rougeL", "bleu", "chrf", "answer_ppl", "key_questions",
               "p50_ms", "p95_ms", "retrieval_p50_ms", "generation_p50_ms", "retrieval_share", "context_hit_rate",
               "context_hit_questions", "questions", "tasks")
QUESTION_KEYS = ("questions", "tasks", "forms", "shared_run", "held_out_documents", "user_file", "user_questions",
                 "user_skipped", "user_skipped_by_reason", "user_skipped_documents")


NO_SOURCE = "n/a (0 questions with a known source)"


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
    """One index's entry of metrics.json (retrieval_table.entry); undefined numbers are None with a note."""
    return finite(RT.entry(finite(r)))


def run(retrieval_jsons: list, system_jsons: list, out_metrics, out_md, out_png=None, answer_jsonls=None,
        questions_json=None, out_answers=None) -> dict:
    """metrics.json, comparison.md and the plot; with `answer_jsonls` (each system's answers) also
    answers.md (`out_answers`); with `questions_json` the question set's counts."""
    retrieval, systems = {}, {}
    for p in retrieval_jsons:
        r = read_json(p)
        retrieval[r["index"]] = _retrieval_entry(r)
    judged = [r["all"].get("doc_questions") for r in retrieval.values()]  # questions with a known source
    for p in system_jsons:
        s = read_json(p)
        systems[s["system"]] = finite({k: s.get(k) for k in SYSTEM_KEYS})
        if judged and all(j == 0 for j in judged):  # "source in context" needs a known source
            systems[s["system"]].update(context_hit_rate=None, context_hit_note=NO_SOURCE)
    metrics = {"retrieval": retrieval, "systems": systems}
    if questions_json:
        metrics["questions"] = finite({k: v for k, v in read_json(questions_json).items() if k in QUESTION_KEYS})
    write_json(out_metrics, metrics)
    if answer_jsonls and out_answers:
        rows = {Path(p).stem: read_jsonl(p) for p in answer_jsonls}  # answers/<system>.jsonl
        Path(out_answers).write_text(AT.per_question(finite(rows)))
    Path(out_md).write_text(markdown(metrics))
    if out_png:
        plot(metrics, out_png)
    log.info("RAG benchmark (token F1, contains key, p50 ms): %s",
             {k: (v["token_f1"], v["contains_key"], v["p50_ms"]) for k, v in systems.items()})
    return metrics


def _c(v, spec: str = ".3f", scale: float = 1, suffix: str = "") -> str:
    """A table cell: the number formatted, or n/a where it is undefined."""
    v = finite(v)
    return "n/a" if v is None else f"{v * scale:{spec}}{suffix}"


def markdown(m: dict) -> str:
    lines = ["# RAG benchmark", "", *AT.questions_markdown(m.get("questions")), *RT.markdown(m["retrieval"])]
    lines += AT.systems_markdown(m["systems"])
    return "\n".join(lines)


def _num(v) -> float:
    """A value for a plot: NaN (nothing drawn) where undefined."""
    return float("nan") if v is None else float(v)


def plot(m: dict, out_png) -> None:
    import numpy as np

    with figure(out_png, 3, (14, 3.8)) as (_, ax):
        RT.plot(ax[0], m["retrieval"])
        names = RT.ordered(m["retrieval"])
        ax[1].bar(names, [_num(m["retrieval"][n]["p50_ms"]) for n in names], color="tab:gray")
        ax[1].set(ylabel="ms per query (p50, single)", title="search latency")
        sy = list(m["systems"])
        ret = [_num(m["systems"][s]["retrieval_p50_ms"]) for s in sy]
        gen = [_num(m["systems"][s]["generation_p50_ms"]) for s in sy]
        ax[2].bar(sy, gen, label="generation")
        ax[2].bar(sy, ret, bottom=gen, label="retrieval")
        for i, s in enumerate(sy):
            ax[2].text(i, np.nan_to_num(gen[i] + ret[i]), f"F1 {_c(m['systems'][s].get('token_f1'), '.2f')}",
                       ha="center", va="bottom", fontsize=8)
        ax[2].set(ylabel="ms per request (p50)", title="RAG vs fine-tuned")
        ax[2].legend(fontsize=7)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.benchmark", description=__doc__.splitlines()[0])
    ap.add_argument("--retrieval", nargs="+", required=True)
    ap.add_argument("--systems", nargs="+", required=True)
    ap.add_argument("--answers", nargs="+", help="each system's answers/<system>.jsonl, for answers.md")
    ap.add_argument("--questions", help="questions.json of rag_questions (the question set's counts)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    d = Path(a.out_dir)
    run(a.retrieval, a.systems, d / "metrics.json", d / "comparison.md", d / "rag.png", a.answers, a.questions,
        d / "answers.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
