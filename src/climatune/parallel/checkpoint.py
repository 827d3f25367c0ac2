"""Resumable training state of a layout, through DeepSpeed's own checkpoint API.

`engine.save_checkpoint` writes every rank's share (model states, ZeRO optimizer partitions, pipeline
layer files, the lr schedule) under checkpoints/step-NNNNNNN/. After all ranks have written, rank 0
adds climatune.json last: the run id, the step, the training history so far, and the size of every
file of the checkpoint. A checkpoint without it, or whose files do not match it, is incomplete (a job
killed while saving): it is skipped with a log line and the previous one is used. Checkpoints of
another run id (other settings, data or base model) are moved aside, never resumed, never deleted.
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


def save(engine, root: Path, step: int, state: dict, run: str, keep: int) -> None:
    """All ranks call this. `state` (history, elapsed time) goes into the manifest; the newest `keep`
    complete checkpoints stay."""
    import torch.distributed as dist

    tag = tag_of(step)
    engine.save_checkpoint(str(root), tag=tag, client_state={"climatune_step": step}, save_latest=False)
    dist.barrier()
    if dist.get_rank() == 0:
        folder = root / tag
        files = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))
                 if p.is_file() and p.name != MANIFEST}
        write_json(folder / MANIFEST, {"run_id": run, "step": step, "files": files, **state})
        for old in complete(root, run)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
        log.info("checkpoint %s (%d files, %.2f GiB)", folder, len(files), sum(files.values()) / 1024**3)
    dist.barrier()


def _verify(folder: Path, run: str) -> str | None:
    """None when `folder` is a complete checkpoint of `run`, else why not."""
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
    """Rank 0: the newest complete checkpoint of `run` and its manifest; stale ones are moved to
    root/stale/, incomplete ones skipped (both with a log line)."""
    root = Path(root)
    for c in sorted(root.glob("step-*"), reverse=True):
        why = _verify(c, run)
        if why is None:
            return c, read_json(c / MANIFEST)
        if why == "stale":
            dest = root / "stale" / c.name
            shutil.rmtree(dest, ignore_errors=True)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(c, dest)
            log.warning("checkpoint %s belongs to another run (settings, base model or data changed): moved to %s",
                        c, dest)
        else:
            log.warning("skipping checkpoint %s: %s", c, why)
    return None, {}


def load(engine, folder: Path) -> None:
    """All ranks: restore weights, optimizer and lr schedule from `folder`."""
    path, _ = engine.load_checkpoint(str(folder.parent), tag=folder.name, load_optimizer_states=True,
                                     load_lr_scheduler_states=True)
    if path is None:
        raise RuntimeError(f"DeepSpeed could not load checkpoint {folder}")


def remove(root: Path) -> None:
    """Drop the checkpoints of a finished run (the written model replaces them); stale ones stay."""
    for c in Path(root).glob("step-*"):
        shutil.rmtree(c, ignore_errors=True)
    for f in ("latest",):
        (Path(root) / f).unlink(missing_ok=True)
