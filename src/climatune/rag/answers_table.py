"""The answer side of the RAG report: the systems' answer metrics (overall and per task) and the
question set's counts for comparison.md, and answers.md, one row per question with every system's
answer, the retrieved sources and whether the source document was among them."""

from __future__ import annotations

import math

ANSWER_COLUMNS = (("exact_match", "EM", ".3f"), ("contains_key", "contains key", ".3f"), ("token_f1", "token F1", ".3f"),
                  ("rougeL", "ROUGE-L", ".3f"), ("bleu", "BLEU", ".1f"), ("chrf", "chrF", ".1f"),
                  ("answer_ppl", "answer perplexity", ".2f"))
TASKS = ("cloze", "question")
LEGEND = ("EM: exact match after SQuAD normalisation (lower case, no punctuation or articles); contains key: "
          "the question's key (the removed span, a number or term) found in the answer, over the questions "
          "with a key; token F1: SQuAD word-overlap F1; ROUGE-L: rouge-score F-measure with stemming; BLEU "
          "(effective order) and chrF: sacrebleu corpus scores over all answers, 0-100; answer perplexity: "
          "of the reference answer given the system's prompt (lower is better). Citation marks like [1] are "
          "removed before scoring.")


def _c(v, spec: str = ".3f", scale: float = 1, suffix: str = "") -> str:
    """A table cell: the number formatted, or n/a where it is undefined."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v * scale:{spec}}{suffix}"


def systems_markdown(systems: dict) -> list[str]:
    """Overall answer metrics and time per request of each system, then one answer table per task."""
    head = " | ".join(label for _, label, _ in ANSWER_COLUMNS)
    lines = ["## RAG vs fine-tuned (same questions; time per request, one at a time)", "",
             f"| system | {head} | source in context | p50 ms | p95 ms | retrieval p50 ms | generation p50 ms "
             "| retrieval share |", "|---" * (len(ANSWER_COLUMNS) + 7) + "|"]
    notes = []
    for name, s in systems.items():
        cells = " | ".join(_c(s.get(k), spec) for k, _, spec in ANSWER_COLUMNS)
        lines.append(f"| {name} | {cells} | {_c(s.get('context_hit_rate'), '.0f', 100, '%')} | "
                     f"{_c(s.get('p50_ms'), '.0f')} | {_c(s.get('p95_ms'), '.0f')} | "
                     f"{_c(s.get('retrieval_p50_ms'), '.1f')} | {_c(s.get('generation_p50_ms'), '.0f')} | "
                     f"{_c(s.get('retrieval_share'), '.1f', 100, '%')} |")
        if s.get("context_hit_note") and not notes:
            notes.append(f"- source in context: {s['context_hit_note']}")
    lines += ["", *notes] if notes else []
    lines += ["", "Source in context: share of the questions with a known source document whose document is "
              "among the retrieved passages (n/a without retrieval).", ""]
    for task in TASKS:
        lines += _task_table(systems, task)
    return lines + [LEGEND, ""]


def _task_table(systems: dict, task: str) -> list[str]:
    blocks = {name: (s.get("tasks") or {}).get(task) or {} for name, s in systems.items()}
    n = max((b.get("questions") or 0 for b in blocks.values()), default=0)
    if not n:
        return [f"### Task `{task}`: 0 questions", ""]
    head = " | ".join(label for _, label, _ in ANSWER_COLUMNS)
    lines = [f"### Task `{task}`: {n} questions", "", f"| system | {head} |", "|---" * (len(ANSWER_COLUMNS) + 1) + "|"]
    for name, b in blocks.items():
        lines.append(f"| {name} | " + " | ".join(_c(b.get(k), spec) for k, _, spec in ANSWER_COLUMNS) + " |")
    return lines + [""]


def questions_markdown(q: dict | None) -> list[str]:
    """The question set: counts per task and form, the shared-run statistics, skipped user questions."""
    if not q:
        return []
    tasks = ", ".join(f"{k} {v}" for k, v in q["tasks"].items())
    forms = ", ".join(f"{k} {v}" for k, v in q["forms"].items())
    lines = ["## Questions", "", f"{q['questions']} questions: by task {tasks}; by form {forms}.", "",
             "| form | questions | shared run mean | shared run max |", "|---|---|---|---|"]
    for form, r in q["shared_run"].items():
        lines.append(f"| {form} | {r['questions']} | {_c(r['mean'], '.2f')} | {_c(r['max'], 'd')} |")
    lines += ["", "Shared run: the longest run of consecutive words a question shares with its source sentence "
              "(a cloze item is the sentence's first half, verbatim).", ""]
    if q.get("user_file"):
        why = ", ".join(f"{k} {v}" for k, v in (q.get("user_skipped_by_reason") or {}).items()) or "none"
        lines += [f"User file `{q['user_file']}`: {q['user_questions']} questions used, {q['user_skipped']} "
                  f"skipped (absent from this corpus: {why}).", ""]
        docs = q.get("user_skipped_documents") or []
        if docs:
            lines += [f"Skipped sources ({len(docs)}): " + ", ".join(f"`{d}`" for d in docs[:30])
                      + (f" ... and {len(docs) - 30} more" if len(docs) > 30 else ""), ""]
    return lines


def _cell(text, width: int) -> str:
    """Text for a table cell: one line, '|' escaped, at most `width` characters."""
    t = " ".join(str(text if text is not None else "").split()).replace("|", "\\|")
    return t if len(t) <= width else t[: width - 1].rstrip() + "…"


def _sources(row: dict) -> str:
    return "; ".join(f"{_cell(doc, 30)}{'' if p is None else f' p.{p}' if e in (None, p) else f' pp.{p}-{e}'}"
                     for doc, p, e in row.get("sources") or [])


def _mark(row: dict) -> str:
    """✓ where the answer holds the key (or, for a question without key, matches exactly)."""
    ok = row.get("contains_key") if row.get("contains_key") is not None else row.get("exact_match")
    return " ✓" if ok else ""


def per_question(answers: dict[str, list[dict]], width: int = 90) -> str:
    """answers.md: per task, one row per question: question, reference (key), each system's answer
    (✓ where it holds the key), the passages retrieved (document, page) and whether the question's
    source document was among them."""
    systems = list(answers)
    rag = [s for s in systems if s.endswith("_rag")]
    by_id = {s: {r["id"]: r for r in rows} for s, rows in answers.items()}
    first = answers[systems[0]] if systems else []
    lines = ["# Answers per question", "",
             f"Systems: {', '.join(systems)}. ✓: the answer contains the question's key (exact match where it has "
             "none). Retrieved: the passages the RAG system put in its prompt (document, page); hit: the source "
             f"document among them. Cells are cut at {width} characters.", ""]
    for task in sorted({r["task"] for r in first}, key=lambda t: (t not in TASKS, t)):
        rows = [r for r in first if r["task"] == task]
        lines += [f"## Task `{task}` ({len(rows)} questions)", "",
                  "| # | question | reference (key) | " + " | ".join(systems) + " | retrieved | hit |",
                  "|---" * (len(systems) + 5) + "|"]
        for n, r in enumerate(rows, 1):
            got = [by_id[s].get(r["id"], {}) for s in systems]
            ref = r["reference"] + (f" ({r['key']})" if r.get("key") else "")
            cells = [_cell(g.get("answer", ""), width) + _mark(g) for g in got]
            lines.append(f"| {n} | {_cell(r['question'], width + 30)} | {_cell(ref, width)} | " + " | ".join(cells)
                         + f" | {_retrieved(by_id, rag, r['id'])} |")
        lines.append("")
    return "\n".join(lines)


def _retrieved(by_id: dict, rag: list[str], qid: str) -> str:
    """'sources | hit' of the RAG systems: once where they retrieved the same, else one per system."""
    rows = {s: by_id[s].get(qid, {}) for s in rag}
    if not rows:
        return " | "
    hit = {s: "–" if r.get("doc_hit") is None else "yes" if r["doc_hit"] else "no" for s, r in rows.items()}
    if len({_sources(r) for r in rows.values()}) == 1 and len(set(hit.values())) == 1:
        return f"{_sources(next(iter(rows.values())))} | {next(iter(hit.values()))}"
    return ("<br>".join(f"{s}: {_sources(r)}" for s, r in rows.items()) + " | "
            + "<br>".join(f"{s}: {hit[s]}" for s in rows))
