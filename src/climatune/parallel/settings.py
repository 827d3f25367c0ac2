"""The parallel stage's settings: `parallel:` of config/config.yaml, typed and frozen, built once."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .._settings import section

# Settings that change what is trained (the run identity of checkpoints); the rest change only how
# often it is saved, what is written, or where it runs.
_NOT_IDENTITY = {"layouts", "nodes", "checkpoint_every", "keep_checkpoints", "save_dtype"}


@dataclass(frozen=True)
class ParallelSettings:
    layouts: tuple
    mode: str
    zero_stage: int
    global_batch: int
    micro_batch: int
    epochs: float
    max_steps: int
    lr: float
    schedule: str
    warmup_ratio: float
    weight_decay: float
    max_grad_norm: float
    seed: int
    precision: str
    activation_checkpointing: bool
    overlap_comm: bool
    contiguous_gradients: bool
    reduce_bucket_size: int
    allgather_bucket_size: int
    lora_r: int
    lora_alpha: float
    lora_dropout: float
    checkpoint_every: int
    keep_checkpoints: int
    save_dtype: str
    nodes: int

    @classmethod
    def from_dict(cls, overrides: dict | None = None) -> "ParallelSettings":
        """config.yaml's `parallel:` with `overrides` on top (a validated workflow config passes all keys)."""
        d = section("parallel", overrides)
        d["layouts"] = tuple(d["layouts"])
        for k in ("reduce_bucket_size", "allgather_bucket_size"):
            d[k] = int(float(d[k]))
        return cls(**d)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["layouts"] = list(d["layouts"])
        return d

    def identity(self) -> dict:
        """The settings that decide the trained weights (part of a checkpoint's run id)."""
        return {k: v for k, v in self.to_dict().items() if k not in _NOT_IDENTITY}

    def total_steps(self, n_blocks: int) -> int:
        """Optimizer steps of the run: max_steps when > 0, else epochs over the blocks (rounded up)."""
        if self.max_steps > 0:
            return self.max_steps
        return max(1, math.ceil(self.epochs * n_blocks / self.global_batch))
