"""Checks run before any work: the RAG settings (the workflow calls `check_rag_settings` at start,
with `embedder.embedding_dimension`) and the user's question file (`read_user_file` /
`check_user_file`, which the workflow runs at start and rag_questions before anything else). Every
problem is reported at once, named so that it can be fixed without reading code. A question about a
document (or page) absent from the corpus is no problem: it is skipped and counted, and only a file
that leaves no question fails."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .._util import UserError
from .index import DEFAULTS, divisors


def check_rag_settings(rag: dict, embedding_dim: int) -> list[str]:
    """One message per problem of config.yaml's `rag:` section that no job should start with;
    `embedding_dim` is the embedder's output dimension (embedder.embedding_dimension)."""
    problems = []
    indexes = list(rag.get("indexes") or [])
    top_k, rr = rag.get("top_k", 10), rag.get("rerank") or {}
    if rr.get("enabled") and rr.get("candidates", 20) < top_k:
        problems.append(f"rag.rerank.candidates={rr.get('candidates', 20)} is below rag.top_k={top_k}: the reranker "
                        "can only reorder the candidates it gets: raise rag.rerank.candidates to >= top_k or lower "
                        "rag.top_k")
    tokens, overlap = rag.get("chunk_tokens"), rag.get("chunk_overlap")
    if tokens is not None and overlap is not None and not 0 <= overlap < tokens:
        problems.append(f"rag.chunk_overlap={overlap} must be at least 0 and below rag.chunk_tokens={tokens} "
                        "(neighbouring chunks share that many tokens)")
    if "ivfpq" in indexes:
        m = {**DEFAULTS["ivfpq"], **(rag.get("ivfpq") or {})}["m"]
        if not isinstance(m, int) or m < 1 or embedding_dim % m:
            problems.append(f"rag.ivfpq.m={m} does not divide the embedding dimension {embedding_dim} (IVF-PQ cuts "
                            f"each vector into m equal pieces); values that work: "
                            f"{', '.join(map(str, divisors(embedding_dim)))}")
    gen = (rag.get("generate") or {}).get("index")
    if gen is not None and gen not in indexes:
        problems.append(f"rag.generate.index '{gen}' is not among rag.indexes {indexes}: add it there or pick one "
                        "of them")
    return problems


class QuestionFileError(UserError):
    """The user's question file is missing or malformed; the message lists every problem by line."""


_KIND = {list: "a JSON array", str: "a JSON string", int: "a JSON number", float: "a JSON number",
         bool: "a JSON boolean", type(None): "JSON null"}
MAX_SHOWN = 20  # known documents named in an "unknown source" message


def _text(q: dict, key: str) -> tuple[str | None, str | None]:
    """(value as stripped text, None) or (None, problem): numbers become text, anything else is refused."""
    v = q.get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (str(v), None) if math.isfinite(v) else (None, f"'{key}' is {v}, not a value")
    if isinstance(v, str) and v.strip():
        return v.strip(), None
    if v is None or isinstance(v, str):
        return None, f"missing or empty '{key}'"
    return None, f"'{key}' must be text or a number, got {_KIND.get(type(v), 'a JSON object')}"


def _spellings(docs: dict[str, str]) -> dict[str, set[str]]:
    """Every accepted spelling of a document, lower case -> the ids it names: the id, the PDF file
    name, either without .pdf."""
    out: dict[str, set[str]] = {}
    for doc, fname in docs.items():
        name = Path(fname or f"{doc}.pdf").name
        for s in (doc, f"{doc}.pdf", name, name[:-4] if name.lower().endswith(".pdf") else name):
            out.setdefault(s.lower(), set()).add(doc)
    return out


def _resolve(part: str, docs: dict[str, str], spellings: dict[str, set[str]]) -> tuple[str | None, str | None]:
    """(document id, None), or (None, "unknown"/"ambiguous ..." problem) for the document part of a source."""
    if part in docs:
        return part, None
    ids = spellings.get(Path(part).name.lower(), set())  # a path is read by its file name
    if len(ids) == 1:
        return next(iter(ids)), None
    return None, (f"source '{part}' is ambiguous: it names documents {sorted(ids)}; write the id" if ids
                  else "unknown")


