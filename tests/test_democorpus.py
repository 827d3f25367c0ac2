"""democorpus: the embedded corpus typesets, and extraction gives its words back."""

from __future__ import annotations

import re

from climatune import democorpus
from climatune.demo_corpus_text import DOCUMENTS
from climatune.extract import extract_document


def test_demo_corpus_roundtrip(tmp_path):
    assert democorpus.doc_ids() == [d["id"] for d in DOCUMENTS] + [democorpus.BROKEN_ID]
    assert 8 <= len(DOCUMENTS) <= 12
    doc = DOCUMENTS[0]
    democorpus.build_pdf(doc, tmp_path / "d.pdf")
    democorpus.write_broken(tmp_path / "broken.pdf")
    res = extract_document(tmp_path / "d.pdf")
    assert res.status == "ok" and res.pages >= 2
    assert "Climatune demo series" not in res.text  # running header
    assert not re.search(r"Page \d+ of \d+", res.text)  # footer
    assert doc["references"][0][:20] not in res.text  # reference section dropped
    words = {w for _, ps in doc["sections"] for p in ps for w in re.findall(r"[A-Za-z]{9,}", p)}
    got = set(re.findall(r"[A-Za-z]{9,}", res.text))
    assert words <= got, sorted(words - got)[:10]  # hyphenated line breaks were rejoined
    broken = extract_document(tmp_path / "broken.pdf")
    assert broken.status == "skipped" and "corrupt" in broken.reason


def test_pdf_bytes_are_reproducible(tmp_path):
    a = democorpus.build_pdf(DOCUMENTS[1], tmp_path / "a.pdf")
    b = democorpus.build_pdf(DOCUMENTS[1], tmp_path / "b.pdf")
    assert a == b and (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
