"""Cleaning of extracted PDF text: page furniture (running headers, footers, side tabs), page numbers,
figure and table fragments and the reference section out; hyphenated line breaks joined; NFKC unicode."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# A text block is page furniture (running header, footer, side tab) when it sits in these margins
# and repeats on at least REPEAT_SHARE of the pages.
MARGIN_Y = 0.10
MARGIN_X = 0.08
REPEAT_SHARE = 0.4
FURNITURE_MAX_CHARS = 100

_PAGE_NUMBER = re.compile(r"^\s*(page\s*)?(\d{1,4}|[ivxlcdm]{1,6})(\s*(of|/)\s*\d{1,4})?\s*$", re.I)
_REFERENCES = re.compile(
    r"^\s*(\d+(\.\d+)*\.?\s*)?(references|bibliography|literature cited|works cited|reference list)\s*:?\s*$",
    re.I,
)
_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad]\n(?=[a-z])")
_HYPHEN_KEEP = re.compile(r"(\w)-\n(?=[A-Z0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")



def _block_key(text: str) -> str:
    """Text of a block with digits masked, so 'Page 3' and 'Page 4' count as the same furniture."""
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _in_margin(rect, x0: float, y0: float, x1: float, y1: float) -> bool:
    h, w = rect.height, rect.width
    return y1 <= rect.y0 + MARGIN_Y * h or y0 >= rect.y1 - MARGIN_Y * h or x1 <= rect.x0 + MARGIN_X * w or (
        x0 >= rect.x1 - MARGIN_X * w
    )


def clean_pages(pages: list, drop_references: bool = True) -> tuple[str, dict]:
    """Turn pymupdf text blocks of each page into clean paragraphs.

    `pages` is a list of (page rect, get_text("blocks") result). Returns the text and counts of
    what was dropped: furniture (repeated headers/footers/side tabs), page numbers, fragments
    (figure axes, table cells, stray letters) and the reference section.
    """
    counts = Counter()
    margin_keys: list[set] = []
    for rect, blocks in pages:
        keys = set()
        for x0, y0, x1, y1, txt, _, btype in blocks:
            if btype == 0 and rect is not None and _in_margin(rect, x0, y0, x1, y1):
                key = _block_key(txt)
                if len(key) <= FURNITURE_MAX_CHARS:
                    keys.add(key)
        margin_keys.append(keys)
        counts.update(keys)
    used = sum(1 for r, _ in pages if r is not None)
    threshold = max(2, REPEAT_SHARE * used)
    furniture = {k for k, c in counts.items() if c >= threshold}

    dropped = Counter(raw_chars=0, furniture=0, page_numbers=0, fragments=0, reference_chars=0)
    paragraphs: list[str] = []
    first_para: list[int] = []  # index of the first paragraph of each page
    for rect, blocks in pages:
        first_para.append(len(paragraphs))
        for x0, y0, x1, y1, txt, _, btype in blocks:
            if btype != 0:
                continue
            dropped["raw_chars"] += len(txt.strip())
            in_margin = rect is not None and _in_margin(rect, x0, y0, x1, y1)
            if in_margin and _block_key(txt) in furniture:
                dropped["furniture"] += 1
                continue
            if in_margin and _PAGE_NUMBER.match(txt):
                dropped["page_numbers"] += 1
                continue
            para = _clean_block(txt)
            if not para:
                continue
            letters = sum(ch.isalpha() for ch in para)
            if letters < 4 or (letters < 0.4 * len(para.replace(" ", "")) and len(para) < 300):
                dropped["fragments"] += 1  # figure axes, table cells, stray glyphs of rotated labels
                continue
            paragraphs.append(para)
    if drop_references:
        paragraphs, ref_chars = _drop_references(paragraphs)
        dropped["reference_chars"] = ref_chars
    # character offset where each page's text starts, so that a chunk can cite its page
    starts, pos = [], 0
    offsets = []
    for p in paragraphs:
        offsets.append(pos)
        pos += len(p) + 2
    for i in first_para:
        starts.append(offsets[i] if i < len(offsets) else max(0, pos - 1))
    dropped["page_starts"] = starts
    return "\n\n".join(paragraphs) + ("\n" if paragraphs else ""), dict(dropped)


def _clean_block(txt: str) -> str:
    """One block -> one paragraph: unicode NFKC, hyphenated line breaks joined, whitespace collapsed."""
    txt = unicodedata.normalize("NFKC", txt)
    txt = _CONTROL.sub(" ", txt.replace("\t", " "))
    txt = _HYPHEN_BREAK.sub(r"\1", txt)  # "emis-\nsions" -> "emissions"
    txt = _HYPHEN_KEEP.sub(r"\1-", txt)  # "COVID-\n19" -> "COVID-19", "Diongue-\nNiang" keeps its hyphen
    txt = txt.replace("\u00ad", "")
    return " ".join(txt.split())


def _drop_references(paragraphs: list[str]) -> tuple[list[str], int]:
    """Cut from a 'References' heading to the end, if it comes after the first third of the text."""
    total = sum(len(p) for p in paragraphs)
    seen = 0
    for i, p in enumerate(paragraphs):
        if seen >= total / 3 and _REFERENCES.match(p):
            return paragraphs[:i], sum(len(q) for q in paragraphs[i:])
        seen += len(p)
    return paragraphs, 0
