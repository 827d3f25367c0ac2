"""extract: cleaning, and a specific skip reason for every class of bad input."""

from __future__ import annotations

import shutil

import pytest

from climatune.corpus import extract_text
from climatune.corpus.extract_text import discover, extract_document

from ..conftest import ENGLISH, SHARED_AWKWARD, SPANISH, make_pdf, needs_awkward


def test_clean_text_roundtrip(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", [ENGLISH * 3] * 4, header="Ocean Report 2026 | Chapter 1",
                   page_numbers=True)
    res = extract_document(pdf)
    assert res.status == "ok", res.reason
    assert res.pages == res.pages_used == 4
    assert "Ocean Report 2026" not in res.text  # running header dropped
    # header and page number on each page (masked digits make "1".."4" repeat as furniture)
    assert res.dropped["furniture"] + res.dropped["page_numbers"] == 8
    assert not any(line.strip().isdigit() for line in res.text.splitlines())
    assert "thermal expansion raises the global mean sea level" in res.text
    assert res.language == "en"
    assert res.chars == len(res.text) > 3000


def test_hyphenated_line_breaks_are_joined():
    blocks = [(72, 100, 500, 140, "the atmo-\nsphere and COVID-\n19 and Diongue-\nNiang\u00ad\nkeep\n", 0, 0)]

    class Rect:
        x0, y0, x1, y1, width, height = 0, 0, 595, 842, 595, 842

    text, _ = extract_text.clean_pages([(Rect(), blocks)])
    assert text.strip() == "the atmosphere and COVID-19 and Diongue-Niangkeep"


def test_max_pages_and_references(tmp_path):
    pages = [ENGLISH * 2] * 5 + ["References\n\nSmith, J. (2020). A paper. Journal 1, 1-2."]
    pdf = make_pdf(tmp_path / "r.pdf", pages)
    full = extract_document(pdf, drop_references=True)
    assert "Smith, J." not in full.text and full.dropped["reference_chars"] > 0
    kept = extract_document(pdf, drop_references=False)
    assert "Smith, J." in kept.text
    capped = extract_document(pdf, max_pages=2)
    assert capped.pages == 6 and capped.pages_used == 2
    assert capped.chars < full.chars / 2


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_text("<!DOCTYPE html><html><body>404</body></html>"), "not a PDF"),
        (lambda p: p.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 10), "corrupt PDF"),
        (lambda p: make_pdf(p, [""], image_only=True), "no text layer"),
        (lambda p: make_pdf(p, [SPANISH * 2] * 2), "language is 'es'"),
    ],
    ids=["zero-byte", "not-a-pdf", "corrupt", "scanned", "spanish"],
)
def test_bad_input_is_skipped_with_reason(tmp_path, make, reason):
    p = tmp_path / "bad.pdf"
    make(p)
    res = extract_document(p, languages=["en"])
    assert res.status == "skipped"
    assert reason in res.reason
    assert res.text == "" and res.chars == 0


def test_encrypted_is_skipped(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), ENGLISH)
    p = tmp_path / "enc.pdf"
    doc.save(str(p), encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    res = extract_document(p)
    assert res.status == "skipped" and res.reason.startswith("encrypted")


def test_truncated_pdf_is_reported_as_damaged(tmp_path):
    good = make_pdf(tmp_path / "g.pdf", [ENGLISH])
    data = good.read_bytes()
    bad = tmp_path / "cut.pdf"
    bad.write_bytes(data[: len(data) // 3])
    res = extract_document(bad)
    assert res.status == "skipped"
    assert "damaged" in res.reason or "corrupt" in res.reason


def test_run_writes_text_and_meta_even_when_skipped(tmp_path):
    p = tmp_path / "x.pdf"
    p.write_bytes(b"")
    res = extract_text.run(p, tmp_path / "x.txt", tmp_path / "x.json", doc="x")
    assert (tmp_path / "x.txt").read_text() == ""
    assert '"status": "skipped"' in (tmp_path / "x.json").read_text()
    assert res.doc == "x"


def test_discover_ids_and_errors(tmp_path):
    (tmp_path / "Report A.PDF").write_bytes(b"%PDF-1.4")
    (tmp_path / "report_a.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "notes.txt").write_text("not a pdf")
    docs = discover(tmp_path)
    # "report_a" is already an id; "Report A" gets a hash of its exact name, whatever else is there
    assert sorted(docs) == ["report_a", extract_text.doc_id("Report A")]
    assert extract_text.doc_id("Report A").startswith("report_a-")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(extract_text.NoPdfsError, match="empty"):
        discover(empty)
    with pytest.raises(extract_text.NoPdfsError, match="not a folder"):
        discover(tmp_path / "missing")


@needs_awkward
def test_every_awkward_file_gets_a_specific_reason(tmp_path):
    expected = {
        "encrypted_password_protected_scan": "encrypted",
        "not_a_pdf_html_saved_as_pdf": "not a PDF",
        "scanned_no_text_layer_linn_brochure": "no text layer",
        "unfccc_cma4_2022_decisions_spanish": "language is 'es'",
    }
    for doc, path in discover(SHARED_AWKWARD).items():
        res = extract_document(path, doc, languages=["en"])
        assert res.status == "skipped", doc
        assert expected[doc] in res.reason, (doc, res.reason)


def test_main_cli(tmp_path):
    pdf = make_pdf(tmp_path / "c.pdf", [ENGLISH])
    shutil.copy(pdf, tmp_path / "d.pdf")
    rc = extract_text.main([str(pdf), "--out-text", str(tmp_path / "c.txt"), "--out-meta", str(tmp_path / "c.json")])
    assert rc == 0 and "sea level" in (tmp_path / "c.txt").read_text()
