"""democorpus: the embedded corpus typesets, and extraction gives its words back."""

from __future__ import annotations

import re

import pytest

from climatune.corpus import demo_corpus
from climatune.corpus.extract_text import extract_document


def test_demo_corpus_roundtrip(tmp_path):
    docs = demo_corpus.documents()
    assert demo_corpus.doc_ids() == [d["id"] for d in docs] + [demo_corpus.BROKEN_ID]
    assert 8 <= len(docs) <= 12
    doc = docs[0]
    demo_corpus.build_pdf(doc, tmp_path / "d.pdf")
    demo_corpus.write_broken(tmp_path / "broken.pdf")
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
    doc = demo_corpus.documents()[1]
    a = demo_corpus.build_pdf(doc, tmp_path / "a.pdf")
    b = demo_corpus.build_pdf(doc, tmp_path / "b.pdf")
    assert a == b and (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


# Leftovers of the text's former life as Python string literals: escapes, quotes around concatenation
# seams, a doubled space where two literals were joined.
_ARTEFACTS = re.compile(r'\\[nt"\']|"\s+"|"\s*\+\s*"|^\s*\(\s*"|",\s*$|\)\s*,\s*$|  ')


def test_demo_corpus_data_files():
    root = demo_corpus.data_dir()
    order = root.joinpath("ORDER").read_text(encoding="utf-8").split()
    files = sorted(f.name for f in root.iterdir() if f.name.endswith(".md"))
    assert sorted(f"{i}.md" for i in order) == files and len(set(order)) == len(order)
    assert [d["id"] for d in demo_corpus.documents()] == order
    for name in files:
        text = root.joinpath(name).read_text(encoding="utf-8")
        doc = demo_corpus.parse_report(text, name)
        assert f"{doc['id']}.md" == name
        assert demo_corpus.format_report(doc) == text, f"{name} is not in canonical form"
        assert len(doc["sections"]) >= 4 and doc["references"], name
        assert all(ps for _, ps in doc["sections"]), f"{name} has a section without paragraphs"
        pieces = [doc["title"], doc["author"], *doc["references"],
                  *(x for h, ps in doc["sections"] for x in (h, *ps))]
        for piece in pieces:
            assert piece == piece.strip() and not _ARTEFACTS.search(piece), f"{name}: {piece[:80]!r}"


def test_documents_returns_fresh_copies():
    a = demo_corpus.documents()
    a[0]["sections"][0][1].append("changed")
    a[0]["references"].clear()
    b = demo_corpus.documents()
    assert b[0]["sections"][0][1][-1] != "changed" and b[0]["references"]


@pytest.mark.parametrize("text, why", [
    ("id: x\n", "front matter"),
    ("---\nid: x\ntitle: t\n---\n\n## A\n\np\n\n## References\n", "want"),
    ("---\nid: x\ntitle: t\nauthor: a\n---\n\nloose\n\n## References\n", "before the first heading"),
    ("---\nid: x\ntitle: t\nauthor: a\n---\n\n## A\n\nline one\nline two\n\n## References\n", "several lines"),
    ("---\nid: x\ntitle: t\nauthor: a\n---\n\n## A\n\np\n", "no '## References'"),
    ("---\nid: x\ntitle: t\nauthor: a\n---\n\n## A\n\np\n\n## References\n\n- r\n\n## B\n", "after the reference"),
    ("---\nid: x\ntitle: t\nauthor: a\n---\n\n## A\n\np\n\n## References\n\n- r\nr2\n", "'- '"),
])
def test_parse_report_rejects_malformed(text, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        demo_corpus.parse_report(text, "bad.md")


def test_format_parse_roundtrip_with_colon_in_title():
    doc = {"id": "x", "title": "A: B", "author": "C", "sections": [("H", ["p1", "p2"])], "references": ["r"]}
    assert demo_corpus.parse_report(demo_corpus.format_report(doc)) == doc
