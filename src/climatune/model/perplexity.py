"""perplexity: token-weighted perplexity of the base and the fine-tuned model on the held-out blocks.

Scoring. Each block of results/tokens/test.npy (train.seq_len tokens) is scored once, with the training's
document masking (train.document_masking, model/masking.py): when on, a document does not condition on
the one packed before it and its first token (predicted from the other document's EOS) is not scored.
Perplexity is exp(total NLL / scored tokens). NLL is summed per piece: the tokens of one held-out
document inside one block (a block spanning two documents gives two pieces, each token counted for the
document it belongs to; with masking on each piece is scored exactly as if alone).

Intervals (model/bootstrap.py). Two-stage cluster bootstrap: documents with replacement, then the pieces
of each drawn document with replacement; percentile 95% intervals (`bootstrap_unit`, `interval_method`).
The ordinary bootstrap over blocks is kept beside it (`ci95_block_bootstrap`) to show how much narrower
it is. Every model is scored on the same resamples: the drop base -> tuned gets a paired interval.

Models. `base` (results/model/base); `tuned_as_trained`, the fine-tune as it was trained (the base built
with the run's own train settings, NF4 when it trained QLoRA, plus the unmerged adapter); `tuned_merged`,
the adapter folded into 16-bit weights (results/finetune/merged, what the RAG stages load);
`as_trained_vs_merged` gives their difference. `base_as_trained` is the base as the fine-tune saw it
(NF4 for QLoRA), so the drops separate what quantization costs from what training gained: `drop_pct`
base -> tuned_as_trained, `drop_pct_merged` base -> tuned_merged, `drop_pct_quantized` base_as_trained
-> tuned_as_trained. `tuned` repeats tuned_as_trained for older readers.

Leakage. perplexity.drop_leaky_above (a %) drops held-out blocks whose share of 13-grams found in the
training text (results/corpus/leakage.json, `test_block_13gram_pct`) is above it, and says how many.

Run alone: python -m climatune.model.perplexity results/tokens/test.npy --model base=results/model/base \
           --model tuned_merged=results/finetune/merged \
           --as-trained results/model/base,results/finetune/adapter,results/finetune/summary.json \
           --out results/eval/perplexity.json [--leakage results/corpus/leakage.json]
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._settings import Section, cli_defaults, default
from .._util import read_json, setup_logging, write_json
from . import bootstrap as B
from . import scoring
from . import training as T
from .masking import masking_on, segments_for
from .scoring import AsTrained  # noqa: F401 (the stage's API: perplexity.AsTrained)

log = logging.getLogger(__name__)

FEW_DOCUMENTS = 10  # fewer held-out documents than this: the JSON says the interval is coarse


@dataclass(frozen=True)
class PerplexitySettings(Section):
    """`perplexity:` of config/config.yaml."""

    SECTION = "perplexity"
    batch_size: int
    precision: str
    bootstrap: int
    drop_leaky_above: float | None


def kept_blocks(n_blocks: int, leakage_json, threshold: float | None) -> tuple[np.ndarray, dict]:
    """Rows of test.npy to score, and what the leakage filter did."""
    info = {"drop_leaky_above": threshold, "blocks_dropped": 0}
    if threshold is None:
        return np.arange(n_blocks), info
    if not leakage_json:
        log.warning("perplexity.drop_leaky_above is %s but no leakage.json was given: every block kept", threshold)
        return np.arange(n_blocks), info | {"blocks_dropped": None, "note": "not applied: no leakage.json given"}
    pct = read_json(leakage_json).get("test_block_13gram_pct")
    if pct is None or len(pct) != n_blocks:
        raise ValueError(f"{leakage_json} must list test_block_13gram_pct for each of the {n_blocks} held-out blocks "
                         f"(has {None if pct is None else len(pct)}): re-run the leakage stage")
    keep = np.asarray(pct, dtype=float) <= threshold
    if not keep.any():
        raise ValueError(f"every held-out block has more than {threshold}% of its 13-grams in the training text: "
                         "raise perplexity.drop_leaky_above")
    log.info("dropped %d of %d held-out blocks with more than %s%% of their 13-grams in the training text",
             (~keep).sum(), n_blocks, threshold)
    return np.flatnonzero(keep), info | {"blocks_dropped": int((~keep).sum()), "file": str(leakage_json)}


def document_ids(test_npy) -> list | None:
    """The held-out document ids (tokenize's meta.json beside test.npy), for the per-document table."""
    meta = Path(test_npy).with_name("meta.json")
    if not meta.is_file():
        return None
    return read_json(meta).get("splits", {}).get(Path(test_npy).stem, {}).get("document_ids")


def _blockwise(pieces: dict, ref) -> tuple[dict, np.ndarray]:
    """NLL per block of every model, and the tokens scored per block."""
    _, inv = np.unique(ref.block, return_inverse=True)
    return {n: np.bincount(inv, weights=p.nll) for n, p in pieces.items()}, np.bincount(inv, weights=ref.tokens)


def summarize(pieces: dict, s: PerplexitySettings, seed: int, unit: str) -> dict:
    """Perplexity and both intervals of each model, the paired drops, as-trained vs merged."""
    ref = next(iter(pieces.values()))
    boot = B.resampled_ppl({n: p.nll for n, p in pieces.items()}, ref.tokens, ref.doc, s.bootstrap, seed)
    block_nll, block_tok = _blockwise(pieces, ref)
    block_boot = B.resampled_ppl(block_nll, block_tok, np.arange(len(block_tok)), s.bootstrap, seed)
    out, ppl = {}, {}
    for n, p in pieces.items():
        ppl[n] = float(np.exp(p.nll.sum() / ref.tokens.sum()))
        out[n] = {"perplexity": round(ppl[n], 4), "ci95": [round(x, 4) for x in B.interval(boot[n])],
                  "ci95_block_bootstrap": [round(x, 4) for x in B.interval(block_boot[n])],
                  "nll_per_token": round(float(p.nll.sum() / ref.tokens.sum()), 6)}
    tuned = "tuned" if "tuned" in pieces else "tuned_as_trained"
    for key, b, name in (("drop_pct", "base", tuned), ("drop_pct_merged", "base", "tuned_merged"),
                         ("drop_pct_quantized", "base_as_trained", "tuned_as_trained")):
        if b in pieces and name in pieces:
            out[key] = round(100 * (ppl[b] - ppl[name]) / ppl[b], 3)
            out[f"{key}_ci95"] = [round(x, 3) for x in B.interval(100 * (boot[b] - boot[name]) / boot[b])]
    if "tuned_as_trained" in pieces and "tuned_merged" in pieces:
        a, m = "tuned_as_trained", "tuned_merged"
        out["as_trained_vs_merged"] = {
            "ppl_diff": round(ppl[a] - ppl[m], 4), "ppl_diff_pct": round(100 * (ppl[a] - ppl[m]) / ppl[m], 3),
            "ppl_diff_ci95": [round(x, 4) for x in B.interval(boot[a] - boot[m])],
            # nats per token: the largest change of one block's mean NLL
            "max_abs_block_nll_diff": round(float(np.abs((block_nll[a] - block_nll[m]) / block_tok).max()), 6)}
    out["documents"] = int(len(np.unique(ref.doc))) if unit == "document" else None
    if out["documents"] is not None and out["documents"] < FEW_DOCUMENTS:
        out["interval_note"] = (f"only {out['documents']} held-out document(s): the interval cannot show how "
                                "much perplexity varies between documents (with one, it is the within-document "
                                "block bootstrap); hold out more documents (split.test_ratio) for an honest one")
    return out


def per_document(pieces: dict, ids: list | None) -> list[dict]:
    """Tokens, pieces and NLL per token of each held-out document, per model."""
    ref = next(iter(pieces.values()))
    rows = []
    for d in np.unique(ref.doc):
        sel = ref.doc == d
        row = {"document": ids[d] if ids and d < len(ids) else int(d), "tokens": int(ref.tokens[sel].sum()),
               "pieces": int(sel.sum())}
        row.update({f"{n}_nll_per_token": round(float(p.nll[sel].sum() / row["tokens"]), 5) for n, p in pieces.items()})
        rows.append(row)
    return rows


def score(models: dict, blocks, rows, seg, masking: bool, s: PerplexitySettings, device: str) -> tuple[dict, dict]:
    """Pieces of every model, and per model what was evaluated and how long it took."""
    pieces, info = {}, {}
    for name, spec in models.items():
        t0 = time.perf_counter()
        model, what = scoring.load(spec, s.precision, device)
        pieces[name] = scoring.piece_nll(model, blocks, rows, seg, masking, s.batch_size)
        del model
        T.undo_fused_kernels()  # an as-trained model with Liger kernels patched the Llama module
        info[name] = {"model": str((spec.adapter or spec.base) if isinstance(spec, AsTrained) else spec), "evaluated": what,
                      "seconds": round(time.perf_counter() - t0, 2)}
        p = pieces[name]
        log.info("%s: perplexity %.3f over %d tokens (%s)", name, np.exp(p.nll.sum() / p.tokens.sum()),
                 p.tokens.sum(), what["weights"])
    return pieces, info


def run(test_npy, models: dict, out_json, settings: PerplexitySettings | None = None, device: str = "auto",
        seed: int | None = None, document_masking: bool | str | None = None, leakage_json=None) -> dict:
    """Score every model (name -> folder, or an AsTrained) on the same held-out blocks; write the JSON the
    module doc describes. `settings` default to config.yaml's `perplexity:`, the bootstrap seed to its
    `train.seed`, `document_masking` to its `train.document_masking`."""
    from transformers.utils import logging as hf_logging

    s = settings or PerplexitySettings.from_dict()
    seed = default("train", "seed") if seed is None else seed
    setting = default("train", "document_masking") if document_masking is None else document_masking
    hf_logging.disable_progress_bar()
    blocks = np.load(test_npy, mmap_mode="r")
    if len(blocks) == 0:
        raise ValueError(f"{test_npy} holds no block: the held-out split is shorter than seq_len; "
                         "hold out more documents (split.test_ratio) or lower train.seq_len")
    masking = masking_on(setting, blocks.shape[1])
    seg = segments_for(test_npy, required=masking)
    unit = "document" if seg is not None else "block"
    rows, leakage = kept_blocks(len(blocks), leakage_json, s.drop_leaky_above)
    pieces, info = score(models, blocks, rows, seg, masking, s, device)
    ref = next(iter(pieces.values()))
    result: dict = {"tokens": int(ref.tokens.sum()), "blocks": int(len(rows)), "blocks_total": int(len(blocks)),
                    "seq_len": int(blocks.shape[1]), "document_masking": masking, "precision": s.precision,
                    "bootstrap_samples": s.bootstrap, "bootstrap_unit": unit,
                    "interval_method": B.description(0.95, unit, "block pieces", s.bootstrap, seed), "leakage": leakage}
    summary = summarize(pieces, s, seed, unit)
    for name in pieces:
        result[name] = {**summary.pop(name), **info[name]}
    if "tuned_as_trained" in pieces and "tuned" not in pieces:
        result["tuned"] = {**result["tuned_as_trained"], "same_as": "tuned_as_trained"}
    result.update(summary)
    result["per_document"] = per_document(pieces, document_ids(test_npy)) if unit == "document" else None
    if "drop_pct" in result:
        log.info("perplexity drop base -> tuned: %.2f%% (95%% CI %.2f to %.2f, %s)", result["drop_pct"],
                 *result["drop_pct_ci95"], result["interval_method"])
    write_json(out_json, result)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.perplexity", description=__doc__.splitlines()[0])
    ap.add_argument("test_npy")
    ap.add_argument("--model", action="append", default=[], help="name=folder (repeat: base=..., tuned_merged=...)")
    ap.add_argument("--as-trained", help="BASE,ADAPTER,SUMMARY_JSON: also score tuned_as_trained and base_as_trained")
    ap.add_argument("--out", required=True)
    ap.add_argument("--leakage", help="leakage.json (for perplexity.drop_leaky_above)")
    ap.add_argument("--document-masking", choices=["auto", "true", "false"])
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"])
    ap.add_argument("--bootstrap", type=int)
    ap.add_argument("--drop-leaky-above", type=float)
    cli_defaults(ap, "perplexity", {k: k for k in ("batch_size", "precision", "bootstrap", "drop_leaky_above")})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    models: dict = dict(m.split("=", 1) for m in a.model)
    if a.as_trained:
        base, adapter, summary = a.as_trained.split(",")
        models["base_as_trained"] = AsTrained(base, None, summary)
        models["tuned_as_trained"] = AsTrained(base, adapter, summary)
    if not models:
        ap.error("give at least one --model or --as-trained")
    s = PerplexitySettings.from_dict({k: getattr(a, k) for k in ("batch_size", "precision", "bootstrap",
                                                                 "drop_leaky_above")})
    masking = {"true": True, "false": False}.get(a.document_masking, a.document_masking)
    run(a.test_npy, models, a.out, s, document_masking=masking, leakage_json=a.leakage)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
