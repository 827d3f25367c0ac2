"""The real dev corpus (../shared/corpus/pdfs, 26 reports): every document extracts cleanly."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from climatune.corpus.extract_text import discover, extract_document

from ..conftest import SHARED_PDFS, needs_shared_corpus

pytestmark = needs_shared_corpus


@pytest.fixture(scope="module")
def extracted():
    return {doc: extract_document(p, doc, max_pages=30) for doc, p in discover(SHARED_PDFS).items()}


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
        assert not re.search(r"\w-\n\w", res.text), doc  # no hyphenated line breaks left


def test_ipcc_spm_text_reads_as_prose(extracted):
    text = extracted["ipcc_ar6_wg1_spm"].text
    assert "human influence has warmed the climate" in text.lower()
    assert "\n\nSPM\n\n" not in text  # the side tab repeated on every page
