"""parallel: DeepSpeed DP (ZeRO), TP (AutoTP) and PP (PipelineModule) for real on CPU with 2-4 processes
(gloo): every supported cell ends at the loss of a single-process run over the same global batches,
writes a Hugging Face model that equals the single run's, and resumes after a stop or a SIGKILL at the
loss of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from climatune import parallel
from climatune._util import UserError
from climatune.parallel import checkpoint as C

CFG = {"mode": "full", "zero_stage": 1, "global_batch": 4, "micro_batch": 1, "max_steps": 4, "lr": 1e-3, "seed": 3,
       "schedule": "cosine", "warmup_ratio": 0.25, "checkpoint_every": 2, "save_dtype": "float32"}


def test_layout_names():
    assert parallel.parse_layout("single").world == 1
    lay = parallel.parse_layout("dp2pp2")
    assert (lay.dp, lay.tp, lay.pp, lay.world, lay.kind) == (2, 1, 2, 4, "pp")
    for bad in ("dp", "xp2", "dp2dp2", "dp0", "tp2 "):
        with pytest.raises(parallel.UnsupportedLayout, match="layout"):
            parallel.parse_layout(bad)


@pytest.mark.parametrize("layout, mode, zero, match", [
    ("tp2pp2", "full", 1, "no documented tensor x pipeline parallel path"),
    ("tp2", "lora", 1, "0 trainable parameters"),
    ("tp2", "qlora", 1, "AutoTP cannot shard bitsandbytes 4-bit"),
    ("pp2", "full", 2, "ZeRO-2 is not supported here \\(DeepSpeed pipeline parallelism supports ZeRO stage 0 or 1"),
    ("pp2", "lora", 0, "not built"),
    ("dp2", "qlora", 3, "ZeRO-3"),
    ("dp2", "sft", 1, "parallel.mode"),
])
def test_unsupported_combinations_are_named_before_launch(layout, mode, zero, match):
    with pytest.raises(parallel.UnsupportedLayout, match=match):
        parallel.check_supported(parallel.parse_layout(layout), mode, zero)


def test_bf16_without_master_weights_is_refused():
    """DeepSpeed's ZeRO-0 engine outside a pipeline updates bf16 weights in place (no fp32 masters);
    a pipeline's BF16_Optimizer and every ZeRO >= 1 engine keep them."""
    single, dp2, pp2 = (parallel.parse_layout(n) for n in ("single", "dp2", "pp2"))
    with pytest.raises(parallel.UnsupportedLayout, match="no fp32 master weights"):
        parallel.check_supported(single, "full", 0, "bf16")
    with pytest.raises(parallel.UnsupportedLayout, match="no fp32 master weights"):
        parallel.check_master_weights(dp2, "full", 0, bf16=True)
    parallel.check_master_weights(pp2, "full", 0, bf16=True)
    parallel.check_master_weights(single, "full", 1, bf16=True)
    parallel.check_master_weights(dp2, "full", 0, bf16=False)  # fp32 (CPU) has nothing to lose


def test_batch_arithmetic():
    assert parallel.check_batch(parallel.parse_layout("dp2"), 8, 2) == 2
    assert parallel.check_batch(parallel.parse_layout("tp2"), 8, 2) == 4  # TP ranks share a batch
    with pytest.raises(parallel.UnsupportedLayout, match="not a multiple"):
        parallel.check_batch(parallel.parse_layout("dp2"), 6, 4)


def test_settings_come_from_config_yaml_and_refuse_unknown_keys():
    import yaml

    from ..conftest import REPO

    defaults = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["parallel"]
    s = parallel.ParallelSettings.from_dict({"max_steps": 7})
    assert s.max_steps == 7 and s.lr == defaults["lr"] and s.zero_stage == defaults["zero_stage"]
    assert s.total_steps(100) == 7
    assert parallel.ParallelSettings.from_dict({"max_steps": 0, "epochs": 1.5, "global_batch": 4}).total_steps(10) == 4
    with pytest.raises(UserError, match="unknown parallel setting.*'stepz'"):
        parallel.ParallelSettings.from_dict({"stepz": 3})
    assert "checkpoint_every" not in s.identity() and "lr" in s.identity()


def test_too_few_gpus_is_refused_before_launch():
    dp4 = parallel.parse_layout("dp4")
    with pytest.raises(parallel.UnsupportedLayout, match="needs 4 GPUs on this node, but only 2 are visible"):
        parallel.check_gpus(dp4, 4, 2)
    parallel.check_gpus(dp4, 4, 4)
    parallel.check_gpus(dp4, 4, 0)  # no GPU at all: CPU ranks with gloo


