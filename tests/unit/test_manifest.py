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
    src = tmp_path / "pdfs"
    a = make_pdf(src / "a.pdf", [ENGLISH * 3])
    shutil.copy(a, src / "b_copy.pdf")  # same bytes
    make_pdf(src / "c.pdf", [ENGLISH * 3], header=None)  # same text, (possibly) other bytes
    make_pdf(src / "d.pdf", [ENGLISH[::-1] * 3])
    metas = _extract_all(src, tmp_path / "text")
    rows = {r["doc"]: r for r in manifest.run(metas, tmp_path / "manifest.tsv", str(src))}
    assert rows["a"]["status"] == "ok"
    assert rows["b_copy"]["reason"] == "duplicate of a (identical file)"
    assert rows["c"]["status"] == "skipped" and rows["c"]["reason"].startswith("duplicate of a")
    assert rows["d"]["status"] in ("ok", "skipped")  # reversed text may fail the language check
    table = manifest.read_manifest(tmp_path / "manifest.tsv")
    assert [r["doc"] for r in table] == ["a", "b_copy", "c", "d"]
    assert set(table[0]) >= {"doc", "pages", "chars", "status", "reason"}


def test_all_skipped_corpus_names_the_folder(tmp_path):
    src = tmp_path / "broken_reports"
    src.mkdir()
    (src / "x.pdf").write_bytes(b"")
    (src / "y.pdf").write_text("<html></html>")
    metas = _extract_all(src, tmp_path / "text")
    manifest.run(metas, tmp_path / "manifest.tsv", str(src))
    assert (tmp_path / "manifest.tsv").exists()  # the reasons stay on disk
    with pytest.raises(manifest.EmptyCorpusError, match="broken_reports"):
        manifest.check_usable(tmp_path / "manifest.tsv", str(src))
