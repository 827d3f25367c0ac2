"""demo_corpus: typeset the embedded demo corpus (the project's own text) as real PDFs with pymupdf.

The PDFs look like small reports on purpose, so the demo exercises the same cleaning as real
reports: a running header and a "Page N of M" footer on every page, words hyphenated at line ends,
and a reference section at the end. One deliberately corrupt file exercises the skip path.

Run alone: python -m climatune.corpus.demo_corpus OUT_DIR

The text lives in package data beside this module, not in code:

    climatune/corpus/demo_corpus/ORDER     one report id per line; the order of documents()
    climatune/corpus/demo_corpus/<id>.md   one report each, in exactly this form:

        ---
        id: <id>
        title: <title>
        author: <author>
        ---

        ## <section heading>

        <paragraph, on one line>

        <paragraph, on one line>

        ## <next section heading>
        ...

        ## References

        - <reference>
        - <reference>

Blocks are separated by one blank line and the file ends with a newline. The last "## References"
block is the reference list (no section may be called "References"). parse_report() rejects anything
else (a paragraph wrapped over several lines, text before the first heading, ...), and
format_report(parse_report(text)) == text holds for every file (tests/unit/test_democorpus.py).
To add a report: write <id>.md and add its id to ORDER.
"""

from __future__ import annotations

import argparse
import functools
import logging
import re
from importlib import resources
from pathlib import Path

from .._util import setup_logging

log = logging.getLogger(__name__)

BROKEN_ID = "zz_corrupted_download"
PAGE_W, PAGE_H = 595.0, 842.0  # A4 in points
MARGIN = 72.0
FONT, BOLD = "helv", "hebo"
SIZE, LEADING = 10.5, 14.5
# The base-14 fonts carry Latin-1 only: dashes outside it would print as a stray glyph.
_LATIN1 = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2019": "'", "\u2018": "'",
                         "\u201c": '"', "\u201d": '"'})


DATA_DIR = "demo_corpus"  # package data folder in climatune.corpus (see the module docstring)
REFERENCES = "References"  # heading of the reference list, always the last block
_META = ("id", "title", "author")


def parse_report(text: str, source: str = "<report>") -> dict:
    """One report file -> {"id", "title", "author", "sections": [(heading, [paragraph, ...])],
    "references": [str]}. Raises ValueError naming `source` on anything outside the format."""

    def bad(why: str) -> ValueError:
        return ValueError(f"{source}: {why}")

    if not text.startswith("---\n"):
        raise bad("does not start with '---' front matter")
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        raise bad("front matter is not closed by '---'")
    meta: dict[str, str] = {}
    for line in head.split("\n"):
        key, colon, value = line.partition(": ")
        if not colon or key not in _META or key in meta or not value:
            raise bad(f"bad front matter line {line!r} (want one each of {', '.join(_META)})")
        meta[key] = value
    if tuple(meta) != _META:
        raise bad(f"front matter keys {list(meta)}, want {list(_META)} in that order")
    sections: list[tuple[str, list[str]]] = []
    references: list[str] | None = None
    for block in re.split(r"\n{2,}", body.strip("\n")):
        if block.startswith("## "):
            heading = block[3:]
            if "\n" in heading:
                raise bad(f"heading {heading!r} is not followed by a blank line")
            if references is not None:
                raise bad(f"section {heading!r} after the reference list")
            if heading == REFERENCES:
                references = []
            else:
                sections.append((heading, []))
        elif references is not None:
            for line in block.split("\n"):
                if not line.startswith("- "):
                    raise bad(f"reference list line {line!r} does not start with '- '")
                references.append(line[2:])
        elif not sections:
            raise bad(f"text before the first heading: {block[:60]!r}")
        elif "\n" in block:
            raise bad(f"paragraph spans several lines (keep each on one line): {block[:60]!r}")
        else:
            sections[-1][1].append(block)
    if references is None:
        raise bad(f"no '## {REFERENCES}' list at the end")
    return {**meta, "sections": sections, "references": references}


def format_report(doc: dict) -> str:
    """The inverse of parse_report: the canonical file text of one report."""
    blocks = ["---\n" + "".join(f"{k}: {doc[k]}\n" for k in _META) + "---"]
    for heading, paragraphs in doc["sections"]:
        blocks += [f"## {heading}", *paragraphs]
    blocks += [f"## {REFERENCES}", "\n".join(f"- {r}" for r in doc["references"])]
    return "\n\n".join(blocks) + "\n"


def data_dir():
    """The package data folder (an importlib.resources Traversable; a real folder in a normal install)."""
    return resources.files(__package__).joinpath(DATA_DIR)


@functools.lru_cache(maxsize=1)
def _load() -> tuple[dict, ...]:
    root = data_dir()
    ids = [ln.strip() for ln in root.joinpath("ORDER").read_text(encoding="utf-8").splitlines() if ln.strip()]
    docs = []
    for doc_id in ids:
        name = f"{doc_id}.md"
        doc = parse_report(root.joinpath(name).read_text(encoding="utf-8"), f"{DATA_DIR}/{name}")
        if doc["id"] != doc_id:
            raise ValueError(f"{DATA_DIR}/{name}: id {doc['id']!r} does not match the file name")
        docs.append(doc)
    return tuple(docs)


