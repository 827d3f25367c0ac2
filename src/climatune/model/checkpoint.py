"""Checkpoints of the fine-tune stage: the trainable (adapter) weights, optimizer, scheduler, RNG states
and the data position, written atomically (a temporary folder renamed at the end); a run id keeps
checkpoints of another configuration or data from being resumed."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import shutil
from pathlib import Path

import numpy as np

from .._util import read_json, write_json

log = logging.getLogger(__name__)


def run_id(cfg, micro_batch: int, accum: int, data: Path) -> str:
    """Identity of a run: checkpoints of another configuration or data are never resumed."""
    d = cfg.to_dict()
    for k in ("checkpoint_every", "keep_checkpoints", "log_every", "device"):
        d.pop(k)
    d.update(micro_batch=micro_batch, accum=accum, data_bytes=os.path.getsize(data))
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def save_checkpoint(ckpt_dir: Path, step: int, micro_step: int, model, optimizer, scheduler, run_id: str,
                    keep: int) -> Path:
    """Write checkpoint `step` atomically (a temporary folder renamed at the end), keep the newest `keep`."""
    import torch
    from safetensors.torch import save_file

    final = ckpt_dir / f"step-{step:07d}"
    tmp = ckpt_dir / f".tmp-step-{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    save_file(trainable, tmp / "trainable.safetensors")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng},
               tmp / "state.pt")
    write_json(tmp / "trainer.json", {"step": step, "micro_step": micro_step, "run_id": run_id})
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in sorted(ckpt_dir.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(ckpt_dir: Path, run_id: str) -> Path | None:
    for c in sorted(ckpt_dir.glob("step-*"), reverse=True):
        try:
            if read_json(c / "trainer.json")["run_id"] == run_id:
                return c
            log.warning("ignoring checkpoint %s: it belongs to another configuration or data", c)
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable checkpoint %s", c)
    return None


def load_checkpoint(path: Path, model, optimizer, scheduler) -> tuple[int, int]:
    import torch
    from safetensors.torch import load_file

    weights = load_file(path / "trainable.safetensors")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, w in weights.items():
            params[n].copy_(w.to(params[n].device))
    state = torch.load(path / "state.pt", weights_only=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    random.setstate(state["rng"]["python"])
    np.random.set_state(state["rng"]["numpy"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    info = read_json(path / "trainer.json")
    return info["step"], info["micro_step"]
