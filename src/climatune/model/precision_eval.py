"""The precision study's measurements after training and its figure: held-out perplexity and greedy
answers of a model as trained, what the device is and how fast its matmuls are per dtype, precision.png."""

from __future__ import annotations

import logging
import time

import numpy as np

from .._settings import default
from .._util import environment, figure

log = logging.getLogger(__name__)

COLORS = {"fp32": "tab:blue", "fp16": "tab:orange", "bf16": "tab:green"}


def held_out_perplexity(r: dict, test_npy, ppl_blocks: int) -> dict:
    """Perplexity of the first `ppl_blocks` (0: all) held-out blocks, scored as the perplexity stage scores
    them, by the model in its compute dtype (dropout off; the model is left in train mode)."""
    from .scoring import mean_nll

    n = len(np.load(test_npy, mmap_mode="r"))
    rows = np.arange(n if ppl_blocks <= 0 else min(ppl_blocks, n))
    nll, tokens = mean_nll(r["model"], test_npy, rows, r["masking"], default("perplexity", "batch_size"))
    return {"perplexity": round(float(np.exp(nll)), 4), "nll_per_token": round(nll, 6), "blocks": int(len(rows)),
            "blocks_total": n, "tokens": tokens}


def evaluate(r: dict, test_npy, questions: list, tok, s) -> dict:
    """Held-out perplexity of the first s.ppl_blocks blocks and the greedy answers' metrics, with the model
    as trained (its compute dtype, the adapter unmerged)."""
    from ..rag import generate as G
    from ..rag import scoring as RS

    model, dev = r["model"], r["device"]
    ppl = held_out_perplexity(r, test_npy, s.ppl_blocks)
    model.eval()
    base = model.get_base_model()
    base.config.use_cache = True  # generation with a KV cache; training turned it off
    answers = [G.answer(q, tok, model, dev, None, s.max_new_tokens, default("rag", "generate.max_prompt_tokens"))
               for q in questions]
    base.config.use_cache = False
    model.train()
    g = RS.group(answers) if answers else {"questions": 0}
    return {"perplexity": ppl, "answers": {k: g.get(k) for k in ("questions", *RS.ANSWER_KEYS)}, "_rows": answers}


def describe_device(dev) -> str:
    env = environment()
    if dev.type == "cuda":
        return f"cuda ({env.get('gpu', 'unknown GPU')})"
    return f"cpu ({env.get('cpu', 'unknown CPU')}, {env.get('threads')} threads)"


def matmul_ms(dev, n: int = 512, reps: int = 3) -> dict:
    """ms of an n x n x n matmul per dtype on the device (the fastest of `reps`, after one): whether it has
    fast fp16/bf16 units."""
    import torch

    out = {}
    for name, dt in (("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        try:
            a, b = torch.randn(n, n, device=dev).to(dt), torch.randn(n, n, device=dev).to(dt)
            a @ b
            times = []
            for _ in range(reps):  # the fastest of `reps`: least disturbed by other work on the machine
                t0 = time.perf_counter()
                a @ b
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            out[name] = round(min(times) * 1e3, 3)
        except RuntimeError as e:
            out[name] = f"{type(e).__name__}: {e}"
    return out


def plot(result: dict, out_png) -> None:
    """Loss curves on one axis, then tokens/s and peak memory per precision (skipped ones marked)."""
    from matplotlib.ticker import MaxNLocator

    names = [p for p in COLORS if p in result["precisions"] or p in result["skipped"]]
    with figure(out_png, 3, (14, 3.8)) as (_, ax):
        for p, m in result["precisions"].items():
            ax[0].plot(range(1, len(m["loss_curve"]) + 1), m["loss_curve"], marker=".", label=p,
                       color=COLORS.get(p))
        ax[0].set(xlabel="optimizer step", ylabel="training loss (nats/token)", title="loss per precision")
        ax[0].xaxis.set_major_locator(MaxNLocator(integer=True))
        if result["precisions"]:
            ax[0].legend()
        for a, key, label in ((ax[1], "tokens_per_s", "tokens/s (median)"), (ax[2], "peak_gib", "peak memory (GiB)")):
            vals = [result["precisions"][p][key] if p in result["precisions"] else 0.0 for p in names]
            a.bar(names, vals, color=[COLORS.get(p) for p in names])
            for i, p in enumerate(names):
                if p in result["skipped"]:
                    a.text(i, 0, "skipped", ha="center", va="bottom", rotation=90)
            a.set(ylabel=label, title=f"{label.split(' (')[0]} on {result['device'].split(' (')[0]}")
        for a in ax:
            a.grid(alpha=0.3)
    log.info("wrote %s", out_png)
