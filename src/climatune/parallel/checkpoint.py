"""Resumable training state of a layout, through DeepSpeed's own checkpoint API.

`engine.save_checkpoint` writes every rank's share (model states, ZeRO optimizer partitions, pipeline
layer files, the lr schedule) under checkpoints/step-NNNNNNN/, next to each rank's RNG state. After all
ranks have written and flushed their files, rank 0 adds climatune.json last: the run id, the step, the
training history so far, and the size of every file of the checkpoint. A checkpoint without it, or whose
files do not match it, is incomplete (a job killed while saving): it is skipped with a log line and the
previous one is used. Checkpoints of another run id (other settings, data or base model) are never
resumed: they move to checkpoints/stale/<run id>/, come back if that run does, and only the newest
STALE_RUNS other runs are kept there (older ones are deleted, with a log line).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

from .._util import read_json, write_json

log = logging.getLogger(__name__)

MANIFEST = "climatune.json"
STALE_RUNS = 1


def tag_of(step: int) -> str:
    return f"step-{step:07d}"


def file_digest(paths, chunk: int = 1 << 24) -> str:
    """sha256 over the content of `paths` (in the given order)."""
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    return h.hexdigest()


def run_id(identity: dict, layout: str, model_dir, train_npy) -> str:
    """Identity of a training run: its settings, its layout, and the content of its base model and data."""
    model_dir = Path(model_dir)
    weights = sorted(model_dir.glob("*.safetensors")) + [model_dir / "config.json"]
    d = {"settings": identity, "layout": layout, "model": file_digest(weights), "data": file_digest([train_npy])}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(engine, root: Path, step: int, state: dict, run: str, keep: int, rank: int, adapters: bool) -> None:
    """All ranks call this. `state` (history, elapsed time) goes into the manifest; the newest `keep`
    complete checkpoints stay. `adapters` (LoRA/QLoRA): only the trainable weights are saved (the frozen,
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
        if p.is_file() and os.access(p, os.W_OK):
            _fsync(p)
    dist.barrier()
    if rank == 0:
        files = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
                 if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp")}
        write_json(folder / MANIFEST, {"run_id": run, "step": step, "files": files, **state})
        _fsync(folder / MANIFEST)
        for old in complete(root, run)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("checkpoint %s (%d files, %.2f GiB)", folder, len(files), sum(files.values()) / 1024**3)
    dist.barrier()


def _verify(folder: Path, run: str) -> str | None:
    """None when `folder` is a complete checkpoint of `run`, else why not ("stale": another run's)."""
    try:
        m = read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return "incomplete (no manifest: the job stopped while saving)"
    if m.get("run_id") != run:
        return "stale"
    for rel, size in m["files"].items():
        p = folder / rel
        if not p.is_file():
            return f"incomplete ({rel} is missing)"
        if p.stat().st_size != size:
            return f"incomplete ({rel} has {p.stat().st_size} bytes, the manifest says {size})"
    return None


def complete(root: Path, run: str) -> list[Path]:
    """Complete checkpoints of `run`, oldest first."""
    return [c for c in sorted(Path(root).glob("step-*")) if _verify(c, run) is None]


def latest(root: Path, run: str) -> tuple[Path | None, dict]:
    """Rank 0: the newest complete checkpoint of `run` and its manifest. Checkpoints of other runs move
    to stale/<their run id>/; this run's own, if it was set aside earlier, come back first."""
    root = Path(root)
    mine = root / "stale" / run
    if mine.is_dir():
        for c in sorted(mine.glob("step-*")):
            if not (root / c.name).exists():
                os.replace(c, root / c.name)
        shutil.rmtree(mine, ignore_errors=True)
        log.info("run %s is back: its checkpoints return from %s", run, mine)
    for c in sorted(root.glob("step-*"), reverse=True):
        why = _verify(c, run)
        if why is None:
            return c, read_json(c / MANIFEST)
        if why == "stale":
            _set_aside(root, c)
        else:
            log.warning("skipping checkpoint %s: %s", c, why)
    return None, {}


def _set_aside(root: Path, c: Path) -> None:
    other = read_json(c / MANIFEST)["run_id"]
    dest = root / "stale" / other / c.name
    shutil.rmtree(dest, ignore_errors=True)  # the same step of the same run: identical content
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(c, dest)
    log.warning("checkpoint %s belongs to another run (settings, base model or data changed): moved to %s", c, dest)
    runs = sorted((root / "stale").iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[STALE_RUNS:]:
        log.warning("deleting the checkpoints of an older run %s (only the newest %d other run(s) are kept)",
                    old, STALE_RUNS)
        shutil.rmtree(old, ignore_errors=True)


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
