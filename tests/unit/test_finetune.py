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
    stale = list((tmp_path / "checkpoints" / "stale").glob("*/step-0000002"))
    assert len(stale) == 1  # the other run's checkpoint was set aside, not deleted


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


# --- reruns, kills and resumes never lose work or change the model (issue 13) ---------------------

SHORT = {**CFG, "max_steps": 6, "checkpoint_every": 2, "keep_checkpoints": 2}


def _train(model_dir, data, out, stop_after=0, **over):
    from climatune.model import training as T

    return finetune.train(model_dir, data, out, T.TrainConfig.from_dict({**SHORT, **over}),
                          max_steps_this_run=stop_after)


def _adapter_bytes(out):
    return (out / "adapter" / "adapter_model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def uninterrupted(tiny_model_dir, train_npy, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft-ref")
    return out, _train(tiny_model_dir, train_npy, out)


@pytest.mark.slow
def test_rerun_after_a_finished_run_rebuilds_every_output(tiny_model_dir, train_npy, uninterrupted, tmp_path):
    """Snakemake deletes a job's declared outputs before it reruns it (--forcerun, a params change,
    --rerun-incomplete); the checkpoints stay. The rerun resumes at the last step and writes the same
    adapter, the whole log and the same summary instead of failing on an empty history."""
    ref, ref_summary = uninterrupted
    import shutil

    shutil.copytree(ref, tmp_path / "ft")
    for f in ("train_log.csv", "summary.json"):
        (tmp_path / "ft" / f).unlink()
    shutil.rmtree(tmp_path / "ft" / "adapter")
    s = _train(tiny_model_dir, train_npy, tmp_path / "ft")
    assert _adapter_bytes(tmp_path / "ft") == _adapter_bytes(ref)
    assert _losses(tmp_path / "ft") == _losses(ref) and len(_losses(ref)) == SHORT["max_steps"]
    assert {k: s[k] for k in ("first_loss", "final_loss", "elapsed_s")} == \
        {k: ref_summary[k] for k in ("first_loss", "final_loss", "elapsed_s")}


@pytest.mark.slow
def test_a_resumed_run_writes_the_whole_history(tiny_model_dir, train_npy, uninterrupted, tmp_path):
    """Stopped after step 4 (a checkpoint), its log deleted as Snakemake does for an incomplete job:
    the resumed run's log, first loss and summary cover steps 1-6, from the history in the checkpoint."""
    ref, ref_summary = uninterrupted
    _train(tiny_model_dir, train_npy, tmp_path, stop_after=4)
    first = json.loads((tmp_path / "checkpoints" / "step-0000004" / "climatune.json").read_text())
    (tmp_path / "train_log.csv").unlink()
    s = _train(tiny_model_dir, train_npy, tmp_path)
    assert [r["step"] for r in first["rows"]] == [1, 2, 3, 4]
    assert _losses(tmp_path) == _losses(ref)
    assert s["first_loss"] == ref_summary["first_loss"] and s["final_loss"] == ref_summary["final_loss"]
    assert s["elapsed_s"] >= first["elapsed_s"]
    assert _adapter_bytes(tmp_path) == _adapter_bytes(ref)


def test_run_id_follows_the_content_of_model_and_data(tiny_model_dir, tiny_tokenizer_dir, train_npy, tmp_path):
    """Two models of the same shape, or re-tokenized data of the same size, are other runs."""
    from climatune.model import checkpoint as C
    from climatune.model import prepare_model
    from climatune.model import training as T

    cfg = T.TrainConfig.from_dict(SHORT)
    other = tmp_path / "other"
    prepare_model.run("random:tiny", other, tokenizer=str(tiny_tokenizer_dir), save_dtype="float32", seed=1)
    data2 = tmp_path / "train.npy"
    blocks = np.load(train_npy)
    np.save(data2, blocks[::-1].copy())  # same size, other content
    ids = {C.run_id(cfg, 2, 2, tiny_model_dir, train_npy), C.run_id(cfg, 2, 2, other, train_npy),
           C.run_id(cfg, 2, 2, tiny_model_dir, data2)}
    assert len(ids) == 3
    assert C.run_id(cfg.replace(log_every=5, checkpoint_every=9), 2, 2, tiny_model_dir, train_npy) == \
        C.run_id(cfg, 2, 2, tiny_model_dir, train_npy)


@pytest.mark.slow
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tiny_model_dir, train_npy, uninterrupted,
                                                                   tmp_path):
    """A truncated trainable.safetensors in the newest checkpoint: it is named and skipped, the run
    resumes from the previous one and still ends with the uninterrupted run's adapter."""
    ref, _ = uninterrupted
    _train(tiny_model_dir, train_npy, tmp_path, stop_after=4)
    newest = tmp_path / "checkpoints" / "step-0000004" / "trainable.safetensors"
    newest.write_bytes(newest.read_bytes()[:100])
    log = tmp_path / "resume.log"
    from climatune._util import setup_logging

    setup_logging(log)
    _train(tiny_model_dir, train_npy, tmp_path)
    text = log.read_text()
    assert "skipping checkpoint" in text and "step-0000004" in text and "damaged" in text
    assert "resumed from" in text and "step-0000002" in text
    assert _adapter_bytes(tmp_path) == _adapter_bytes(ref)


def test_a_second_writer_is_refused_naming_the_first(tiny_model_dir, train_npy, tmp_path):
    """An orphaned job still training into the folder (here: a process holding its lock) makes a rerun
    stop at once with the holder's PID instead of racing it."""
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from climatune._util import writer_lock\n"
                               "with writer_lock(sys.argv[1], 'x'):\n print('held', flush=True); time.sleep(60)",
                               str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from climatune._util import Busy

        with pytest.raises(Busy, match=f"PID {holder.pid}"):
            _train(tiny_model_dir, train_npy, tmp_path)
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "checkpoints").exists()


def test_the_lock_of_a_killed_snakemake_is_lifted_only_when_its_holder_is_gone(tmp_path):
    """kill -9 of Snakemake leaves .snakemake/locks; the same command then refuses to start. The lock is
    removed when the recorded holder no longer runs on this host, and kept for a live one."""
    from climatune._util import OWNER, claim_workflow, clear_stale_lock

    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("results/x\n")
    assert clear_stale_lock(tmp_path) is None  # no record of a holder: Snakemake's own message stands
    claim_workflow(tmp_path)  # this (live) process holds it
    assert clear_stale_lock(tmp_path) is None and (locks / "0.output.lock").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = (tmp_path / OWNER).read_text().split()[1]
    (tmp_path / OWNER).write_text(f"{dead.pid} {host}\n")
    assert "no longer runs" in clear_stale_lock(tmp_path)
    assert not any(locks.iterdir()) and not (tmp_path / OWNER).exists()
