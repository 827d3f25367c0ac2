"""The probe's search: real training steps at growing micro-batches, doubling then bisecting, until the
memory budget; only a real out-of-memory counts as "does not fit"."""

from __future__ import annotations

import gc as _gc
import logging
import time

from .._util import GIB, UserError
from . import training as T
from .memory import peak_memory_bytes, release_free_memory, reset_peak_memory, total_memory_bytes

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
                 time_up_to: int | None = None, segments: dict | None = None):
        """`time_up_to`: tries above this micro-batch are only checked for fit (one step, untimed):
        they cannot be chosen when they exceed the effective batch. `segments`: the blocks' documents,
        when finetune masks them (the tries then carry the same position ids, labels and masks)."""
        self.cfg, self.device, self.steps, self.budget = cfg, device, steps, budget
        self.model, self.optimizer, self.blocks, self.segments = model, optimizer, blocks, segments
        self.time_up_to = time_up_to
        self.loss_mode = T.resolve_loss(cfg.loss, device)
        self.tries: list[dict] = []

    def _batch(self, mb: int) -> dict:
        import numpy as np

        from .masking import batch_inputs

        order = np.arange(len(self.blocks))
        if self.segments is not None:  # blocks holding the most documents first: the masked path, if any
            order = np.argsort(-np.diff(self.segments["block_ptr"]), kind="stable")
        rows = np.resize(order, mb)  # real blocks, repeated when there are fewer
        return batch_inputs(self.blocks, rows, self.segments, self.device)

    def _step(self, batch: dict) -> None:
        loss = T.causal_lm_loss(self.model, mode=self.loss_mode, chunk_tokens=self.cfg.loss_chunk_tokens, **batch)
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
