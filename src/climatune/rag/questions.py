"""rag_questions: an evaluation set from the held-out documents only, reproducible from a seed.

Every question has a `task`, and its `form` says where it came from:
- task `cloze`, form cloze: a sentence of a held-out document cut in two, the first half the
  question, the second half the reference answer (continue the statement). Its key is the first
  number or term of the continuation (masked.find_span), else its first content word.
- task `question`, form masked: a number or named term removed from a held-out sentence and the rest
  reworded into a question with few words in a row shared with the sentence (masked.py); key and
  reference answer are the removed span.
- task `question` (unless the line says `task`), form user: a user file (`rag.questions.file`: JSONL
  with question, answer, optional key, id, task, and source = a document id or PDF file name,
  optionally "#<page>" or a `page` field). It is checked as a whole first (checks.read_user_file): a
  malformed line fails the stage before any work, with every problem named by its line; a question
  about a document or page absent from this corpus is skipped and counted.

Automatic questions name the chunks holding their sentence as `relevant`, and every question its
`source_doc` (and `page` where known). `shared_run` is the longest run of consecutive words a
question shares with its source sentence (automatic forms only). The counts per task and form, the
shared-run statistics and the skipped user questions go to questions.json beside questions.jsonl.

Run alone: python -m climatune.rag.questions chunks.jsonl SPLIT.json TEXT_DIR --out questions.jsonl
"""

from __future__ import annotations

import argparse
import bisect
import logging
import re
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import read_json, read_jsonl, setup_logging, write_json, write_jsonl
from . import masked as Q
from .checks import QuestionFileError, read_user_file
from .checks import check_user_file as check_user_file  # callers find it here
from .chunk import read_chunks

log = logging.getLogger(__name__)

QuestionsFileError = QuestionFileError  # the earlier name, kept for callers

_SENTENCE = re.compile(r"[A-Z][^.!?]*?[.!?](?=\s+[A-Z(\"']|\s*$)", re.S)


def candidate_sentences(text: str, min_words: int = 10, max_words: int = 40) -> list[tuple[int, int, str]]:
    """(start, end, sentence) of prose sentences worth asking about."""
    out = []
    for m in _SENTENCE.finditer(text):
        s = " ".join(m.group(0).split())
        words = s.split()
        letters = sum(ch.isalpha() for ch in s)
        if min_words <= len(words) <= max_words and letters > 0.6 * len(s) and "\n\n" not in m.group(0):
            out.append((m.start(), m.end(), s))
    return out


def relevant_chunks(chunks: list[dict], doc: str, start: int, end: int) -> list[int]:
    inside = [c["id"] for c in chunks if c["doc"] == doc and c["char_start"] <= start and end <= c["char_end"]]
    if inside:
        return inside
    return [c["id"] for c in chunks if c["doc"] == doc and c["char_start"] < end and start < c["char_end"]]


def _page(starts: list[int] | None, at: int) -> int | None:
    return max(1, bisect.bisect_right(starts, at)) if starts else None


def _row(doc: str, start: int, end: int, chunks: list[dict], starts, **fields) -> dict:
    page = _page(starts, start)
    return {**fields, "source_doc": doc, **({"page": page} if page else {}),
            "relevant": relevant_chunks(chunks, doc, start, end), "origin": "auto"}