def test_launch_command_local_and_under_slurm(monkeypatch):
    """One local torchrun; inside a SLURM job one srun step with a torchrun per node (c10d on the first
    node for several); node counts that disagree with the allocation or the layout are named."""
    dp4 = parallel.parse_layout("dp4")
    cmd = parallel.launch_command(dp4, ["--layout", "dp4"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--nproc_per_node=4", "--standalone"], cmd
    assert cmd[-4:] == ["-m", "climatune.parallel", "--layout", "dp4"]
    with pytest.raises(parallel.UnsupportedLayout, match="needs a SLURM allocation of 2 nodes"):
        parallel.launch_command(dp4, [], nodes=2)
    with pytest.raises(parallel.UnsupportedLayout, match="cannot split evenly"):
        parallel.launch_command(dp4, [], nodes=3, slurm_nodes=["a", "b", "c"])
    with pytest.raises(parallel.UnsupportedLayout, match="has 1 node.*parallel_nodes: 2"):
        parallel.launch_command(dp4, [], nodes=2, slurm_nodes=["gpu01"])
    monkeypatch.setenv("SLURM_JOB_ID", "12345")
    cmd = parallel.launch_command(dp4, ["--x"], nodes=2, cpus_per_node=16, slurm_nodes=["gpu01", "gpu02"])
    assert cmd[:7] == ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--mem=0", "--kill-on-bad-exit=1",
                       "--cpus-per-task=16"], cmd
    assert "--nproc_per_node=2" in cmd and "--nnodes=2" in cmd and "--rdzv_id=12345" in cmd
    assert "--rdzv_endpoint=gpu01:32345" in cmd and "--standalone" not in cmd
    one = parallel.launch_command(dp4, [], nodes=1, slurm_nodes=["gpu01"])
    assert one[:2] == ["srun", "--nodes=1"] and "--standalone" in one and "--nproc_per_node=4" in one
    monkeypatch.setenv("SLURM_STEP_ID", "0")  # already inside a step (srun snakemake ...): no nested step
    assert not parallel.in_slurm_allocation()


def test_slurm_geometry_one_task_per_gpu():
    """What the SLURM profile asks for per layout: GPUs per node, and the plugin's task geometry."""
    assert parallel.slurm_geometry("dp4pp2", 2) == {"nodes": 2, "gpus_per_node": 4, "mpi": "srun",
                                                    "tasks_per_node": 4, "tasks": 0}
    assert parallel.slurm_geometry("dp2", 2) == {"nodes": 2, "gpus_per_node": 1, "mpi": "srun",
                                                 "tasks_per_node": 0, "tasks": 2}
    assert parallel.slurm_geometry("single", 2) == {"nodes": 1, "gpus_per_node": 1, "mpi": "",
                                                    "tasks_per_node": 0, "tasks": 0}
    with pytest.raises(parallel.UnsupportedLayout, match="cannot split evenly"):
        parallel.slurm_geometry("dp2", 4)


def test_cli_refuses_unsupported_layout_without_launching(tmp_path):
    res = subprocess.run([sys.executable, "-m", "climatune.parallel", "--layout", "tp2pp2", "--model", "x", "--train",
                          "y", "--out-dir", str(tmp_path / "o")], capture_output=True, text=True)
    assert res.returncode == 2 and "Megatron" in res.stderr and not (tmp_path / "o").exists()


def test_activation_checkpointing_recomputes_decoder_layers(tiny_model_dir):
    """With parallel.activation_checkpointing every decoder layer runs forward again in backward."""
    import torch

    from climatune.parallel.build import build

    for on, calls in ((False, 1), (True, 2)):
        s = parallel.ParallelSettings.from_dict({"activation_checkpointing": on})
        model, params = build(parallel.parse_layout("single"), tiny_model_dir, s, {}, torch.float32,
                              torch.device("cpu"))
        mlp = model.model.model.layers[0].mlp
        seen, forward = [], mlp.forward
        mlp.forward = lambda *a, **k: seen.append(1) or forward(*a, **k)  # hooks do not fire on recompute
        model(torch.randint(0, 100, (2, 16))).backward()
        assert len(seen) == calls and model.training and params


# --- real runs -----------------------------------------------------------------------------------

# Every cell of the supported matrix (parallel.SUPPORT, shown in the README), as (layout, mode, ZeRO).
MATRIX = [(kind if kind == "single" else f"{kind}2", mode, zero)
          for (kind, mode), stages in parallel.SUPPORT.items() if not isinstance(stages, str) for zero in stages]
MATRIX += [("dp2pp2", "full", 1), ("dp2tp2", "full", 1)]  # the "x dp" rows: 4 processes
MATRIX += [("dp2", "full-ac", 1), ("pp2", "full-ac", 1)]  # activation checkpointing
# an untied head (Llama-3.1-8B's kind): its own export paths in every kind of layout
MATRIX += [("single", "full-untied", 1), ("dp2", "full-untied", 3), ("tp2", "full-untied", 1),
           ("pp2", "full-untied", 1)]


def _name(lay, mode, zero) -> str:
    return f"{lay}-{mode}-{zero}"


def _mode(mode: str) -> str:
    return mode.split("-")[0]


def _reference(mode: str) -> tuple:
    """The single-process cell a cell must match: same mode and model, ZeRO-1."""
    return ("single", "full-untied" if mode.endswith("untied") else _mode(mode), 1)


def _cfg(mode: str, zero: int) -> dict:
    return {**CFG, "mode": _mode(mode), "zero_stage": zero, "activation_checkpointing": mode.endswith("-ac")}


def _launch(args: list, port: int, timeout: int = 900, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "climatune.parallel", *args], capture_output=True, text=True,
                          env={**os.environ, "MASTER_PORT": str(port)}, timeout=timeout, **kw)