def _page(q: dict, src: str) -> tuple[int | None, str | None]:
    """(page, None) from the "#<page>" of `src` and/or the `page` field (1-based), or (None, problem)."""
    pages = []
    doc_part, hash_, page_text = src.rpartition("#")
    if hash_:
        if not doc_part.strip():
            return None, f"source '{src}' has an empty document part before '#'"
        if not re.fullmatch(r"0*[1-9][0-9]*", page_text.strip()):
            return None, f"source '{src}': the page after '#' must be a positive integer, got '{page_text}'"
        pages.append(int(page_text))
    if q.get("page") is not None:
        v = q["page"]
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, str) and v.strip().isdigit())) \
                or int(v) < 1:
            return None, f"'page' must be a positive integer (1 = the PDF's first page), got {v!r}"
        pages.append(int(v))
    if len(set(pages)) > 1:
        return None, f"source '{src}' names page {pages[0]} but 'page' is {pages[1]}"
    return (pages[0] if pages else None), None


def _source(src: str, q: dict, docs, spellings, pages) -> tuple[str | None, str | None, str | None]:
    """(normalised '<id>' or '<id>#<page>', None, None), (None, problem, None) for a malformed source,
    or (None, None, reason) for a source absent from this corpus (the question is skipped)."""
    doc, problem = _resolve(src, docs, spellings)  # a whole source may be a file name holding '#'
    page, page_problem = _page(q, "" if doc else src)
    if page_problem:
        return None, page_problem, None
    if doc is None and "#" in src:
        doc, problem = _resolve(src.rpartition("#")[0].strip(), docs, spellings)
    if doc is None:
        return (None, None, f"unknown source '{src}'") if problem == "unknown" else (None, problem, None)
    named = f"source '{src}'" + (f" (page {q['page']})" if q.get("page") is not None else "")
    if pages is not None and not pages.get(doc):
        return None, None, f"{named}: document '{doc}' has no text chunk (its text is empty or was skipped)"
    if pages is not None and page is not None and page not in pages[doc]:
        return None, None, f"{named}: '{doc}' has no text on page {page} (its chunks cover {_ranges(pages[doc])})"
    return (doc if page is None else f"{doc}#{page}"), None, None


def _ranges(pages) -> str:
    """{1, 2, 3, 5} -> 'pages 1-3, 5'."""
    out, run_ = [], []
    for p in sorted(pages):
        if run_ and p != run_[-1] + 1:
            out.append(f"{run_[0]}-{run_[-1]}" if len(run_) > 1 else str(run_[0]))
            run_ = []
        run_.append(p)
    out.append(f"{run_[0]}-{run_[-1]}" if len(run_) > 1 else str(run_[0]))
    return "pages " + ", ".join(out)


TASKS = ("cloze", "question")


def _check_line(line: str, docs, spellings, pages) -> tuple[dict | None, list[str], str | None]:
    """One line -> (normalised question or None, its problems, why it is skipped or None)."""
    try:
        q = json.loads(line)
    except json.JSONDecodeError as e:
        return None, [f"not JSON ({e.msg} at column {e.colno})"], None
    if not isinstance(q, dict):
        return None, [f"{_KIND.get(type(q), 'a JSON value')}, not an object with question, answer and source"], None
    out, problems, skip = {}, [], None
    for key in ("question", "answer", "source", *(k for k in ("id", "key") if k in q)):
        out[key], problem = _text(q, key)
        problems += [problem] if problem else []
    if out["source"] is not None:
        out["source"], problem, skip = _source(out["source"], q, docs, spellings, pages)
        problems += [problem] if problem else []
    if (q.get("task") or "question") not in TASKS:
        problems.append(f"'task' must be one of {list(TASKS)}, got {q['task']!r}")
    out["task"] = q.get("task") or "question"
    return (None if problems or skip else out), problems, (None if problems else skip)


