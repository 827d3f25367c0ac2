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
import gc as _gc
import logging
import math
import time
from dataclasses import dataclass

from .._settings import Section, cli_defaults, read_overrides
from .._util import (
    GIB,
    UserError,
    environment,
    figure,
    peak_memory_bytes,
    release_free_memory,
    reset_peak_memory,
    setup_logging,
    total_memory_bytes,
    write_json,
)
from . import training as T

log = logging.getLogger(__name__)


class NothingFitsError(UserError):
    """Not even micro-batch 1 fits the memory budget."""


def is_oom(e: BaseException) -> bool:
    """A real out-of-memory, and nothing else: CUDA's OutOfMemoryError, or the CPU allocator's failure."""
    import torch

    if isinstance(e, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(e, RuntimeError) and "DefaultCPUAllocator: can't allocate memory" in str(e)


def memory_budget(device, memory_gb: float | None, margin: float) -> int:
    """Bytes a try may peak at: probe.memory_gb, else the device total minus the safety margin."""
    import torch

    if memory_gb:
        return int(memory_gb * GIB)
    total = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else total_memory_bytes()
    return int(total * (1 - margin))


class Prober:
    """Holds one model and optimizer; tries micro-batches on it, freeing memory between tries."""

    def __init__(self, model, optimizer, blocks, cfg: T.TrainConfig, device, steps: int, budget: int,
                 time_up_to: int | None = None):
        """`time_up_to`: tries above this micro-batch are only checked for fit (one step, untimed):
        they cannot be chosen when they exceed the effective batch."""
        self.cfg, self.device, self.steps, self.budget = cfg, device, steps, budget
        self.model, self.optimizer, self.blocks = model, optimizer, blocks
        self.time_up_to = time_up_to
        self.loss_mode = T.resolve_loss(cfg.loss, device)
        self.tries: list[dict] = []

    def _batch(self, mb: int):
        import numpy as np
        import torch

        rows = np.resize(np.arange(len(self.blocks)), mb)  # real blocks, repeated when there are fewer
        return torch.from_numpy(np.asarray(self.blocks[rows], dtype=np.int64)).to(self.device)

    def _step(self, batch) -> None:
        loss = T.causal_lm_loss(self.model, batch, self.loss_mode, self.cfg.loss_chunk_tokens)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def _free(self) -> None:
        import torch

        self.optimizer.zero_grad(set_to_none=True)
        _gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        else:
            release_free_memory()

    def _reset_peak(self) -> None:
        reset_peak_memory(self.device)

    def _peak(self) -> int:
        return peak_memory_bytes(self.device, reserved=True)  # what the allocator holds: what must fit

    def attempt(self, mb: int, gc: bool) -> dict:
        """One try: a warm-up step (allocates optimizer state), then `steps` timed steps."""
        import torch

        T.set_gradient_checkpointing(self.model, gc)
        rec = {"micro_batch": mb, "gradient_checkpointing": gc, "fits": False, "peak_gib": None,
               "tokens_per_s": None, "error": None}
        self._free()
        self._reset_peak()
        try:
            batch = self._batch(mb)
            self._step(batch)
            sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
            sync()
            steps = self.steps if self.time_up_to is None or mb <= self.time_up_to else 0
            t0 = time.perf_counter()
            for _ in range(steps):
                self._step(batch)
            sync()
            dt = time.perf_counter() - t0
            peak = self._peak()
            rec["peak_gib"] = round(peak / GIB, 3)
            if self.device.type == "cuda":
                rec["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated(self.device) / GIB, 3)
            rec["tokens_per_s"] = round(steps * mb * self.cfg.seq_len / dt, 1) if steps else None
            rec["fits"] = peak <= self.budget
            if not rec["fits"]:
                rec["error"] = f"peak {peak / GIB:.2f} GiB over the budget {self.budget / GIB:.2f} GiB"
        except Exception as e:
            if not is_oom(e):
                raise
            rec["error"] = f"out of memory ({type(e).__name__})"
            rec["peak_gib"] = round(self._peak() / GIB, 3)
        finally:
            batch = None  # noqa: F841  (drop the reference before freeing)
            self._free()
        self.tries.append(rec)
        speed = f", {rec['tokens_per_s']:.0f} tokens/s" if rec["tokens_per_s"] else " (fit check only)"
        log.info("micro-batch %4d, checkpointing %-3s: %s", mb, "on" if gc else "off",
                 f"fits, peak {rec['peak_gib']:.2f} GiB{speed}" if rec["fits"] else f"does not fit: {rec['error']}")
        return rec

    def search(self, gc: bool, max_mb: int) -> int:
        """Largest fitting micro-batch (0 if none) by doubling, then bisection."""
        lo, hi, mb = 0, None, 1
        while mb <= max_mb:
            if self.attempt(mb, gc)["fits"]:
                lo, mb = mb, mb * 2
            else:
                hi = mb
                break
        if hi is None:
            if lo < max_mb and self.attempt(max_mb, gc)["fits"]:
                return max_mb
            return lo
        while hi - lo > max(1, lo // 16):  # bisect to within ~6% of the true maximum
            mid = (lo + hi) // 2
            if self.attempt(mid, gc)["fits"]:
                lo = mid
            else:
                hi = mid
        return lo


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
    `train_cfg`: overrides of config.yaml's `train:`; `settings` default to its `probe:`."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    s = settings or ProbeSettings.from_dict()
    memory_gb, safety_margin, max_micro_batch, steps, tolerance = (s.memory_gb, s.safety_margin, s.max_micro_batch,
                                                                   s.steps, s.tolerance)
    cfg = T.TrainConfig.from_dict(train_cfg)
    device = T.resolve_device(cfg.device)
    if device.type == "cuda":
        T.configure_cuda_allocator()
    T.set_seed(cfg.seed)
    budget = memory_budget(device, memory_gb, safety_margin)
    log.info("probing on %s at seq_len %d, budget %.2f GiB, up to micro-batch %d", device, cfg.seq_len,
             budget / GIB, max_micro_batch)
    settings = [False, True] if cfg.gradient_checkpointing == "auto" else [bool(cfg.gradient_checkpointing)]
    model = T.build_model(model_dir, cfg, device)
    prober = Prober(model, T.build_optimizer(model, cfg), T.BlockStream(train_npy, 1, cfg.seed).blocks, cfg, device,
                    steps, budget, time_up_to=cfg.effective_batch)
    largest = {("on" if gc else "off"): prober.search(gc, max_micro_batch) for gc in settings}
    chosen = choose(prober.tries, cfg.effective_batch, tolerance)
    log.info("chosen: %s", chosen["why"])
    result = {"device": str(device), "budget_gib": round(budget / GIB, 3), "seq_len": cfg.seq_len,
              "steps_per_try": steps, "loss": prober.loss_mode, "max_micro_batch": largest,
              "largest_micro_batch": max(largest.values()), "chosen": chosen, "tries": prober.tries,
              "environment": environment()}
    write_json(out_json, result)
    if out_png:
        plot(result, out_png)
    return result


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
