"""hpo_trial: one trial of the successive-halving search, trained and scored on the validation blocks.

Rung 0 slot k trains grid point k; rung r > 0 slot k continues the k-th best trial of rung r-1 from its
checkpoint (copied into this trial's folder, not retrained) until `budget * eta**r` optimizer steps in all.
Every trial's learning-rate schedule spans the last rung's steps, so a trial stopped at rung r is exactly
the start of the longer run, and the checkpoint's run id (settings, base and data content) matches.
Writes run/ (checkpoints, train_log.csv) and result.json (params, steps, validation loss, time).

Run alone: python -m climatune.model.hpo_trial results/model/base results/hpo/data/fit.npy \
    results/hpo/data/val.npy results/hpo/rung0/t0 --rung 0 --slot 0
"""

from __future__ import annotations

import argparse
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np

from .._settings import read_overrides
from .._util import UserError, read_json, setup_logging, write_json, writer_lock
from . import finetune as F
from . import training as T
from .hpo import HpoSettings, grid_points, steps_at

log = logging.getLogger(__name__)


def trial(model_dir, fit_npy, val_npy, out_dir, train_cfg: dict, s: HpoSettings, rung: int, slot: int,
          probe: dict | None = None, selection_json=None) -> dict:
    """Train one trial of `rung` into out_dir/run (continuing the trial it inherits) and write result.json."""
    out = Path(out_dir)
    if rung == 0:
        params, parent = grid_points(s.grid)[slot], None
    else:
        chosen = read_json(selection_json)["survivors"]
        if slot >= len(chosen):
            raise UserError(f"hpo rung {rung} slot t{slot}: rung {rung - 1} kept only {len(chosen)} trials")
        params, parent = chosen[slot]["params"], chosen[slot]
    # checkpoints at every rung boundary, and within a rung as often as train.checkpoint_every allows, so a
    # preempted or killed trial job resumes its own run; its checkpoints outlive the job (run/ is no output)
    every = math.gcd(s.budget, int(train_cfg.get("checkpoint_every") or s.budget))
    cfg = T.TrainConfig.from_dict({**train_cfg, **params, "max_steps": steps_at(s, s.rungs - 1),
                                   "checkpoint_every": every, "keep_checkpoints": 1})
    run_dir = out / "run"
    if parent:  # continue the parent's run from its checkpoint (same settings, data and base: same run id)
        inherit(Path(parent["run"]) / "checkpoints", run_dir / "checkpoints")
    t0 = time.perf_counter()
    with writer_lock(run_dir, "an hpo trial"):
        r = F._setup(model_dir, fit_npy, cfg, probe)
        r["ckpt_dir"] = run_dir / "checkpoints"
        step, micro_step, rows = F._resume(r)
        start = step
        if parent and start < parent["steps"]:
            raise UserError(f"hpo rung {rung} slot t{slot} cannot continue rung {rung - 1}'s trial {parent['slot']} "
                            f"from its step-{parent['steps']} checkpoint (another run id: the train settings, "
                            "probe result, base model or data changed since; rerun the search from rung 0 with "
                            "--forcerun hpo_split)")
        step = F._loop(r, run_dir, rows, step, micro_step, steps_at(s, rung))
        F._write_log(run_dir / "train_log.csv", rows)
        train_s = time.perf_counter() - t0
        val_loss, val_tokens = validation_loss(r["model"], val_npy, r["masking"], s.val_blocks)
    result = {"rung": rung, "slot": f"t{slot}", "params": params, "steps": step, "steps_this_rung": step - start,
              "val_loss": val_loss, "val_tokens": val_tokens, "train_loss": rows[-1]["loss"],
              "train_seconds": round(train_s, 2), "seconds": round(time.perf_counter() - t0, 2),
              "parent": parent and {"rung": rung - 1, "slot": parent["slot"]}, "run": str(run_dir),
              "loss_curve": [[x["step"], x["loss"]] for x in rows]}
    write_json(out / "result.json", result)
    log.info("rung %d slot t%d %s: %d steps (%d this rung), val loss %.4f", rung, slot, params, step,
             step - start, val_loss)
    return result


def inherit(src: Path, dst: Path) -> None:
    """Copy the parent trial's checkpoint folders into this trial's (one already here with the same
    manifest is kept; one with another is replaced): _resume then takes the newest of this run."""
    from .checkpoint import MANIFEST

    for c in sorted(src.glob("step-*")):
        mine = dst / c.name
        if mine.exists() and (mine / MANIFEST).is_file() and \
                (mine / MANIFEST).read_bytes() == (c / MANIFEST).read_bytes():
            continue
        shutil.rmtree(mine, ignore_errors=True)
        shutil.copytree(c, mine)


def validation_loss(model, val_npy, masking: bool, max_blocks: int = 0) -> tuple[float, int]:
    """Mean next-token NLL (nats/token) of the trained model over the val blocks: all, or max_blocks evenly
    spaced over them (blocks are in document order: the first N would score the first documents only)."""
    from .scoring import mean_nll

    total = len(np.load(val_npy, mmap_mode="r"))
    n = total if max_blocks <= 0 else min(max_blocks, total)
    rows = np.unique(np.linspace(0, total - 1, n).round().astype(np.int64))
    return mean_nll(model, val_npy, rows, masking, batch_size=8)  # dropout off while scoring


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.hpo_trial", description=__doc__.splitlines()[0])
    for a in ("model_dir", "fit_npy", "val_npy", "out_dir"):
        ap.add_argument(a)
    ap.add_argument("--rung", type=int, required=True)
    ap.add_argument("--slot", type=int, required=True, help="grid point (rung 0) or rank kept by the rung before")
    ap.add_argument("--selection", help="the previous rung's selection.json (rung > 0)")
    ap.add_argument("--probe", help="probe.json (train.micro_batch: auto)")
    ap.add_argument("--config", help="hpo settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--train-config", help="train settings over config.yaml's (JSON or file)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    trial(a.model_dir, a.fit_npy, a.val_npy, a.out_dir, T.TrainConfig.from_dict(read_overrides(a.train_config))
          .to_dict(), HpoSettings.from_dict(read_overrides(a.config)), a.rung, a.slot,
          read_json(a.probe) if a.probe else None, a.selection)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
