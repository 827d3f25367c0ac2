"""extract_text: one PDF -> clean text plus a record of what happened (pymupdf).

A document that cannot give usable text is never fatal: it comes back with status "skipped" and a
specific reason (empty file, not a PDF, corrupt, encrypted, no text layer, wrong language), which
the manifest stage collects. Duplicates are found across documents by `climatune.corpus.manifest`.

Run alone: python -m climatune.corpus.extract_text report.pdf --out-text report.txt --out-meta report.json
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._settings import Section, cli_defaults
from .._util import UserError, setup_logging, write_json
from .cleaning import clean_pages
from .language import detect_language

log = logging.getLogger(__name__)

@dataclass
class Extraction:
    """The result for one document; `text` is empty when status is "skipped"."""

    doc: str
    file: str
    status: str = "ok"
    reason: str = ""
    pages: int = 0
    pages_used: int = 0
    chars: int = 0
    language: str = ""
    sha256: str = ""
    text_sha256: str = ""
    seconds: float = 0.0
    dropped: dict = field(default_factory=dict)
    page_starts: list = field(default_factory=list)  # char offset of each used page's text in `text`
    text: str = field(default="", repr=False)

    def meta(self) -> dict:
        d = asdict(self)
        d.pop("text")
        return d


class NoPdfsError(UserError):
    """The corpus folder is missing or holds no *.pdf file."""


def doc_id(stem: str) -> str:
    """A file stem as a document id safe for paths and wildcards ([a-z0-9_-]) that never depends on the
    other files: a stem that is already such an id is kept; any other gets a hash of its exact name
    (`Report 1` -> `report_1-3f9a2c`, `报告` -> `doc-8d2e41`), so adding or removing files moves no id."""
    import hashlib

    clean = re.sub(r"[^a-z0-9_-]+", "_", stem.lower()).strip("_-")
    if clean == stem and clean:
        return clean
    return f"{clean or 'doc'}-{hashlib.sha256(stem.encode('utf-8', 'surrogateescape')).hexdigest()[:6]}"


def discover(pdf_dir: str | Path) -> dict[str, Path]:
    """{document id: path} of every *.pdf entry (any case) in `pdf_dir`, not recursive, sorted; broken
    symbolic links, link loops and folders named *.pdf are included (their extract job records why they
    cannot be read), so that every entry gets a manifest row. Raises NoPdfsError naming the folder."""
    folder = Path(pdf_dir)
    if not folder.is_dir():
        what = "a file" if folder.is_file() else "missing"
        raise NoPdfsError(f"corpus.pdf_dir '{pdf_dir}' is not a folder ({what}; absolute: {folder.resolve()})")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".pdf")
    if not files:
        raise NoPdfsError(f"corpus folder '{pdf_dir}' holds no *.pdf file: point corpus.pdf_dir at your "
                          "reports, or set corpus.demo: true for the embedded demo corpus")
    out: dict[str, Path] = {}
    for f in files:
        key = doc_id(f.stem)
        if key in out:  # two exact names with one hash prefix: astronomically rare, still never silent
            raise NoPdfsError(f"'{f.name}' and '{out[key].name}' map to one document id '{key}': rename one")
        out[key] = f
    return out


DEMO_DIR = "resources/demo_corpus"


def documents(corpus: dict) -> dict[str, Path]:
    """{document id: PDF} of the configured corpus (`corpus:` of the config), checked before any job:
    the embedded demo corpus is written only into its own folder, never into a folder of the user's."""
    pdf_dir = corpus["pdf_dir"].rstrip("/") or "."
    if not corpus["demo"]:
        return discover(pdf_dir)
    if Path(pdf_dir) != Path(DEMO_DIR):
        raise NoPdfsError(
            f"corpus.pdf_dir is '{pdf_dir}' but corpus.demo is true, which writes the embedded demo corpus into "
            f"{DEMO_DIR}: set corpus.demo: false to use the PDFs in '{pdf_dir}' (nothing is ever written there)")
    from .demo_corpus import doc_ids

    return {d: Path(DEMO_DIR) / f"{d}.pdf" for d in doc_ids()}


