"""rag_questions: an evaluation set from the held-out documents only, reproducible from a seed.

Automatic questions are statements to complete: a sentence is taken from a held-out document, its
first half is the question, its second half the reference answer, and the chunks that contain the
whole sentence are its relevant sources. Base and tuned models can both attempt it; retrieval helps
exactly when it finds the source. A user file (`rag.questions`: JSONL with question, answer and
optional source = document id or "doc#page") replaces or extends the set.

Run alone: python -m climatune.rag.questions chunks.jsonl SPLIT.json TEXT_DIR --out questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import UserError, read_json, read_jsonl, setup_logging, write_jsonl
from .chunk import read_chunks

log = logging.getLogger(__name__)

_SENTENCE = re.compile(r"[A-Z][^.!?]*?[.!?](?=\s+[A-Z(\"']|\s*$)", re.S)


class QuestionsFileError(UserError):
    """The user's question file is missing or malformed."""


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


def user_questions(path, chunks: list[dict]) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise QuestionsFileError(f"rag.questions file '{path}' does not exist")
    out = []
    for n, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            raise QuestionsFileError(f"{path}:{n}: not JSON ({e.msg})") from e
        missing = [k for k in ("question", "answer") if not q.get(k)]
        if missing:
            raise QuestionsFileError(f"{path}:{n}: missing {missing}; each line needs question and answer")
        src = str(q.get("source", ""))
        doc, _, page = src.partition("#")
        rel = [c["id"] for c in chunks if c["doc"] == doc and (not page or c["page"] == int(page))] if doc else []
        if doc and not rel:
            log.warning("%s:%d: source '%s' matches no chunk; retrieval metrics skip this question", path, n, src)
        out.append({"id": q.get("id", f"user:{n}"), "question": q["question"], "answer": q["answer"],
                    "source_doc": doc or None, "relevant": rel, "origin": "user"})
    return out


def run(chunks_jsonl, split_json, text_dir, out_jsonl, per_doc: int | None = None, max_questions: int | None = None,
        seed: int | None = None, user_file: str | None = None, mode: str | None = None) -> list[dict]:
    """The question set; arguments left None come from config.yaml's `rag.questions`."""
    q = default("rag", "questions")
    per_doc = q["per_doc"] if per_doc is None else per_doc
    max_questions = q["max"] if max_questions is None else max_questions
    seed = q["seed"] if seed is None else seed
    mode = q["mode"] if mode is None else mode
    chunks = read_chunks(chunks_jsonl)
    qs = [] if (user_file and mode == "replace") else auto_questions(chunks, read_json(split_json), text_dir,
                                                                      per_doc, seed)
    if max_questions and len(qs) > max_questions:
        rng = np.random.default_rng(seed + 1)
        qs = [qs[i] for i in sorted(rng.choice(len(qs), size=max_questions, replace=False))]
    if user_file:
        qs += user_questions(user_file, chunks)
    if not qs:
        raise QuestionsFileError("no question: the held-out documents gave no usable sentence and no "
                                 "rag.questions file was given")
    write_jsonl(out_jsonl, qs)
    log.info("%d questions (%d automatic, %d from the user file)", len(qs), sum(q["origin"] == "auto" for q in qs),
             sum(q["origin"] == "user" for q in qs))
    return qs


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
