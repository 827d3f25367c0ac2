"""rag_questions: an evaluation set from the held-out documents only, reproducible from a seed.

Automatic questions are statements to complete: a sentence is taken from a held-out document, its
first half is the question, its second half the reference answer, and the chunks that contain the
whole sentence are its relevant sources. Base and tuned models can both attempt it; retrieval helps
exactly when it finds the source. A user file (`rag.questions.file`: JSONL with question, answer and
source = a document id or PDF file name, optionally "#<page>") replaces or extends the set; it is
checked as a whole first (checks.check_user_file), so a bad line fails the stage before any work,
with every problem named by its line.

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
from .._util import read_json, read_jsonl, setup_logging, write_jsonl
from .checks import QuestionFileError, check_user_file
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


def auto_questions(chunks: list[dict], split: dict, text_dir, per_doc: int, seed: int, min_words: int = 10) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for doc in split["test"]:
        text = (Path(text_dir) / f"{doc}.txt").read_text()
        cands = candidate_sentences(text, min_words)
        if not cands:
            continue
        pick = sorted(rng.choice(len(cands), size=min(per_doc, len(cands)), replace=False))
        for i in pick:
            start, end, sent = cands[i]
            words = sent.split()
            cut = max(5, len(words) // 2)
            out.append({"id": f"{doc}:{start}", "question": " ".join(words[:cut]), "answer": " ".join(words[cut:]),
                        "source_doc": doc, "relevant": relevant_chunks(chunks, doc, start, end), "origin": "auto"})
    return out


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
                   page_starts: dict[str, list[int]] | None = None) -> list[dict]:
    """The user's questions (check_user_file) with the chunks their source names as relevant ones;
    `docs` defaults to the chunks' documents, named '<id>.pdf'."""
    docs = {c["doc"]: f"{c['doc']}.pdf" for c in chunks} if docs is None else docs
    spans = chunk_pages(chunks, page_starts or {})
    pages: dict[str, set[int]] = {}
    for c in chunks:
        pages.setdefault(c["doc"], set()).update(spans[c["id"]])
    out = []
    for q in check_user_file(path, docs, pages):
        doc, _, page = q["source"].partition("#")
        rel = [c["id"] for c in chunks if c["doc"] == doc and (not page or int(page) in spans[c["id"]])]
        out.append({"id": q["id"], "question": q["question"], "answer": q["answer"], "source_doc": doc,
                    "source": q["source"], "relevant": rel, "origin": "user"})
    return out


def run(chunks_jsonl, split_json, text_dir, out_jsonl, per_doc: int | None = None, max_questions: int | None = None,
        seed: int | None = None, user_file: str | None = None, mode: str | None = None) -> list[dict]:
    """The question set; arguments left None come from config.yaml's `rag.questions`. The user file
    is checked before anything else is done."""
    q = default("rag", "questions")
    per_doc = q["per_doc"] if per_doc is None else per_doc
    max_questions = q["max"] if max_questions is None else max_questions
    seed = q["seed"] if seed is None else seed
    mode = q["mode"] if mode is None else mode
    chunks, split = read_chunks(chunks_jsonl), read_json(split_json)
    user = user_questions(user_file, chunks, *corpus_docs(split, text_dir, chunks)) if user_file else []
    qs = [] if (user_file and mode == "replace") else auto_questions(chunks, split, text_dir, per_doc, seed)
    if max_questions and len(qs) > max_questions:
        rng = np.random.default_rng(seed + 1)
        qs = [qs[i] for i in sorted(rng.choice(len(qs), size=max_questions, replace=False))]
    qs += user
    if not qs:
        raise QuestionFileError(_no_question(split, user_file))
    if not any(q["relevant"] for q in qs):
        log.warning("no question has a known source: retrieval relevance metrics will read n/a")
    write_jsonl(out_jsonl, qs)
    log.info("%d questions (%d automatic, %d from the user file)", len(qs), sum(q["origin"] == "auto" for q in qs),
             len(user))
    return qs


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
    cli_defaults(ap, "rag", {"per_doc": "questions.per_doc", "max_questions": "questions.max",
                             "seed": "questions.seed", "mode": "questions.mode"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.chunks, a.split, a.text_dir, a.out, a.per_doc, a.max_questions, a.seed, a.user_file, a.mode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
