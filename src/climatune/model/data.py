"""Training data: packed blocks in a seeded order addressed by micro-step (with their document boundaries
when masking), the number of steps of a run, and the seeds of every random generator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


class BlockStream:
    """Packed blocks in a seeded order, addressed by micro-step: micro-step k always gets the same
    rows, so a resumed run needs only k to continue with exactly the data it would have seen.

    `masking`: micro-batches carry position ids and labels that keep documents apart (model/masking.py),
    from `segments` or else the <stem>_docs.npz tokenize wrote beside `path`."""

    def __init__(self, path: str | Path | np.ndarray, micro_batch: int, seed: int, masking: bool = False,
                 segments: dict | None = None):
        from .masking import segments_for

        self.blocks = np.load(path, mmap_mode="r") if not isinstance(path, np.ndarray) else path
        if self.blocks.ndim != 2 or len(self.blocks) == 0:
            raise ValueError(f"no training blocks in {path}: the train split is shorter than one seq_len")
        self.n, self.mb, self.seed = len(self.blocks), micro_batch, seed
        self._perms: dict[int, np.ndarray] = {}
        if masking and segments is None:
            if isinstance(path, np.ndarray):
                raise ValueError("document masking of in-memory blocks needs their segments")
            segments = segments_for(path, required=True)
        self.segments = segments if masking else None

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def indices(self, micro_step: int) -> np.ndarray:
        start = micro_step * self.mb
        return np.asarray([self._perm(i // self.n)[i % self.n] for i in range(start, start + self.mb)])

    def rows(self, micro_step: int) -> np.ndarray:
        return np.asarray(self.blocks[self.indices(micro_step)], dtype=np.int64)

    def batch(self, micro_step: int, device):
        import torch

        return torch.from_numpy(self.rows(micro_step)).to(device, non_blocking=True)

    def inputs(self, micro_step: int, device) -> dict:
        """The micro-batch as keyword arguments of causal_lm_loss (input_ids; with masking position_ids, labels)."""
        from .masking import batch_inputs

        return batch_inputs(self.blocks, self.indices(micro_step), self.segments, device)


def total_steps(cfg, n_blocks: int, effective_batch: int) -> int:
    if cfg.max_steps > 0:
        return cfg.max_steps
    return max(1, int(math.ceil(cfg.epochs * n_blocks / effective_batch)))


def set_seed(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