def read_user_file(path, docs: dict[str, str], pages: dict[str, set[int]] | None = None
                   ) -> tuple[list[dict], list[dict]]:
    """(questions, skipped) of a user file (JSONL: question, answer, source; optional id, key, page,
    task), or QuestionFileError listing every problem of the whole file by line number.

    `docs` maps document id -> PDF file name. A source is a document id or PDF file name (with or
    without .pdf, any case), optionally followed by '#<page>' or given a `page` field (1-based); it is
    normalised to '<id>' or '<id>#<page>'. Numbers given as question, answer or key become text. With
    `pages` (document id -> the pages its chunks cover), a source must also name text that was
    chunked. A question whose document is not in this corpus (or has no text there, or not on its
    page) is skipped, not an error: `skipped` lists {line, id, source, reason}. Only when no question
    is left does that fail, naming the known documents."""
    p = Path(path)
    if not p.is_file():
        raise QuestionFileError(f"rag.questions.file '{path}' does not exist (absolute: {p.resolve()})")
    spellings, out, skipped, problems, ids = _spellings(docs), [], [], [], {}
    for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        q, found, skip = _check_line(line, docs, spellings, pages)
        problems += [f"line {n}: {m}" for m in found]
        qid = (q or {}).get("id") or _line_id(line) or f"user:{n}"
        if qid in ids and (q or skip):
            problems.append(f"line {n}: id '{qid}' repeats line {ids[qid]}")
        ids.setdefault(qid, n)
        if skip:
            skipped.append({"line": n, "id": qid, "source": json.loads(line)["source"], "reason": skip})
        elif q is not None:
            out.append({**{k: v for k, v in q.items() if v is not None}, "id": qid})
    if not out and not problems:
        problems.append("no question: the file holds only blank lines" if not skipped else
                        f"no question left: all {len(skipped)} name documents or pages absent from this corpus")
    if problems:
        raise QuestionFileError(_file_message(path, problems, skipped, docs))
    return out, skipped


def check_user_file(path, docs: dict[str, str], pages: dict[str, set[int]] | None = None) -> list[dict]:
    """The questions read_user_file keeps (the ones it skips are not errors)."""
    return read_user_file(path, docs, pages)[0]


def _line_id(line: str) -> str | None:
    try:
        v = json.loads(line).get("id")
    except (json.JSONDecodeError, AttributeError):
        return None
    return str(v) if isinstance(v, (str, int)) and str(v).strip() else None


def _file_message(path, problems: list[str], skipped: list[dict], docs: dict[str, str]) -> str:
    msg = (f"rag.questions.file '{path}': {len(problems)} problem(s); each line must be a JSON object with "
           "question, answer and source (a document id or PDF file name, optionally '#<page>'):\n  "
           + "\n  ".join(problems))
    if skipped:
        lines: dict[str, list[int]] = {}
        for s in skipped:
            lines.setdefault(s["reason"], []).append(s["line"])
        shown = [f"line{'s' if len(n) > 1 else ''} {', '.join(map(str, n))}: {why} (skipped)"
                 for why, n in list(lines.items())[:MAX_SHOWN]]
        more = f"\n  ... and {len(lines) - MAX_SHOWN} more" if len(lines) > MAX_SHOWN else ""
        msg += f"\n{len(skipped)} question(s) name text absent from this corpus:\n  " + "\n  ".join(shown) + more
        shown = [d if not f or Path(f).name.lower() == f"{d}.pdf" else f"{d} ({Path(f).name})"
                 for d, f in sorted(docs.items())[:MAX_SHOWN]]
        more = f" ... and {len(docs) - MAX_SHOWN} more" if len(docs) > MAX_SHOWN else ""
        msg += f"\nknown documents ({len(docs)}): {', '.join(shown) or 'none'}{more}"
    return msg
