"""Resumable training state of a layout, through DeepSpeed's own checkpoint API.

`engine.save_checkpoint` writes every rank's share (model states, ZeRO optimizer partitions, pipeline
layer files, the lr schedule) under checkpoints/step-NNNNNNN/, next to each rank's RNG state. Once every
rank has written and flushed its files, rank 0 writes the manifest last (climatune.model.checkpoint:
run id, step, history, every file's size and, up to 1 GiB, sha256). Which checkpoint is resumed, and
what happens to incomplete, damaged or other runs' checkpoints, is that module's `latest`.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from ..model.checkpoint import MANIFEST, content_id, latest, prune, tag_of, write_manifest  # noqa: F401

log = logging.getLogger(__name__)


def run_id(identity: dict, layout: str, model_dir, train_npy) -> str:
    """Identity of a training run: its settings, its layout, and the content of its base model and data."""
    return content_id({"settings": identity, "layout": layout}, model_dir, train_npy)


def save(engine, root: Path, step: int, state: dict, run: str, keep: int, rank: int, adapters: bool) -> None:
    """All ranks call this. `state` (history, elapsed time) goes into the manifest; the newest `keep`
    whole checkpoints stay. `adapters` (LoRA/QLoRA): only the trainable weights are saved (the frozen,
    possibly 4-bit, base comes from the base model on resume)."""
    import torch
    import torch.distributed as dist

    tag = tag_of(step)
    folder = root / tag
    if rank == 0:  # a folder left by a save that was killed: start it afresh
        shutil.rmtree(folder, ignore_errors=True)
    dist.barrier()
    engine.save_checkpoint(str(root), tag=tag, client_state={"climatune_step": step}, save_latest=False,
                           exclude_frozen_parameters=adapters)
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    torch.save(rng, folder / f"rng-rank{rank}.pt")
    for p in folder.rglob("*"):  # each rank flushes what it wrote before rank 0 vouches for it
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    dist.barrier()
    if rank == 0:
        manifest = write_manifest(folder, run, step, state)
        prune(root, run, keep)
        log.info("checkpoint %s (%d files, %.2f GiB)", folder, len(manifest["files"]),
                 sum(f["size"] for f in manifest["files"].values()) / 1024**3)
    dist.barrier()


def load(engine, folder: Path, rank: int, adapters: bool) -> None:
    """All ranks: restore weights (`adapters`: the trainable ones only), optimizer, lr schedule and this
    rank's RNG state from `folder`."""
    import torch

    path, _ = engine.load_checkpoint(str(folder.parent), tag=folder.name, load_optimizer_states=True,
                                     load_lr_scheduler_states=True, load_module_strict=not adapters)
    if path is None:
        raise RuntimeError(f"DeepSpeed could not load checkpoint {folder}")
    rng_file = folder / f"rng-rank{rank}.pt"
    if rng_file.exists():
        rng = torch.load(rng_file, weights_only=True)
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])


def remove(root: Path) -> None:
    """Drop the checkpoints of a finished run (the written model replaces them); stale ones stay."""
    root = Path(root)
    if (root / "stale").exists():
        for c in root.glob("step-*"):
            shutil.rmtree(c, ignore_errors=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
