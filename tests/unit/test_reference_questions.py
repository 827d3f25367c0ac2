"""The hand-made question set resources/questions/reference.jsonl over the dev corpus (../shared/corpus/pdfs).

The structural checks always run. The checks against the PDFs (the key of each question is on its source page
of the extracted text, and the question is not copied from that page) need the shared corpus and are skipped
without it, like tests/unit/test_shared_corpus.py.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter

import pytest

from climatune.corpus.extract_text import ExtractSettings, extract_document

from ..conftest import REPO, SHARED_PDFS, needs_shared_corpus

QUESTIONS = REPO / "resources" / "questions" / "reference.jsonl"
FIELDS = {"id": str, "question": str, "answer": str, "key": str, "source": str, "page": int}
MIN_QUESTIONS = 120
MIN_PER_DOCUMENT = 3
N_DOCUMENTS = 26
# The set was written from the first 30 pages of each PDF (config.yaml corpus.max_pages, also the value
# test_shared_corpus.py uses); pinned here so that a config change does not move the page offsets.
MAX_PAGES = 30
# Longest run of consecutive words (lower-cased, punctuation dropped) a question may share with its page.
MAX_SHARED_RUN = 8


def _load() -> list[dict]:
    if not QUESTIONS.is_file():
        return []
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


ROWS = _load()


def _norm(text: str) -> str:
    """Whitespace-normalised, case-folded: how a key is looked up in a page."""
    return " ".join(text.split()).casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def longest_shared_run(question: str, page: str) -> int:
    """Length of the longest run of consecutive words that the question and the page have in common."""
    q, p = _words(question), _words(page)
    best = 0
    for n in range(1, len(q) + 1):
        grams = {tuple(p[i : i + n]) for i in range(len(p) - n + 1)}
        if not any(tuple(q[i : i + n]) in grams for i in range(len(q) - n + 1)):
            break
        best = n
    return best


@functools.lru_cache(maxsize=None)
def _pages(source: str) -> tuple[str, ...]:
    """The clean text of each used page of one shared PDF, cut at the offsets the extraction records
    (page_starts has one entry per used page, empty pages included, so index p-1 is PDF page p)."""
    s = ExtractSettings.from_dict({"max_pages": MAX_PAGES})
    res = extract_document(SHARED_PDFS / source, None, s.max_pages, s.drop_references, list(s.languages),
                           s.min_chars_per_page)
    assert res.status == "ok", (source, res.reason)
    assert len(res.page_starts) == res.pages_used, source
    starts = res.page_starts + [len(res.text)]
    return tuple(res.text[starts[i] : starts[i + 1]] for i in range(res.pages_used))


def test_the_file_is_there_and_every_row_is_complete():
    assert QUESTIONS.is_file(), f"{QUESTIONS} is missing"
    assert ROWS, "no questions"
    for row in ROWS:
        assert set(row) == set(FIELDS), row.get("id", row)
        for field, kind in FIELDS.items():
            assert isinstance(row[field], kind) and not isinstance(row[field], bool), (row["id"], field)
            if kind is str:
                assert row[field].strip() == row[field] and row[field], (row["id"], field)
        assert row["source"].endswith(".pdf"), row["id"]
        assert 1 <= row["page"] <= MAX_PAGES, row["id"]
        assert re.fullmatch(r"[a-z0-9_]+", row["id"]), row["id"]
        assert row["question"].endswith("?"), row["id"]


def test_ids_are_unique_and_there_are_enough_questions():
    dup = [i for i, n in Counter(r["id"] for r in ROWS).items() if n > 1]
    assert not dup, dup
    assert len(ROWS) >= MIN_QUESTIONS, len(ROWS)
    assert len({_norm(r["question"]) for r in ROWS}) == len(ROWS), "a question is repeated"


def test_every_document_has_questions():
    per_doc = Counter(r["source"] for r in ROWS)
    assert len(per_doc) == N_DOCUMENTS, sorted(per_doc)
    assert min(per_doc.values()) >= MIN_PER_DOCUMENT, per_doc.most_common()[-3:]


@needs_shared_corpus
def test_the_sources_are_the_shared_pdfs():
    pdfs = {p.name for p in SHARED_PDFS.iterdir() if p.suffix.lower() == ".pdf"}
    assert len(pdfs) == N_DOCUMENTS
    assert {r["source"] for r in ROWS} == pdfs


@needs_shared_corpus
@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_the_key_is_on_the_source_page_and_the_question_is_reworded(row):
    pages = _pages(row["source"])
    assert row["page"] <= len(pages), (row["page"], len(pages))
    page = pages[row["page"] - 1]
    assert _norm(row["key"]) in _norm(page), f"key {row['key']!r} not on page {row['page']} of {row['source']}"
    run = longest_shared_run(row["question"], page)
    assert run <= MAX_SHARED_RUN, f"the question shares {run} consecutive words with its page"


def test_longest_shared_run():
    assert longest_shared_run("Was it warm in 2019, then?", "It was warm in 2019; very warm.") == 3
    assert longest_shared_run("Nothing here", "completely different") == 0
