"""probe: find the largest micro-batch that fits the memory budget, and the fastest one.

Every try is a real training step of the exact fine-tune configuration (same builders, real packed
blocks at train.seq_len, forward + backward + optimizer step): doubling until a try does not fit,
then bisection between the last fit and the first miss. Only a real out-of-memory counts as "does
not fit" (torch.OutOfMemoryError on CUDA, the allocator's failure on CPU), or a peak over the
budget; any other error stops the probe. Each fitting try is timed, and the choice is the
throughput-optimal micro-batch (the smallest within `tolerance` of the best), then the gradient
accumulation that reaches train.effective_batch without ever going below it. With
train.gradient_checkpointing "auto" both settings are probed, and checkpointing is turned off
when the no-checkpointing configuration fits and is faster.

Run alone: python -m climatune.model.probe results/model/base results/tokens/train.npy --out results/probe/probe.json
"""

from __future__ import annotations

import argparse
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from .._settings import Section, cli_defaults, read_overrides
from .._util import GIB, environment, figure, read_json, setup_logging, write_json
from . import training as T
from .masking import masking_on
from .memory import total_memory_bytes
from .prober import NothingFitsError, Prober, is_oom, memory_budget  # noqa: F401 (the stage's API)

log = logging.getLogger(__name__)


def choose(tries: list[dict], effective_batch: int, tolerance: float) -> dict:
    """The throughput-optimal fitting configuration, then the accumulation for the effective batch."""
    # a micro-batch above the effective batch cannot be used, however fast
    fits = [t for t in tries if t["fits"] and t["tokens_per_s"] and t["micro_batch"] <= effective_batch]
    if not fits:
        raise NothingFitsError("no micro-batch fits the memory budget, not even 1: lower train.seq_len, "
                               "use LoRA on fewer modules, or raise probe.memory_gb")
    best = max(t["tokens_per_s"] for t in fits)
    near = [t for t in fits if t["tokens_per_s"] >= (1 - tolerance) * best]
    pick = min(near, key=lambda t: (t["micro_batch"], t["gradient_checkpointing"]))
    accum = max(1, math.ceil(effective_batch / pick["micro_batch"]))
    mb = math.ceil(effective_batch / accum)  # <= pick's micro-batch: fits too, and wastes least
    why = (f"micro-batch {pick['micro_batch']} with checkpointing {'on' if pick['gradient_checkpointing'] else 'off'}"
           f" ran {pick['tokens_per_s']:.0f} tokens/s, within {tolerance:.0%} of the best fitting try up to "
           f"the effective batch ({best:.0f} tokens/s); {accum} accumulation step(s) of {mb} reach the effective batch")
    if mb * accum != effective_batch:
        why += f" of {mb * accum} (train.effective_batch={effective_batch} is not a multiple; never smaller)"
    return {"micro_batch": mb, "grad_accum": accum, "effective_batch": mb * accum,
            "gradient_checkpointing": pick["gradient_checkpointing"], "tokens_per_s": pick["tokens_per_s"],
            "peak_gib": pick["peak_gib"], "why": why}


@dataclass(frozen=True)
class ProbeSettings(Section):
    """`probe:` of config/config.yaml."""

    SECTION = "probe"
    memory_gb: float | None
    safety_margin: float
    max_micro_batch: int
    steps: int
    tolerance: float