def auto_questions(chunks: list[dict], split: dict, text_dir, per_doc: int, seed: int, min_words: int = 10,
                   page_starts: dict[str, list[int]] | None = None) -> list[dict]:
    """`per_doc` cloze items per held-out document: first half of a sentence -> its second half."""
    rng, page_starts = np.random.default_rng(seed), page_starts or {}
    out = []
    for doc in split["test"]:
        cands = candidate_sentences((Path(text_dir) / f"{doc}.txt").read_text(), min_words)
        if not cands or per_doc < 1:
            continue
        for i in sorted(rng.choice(len(cands), size=min(per_doc, len(cands)), replace=False)):
            start, end, sent = cands[i]
            words = sent.split()
            cut = max(5, len(words) // 2)
            question, answer = " ".join(words[:cut]), " ".join(words[cut:])
            out.append(_row(doc, start, end, chunks, page_starts.get(doc), id=f"{doc}:{start}", task="cloze",
                            form="cloze", question=question, answer=answer, key=Q.cloze_key(answer),
                            shared_run=Q.shared_run(question, sent)))
    return out


def masked_questions(chunks: list[dict], split: dict, text_dir, per_doc: int, seed: int, max_run: int,
                     page_starts: dict[str, list[int]] | None = None, min_words: int = 10) -> list[dict]:
    """`per_doc` masked-span questions per held-out document (masked.py), from sentences drawn at random
    among those that make one."""
    rng, page_starts = np.random.default_rng(seed), page_starts or {}
    titles = _titles(split, text_dir)
    out = []
    for doc in split["test"]:
        text = (Path(text_dir) / f"{doc}.txt").read_text()
        title = titles[doc]
        made = [(s, e, sent, q) for s, e, sent in candidate_sentences(text, min_words)
                if (q := Q.masked_question(sent, title, max_run))]
        if not made or per_doc < 1:
            continue
        for i in sorted(rng.choice(len(made), size=min(per_doc, len(made)), replace=False)):
            start, end, sent, q = made[i]
            out.append(_row(doc, start, end, chunks, page_starts.get(doc), id=f"{doc}:{start}:masked",
                            task="question", form="masked", **q, source_sentence=sent))
    return out


def _titles(split: dict, text_dir) -> dict[str, str]:
    """Each document's title (masked.document_title); the id where titles repeat ("Summary for
    Policymakers" heads several reports)."""
    titles = {}
    for doc in dict.fromkeys([*split.get("train", []), *split["test"]]):
        path = Path(text_dir) / f"{doc}.txt"
        titles[doc] = Q.document_title(path.read_text()[:2000] if path.is_file() else "", doc)
    repeated = {t for t in titles.values() if list(titles.values()).count(t) > 1}
    return {d: Q.id_title(d) if t in repeated else t for d, t in titles.items()}


def _cap(qs: list[dict], most: int, seed: int) -> list[dict]:
    """At most `most` of `qs` (0: all), drawn with `seed`, in their order."""
    if not most or len(qs) <= most:
        return qs
    rng = np.random.default_rng(seed)
    return [qs[i] for i in sorted(rng.choice(len(qs), size=most, replace=False))]


def corpus_docs(split: dict, text_dir, chunks: list[dict]) -> tuple[dict[str, str], dict[str, list[int]]]:
    """({document id: PDF file name}, {document id: page_starts}) of the split's documents, from the
    metadata extract_text wrote next to each text (file name '<id>.pdf' where there is none)."""
    docs, starts = {}, {}
    for doc in [*split.get("train", []), *split.get("test", []), *(c["doc"] for c in chunks)]:
        meta_path = Path(text_dir) / f"{doc}.json"
        meta = read_json(meta_path) if meta_path.is_file() else {}
        docs[doc] = Path(meta.get("file") or f"{doc}.pdf").name
        if meta.get("page_starts"):
            starts[doc] = meta["page_starts"]
    return docs, starts


def chunk_pages(chunks: list[dict], page_starts: dict[str, list[int]]) -> dict[int, range]:
    """{chunk id: the pages its text spans}; chunk.py's `page` (where it starts) where page starts are unknown."""
    out = {}
    for c in chunks:
        starts = page_starts.get(c["doc"])
        if starts:
            last = max(1, bisect.bisect_right(starts, max(c["char_start"], c["char_end"] - 1)))
            out[c["id"]] = range(c["page"], max(c["page"], last) + 1)
        else:
            out[c["id"]] = range(c["page"], c["page"] + 1)
    return out


def user_questions(path, chunks: list[dict], docs: dict[str, str] | None = None,
                   page_starts: dict[str, list[int]] | None = None, skipped: list | None = None) -> list[dict]:
    """The user's questions (checks.read_user_file) with the chunks their source names as relevant
    ones; `docs` defaults to the chunks' documents, named '<id>.pdf'. Questions about documents or
    pages absent from the corpus are appended to `skipped` (when given) and logged."""
    docs = {c["doc"]: f"{c['doc']}.pdf" for c in chunks} if docs is None else docs
    spans = chunk_pages(chunks, page_starts or {})
    pages: dict[str, set[int]] = {}
    for c in chunks:
        pages.setdefault(c["doc"], set()).update(spans[c["id"]])
    kept, left_out = read_user_file(path, docs, pages)
    for s in left_out:
        log.warning("question %s (line %d) skipped: %s", s["id"], s["line"], s["reason"])
    if skipped is not None:
        skipped += left_out
    out = []
    for q in kept:
        doc, _, page = q["source"].partition("#")
        rel = [c["id"] for c in chunks if c["doc"] == doc and (not page or int(page) in spans[c["id"]])]
        out.append({"id": q["id"], "task": q["task"], "form": "user", "question": q["question"],
                    "answer": q["answer"], **({"key": q["key"]} if q.get("key") else {}), "source_doc": doc,
                    "source": q["source"], **({"page": int(page)} if page else {}), "relevant": rel,
                    "origin": "user"})
    return out


def run(chunks_jsonl, split_json, text_dir, out_jsonl, per_doc: int | None = None, max_questions: int | None = None,
        seed: int | None = None, user_file: str | None = None, mode: str | None = None,
        masked_per_doc: int | None = None, max_shared_run: int | None = None, out_summary=None) -> list[dict]:
    """The question set -> out_jsonl, and its counts -> out_summary (default: out_jsonl's .json);
    arguments left None come from config.yaml's `rag.questions`. The user file is checked before
    anything else is done. `max_questions` caps each automatic form (cloze, masked) apart."""
    q = default("rag", "questions")
    per_doc = q["per_doc"] if per_doc is None else per_doc
    masked_per_doc = q["masked_per_doc"] if masked_per_doc is None else masked_per_doc
    max_shared_run = q["max_shared_run"] if max_shared_run is None else max_shared_run
    max_questions = q["max"] if max_questions is None else max_questions
    seed = q["seed"] if seed is None else seed
    mode = q["mode"] if mode is None else mode
    chunks, split = read_chunks(chunks_jsonl), read_json(split_json)
    docs, starts = corpus_docs(split, text_dir, chunks)
    skipped: list[dict] = []
    user = user_questions(user_file, chunks, docs, starts, skipped) if user_file else []
    qs = []
    if not (user_file and mode == "replace"):
        qs = _cap(auto_questions(chunks, split, text_dir, per_doc, seed, page_starts=starts), max_questions, seed + 1)
        qs += _cap(masked_questions(chunks, split, text_dir, masked_per_doc, seed + 2, max_shared_run, starts),
                   max_questions, seed + 3)
    qs += user
    if not qs:
        raise QuestionFileError(_no_question(split, user_file))
    if not any(q["relevant"] for q in qs):
        log.warning("no question has a known source: retrieval relevance metrics will read n/a")
    write_jsonl(out_jsonl, qs)
    info = summary(qs, skipped, user_file, len(split.get("test", [])))
    write_json(out_summary or Path(out_jsonl).with_suffix(".json"), info)
    log.info("%d questions: %s by task, %s by form; %d user question(s) skipped; shared run %s", len(qs),
             info["tasks"], info["forms"], info["user_skipped"], info["shared_run"])
    return qs


def summary(qs: list[dict], skipped: list[dict], user_file, held_out: int) -> dict:
    """Counts per task and form, shared-run mean/max per automatic form, the skipped user questions."""
    def count(key: str, names) -> dict:
        names = [*names, *sorted({q.get(key) for q in qs} - set(names) - {None})]
        return {n: sum(q.get(key) == n for q in qs) for n in names}

    runs = {}
    for form in ("cloze", "masked"):
        r = [q["shared_run"] for q in qs if q.get("form") == form and "shared_run" in q]
        runs[form] = ({"questions": len(r), "mean": round(float(np.mean(r)), 3), "max": int(max(r))} if r else
                      {"questions": 0, "mean": None, "max": None})
    reasons: dict[str, int] = {}
    for s in skipped:
        kind = "unknown document" if s["reason"].startswith("unknown") else (
            "no text" if "no text chunk" in s["reason"] else "page without text")
        reasons[kind] = reasons.get(kind, 0) + 1
    return {"questions": len(qs), "tasks": count("task", ("cloze", "question")),
            "forms": count("form", ("cloze", "masked", "user")), "shared_run": runs,
            "held_out_documents": held_out, "user_file": str(user_file) if user_file else None,
            "user_questions": sum(q.get("form") == "user" for q in qs), "user_skipped": len(skipped),
            "user_skipped_by_reason": reasons, "user_skipped_documents": sorted({str(s["source"]) for s in skipped}),
            "skipped": skipped}


def _no_question(split: dict, user_file) -> str:
    held_out = split.get("test", [])
    why = ("the split holds no held-out (test) document" if not held_out else
           f"the {len(held_out)} held-out document(s) gave no prose sentence of 10-40 words to ask about")
    return (f"no question to evaluate: {why}, and no rag.questions.file was given; raise split.test_ratio, add "
            "documents, or give a question file" if not user_file else f"no question to evaluate: {why}")


def read_questions(path) -> list[dict]:
    return read_jsonl(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.questions", description=__doc__.splitlines()[0])
    ap.add_argument("chunks")
    ap.add_argument("split")
    ap.add_argument("text_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-doc", type=int)
    ap.add_argument("--max-questions", type=int)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--user-file")
    ap.add_argument("--mode", choices=["extend", "replace"])
    ap.add_argument("--masked-per-doc", type=int)
    ap.add_argument("--max-shared-run", type=int)
    cli_defaults(ap, "rag", {"per_doc": "questions.per_doc", "max_questions": "questions.max",
                             "seed": "questions.seed", "mode": "questions.mode",
                             "masked_per_doc": "questions.masked_per_doc",
                             "max_shared_run": "questions.max_shared_run"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.chunks, a.split, a.text_dir, a.out, a.per_doc, a.max_questions, a.seed, a.user_file, a.mode,
        a.masked_per_doc, a.max_shared_run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
