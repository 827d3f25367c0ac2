"""Pages per second of climatune's extract stage vs pypdf, on the same PDFs in the same run.

    .venv/bin/python bench/extract_bench.py [--pdf-dir ../shared/corpus/pdfs] [--out bench/results/extract.json]

Both sides run in this one process, one document at a time, alternating per document so that
machine noise hits both alike. climatune's side is the whole stage (open, classify, extract blocks,
clean, language check); pypdf's is `page.extract_text()` on every page, nothing else. Documents that
pypdf cannot read are reported and left out of both rates, so the speedup compares equal work.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune.corpus.extract_text import discover, extract_document  # noqa: E402


def run_climatune(pdf: Path) -> tuple[int, float, int]:
    t = time.perf_counter()
    res = extract_document(pdf, languages=[])
    return res.pages_used, time.perf_counter() - t, res.chars


def run_pypdf(pdf: Path) -> tuple[int, float, int]:
    import pypdf

    t = time.perf_counter()
    reader = pypdf.PdfReader(pdf)
    chars = sum(len(p.extract_text() or "") for p in reader.pages)
    return len(reader.pages), time.perf_counter() - t, chars


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_argument_group("input")
    g.add_argument("--pdf-dir", default=str(Path(__file__).resolve().parents[2] / "shared/corpus/pdfs"),
                   help="folder of PDFs (default: ../shared/corpus/pdfs)")
    g.add_argument("--max-docs", type=int, default=0, help="first N documents only (0: all)")
    g = ap.add_argument_group("output")
    g.add_argument("--out", default="bench/results/extract.json", help="JSON result file")
    a = ap.parse_args()
    if not Path(a.pdf_dir).is_dir():
        print(f"no PDF folder at {a.pdf_dir}; pass --pdf-dir", file=sys.stderr)
        return 2
    docs = discover(a.pdf_dir)
    items = list(docs.items())[: a.max_docs or None]
    run_climatune(items[0][1])  # warm-up: imports and font caches stay out of the numbers
    rows, failed = [], []
    for doc, pdf in items:
        c_pages, c_s, c_chars = run_climatune(pdf)
        try:
            p_pages, p_s, p_chars = run_pypdf(pdf)
        except Exception as e:  # pypdf raises its own errors on some real files; record them
            failed.append({"doc": doc, "error": f"{type(e).__name__}: {e}"[:200]})
            print(f"{doc:55s} pypdf failed: {type(e).__name__}")
            continue
        rows.append({"doc": doc, "pages": c_pages, "climatune_s": round(c_s, 4), "pypdf_s": round(p_s, 4),
                     "climatune_chars": c_chars, "pypdf_chars": p_chars})
        print(f"{doc:55s} {c_pages:4d} pages  climatune {c_pages / c_s:7.1f} p/s  pypdf {p_pages / p_s:6.1f} p/s")
    pages = sum(r["pages"] for r in rows)
    c_total = sum(r["climatune_s"] for r in rows)
    p_total = sum(r["pypdf_s"] for r in rows)
    result = {
        "pages_per_s_climatune": round(pages / c_total, 1),
        "pages_per_s_pypdf": round(pages / p_total, 1),
        "speedup": round(p_total / c_total, 2),
        "pages": pages,
        "documents": len(rows),
        "pypdf_failed": failed,
        "per_document": rows,
        "pdf_dir": os.path.relpath(a.pdf_dir),
        **C.header(sys.argv),
    }
    C.write_result(a.out, result)
    print()
    print(f"{'':12s}{'pages/s':>10s}")
    print(f"{'climatune':12s}{result['pages_per_s_climatune']:10.1f}")
    print(f"{'pypdf':12s}{result['pages_per_s_pypdf']:10.1f}")
    print(f"speedup {result['speedup']}x over {pages} pages in {len(rows)} documents "
          f"({len(failed)} document(s) pypdf could not read, excluded)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