def _suite(model_dir, data, d, cells, extra=(), port=29533) -> None:
    """One real `python -m climatune.parallel --suite` launch for cells of one world size (gloo on CPU).
    `model_dir`: {"tied": ..., "untied": ...} prepared tiny Llamas."""
    items = [{"layout": lay, "config": _cfg(mode, zero), "out_dir": str(d / _name(lay, mode, zero)),
              "model": str(model_dir["untied" if mode.endswith("untied") else "tied"])} for lay, mode, zero in cells]
    suite = d / f"suite-{cells[0][0]}-{len(extra)}.json"
    suite.write_text(json.dumps(items))
    res = _launch(["--suite", str(suite), "--model", str(model_dir["tied"]), "--train", str(data), *extra], port)
    assert res.returncode == 0, f"{cells}:\n{res.stdout[-2000:]}\n{res.stderr[-5000:]}"


@pytest.fixture(scope="module")
def train_npy(tmp_path_factory):
    d = tmp_path_factory.mktemp("parallel-data")
    np.save(d / "train.npy", np.random.default_rng(0).integers(0, 512, (24, 32)).astype(np.uint16))
    np.save(d / "test.npy", np.random.default_rng(1).integers(0, 512, (4, 32)).astype(np.uint16))
    return d / "train.npy"


@pytest.fixture(scope="module")
def models(tiny_model_dir, tiny_tokenizer_dir, tmp_path_factory):
    from climatune.model import prepare_model

    untied = tmp_path_factory.mktemp("tiny_untied")
    prepare_model.run("random:tiny-untied", untied, tokenizer=str(tiny_tokenizer_dir), save_dtype="float32", seed=0)
    return {"tied": tiny_model_dir, "untied": untied}


@pytest.fixture(scope="module")
def matrix_runs(models, train_npy, tmp_path_factory):
    """Every supported (layout, mode, ZeRO) on the tiny Llama, for real: one launch per world size."""
    d = tmp_path_factory.mktemp("parallel")
    by_world: dict[int, list] = {}
    for cell in MATRIX:
        by_world.setdefault(parallel.parse_layout(cell[0]).world, []).append(cell)
    for cells in by_world.values():
        _suite(models, train_npy, d, cells)
    return {c: {**json.loads((d / _name(*c) / "metrics.json").read_text()), "dir": d / _name(*c)} for c in MATRIX}


@pytest.fixture(scope="module")
def runs(matrix_runs):
    """The full-fine-tuning runs at ZeRO-1 by layout name."""
    return {lay: matrix_runs[(lay, "full", 1)] for lay in ("single", "dp2", "tp2", "pp2", "dp2pp2", "dp2tp2")}


def test_matrix_covers_the_readme_table():
    from ..conftest import REPO

    assert parallel.support_markdown() in (REPO / "README.md").read_text()
    assert ("dp2", "qlora", 2) in MATRIX and ("pp2", "full", 0) in MATRIX and len(MATRIX) >= 14


def _weights(model_dir) -> dict:
    from safetensors.torch import load_file

    out = {}
    for f in sorted(model_dir.glob("*.safetensors")):
        out.update(load_file(f))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("layout, mode, zero", MATRIX, ids=[_name(*c) for c in MATRIX])
