"""The real dev corpus (../shared/corpus/pdfs, 26 reports): every document extracts cleanly."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest

from climatune.corpus.extract_text import discover, extract_document

from ..conftest import SHARED_PDFS, needs_shared_corpus

pytestmark = needs_shared_corpus

MAX_PAGES = 30
# (document, page, as pymupdf reads it across a line break, as the clean text must read, forms it must not)
LINE_BREAKS = [
    ("ipcc_ar6_wg2_ch06_cities_settlements_infrastructure", 4, "inno-\nvations", "innovations",
     ["inno- vations", "inno-vations"]),
    ("ipcc_ar6_wg2_spm", 17, "Aus-\ntralasia", "Australasia", ["Aus- tralasia", "Aus-tralasia"]),
    ("ipcc_ar6_wg2_spm", 9, "ob-\nserved", "observed", ["ob- served", "ob-served"]),
    # before a capital the hyphen is part of the word (a double name): kept, the break removed
    ("ipcc_ar6_wg1_spm", 3, "Diongue-\nNiang", "Diongue-Niang", ["DiongueNiang", "Diongue- Niang"]),
]
_RAW_BREAK = re.compile(r"(\w+)-\n([a-z]+)")  # a word hyphenated at a line end, lower case after it
_RAW_KEEP = re.compile(r"(\w+)-\n([A-Z0-9]\w*)")


def _raw_blocks(pdf, pages: int) -> list[list[str]]:
    """pymupdf's own text blocks of the first `pages` pages, NFKC as the cleaning reads them."""
    import pymupdf

    with pymupdf.open(pdf) as d:
        return [[unicodedata.normalize("NFKC", b[4]) for b in d[i].get_text("blocks") if b[6] == 0]
                for i in range(min(pages, d.page_count))]


def _page_text(res, page: int) -> str:
    """The clean text of one page (1-based), cut at the page offsets the extraction records."""
    starts = res.page_starts + [len(res.text)]
    return res.text[starts[page - 1] : starts[page]]


@pytest.fixture(scope="module")
def extracted():
    return {doc: extract_document(p, doc, max_pages=MAX_PAGES) for doc, p in discover(SHARED_PDFS).items()}


def test_every_report_is_usable_english(extracted):
    assert len(extracted) == 26
    for doc, res in extracted.items():
        assert res.status == "ok", (doc, res.reason)
        assert res.language == "en", doc
        assert res.chars > 300 * min(res.pages_used, 30) * 0.1, doc  # slides are sparse, reports dense


def test_page_furniture_is_gone(extracted):
    for doc, res in extracted.items():
        paras = Counter(p for p in res.text.split("\n\n") if len(p) < 100)
        repeated = [(p, n) for p, n in paras.items() if n >= max(5, res.pages_used // 2) and not p.isupper()]
        assert not repeated, (doc, repeated[:3])


def test_ipcc_spm_text_reads_as_prose(extracted):
    text = extracted["ipcc_ar6_wg1_spm"].text
    assert "human influence has warmed the climate" in text.lower()
    assert "\n\nSPM\n\n" not in text  # the side tab repeated on every page


@pytest.mark.parametrize("doc, page, raw, clean, never", LINE_BREAKS, ids=[c[3] for c in LINE_BREAKS])
def test_a_word_hyphenated_across_a_line_is_joined(extracted, doc, page, raw, clean, never):
    """A real page where pymupdf gives a word split by a hyphen and a newline: the clean text of that
    page has the word whole (or, before a capital, with its hyphen), never the broken form."""
    assert any(raw in b for b in _raw_blocks(SHARED_PDFS / f"{doc}.pdf", page)[page - 1]), "the premise"
    text = extracted[doc].text
    assert clean in _page_text(extracted[doc], page)
    assert not [f for f in never if f in text], [f for f in never if f in text]


def test_every_hyphenated_line_break_of_the_corpus_is_joined(extracted):
    """Over the whole corpus: no line break of pymupdf's blocks survives as `word- next`; a break before a
    lower-case letter reads `wordnext` in the clean text of its page (or `word-next`: many are compounds,
    `mid-\nlatitudes`, which today are joined too), one before a capital or digit reads `word-Next`."""
    joined = kept = 0
    for doc, res in extracted.items():
        for page, blocks in enumerate(_raw_blocks(SHARED_PDFS / f"{doc}.pdf", res.pages_used), start=1):
            page_text = _page_text(res, page)
            for block in blocks:
                for a, b in _RAW_BREAK.findall(block):
                    assert a + b in page_text or f"{a}-{b}" in page_text, (doc, page, f"{a}-|{b}")
                    assert f"{a}- {b}" not in res.text, (doc, page, f"{a}-|{b}")
                    joined += 1
                for a, b in _RAW_KEEP.findall(block):
                    assert f"{a}-{b}" in page_text and f"{a}- {b}" not in res.text, (doc, page, f"{a}-|{b}")
                    kept += 1
    assert joined > 100 and kept > 50, (joined, kept)  # the corpus really has both kinds
