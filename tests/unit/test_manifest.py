"""manifest: duplicates across documents, all-skipped corpus."""

from __future__ import annotations

import shutil

import pytest

from climatune.corpus import extract_text, manifest

from ..conftest import ENGLISH, make_pdf


def _extract_all(folder, out):
    metas = []
    for doc, pdf in extract_text.discover(folder).items():
        extract_text.run(pdf, out / f"{doc}.txt", out / f"{doc}.json", doc=doc)
        metas.append(out / f"{doc}.json")
    return metas


def test_duplicates_are_skipped_naming_the_original(tmp_path):
    import pymupdf

    src = tmp_path / "pdfs"
    a = make_pdf(src / "a.pdf", [ENGLISH * 3])
    shutil.copy(a, src / "b_copy.pdf")  # same bytes
    with pymupdf.open(a) as d:  # same text, other bytes (another title)
        d.set_metadata({"title": "another file"})
        d.save(src / "c.pdf")
    make_pdf(src / "d.pdf", [ENGLISH[::-1] * 3])  # reversed: no English function word is left
    metas = _extract_all(src, tmp_path / "text")
    rows = {r["doc"]: r for r in manifest.run(metas, tmp_path / "manifest.tsv", str(src))}
    assert rows["c"]["sha256"] not in (rows["a"]["sha256"], "")
    want = {
        "a": ("ok", ""),
        "b_copy": ("skipped", "duplicate of a (identical file)"),
        "c": ("skipped", "duplicate of a (identical text)"),
        "d": ("skipped", "language is 'und', not in corpus.languages ['en']"),
    }
    assert {doc: (r["status"], r["reason"]) for doc, r in rows.items()} == want
    assert rows["a"]["chars"] > 1000 and all(rows[d]["chars"] == 0 for d in ("b_copy", "c", "d"))
    table = manifest.read_manifest(tmp_path / "manifest.tsv")
    assert [r["doc"] for r in table] == ["a", "b_copy", "c", "d"]
    assert set(table[0]) >= {"doc", "pages", "chars", "status", "reason"}
    assert {r["doc"]: (r["status"], r["reason"]) for r in table} == want  # the file says the same
    assert manifest.check_usable(tmp_path / "manifest.tsv", str(src)) == ["a"]


def test_all_skipped_corpus_names_the_folder(tmp_path):
    src = tmp_path / "broken_reports"
    src.mkdir()
    (src / "x.pdf").write_bytes(b"")
    (src / "y.pdf").write_text("<html></html>")
    metas = _extract_all(src, tmp_path / "text")
    manifest.run(metas, tmp_path / "manifest.tsv", str(src))
    assert (tmp_path / "manifest.tsv").exists()  # the reasons stay on disk
    rows = {r["doc"]: (r["status"], r["reason"]) for r in manifest.read_manifest(tmp_path / "manifest.tsv")}
    assert rows == {
        "x": ("skipped", "empty file (0 bytes)"),
        "y": ("skipped", "not a PDF: no %PDF header; the file is an HTML/XML page (a failed download saved under "
                         "a .pdf name?)"),
    }
    with pytest.raises(manifest.EmptyCorpusError, match="broken_reports"):
        manifest.check_usable(tmp_path / "manifest.tsv", str(src))
