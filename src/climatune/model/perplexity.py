"""perplexity: token-weighted perplexity of the base and the tuned model on the held-out blocks.

Each block of results/tokens/test.npy is scored once (seq_len - 1 predicted tokens); perplexity is
exp(total NLL / total tokens). The 95% interval comes from a bootstrap over blocks (seeded, so the
output is deterministic); the drop gets its own paired bootstrap interval, since both models see the
same blocks.

Run alone: python -m climatune.model.perplexity results/tokens/test.npy --model base=results/model/base \
           --model tuned=results/finetune/merged --out results/eval/perplexity.json
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._settings import Section, cli_defaults, default
from .._util import setup_logging, write_json
from . import training as T

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PerplexitySettings(Section):
    """`perplexity:` of config/config.yaml."""

    SECTION = "perplexity"
    batch_size: int
    precision: str
    bootstrap: int


def block_nll(model_dir: str | Path, blocks: np.ndarray, batch_size: int, precision: str,
              device: str = "auto") -> np.ndarray:
    """Summed next-token NLL of every block, shape [n_blocks], in float64."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    dev = T.resolve_device(device)
    dtype = T.resolve_dtype(precision, dev)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, attn_implementation="sdpa",
                                                 device_map={"": dev})
    model.eval()
    out = np.zeros(len(blocks), dtype=np.float64)
    with torch.inference_mode():
        for i in range(0, len(blocks), batch_size):
            x = torch.from_numpy(np.asarray(blocks[i : i + batch_size], dtype=np.int64)).to(dev)
            logits = model(input_ids=x).logits[:, :-1].float()
            nll = F.cross_entropy(logits.transpose(1, 2), x[:, 1:], reduction="none")
            out[i : i + len(x)] = nll.double().sum(dim=1).cpu().numpy()
    del model
    return out


def bootstrap_ci(nll: np.ndarray, tokens_per_block: int, samples: int, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(nll), size=(samples, len(nll)))
    ppl = np.exp(nll[idx].sum(axis=1) / (tokens_per_block * len(nll)))
    return float(np.percentile(ppl, 2.5)), float(np.percentile(ppl, 97.5))


def paired_drop_ci(base: np.ndarray, tuned: np.ndarray, tokens_per_block: int, samples: int, seed: int):
    rng = np.random.default_rng(seed + 1)
    idx = rng.integers(0, len(base), size=(samples, len(base)))
    n = tokens_per_block * len(base)
    pb, pt = np.exp(base[idx].sum(axis=1) / n), np.exp(tuned[idx].sum(axis=1) / n)
    drop = 100 * (pb - pt) / pb
    return float(np.percentile(drop, 2.5)), float(np.percentile(drop, 97.5))


def run(test_npy, models: dict[str, str], out_json, settings: PerplexitySettings | None = None,
        device: str = "auto", seed: int | None = None) -> dict:
    """Score every model on the same blocks; write {name: {perplexity, ci95, nll_per_token}, tokens, drop_pct}.
    `settings` default to config.yaml's `perplexity:`, the bootstrap seed to its `train.seed`."""
    from transformers.utils import logging as hf_logging

    s = settings or PerplexitySettings.from_dict()
    seed = default("train", "seed") if seed is None else seed
    batch_size, precision, bootstrap = s.batch_size, s.precision, s.bootstrap

    hf_logging.disable_progress_bar()
    blocks = np.load(test_npy, mmap_mode="r")
    if len(blocks) == 0:
        raise ValueError(f"{test_npy} holds no block: the held-out split is shorter than seq_len; "
                         "hold out more documents (split.test_ratio) or lower train.seq_len")
    per_block = blocks.shape[1] - 1
    result: dict = {"tokens": int(per_block * len(blocks)), "blocks": int(len(blocks)), "seq_len": int(blocks.shape[1]),
                    "precision": precision, "bootstrap_samples": bootstrap}
    nlls = {}
    for name, path in models.items():
        t0 = time.perf_counter()
        nll = block_nll(path, blocks, batch_size, precision, device)
        nlls[name] = nll
        ppl = float(np.exp(nll.sum() / result["tokens"]))
        lo, hi = bootstrap_ci(nll, per_block, bootstrap, seed)
        result[name] = {"perplexity": round(ppl, 4), "ci95": [round(lo, 4), round(hi, 4)],
                        "nll_per_token": round(float(nll.sum() / result["tokens"]), 6), "model": str(path),
                        "seconds": round(time.perf_counter() - t0, 2)}
        log.info("%s: perplexity %.3f (95%% CI %.3f-%.3f) over %d tokens", name, ppl, lo, hi, result["tokens"])
    if "base" in nlls and "tuned" in nlls:
        b, t = result["base"]["perplexity"], result["tuned"]["perplexity"]
        result["drop_pct"] = round(100 * (b - t) / b, 3)
        result["drop_pct_ci95"] = [round(x, 3) for x in paired_drop_ci(nlls["base"], nlls["tuned"], per_block,
                                                                        bootstrap, seed)]
        log.info("perplexity drop base -> tuned: %.2f%% (95%% CI %.2f to %.2f)", result["drop_pct"],
                 *result["drop_pct_ci95"])
    write_json(out_json, result)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.perplexity", description=__doc__.splitlines()[0])
    ap.add_argument("test_npy")
    ap.add_argument("--model", action="append", required=True, help="name=path (repeat: base=..., tuned=...)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"])
    ap.add_argument("--bootstrap", type=int)
    cli_defaults(ap, "perplexity", {"batch_size": "batch_size", "precision": "precision", "bootstrap": "bootstrap"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    models = dict(m.split("=", 1) for m in a.model)
    s = PerplexitySettings.from_dict({"batch_size": a.batch_size, "precision": a.precision, "bootstrap": a.bootstrap})
    run(a.test_npy, models, a.out, s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