def entry_problem(path: str | Path) -> str | None:
    """Why a directory entry cannot be read as a file (broken link, link loop, folder), or None."""
    import errno
    import os

    p = Path(path)
    try:
        st = os.stat(p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return f"symbolic link loop ({p.name} -> {os.readlink(p)} never reaches a file)"
        if p.is_symlink():
            return f"broken symbolic link: points to {os.readlink(p)}, which does not exist"
        return f"unreadable file: {e.strerror}"
    import stat as _stat

    if _stat.S_ISDIR(st.st_mode):
        return "a folder named like a PDF, not a file"
    return None


def stamp(path: str | Path) -> str:
    """Size and modification time (ns) of the file an entry points to, or its problem: a rule param, so a
    PDF replaced by another, even an older one, is read again."""
    why = entry_problem(path)
    if why:
        return why
    st = Path(path).stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _skip(res: Extraction, reason: str) -> Extraction:
    res.status, res.reason, res.text, res.chars = "skipped", reason, "", 0
    return res


def _sniff(data: bytes) -> str | None:
    """Why these bytes are not a PDF, or None when they look like one."""
    if not data:
        return "empty file (0 bytes)"
    head = data[:1024]
    if b"%PDF-" in head:
        return None
    start = head.lstrip()[:60].decode("latin-1", "replace").lower()
    if start.startswith(("<!doctype", "<html", "<?xml", "<head")):
        kind = "an HTML/XML page (a failed download saved under a .pdf name?)"
    elif start.startswith("pk\x03\x04"):
        kind = "a ZIP archive"
    elif head[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1"):
        kind = "an image"
    else:
        kind = f"unknown data starting with {head[:16]!r}"
    return f"not a PDF: no %PDF header; the file is {kind}"


@dataclass(frozen=True)
class ExtractSettings(Section):
    """What extract_text reads of `corpus:` in config/config.yaml."""

    SECTION = "corpus"
    max_pages: int
    drop_references: bool
    languages: tuple
    min_chars_per_page: int


def run(pdf: str | Path, out_text: str | Path, out_meta: str | Path, doc: str | None = None,
        settings: ExtractSettings | None = None) -> Extraction:
    """Extract one document and write its text and metadata; never raises on bad input. `settings`
    default to config.yaml's `corpus:`."""
    s = settings or ExtractSettings.from_dict()
    res = extract_document(pdf, doc, s.max_pages, s.drop_references, list(s.languages), s.min_chars_per_page)
    Path(out_text).parent.mkdir(parents=True, exist_ok=True)
    Path(out_text).write_text(res.text)
    write_json(out_meta, res.meta())
    if res.status == "ok":
        log.info("%s: %d/%d pages, %d chars, %.2fs", res.doc, res.pages_used, res.pages, res.chars, res.seconds)
    else:
        log.warning("skipped %s (%s): %s", res.doc, res.file, res.reason)
    return res


def extract_document(
    pdf: str | Path,
    doc: str | None = None,
    max_pages: int = 0,
    drop_references: bool = True,
    languages: list[str] | None = None,
    min_chars_per_page: int = 50,
) -> Extraction:
    """Open, classify and clean one PDF. Bad input gives status="skipped" with a specific reason."""
    import pymupdf

    pdf = Path(pdf)
    t0 = time.perf_counter()
    res = Extraction(doc=doc or pdf.stem, file=str(pdf))
    why = entry_problem(pdf)
    if why:
        return _skip(res, why)
    try:
        data = pdf.read_bytes()
    except OSError as e:
        return _skip(res, f"unreadable file: {e.strerror or e}")
    res.sha256 = hashlib.sha256(data).hexdigest()
    why = _sniff(data)
    if why:
        return _skip(res, why)
    try:
        document = pymupdf.open(stream=data, filetype="pdf")
    except Exception as e:  # pymupdf raises FileDataError and friends; any failure here means corrupt
        return _skip(res, f"corrupt PDF: MuPDF cannot open it ({type(e).__name__}: {e})")
    with document:
        if document.needs_pass and not document.authenticate(""):
            return _skip(res, "encrypted: the PDF needs a user password (decrypt it first, e.g. qpdf --decrypt)")
        res.pages = document.page_count
        if res.pages == 0:
            return _skip(res, "corrupt PDF: no pages")
        n = res.pages if max_pages <= 0 else min(max_pages, res.pages)
        res.pages_used = n
        pages, bad_pages, images = _read_pages(document, n, res.doc)
        repaired = document.is_repaired
    text, dropped = clean_pages(pages, drop_references)
    dropped["unreadable_pages"] = bad_pages
    res.page_starts = dropped.pop("page_starts")
    res.dropped = dropped
    raw_chars = dropped.pop("raw_chars")
    if raw_chars < min_chars_per_page * n:
        what = f"{n} page(s) gave {raw_chars} characters"
        hint = f", {images} image(s)" if images else ""
        damaged = " (the file is damaged: MuPDF had to repair it)" if repaired else ""
        return _skip(res, f"no text layer{damaged}: {what}{hint}; scanned? OCR it first (e.g. ocrmypdf)")
    res.language = detect_language(text)
    if languages and res.language not in languages:
        return _skip(res, f"language is '{res.language}', not in corpus.languages {languages}")
    res.text, res.chars = text, len(text)
    res.text_sha256 = hashlib.sha256(text.encode()).hexdigest()
    res.seconds = round(time.perf_counter() - t0, 4)
    return res


def _read_pages(document, n: int, doc: str) -> tuple[list, int, int]:
    """Text blocks of the first n pages, the number of unreadable pages, and images on pages without text."""
    pages, bad_pages, images = [], 0, 0
    for i in range(n):
        try:
            page = document[i]
            pages.append((page.rect, page.get_text("blocks")))
            if not pages[-1][1]:
                images += len(page.get_images(full=False))
        except Exception as e:  # one broken page must not lose the others
            bad_pages += 1
            log.warning("%s: page %d unreadable (%s), skipped", doc, i + 1, e)
            pages.append((None, []))
    return pages, bad_pages, images


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.extract_text", description=__doc__.splitlines()[0])
    ap.add_argument("pdf")
    ap.add_argument("--out-text", required=True)
    ap.add_argument("--out-meta", required=True)
    ap.add_argument("--doc", help="document id (default: file stem)")
    ap.add_argument("--max-pages", type=int, help="first N pages only (0: all)")
    ap.add_argument("--keep-references", action="store_true", help="keep the reference section")
    ap.add_argument("--languages", nargs="*", help="accepted languages (none: all)")
    ap.add_argument("--min-chars-per-page", type=int)
    cli_defaults(ap, "corpus", {"max_pages": "max_pages", "languages": "languages",
                                "min_chars_per_page": "min_chars_per_page"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.pdf, a.out_text, a.out_meta, a.doc, ExtractSettings.from_dict({
        "max_pages": a.max_pages, "drop_references": not a.keep_references, "languages": a.languages,
        "min_chars_per_page": a.min_chars_per_page}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