def documents() -> list[dict]:
    """The demo reports in ORDER, each {"id", "title", "author", "sections": [(heading, [paragraphs])],
    "references": [str]}. Parsed once; every call returns fresh lists, so callers may change them."""
    return [{**d, "sections": [(h, list(ps)) for h, ps in d["sections"]], "references": list(d["references"])}
            for d in _load()]


def doc_ids() -> list[str]:
    """Ids of every file the demo corpus holds, the broken one included (known before any job runs)."""
    return [d["id"] for d in _load()] + [BROKEN_ID]


def _hyphenate(word: str, room: float, size: float) -> tuple[str, str] | None:
    """Split `word` so that its head plus '-' fits into `room` points; None when no split works."""
    import pymupdf

    if len(word) < 7 or not word.isalpha():
        return None
    for cut in range(len(word) - 3, 2, -1):
        head = word[:cut] + "-"
        if pymupdf.get_text_length(head, fontname=FONT, fontsize=size) <= room:
            return head, word[cut:]
    return None


def wrap(text: str, width: float, size: float = SIZE, font: str = FONT) -> list[str]:
    """Greedy line breaking with hyphenation of long words, like a typesetter would."""
    import pymupdf

    def length(s: str) -> float:
        return pymupdf.get_text_length(s, fontname=font, fontsize=size)

    lines, line = [], ""
    words = text.split()
    i = 0
    while i < len(words):
        w = words[i]
        cand = f"{line} {w}" if line else w
        if length(cand) <= width:
            line, i = cand, i + 1
            continue
        split = _hyphenate(w, width - length(line + " "), size) if line else None
        if split:
            lines.append(f"{line} {split[0]}")
            words[i] = split[1]
        else:
            lines.append(line or w)
            i += 0 if line else 1
        line = ""
    if line:
        lines.append(line)
    return lines


class _Writer:
    """Places lines top to bottom, opening a new page when the text area is full."""

    def __init__(self, pdf, title: str):
        self.pdf, self.title, self.page, self.y = pdf, title, None, 0.0
        self.new_page()

    def new_page(self):
        self.page = self.pdf.new_page(width=PAGE_W, height=PAGE_H)
        self.y = MARGIN + 10

    def line(self, text: str, size: float = SIZE, font: str = FONT, leading: float = LEADING):
        if self.y + leading > PAGE_H - MARGIN:
            self.new_page()
        self.page.insert_text((MARGIN, self.y), text, fontname=font, fontsize=size)
        self.y += leading

    def paragraph(self, text: str, size: float = SIZE, font: str = FONT, gap: float = 7.0):
        text = text.translate(_LATIN1)
        for ln in wrap(text, PAGE_W - 2 * MARGIN, size, font):
            self.line(ln, size, font, leading=size * 1.38)
        self.y += gap

    def furniture(self):
        """Running header and footer on every page, as report PDFs have them."""
        n = self.pdf.page_count
        for i, page in enumerate(self.pdf):
            page.insert_text((MARGIN, 40), f"Climatune demo series | {self.title}", fontname=FONT, fontsize=8)
            footer = f"Page {i + 1} of {n}"
            x = (PAGE_W - _len(footer, 8)) / 2
            page.insert_text((x, PAGE_H - 36), footer, fontname=FONT, fontsize=8)


def _len(s: str, size: float) -> float:
    import pymupdf

    return pymupdf.get_text_length(s, fontname=FONT, fontsize=size)


def build_pdf(doc: dict, path: str | Path) -> int:
    """Typeset one document; returns its page count. The bytes are reproducible run to run."""
    import pymupdf

    pdf = pymupdf.open()
    w = _Writer(pdf, doc["title"])
    w.paragraph(doc["title"], size=16, font=BOLD, gap=4)
    w.paragraph(doc["author"], size=10, gap=14)
    for heading, paragraphs in doc["sections"]:
        w.paragraph(heading, size=12, font=BOLD, gap=3)
        for p in paragraphs:
            w.paragraph(p)
    w.paragraph("References", size=12, font=BOLD, gap=3)
    for ref in doc["references"]:
        w.paragraph(ref, size=9, gap=3)
    w.furniture()
    stamp = "D:20260101000000Z"
    pdf.set_metadata({"title": doc["title"], "author": doc["author"], "creator": "climatune.corpus.demo_corpus",
                      "producer": "pymupdf", "creationDate": stamp, "modDate": stamp})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pdf.save(str(path), garbage=3, deflate=True, no_new_id=True)
    pages = pdf.page_count
    pdf.close()
    return pages


def write_broken(path: str | Path) -> None:
    """A file that claims to be a PDF but is damaged beyond repair (like a cut-off download)."""
    junk = bytes((i * 73 + 41) % 256 for i in range(4096))
    Path(path).write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + junk)


def run(out_dir: str | Path) -> list[Path]:
    """Write every demo document plus the broken file into `out_dir`; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for d in documents():
        p = out / f"{d['id']}.pdf"
        pages = build_pdf(d, p)
        log.info("wrote %s (%d pages)", p, pages)
        paths.append(p)
    broken = out / f"{BROKEN_ID}.pdf"
    write_broken(broken)
    log.info("wrote %s (deliberately corrupt, to exercise the skip path)", broken)
    return paths + [broken]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.demo_corpus", description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
