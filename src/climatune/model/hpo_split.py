"""hpo_split: the validation set of the hyper-parameter search, carved from the training blocks.

Training documents are split into `fit` (what trials train on) and `val` (what they are scored on) by a hash
of (hpo.seed, document id), as the corpus split does; the test documents are never read. A block holding
text of both a fit and a val document is dropped (counted), so validation text is never trained on.
Outputs fit.npy / val.npy with their _docs.npz (document segments, as tokenize writes) and split.json.

Run alone: python -m climatune.model.hpo_split results/tokens/train.npy results/tokens/meta.json --out-dir results/hpo/data
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from .._settings import read_overrides
from .._util import UserError, read_json, setup_logging, write_json
from ..corpus.split import score as doc_hash
from ..corpus.tokenize import docs_path, load_segments, save_segments
from .hpo import HpoSettings

log = logging.getLogger(__name__)


def split(train_npy, meta_json, out_dir, s: HpoSettings) -> dict:
    """Write fit.npy / val.npy (+ their _docs.npz) into out_dir and split.json; returns the summary."""
    blocks = np.load(train_npy, mmap_mode="r")
    seg = load_segments(docs_path(train_npy))
    ids = read_json(meta_json)["splits"]["train"]["document_ids"]
    if len(ids) < 2:
        raise UserError(f"hpo needs at least 2 training documents to hold one out for validation; {train_npy} "
                        f"has {len(ids)}")
    order = sorted(ids, key=lambda d: doc_hash(d, s.seed))
    n_val = min(len(ids) - 1, max(1, round(s.val_ratio * len(ids))))
    val_docs = set(order[:n_val])
    is_val = np.array([d in val_docs for d in ids])
    ptr, doc = seg["block_ptr"], seg["seg_doc"]
    kind = np.array([_block_kind(is_val[doc[ptr[b]:ptr[b + 1]]]) for b in range(len(blocks))])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("fit", "val"):
        rows = np.flatnonzero(kind == name)
        if len(rows) == 0:
            raise UserError(f"hpo: no {name} blocks: every block holding {name} text also holds text of the other "
                            f"part; use a shorter train.seq_len or another hpo.val_ratio / hpo.seed")
        np.save(out / f"{name}.npy", np.asarray(blocks[rows]))
        save_segments(docs_path(out / f"{name}.npy"), _subset(seg, rows))
    summary = {"val_documents": sorted(val_docs), "fit_documents": len(ids) - len(val_docs),
               "fit_blocks": int((kind == "fit").sum()), "val_blocks": int((kind == "val").sum()),
               "dropped_mixed_blocks": int((kind == "mixed").sum()), "seed": s.seed, "val_ratio": s.val_ratio}
    write_json(out / "split.json", summary)
    log.info("hpo split: %d fit blocks, %d val blocks (%d val documents), %d mixed blocks dropped",
             summary["fit_blocks"], summary["val_blocks"], len(val_docs), summary["dropped_mixed_blocks"])
    return summary


def _block_kind(val_flags: np.ndarray) -> str:
    return "val" if val_flags.all() else "fit" if not val_flags.any() else "mixed"


def _subset(seg: dict, rows: np.ndarray) -> dict:
    """The segments of blocks `rows`, renumbered as blocks 0..len(rows)-1 (document indexes kept)."""
    ptr = seg["block_ptr"]
    take = np.concatenate([np.arange(ptr[b], ptr[b + 1]) for b in rows])
    counts = np.array([ptr[b + 1] - ptr[b] for b in rows])
    return {"block_ptr": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            "seg_start": seg["seg_start"][take], "seg_doc": seg["seg_doc"][take]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.hpo_split", description=__doc__.splitlines()[0])
    ap.add_argument("train_npy")
    ap.add_argument("meta_json")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--config", help="hpo settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    split(a.train_npy, a.meta_json, a.out_dir, HpoSettings.from_dict(read_overrides(a.config)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
