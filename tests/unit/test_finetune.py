"""finetune: a run killed with SIGKILL resumes from its checkpoint and ends at the same loss."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from climatune.model import finetune

CFG = dict(seq_len=64, micro_batch=2, effective_batch=4, max_steps=40, precision="fp32", lr=2e-3,
           gradient_checkpointing=True, checkpoint_every=3, keep_checkpoints=2, lora_dropout=0.1, seed=7,
           warmup_ratio=0.1)


@pytest.fixture(scope="module")
def train_npy(tmp_path_factory):
    rng = np.random.default_rng(0)
    # structured tokens (a repeating pattern with noise) so the loss really falls
    base = np.tile(np.arange(64) * 7 % 500, (24, 1))
    noise = rng.integers(0, 500, size=base.shape)
    blocks = np.where(rng.random(base.shape) < 0.2, noise, base).astype(np.uint16)
    p = tmp_path_factory.mktemp("data") / "train.npy"
    np.save(p, blocks)
    return p


def _cli(model_dir, train_npy, out, extra=()):
    return [sys.executable, "-m", "climatune.model.finetune", str(model_dir), str(train_npy), "--out-dir", str(out),
            "--config", json.dumps(CFG), *extra]


def _losses(out):
    with open(out / "train_log.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted(tiny_model_dir, train_npy, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = tmp_path / "ref"
    subprocess.run(_cli(tiny_model_dir, train_npy, ref), check=True, env=env, capture_output=True)
    ref_summary = json.loads((ref / "summary.json").read_text())

    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(tiny_model_dir, train_npy, out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / "checkpoints" / "step-0000006").exists():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.time() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    done = sorted(p.name for p in (out / "checkpoints").glob("step-*"))
    assert done and int(done[-1].split("-")[1]) < CFG["max_steps"]

    res = subprocess.run(_cli(tiny_model_dir, train_npy, out, ["--log", str(tmp_path / "resume.log")]),
                         env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "resumed from" in (tmp_path / "resume.log").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert abs(summary["final_loss"] - ref_summary["final_loss"]) < 1e-3
    np.testing.assert_allclose(_losses(out), _losses(ref), atol=1e-3)  # the whole curve, not only the end
    assert summary["final_loss"] < summary["first_loss"]


@pytest.mark.slow
def test_checkpoints_of_another_config_are_not_resumed(tiny_model_dir, train_npy, tmp_path):
    from climatune.model import training as T

    cfg = T.TrainConfig.from_dict({**CFG, "max_steps": 4, "checkpoint_every": 2})
    finetune.train(tiny_model_dir, train_npy, tmp_path, cfg, max_steps_this_run=2)
    assert (tmp_path / "checkpoints" / "step-0000002").exists()
    other = T.TrainConfig.from_dict({**CFG, "max_steps": 4, "checkpoint_every": 2, "lr": 1e-4})
    s = finetune.train(tiny_model_dir, train_npy, tmp_path, other)
    assert s["steps"] == 4 and len(_losses(tmp_path)) == 4  # started over instead of resuming


def test_resolve_batch_never_shrinks_the_effective_batch():
    from climatune.model import training as T

    assert finetune.resolve_batch(T.TrainConfig.from_dict(dict(micro_batch=3, effective_batch=8)), None)[:2] == (3, 3)
    probe = {"chosen": {"micro_batch": 4, "grad_accum": 2, "gradient_checkpointing": False}}
    assert finetune.resolve_batch(T.TrainConfig.from_dict(dict(gradient_checkpointing="auto")), probe) == (4, 2, False)
    with pytest.raises(ValueError, match="probe"):
        finetune.resolve_batch(T.TrainConfig.from_dict(), None)


@pytest.mark.slow
def test_stage_outputs_adapter_merged_model_and_plot(tiny_model_dir, train_npy, tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = {**CFG, "max_steps": 3, "checkpoint_every": 10}
    s = finetune.run(tiny_model_dir, train_npy, tmp_path / "ft", cfg, merged_dir=tmp_path / "merged")
    assert (tmp_path / "ft" / "adapter" / "adapter_model.safetensors").exists()
    assert (tmp_path / "ft" / "loss.png").stat().st_size > 1000
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    assert not any("lora" in n for n, _ in merged.named_parameters())
    header = (tmp_path / "ft" / "train_log.csv").read_text().splitlines()[0]
    assert header == "step,loss,lr,tokens_per_s,peak_gib,elapsed_s"
    assert s["effective_batch"] == 4 and s["steps"] == 3
