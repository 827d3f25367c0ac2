"""The shipped question set (resources/questions/reference.jsonl) over the 26 reference reports: retrieval
per index (BM25, FAISS, hybrid) at document level, and answer metrics per system, as the workflow runs them.

    python bench/rag_questions.py --pdfs ../shared/corpus/pdfs --out bench/results/rag_questions.json

Runs the real workflow (`snakemake results/rag/metrics.json`) in --work on the reports with the offline
default models (all-MiniLM-L6-v2 embeddings, SmolLM2-135M-Instruct generating), the question file added
to the automatic held-out questions (`rag.questions.mode: extend`), every page extracted. Systems default
to base and base_rag: the tuned systems need a fine-tune on the 26 reports, hours on a CPU. Reads
metrics.json back, prints the `question` task's table and writes the figures beside the run's command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

RETRIEVAL = ("doc_recall@1", "doc_recall@5", "doc_recall@10", "doc_mrr@10", "page_recall@5")
ANSWERS = ("exact_match", "contains_key", "token_f1", "rougeL", "bleu", "chrf")


def cell(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def config(a) -> dict:
    return {"corpus": {"pdf_dir": str(Path(a.pdfs).resolve()), "demo": False, "max_pages": 0},
            "rag": {"questions": {"file": str(C.REPO / "resources" / "questions" / "reference.jsonl"),
                                  "mode": "extend"},
                    "generate": {"systems": list(a.systems)}}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdfs", default=str(C.REPO.parent / "shared" / "corpus" / "pdfs"))
    ap.add_argument("--work", default="/tmp/rag_questions")
    ap.add_argument("--systems", nargs="+", default=["base", "base_rag"])
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--retrieval-only", action="store_true",
                    help="build and read only results/rag/retrieval/<index>.json (no answers: minutes, not hours)")
    ap.add_argument("--out", default=str(C.REPO / "bench" / "results" / "rag_questions.json"))
    a = ap.parse_args()
    if not Path(a.pdfs).is_dir():
        raise SystemExit(f"{a.pdfs} is not a folder: the reference reports live in ../shared/corpus/pdfs")
    import yaml

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "bench.yaml").write_text(yaml.safe_dump(config(a)))
    t0 = time.perf_counter()
    from climatune._settings import default

    indexes = default("rag", "indexes")
    targets = [f"results/rag/retrieval/{i}.json" for i in indexes] if a.retrieval_only else ["results/rag/metrics.json"]
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(C.REPO / "Snakefile"),
           "--directory", str(work), "--cores", str(a.cores), "--configfile", str(work / "bench.yaml")]
    rc = subprocess.run(cmd, env=C.python_env(cpu_only=True)).returncode
    if rc:
        raise SystemExit(f"the workflow failed (exit {rc}); logs under {work}/logs")
    if a.retrieval_only:
        m = {"retrieval": {i: C.read_json(work / "results" / "rag" / "retrieval" / f"{i}.json") for i in indexes},
             "systems": {}, "questions": C.read_json(work / "results" / "rag" / "questions.json")}
    else:
        m = C.read_json(work / "results" / "rag" / "metrics.json")
    res = {**C.header(sys.argv), "workflow_s": round(time.perf_counter() - t0, 1), "pdfs": a.pdfs,
           "questions": m.get("questions"), "retrieval": {}, "systems": {}}
    for index, r in m["retrieval"].items():
        res["retrieval"][index] = {task: {k: r[task].get(k) for k in ("questions", *RETRIEVAL)}
                                   for task in ("question", "cloze", "all") if task in r}
        res["retrieval"][index]["p50_ms"] = r.get("p50_ms")
    for system, s in m["systems"].items():
        res["systems"][system] = {k: s.get(k) for k in (*ANSWERS, "answer_ppl", "questions", "p50_ms")}
        res["systems"][system]["tasks"] = s.get("tasks")
    best = max(res["retrieval"], key=lambda i: res["retrieval"][i]["question"]["doc_recall@5"] or 0)
    res["best_index"] = best
    res["best_doc_recall@5"] = res["retrieval"][best]["question"]["doc_recall@5"]
    if a.retrieval_only:
        res["systems_note"] = "not run (--retrieval-only): answers need SmolLM2 generation for every question and system"
    C.write_result(a.out, res)
    print(f"\nquestion task (the shipped set plus masked held-out questions), {len(m['retrieval'])} indexes")
    print(f"{'index':8s}" + "".join(f"{k:>15s}" for k in RETRIEVAL))
    for index, r in res["retrieval"].items():
        print(f"{index:8s}" + "".join(f"{cell(r['question'].get(k)):>15s}" for k in RETRIEVAL))
    print(f"\n{'system':10s}" + "".join(f"{k:>13s}" for k in ANSWERS))
    for system, s in res["systems"].items():
        q = (s.get("tasks") or {}).get("question") or s
        print(f"{system:10s}" + "".join(f"{cell(q.get(k)):>13s}" for k in ANSWERS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
