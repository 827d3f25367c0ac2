"""manifest: gather the per-document extraction records into results/corpus/manifest.tsv.

This is also where duplicates are found, since only here are all documents seen together: a file
whose bytes, or whose cleaned text, equal an earlier document's (in id order) is skipped with the
name of the document it duplicates.

Run alone: python -m climatune.corpus.manifest META.json ... --out manifest.tsv --pdf-dir DIR
"""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

from .._util import UserError, read_json, setup_logging

log = logging.getLogger(__name__)

COLUMNS = ["doc", "pages", "pages_used", "chars", "status", "reason", "language", "file", "sha256"]


class EmptyCorpusError(UserError):
    """No document of the corpus folder gave usable text."""


def mark_duplicates(records: list[dict]) -> list[dict]:
    """Skip every record whose file bytes or cleaned text repeat an earlier record's."""
    by_file, by_text = {}, {}
    for r in sorted(records, key=lambda r: r["doc"]):
        if r["status"] != "ok":
            continue
        first = by_file.get(r["sha256"]) or by_text.get(r["text_sha256"])
        if first:
            same = "identical file" if by_file.get(r["sha256"]) else "identical text"
            r["status"], r["reason"], r["chars"] = "skipped", f"duplicate of {first} ({same})", 0
            continue
        by_file[r["sha256"]] = r["doc"]
        by_text[r["text_sha256"]] = r["doc"]
    return records


def read_manifest(path: str | Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def run(metas: list[str | Path], out: str | Path, pdf_dir: str = "") -> list[dict]:
    """Write the manifest and log every skip. An all-skipped corpus is reported by `check_usable`
    in the next stage, so that the manifest with its reasons stays on disk."""
    records = mark_duplicates([read_json(m) for m in metas])
    records.sort(key=lambda r: r["doc"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, delimiter="\t", extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in records:
            w.writerow({**r, "reason": r["reason"].replace("\t", " ").replace("\n", " ")})
    ok = [r for r in records if r["status"] == "ok"]
    for r in records:
        if r["status"] != "ok":
            log.warning("skipped %s: %s", r["doc"], r["reason"])
    pages = sum(r["pages_used"] for r in ok)
    chars = sum(r["chars"] for r in ok)
    log.info("%d of %d documents usable (%d pages, %d chars); manifest: %s", len(ok), len(records), pages,
             chars, out)
    if not ok:
        log.error("no usable document in corpus folder '%s'", pdf_dir)
    return records


def check_usable(manifest: str | Path, pdf_dir: str = "") -> list[str]:
    """Usable document ids; EmptyCorpusError naming the folder when there are none."""
    rows = read_manifest(manifest)
    docs = sorted(r["doc"] for r in rows if r["status"] == "ok")
    if not docs:
        raise EmptyCorpusError(
            f"no usable document in corpus folder '{pdf_dir}': all {len(rows)} file(s) were skipped; "
            f"the reason for each is in {manifest}"
        )
    return docs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.manifest", description=__doc__.splitlines()[0])
    ap.add_argument("metas", nargs="+", help="per-document JSON records written by climatune.corpus.extract_text")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pdf-dir", default="")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.metas, a.out, a.pdf_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