def test_every_supported_cell_trains_like_a_single_process(matrix_runs, layout, mode, zero):
    """Same losses as the single process of its mode and model, step by step, and the same model written
    (consolidated from ZeRO partitions, tensor shards or pipeline stages; adapters merged)."""
    m, single = matrix_runs[(layout, mode, zero)], matrix_runs[_reference(mode)]
    assert m["mode"] == _mode(mode) and m["zero_stage"] == zero and m["steps"] == CFG["max_steps"]
    assert m["activation_checkpointing"] == mode.endswith("-ac")
    rtol = 2e-4 if mode.startswith("full") else 1e-3  # 4-bit dequantisation order adds a little noise
    np.testing.assert_allclose(m["losses"], single["losses"], rtol=rtol)
    assert m["losses"][-1] != m["losses"][0]
    assert (m["dir"] / "train_log.csv").exists()
    assert not (m["dir"] / "checkpoints").exists()  # removed once the model is written
    w, ref = _weights(m["dir"] / "model"), _weights(single["dir"] / "model")
    assert w.keys() == ref.keys() and ("lm_head.weight" in w) == mode.endswith("untied")
    assert max(float((w[k].float() - ref[k].float()).abs().max()) for k in ref) < (1e-4 if rtol == 2e-4 else 2e-3)


@pytest.mark.slow
def test_tensor_and_pipeline_layouts_really_shard(runs):
    n = runs["single"]["trainable_parameters"]
    assert runs["dp2"]["trainable_parameters"] == n  # ZeRO-1 replicates weights, shards optimizer state
    # AutoTP split every decoder projection in two (the tied embedding/head stays whole): 106,816 -> 69,952
    assert runs["tp2"]["trainable_parameters"] < 0.7 * n
    assert runs["pp2"]["trainable_parameters"] < n  # rank 0 holds only the first stage


@pytest.mark.slow
def test_every_layout_writes_the_same_model(runs, train_npy):
    """The consolidated Hugging Face model of each layout (ZeRO, AutoTP shards, pipeline stages) loads
    alone and equals the single-process model: same weights, same held-out loss."""
    import torch
    from transformers import AutoModelForCausalLM

    x = torch.from_numpy(np.load(train_npy.parent / "test.npy").astype(np.int64))
    ref, ref_loss = None, None
    for name, m in runs.items():
        model = AutoModelForCausalLM.from_pretrained(m["dir"] / "model", dtype=torch.float32)
        with torch.no_grad():
            loss = float(model(input_ids=x, labels=x).loss)
        sd = model.state_dict()
        if ref is None:
            ref, ref_loss = sd, loss
            continue
        assert sd.keys() == ref.keys(), name
        assert max(float((sd[k] - ref[k]).abs().max()) for k in ref) < 1e-4, name
        assert loss == pytest.approx(ref_loss, rel=1e-5), name


@pytest.mark.slow
def test_layouts_report_what_they_ran(runs):
    assert runs["dp2"]["grad_accum"] == 2 and runs["tp2"]["grad_accum"] == 4 and runs["pp2"]["grad_accum"] == 4
    assert runs["single"]["zero_stage"] == 1 and runs["single"]["optimizer"] == "DeepSpeedZeroOptimizer"
    for m in runs.values():
        assert m["tokens_per_s"] > 0 and m["epoch_time_s"] > 0 and m["device"] == "cpu"
        assert m["train_blocks"] == 24 and len(m["losses"]) == CFG["max_steps"]