def run(model_dir, train_npy, out_json, train_cfg: dict, settings: ProbeSettings | None = None, out_png=None) -> dict:
    """The stage: every try, the largest micro-batch per checkpointing setting, the choice and why.
    `train_cfg`: overrides of config.yaml's `train:`; `settings` default to its `probe:`.

    The choice depends on timings, so measuring again could pick another micro-batch and so train another
    model. A measurement is therefore kept in <out folder>/cache/<fingerprint>.json and reused while the
    fingerprint holds: the settings that decide a training step, the probe's settings, the device (kind,
    name, memory, torch) and the content of the model and the data. Delete the cache to measure again."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    s = settings or ProbeSettings.from_dict()
    cfg = T.TrainConfig.from_dict(train_cfg)
    device = T.resolve_device(cfg.device)
    cache = Path(out_json).parent / "cache" / f"{fingerprint(cfg, s, device, model_dir, train_npy)}.json"
    if cache.exists():
        result = read_json(cache)
        log.info("reusing the probe's measurement of %s (same settings, model, data and device: %s); delete %s to "
                 "measure again. chosen: %s", result.get("measured_at", "?"), cache.name, cache.parent,
                 result["chosen"]["why"])
    else:
        result = measure(model_dir, train_npy, cfg, s, device)
        write_json(cache, result)
    write_json(out_json, result)
    if out_png:
        plot(result, out_png)
    return result


def fingerprint(cfg: T.TrainConfig, s: ProbeSettings, device, model_dir, train_npy) -> str:
    """What the probe's measurement depends on (see run)."""
    import hashlib

    import torch

    from .checkpoint import content_id

    d = {k: v for k, v in cfg.to_dict().items() if k not in T.NOT_PROBED}
    d["probe"] = s.to_dict()
    d["device"] = {"type": device.type, "torch": torch.__version__, "threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        d["device"].update(name=props.name, memory=props.total_memory)
    else:
        d["device"].update(cpu=environment().get("cpu"), memory=total_memory_bytes())
    return hashlib.sha256(content_id(d, model_dir, train_npy).encode()).hexdigest()[:16]


def measure(model_dir, train_npy, cfg: T.TrainConfig, s: ProbeSettings, device) -> dict:
    """Real tries of the training step: largest micro-batch per checkpointing setting, then the choice."""
    import time as _time

    if device.type == "cuda":
        T.configure_cuda_allocator()
    T.set_seed(cfg.seed)
    budget = memory_budget(device, s.memory_gb, s.safety_margin)
    log.info("probing on %s at seq_len %d, budget %.2f GiB, up to micro-batch %d", device, cfg.seq_len,
             budget / GIB, s.max_micro_batch)
    settings = [False, True] if cfg.gradient_checkpointing == "auto" else [bool(cfg.gradient_checkpointing)]
    model = T.build_model(model_dir, cfg, device)
    data = T.BlockStream(train_npy, 1, cfg.seed, masking=masking_on(cfg.document_masking, cfg.seq_len))
    prober = Prober(model, T.build_optimizer(model, cfg), data.blocks, cfg, device, s.steps, budget,
                    time_up_to=cfg.effective_batch, segments=data.segments)
    largest = {("on" if gc else "off"): prober.search(gc, s.max_micro_batch) for gc in settings}
    chosen = choose(prober.tries, cfg.effective_batch, s.tolerance)
    log.info("chosen: %s", chosen["why"])
    return {"device": str(device), "budget_gib": round(budget / GIB, 3), "seq_len": cfg.seq_len,
            "steps_per_try": s.steps, "loss": prober.loss_mode, "max_micro_batch": largest,
            "largest_micro_batch": max(largest.values()), "chosen": chosen, "tries": prober.tries,
            "environment": environment(), "measured_at": _time.strftime("%Y-%m-%d %H:%M:%S")}


def plot(result: dict, out_png) -> None:
    from matplotlib.ticker import ScalarFormatter

    with figure(out_png, 2, (10, 3.6)) as (_, ax):
        for gc, color in ((False, "tab:blue"), (True, "tab:orange")):
            ts = sorted((t for t in result["tries"] if t["gradient_checkpointing"] == gc),
                        key=lambda t: t["micro_batch"])
            if not ts:
                continue
            label = f"checkpointing {'on' if gc else 'off'}"
            ok = [t for t in ts if t["fits"] and t["tokens_per_s"]]
            ax[0].plot([t["micro_batch"] for t in ok], [t["tokens_per_s"] for t in ok], "o-", color=color, label=label)
            mem = [t for t in ts if t["peak_gib"] is not None]
            ax[1].plot([t["micro_batch"] for t in mem], [t["peak_gib"] for t in mem], "o-", color=color, label=label)
            bad = [t for t in ts if not t["fits"]]
            ax[1].plot([t["micro_batch"] for t in bad], [t["peak_gib"] or result["budget_gib"] for t in bad], "x",
                       color="red", ms=9)
        ch = result["chosen"]
        ax[0].axvline(ch["micro_batch"], color="gray", ls=":", label=f"chosen {ch['micro_batch']}")
        ax[1].axhline(result["budget_gib"], color="red", ls="--", label="budget")
        ax[0].set(xlabel="micro-batch", ylabel="tokens/s", title=f"throughput at seq {result['seq_len']}")
        ax[1].set(xlabel="micro-batch", ylabel="peak memory (GiB)", title=f"memory on {result['device']}")
        for a in ax:
            a.set_xscale("log", base=2)
            a.xaxis.set_major_formatter(ScalarFormatter())
            a.grid(alpha=0.3)
            a.legend(fontsize=8)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.probe", description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("train_npy")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot")
    ap.add_argument("--config", help="train settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--memory-gb", type=float)
    ap.add_argument("--safety-margin", type=float)
    ap.add_argument("--max-micro-batch", type=int)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--tolerance", type=float)
    cli_defaults(ap, "probe", {k: k for k in ("memory_gb", "safety_margin", "max_micro_batch", "steps", "tolerance")})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    s = ProbeSettings.from_dict({k: getattr(a, k) for k in ("memory_gb", "safety_margin", "max_micro_batch", "steps",
                                                            "tolerance")})
    run(a.model_dir, a.train_npy, a.out, T.TrainConfig.from_dict(read_overrides(a.config)).to_dict(), s, a.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
