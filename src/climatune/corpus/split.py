"""split: assign whole documents to train or test, deterministically and stably.

Each document gets a score in [0, 1) from sha256(seed, doc id); it is held out when the score is
below `test_ratio`. The assignment of a document therefore never changes when other documents are
added or removed (a random shuffle would reshuffle everything). Splitting by document, never by
chunk, keeps text of a held-out report out of training.

Run alone: python -m climatune.corpus.split MANIFEST.tsv --out split.json --seed 1234 --test-ratio 0.1
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from .._settings import Section, cli_defaults
from .._util import UserError, setup_logging, write_json
from .manifest import check_usable

log = logging.getLogger(__name__)


def score(doc: str, seed: int) -> float:
    """A stable pseudo-random number in [0, 1) for this document and seed."""
    h = hashlib.sha256(f"{seed}:{doc}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def assign(docs: list[str], seed: int, test_ratio: float) -> dict:
    """The split of `docs`. With >= 2 documents both sides get at least one (the lowest or highest
    score moves), so a small corpus still has a held-out set to measure; only that forced move can
    change when documents are added."""
    if not 0 <= test_ratio < 1:
        raise ValueError(f"split.test_ratio must be in [0, 1), got {test_ratio}")
    scores = {d: score(d, seed) for d in sorted(set(docs))}
    test = sorted(d for d, s in scores.items() if s < test_ratio)
    train = sorted(d for d, s in scores.items() if s >= test_ratio)
    if len(scores) >= 2 and test_ratio > 0:
        if not test:
            first = min(train, key=scores.get)
            train.remove(first)
            test = [first]
        elif not train:
            last = max(test, key=scores.get)
            test.remove(last)
            train = [last]
    return {"seed": seed, "test_ratio": test_ratio, "train": train, "test": test,
            "scores": {d: round(s, 6) for d, s in scores.items()}}


class NoHeldOutError(UserError):
    """The split would leave one side empty."""


@dataclass(frozen=True)
class SplitSettings(Section):
    """`split:` of config/config.yaml."""

    SECTION = "split"
    seed: int
    test_ratio: float


def run(manifest: str | Path, out: str | Path, settings: SplitSettings | None = None, pdf_dir: str = "") -> dict:
    """Assign every usable document to train or test and write split.json (`settings`: config.yaml's `split:`)."""
    s = settings or SplitSettings.from_dict()
    docs = check_usable(manifest, pdf_dir)
    split = assign(docs, s.seed, s.test_ratio)
    if not split["test"] or not split["train"]:  # here, not after the whole fine-tune (perplexity needs both)
        raise NoHeldOutError(
            f"{len(docs)} usable document(s) and split.test_ratio={s.test_ratio} leave "
            f"{'no held-out' if not split['test'] else 'no training'} document: perplexity and the RAG "
            "questions need held-out documents and fine-tuning needs training ones; add documents "
            "(at least 2) or set split.test_ratio between 0 and 1 (0.1 is usual)")
    write_json(out, split)
    log.info("split %d documents: %d train, %d test (seed %d, test_ratio %.2f); test: %s", len(docs),
             len(split["train"]), len(split["test"]), s.seed, s.test_ratio, ", ".join(split["test"]))
    return split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.split", description=__doc__.splitlines()[0])
    ap.add_argument("manifest")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--test-ratio", type=float)
    cli_defaults(ap, "split", {"seed": "seed", "test_ratio": "test_ratio"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.manifest, a.out, SplitSettings.from_dict({"seed": a.seed, "test_ratio": a.test_ratio}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
