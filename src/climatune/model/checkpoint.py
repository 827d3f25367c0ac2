"""Checkpoints that are resumed only when they are whole and of the same run.

A checkpoint is a folder step-NNNNNNN/ whose manifest, climatune.json, is written last: the run id, the
step, the training history so far (log rows, elapsed time) and every file's size (and, for small files,
sha256). `latest` returns the newest checkpoint of a run whose files match their manifest: one that does
not (a job killed while saving, a truncated file) is skipped with a log line, one of another run id
(other settings, base weights or data) is moved to stale/<run id>/ and comes back if that run does (only
the newest STALE_RUNS other runs are kept). The fine-tune stage's own checkpoints (adapter, optimizer,
scheduler, RNG states and data position) are below; climatune.parallel.checkpoint uses the same manifest
for DeepSpeed's.
"""

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

MANIFEST = "climatune.json"
STALE_RUNS = 1
HASH_UP_TO = 1 << 30  # files up to 1 GiB get a sha256 in the manifest; larger ones their size only


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


def content_id(identity: dict, model_dir, data) -> str:
    """Identity of a training run: its settings and the content of its base weights and data."""
    model_dir = Path(model_dir)
    weights = sorted(model_dir.glob("*.safetensors")) + [model_dir / "config.json"]
    d = {"settings": identity, "model": file_digest(weights), "data": file_digest([data])}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(folder: Path, run: str, step: int, state: dict) -> dict:
    """Flush every file of `folder`, then write its manifest last (sizes, sha256 of files up to 1 GiB)."""
    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp"):
            _fsync(p)
            size = p.stat().st_size
            files[str(p.relative_to(folder))] = {"size": size, **({"sha256": file_digest([p])} if size <= HASH_UP_TO
                                                                 else {})}
    manifest = {"run_id": run, "step": step, "files": files, **state}
    write_json(folder / MANIFEST, manifest)
    _fsync(folder / MANIFEST)
    return manifest


def verify(folder: Path, run: str) -> str | None:
    """None when `folder` is a whole checkpoint of `run`, else why not ("stale": another run's)."""
    try:
        m = read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return "incomplete (no manifest: the job stopped while saving)"
    if m.get("run_id") != run:
        return "stale"
    for rel, want in m["files"].items():
        want = want if isinstance(want, dict) else {"size": want}
        p = folder / rel
        if not p.is_file():
            return f"incomplete ({rel} is missing)"
        if p.stat().st_size != want["size"]:
            return f"damaged ({rel} has {p.stat().st_size} bytes, the manifest says {want['size']})"
        if "sha256" in want and file_digest([p]) != want["sha256"]:
            return f"damaged ({rel} does not match its sha256)"
    return None


def candidates(root: Path, run: str) -> list[tuple[Path, dict]]:
    """Whole checkpoints of `run`, newest first, with their manifests. Checkpoints of other runs are set
    aside (and this run's own come back from stale/); damaged or incomplete ones are skipped, said."""
    root = Path(root)
    mine = root / "stale" / run
    if mine.is_dir():
        for c in sorted(mine.glob("step-*")):
            if not (root / c.name).exists():
                os.replace(c, root / c.name)
        shutil.rmtree(mine, ignore_errors=True)
        log.info("run %s is back: its checkpoints return from %s", run, mine)
    found = []
    for c in sorted(root.glob("step-*"), reverse=True):
        why = verify(c, run)
        if why is None:
            found.append((c, read_json(c / MANIFEST)))
        elif why == "stale":
            set_aside(root, c)
        else:
            log.warning("skipping checkpoint %s: %s", c, why)
    return found


def latest(root: Path, run: str) -> tuple[Path | None, dict]:
    """The newest whole checkpoint of `run` and its manifest, or (None, {})."""
    found = candidates(root, run)
    return found[0] if found else (None, {})


def set_aside(root: Path, c: Path) -> None:
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


def prune(root: Path, run: str, keep: int) -> None:
    """Keep the newest `keep` whole checkpoints of `run`."""
    whole = [c for c in sorted(Path(root).glob("step-*")) if verify(c, run) is None]
    for old in whole[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# --- the fine-tune stage's checkpoints ----------------------------------------------------------


def run_id(cfg, micro_batch: int, accum: int, model_dir, data) -> str:
    """Settings that decide the adapter (not how often it is saved or logged, nor the device's name),
    the batch geometry, and the content of the base model and data."""
    d = cfg.to_dict()
    for k in ("checkpoint_every", "keep_checkpoints", "log_every", "device"):
        d.pop(k)
    d.update(micro_batch=micro_batch, accum=accum)
    return content_id(d, model_dir, data)


def save(ckpt_dir: Path, step: int, micro_step: int, model, optimizer, scheduler, run: str, keep: int,
         history: dict) -> Path:
    """Write checkpoint `step` (a temporary folder renamed when whole), keep the newest `keep`. `history`
    (log rows, elapsed time) goes into the manifest, so a resumed run writes the whole log."""
    import torch
    from safetensors.torch import save_file

    final, tmp = ckpt_dir / tag_of(step), ckpt_dir / f".tmp-{tag_of(step)}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad},
              tmp / "trainable.safetensors")
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng},
               tmp / "state.pt")
    py, npy = random.getstate(), np.random.get_state()
    write_json(tmp / "rng.json", {"python": [py[0], list(py[1]), py[2]],
                                  "numpy": [npy[0], npy[1].tolist(), int(npy[2]), int(npy[3]), float(npy[4])]})
    write_manifest(tmp, run, step, {"micro_step": micro_step, **history})
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    prune(ckpt_dir, run, keep)
    return final


def load(path: Path, model, optimizer, scheduler) -> None:
    """Restore the trainable weights, optimizer, scheduler and RNG states of checkpoint `path`. Only
    tensors and plain containers are read (weights_only)."""
    import torch
    from safetensors.torch import load_file

    weights = load_file(path / "trainable.safetensors")
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, w in weights.items():
            params[n].copy_(w.to(params[n].device))
    state = torch.load(path / "state.pt", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    rng = read_json(path / "rng.json")
    py = rng["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npy = rng["numpy"]
    np.random.set_state((npy[0], np.array(npy[1], dtype=np.uint32), npy[2], npy[3], npy[4]))