@pytest.mark.slow
def test_resume_after_a_stop_continues_the_same_run(models, train_npy, matrix_runs, tmp_path):
    """dp2, tp2, pp2, ZeRO-3 and QLoRA stop after step 2 (a checkpoint) and a second launch finishes them:
    the whole history and the final model equal an uninterrupted run's."""
    cells = [("dp2", "full", 1), ("tp2", "full", 1), ("pp2", "full", 1), ("dp2", "full", 3), ("dp2", "qlora", 2)]
    _suite(models, train_npy, tmp_path, cells, ["--stop-after", "2"], port=29541)
    for c in cells:
        d = tmp_path / _name(*c)
        assert not (d / "metrics.json").exists() and (d / "checkpoints" / "step-0000002" / C.MANIFEST).exists()
    _suite(models, train_npy, tmp_path, cells, port=29542)
    for c in cells:
        m = json.loads((tmp_path / _name(*c) / "metrics.json").read_text())
        assert m["resumed_at_step"] == 2, c
        np.testing.assert_allclose(m["losses"], matrix_runs[c]["losses"], rtol=1e-6, err_msg=str(c))
        w, ref = _weights(tmp_path / _name(*c) / "model"), _weights(matrix_runs[c]["dir"] / "model")
        assert max(float((w[k].float() - ref[k].float()).abs().max()) for k in ref) < 1e-5, c


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_ends_at_the_uninterrupted_loss(tiny_model_dir, train_npy, tmp_path):
    """SIGKILL of only the launcher of a 2-process run, soon after its step-2 checkpoint (of 40 steps, one
    checkpoint every 2): torchrun and both ranks (sessions of their own) die with it instead of training on
    as orphans, and the same command resumes from the newest complete checkpoint and ends at the
    uninterrupted run's loss, with the full history."""
    out = tmp_path / "dp2"
    steps = 40
    cfg = json.dumps({**_cfg("full", 1), "max_steps": steps})
    args = ["--layout", "dp2", "--model", str(tiny_model_dir), "--train", str(train_npy), "--out-dir", str(out),
            "--config", cfg]
    proc = subprocess.Popen([sys.executable, "-m", "climatune.parallel", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "MASTER_PORT": "29551"},
                            start_new_session=True)
    deadline = time.time() + 300
    while not list(out.glob(f"checkpoints/step-*/{C.MANIFEST}")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 20
    while _processes_mentioning(str(out)) and time.time() < deadline:
        time.sleep(0.2)
    assert not _processes_mentioning(str(out)), "ranks outlived their launcher"
    assert not (out / "metrics.json").exists()
    res = _launch(args, 29552)
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((out / "metrics.json").read_text())
    assert 2 <= m["resumed_at_step"] < steps and len(m["losses"]) == steps
    full = _launch([*args[:-4], "--out-dir", str(tmp_path / "full"), "--config", cfg], 29553)
    assert full.returncode == 0, full.stderr[-3000:]
    ref = json.loads((tmp_path / "full" / "metrics.json").read_text())
    np.testing.assert_allclose(m["losses"], ref["losses"], rtol=1e-6)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        try:
            if d.isdigit() and text in open(f"/proc/{d}/cmdline", "rb").read().decode(errors="replace"):
                pids.append(int(d))
        except OSError:
            pass
    return pids


def test_checkpoints_of_another_run_or_incomplete_ones_are_never_resumed(tmp_path):
    """latest() skips a checkpoint whose files do not match its manifest (a job killed while saving),
    moves one of another run id aside, and brings it back when that run returns."""
    root = tmp_path / "checkpoints"
    for step, run in ((2, "a"), (4, "a"), (6, "b")):
        f = root / C.tag_of(step)
        f.mkdir(parents=True)
        (f / "w.pt").write_bytes(b"x" * 10)
        (f / C.MANIFEST).write_text(json.dumps({"run_id": run, "step": step, "files": {"w.pt": 10}, "rows": []}))
    (root / C.tag_of(4) / "w.pt").write_bytes(b"x" * 3)  # truncated
    folder, manifest = C.latest(root, "a")
    assert folder == root / C.tag_of(2) and manifest["step"] == 2
    assert (root / "stale" / "b" / C.tag_of(6)).exists() and not (root / C.tag_of(6)).exists()
    (root / C.tag_of(8)).mkdir()  # no manifest: the save never finished
    assert C.latest(root, "a")[0] == root / C.tag_of(2)
    folder, manifest = C.latest(root, "b")  # settings b again: its checkpoint comes back, a's go aside
    assert folder == root / C.tag_of(6) and manifest["step"] == 6 and not (root / "stale" / "b").exists()


@pytest.mark.slow
def test_report_compares_against_single(runs, tmp_path):
    from climatune.parallel import report

    paths, ppl = [], []
    for i, (name, m) in enumerate(runs.items()):
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps({k: v for k, v in m.items() if k != "dir"}))
        paths.append(p)
        q = tmp_path / f"ppl-{name}.json"
        q.write_text(json.dumps({"tokens": 10, name: {"perplexity": 5.0 + i, "ci95": [4.5 + i, 5.5 + i]}}))
        ppl.append(q)
    r = report.run(paths, tmp_path / "all.json", tmp_path / "p.png", ppl)
    assert r["layouts"]["single"]["speedup"] == 1.0 and r["layouts"]["dp2"]["perplexity"] == 6.0
    assert r["layouts"]["pp2"]["max_loss_diff"] < 1e-3
    assert (tmp_path / "p.png").stat().st_size > 1000
