"""parallel: DeepSpeed DP (ZeRO), TP (AutoTP) and PP (PipelineModule) for real on CPU with 2 processes
(gloo), each ending at the loss of a single-process run over the same global batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from climatune import parallel

CFG = {"mode": "full", "zero_stage": 1, "global_batch": 4, "micro_batch": 1, "steps": 3, "lr": 1e-3, "seed": 3}


def test_layout_names():
    assert parallel.parse_layout("single").world == 1
    l = parallel.parse_layout("dp2pp2")
    assert (l.dp, l.tp, l.pp, l.world, l.kind) == (2, 1, 2, 4, "pp")
    for bad in ("dp", "xp2", "dp2dp2", "dp0", "tp2 "):
        with pytest.raises(parallel.UnsupportedLayout, match="layout"):
            parallel.parse_layout(bad)


@pytest.mark.parametrize("layout, mode, zero, match", [
    ("tp2pp2", "full", 1, "no documented tensor x pipeline parallel path"),
    ("tp2", "lora", 1, "AutoTP replaces the LoRA"),
    ("tp2", "qlora", 1, "AutoTP cannot shard bitsandbytes 4-bit"),
    ("pp2", "full", 2, "ZeRO-2 is not supported here \\(DeepSpeed pipeline parallelism supports ZeRO stage 0 or 1"),
    ("pp2", "lora", 0, "not built"),
    ("dp2", "qlora", 3, "ZeRO-3"),
    ("dp2", "sft", 1, "parallel.mode"),
])
def test_unsupported_combinations_are_named_before_launch(layout, mode, zero, match):
    with pytest.raises(parallel.UnsupportedLayout, match=match):
        parallel.check_supported(parallel.parse_layout(layout), mode, zero)


def test_batch_arithmetic():
    assert parallel.check_batch(parallel.parse_layout("dp2"), 8, 2) == 2
    assert parallel.check_batch(parallel.parse_layout("tp2"), 8, 2) == 4  # TP ranks share a batch
    with pytest.raises(parallel.UnsupportedLayout, match="not a multiple"):
        parallel.check_batch(parallel.parse_layout("dp2"), 6, 4)


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
                          "y", "--out", str(tmp_path / "m.json")], capture_output=True, text=True)
    assert res.returncode == 2 and "Megatron" in res.stderr and not (tmp_path / "m.json").exists()


# Every cell of the supported matrix (parallel.SUPPORT, shown in the README), as (layout, mode, ZeRO).
MATRIX = [(kind if kind == "single" else f"{kind}2", mode, zero)
          for (kind, mode), stages in parallel.SUPPORT.items() if not isinstance(stages, str) for zero in stages]
MATRIX += [("dp2pp2", "full", 1), ("dp2tp2", "full", 1)]  # the "x dp" rows: 4 processes


def _suite(model_dir, data, d, cells) -> None:
    """One real `python -m climatune.parallel --suite` launch for cells of one world size (gloo on CPU).
    Tensor-parallel cells go last: AutoTP sets up process groups for the rest of the process."""
    cells = sorted(cells, key=lambda c: "tp" in c[0])
    items = [{"layout": lay, "config": {**CFG, "mode": mode, "zero_stage": zero}, "out": str(d / f"{lay}-{mode}-{zero}.json")}
             for lay, mode, zero in cells]
    suite = d / f"suite-{cells[0][0]}.json"
    suite.write_text(json.dumps(items))
    res = subprocess.run([sys.executable, "-m", "climatune.parallel", "--suite", str(suite), "--model", str(model_dir),
                          "--train", str(data)], capture_output=True, text=True,
                         env={**os.environ, "MASTER_PORT": "29533"}, timeout=900)
    assert res.returncode == 0, f"{cells}:\n{res.stdout[-2000:]}\n{res.stderr[-5000:]}"


@pytest.fixture(scope="module")
def matrix_runs(tiny_model_dir, tmp_path_factory):
    """Every supported (layout, mode, ZeRO) on the tiny Llama, for real: one launch per world size."""
    d = tmp_path_factory.mktemp("parallel")
    np.save(d / "train.npy", np.random.default_rng(0).integers(0, 512, (16, 32)).astype(np.uint16))
    by_world: dict[int, list] = {}
    for cell in MATRIX:
        by_world.setdefault(parallel.parse_layout(cell[0]).world, []).append(cell)
    for cells in by_world.values():
        _suite(tiny_model_dir, d / "train.npy", d, cells)
    return {c: json.loads((d / f"{c[0]}-{c[1]}-{c[2]}.json").read_text()) for c in MATRIX}


@pytest.fixture(scope="module")
def runs(matrix_runs):
    """The full-fine-tuning runs at ZeRO-1 (0 for single, whose ZeRO is always 0) by layout name."""
    return {lay: matrix_runs[(lay, "full", 0 if lay == "single" else 1)] for lay in ("single", "dp2", "tp2", "pp2")}


def test_matrix_covers_the_readme_table():
    from .conftest import REPO

    assert parallel.support_markdown() in (REPO / "README.md").read_text()
    assert ("dp2", "qlora", 2) in MATRIX and ("pp2", "full", 0) in MATRIX and len(MATRIX) >= 12


@pytest.mark.parametrize("layout, mode, zero", MATRIX, ids=[f"{l}-{m}-zero{z}" for l, m, z in MATRIX])
def test_every_supported_cell_trains_like_a_single_process(matrix_runs, layout, mode, zero):
    m, single = matrix_runs[(layout, mode, zero)], matrix_runs[("single", mode, 0)]
    assert m["mode"] == mode and m["zero_stage"] == zero
    rtol = 2e-4 if mode == "full" else 1e-3  # 4-bit dequantisation order adds a little noise
    np.testing.assert_allclose(m["losses"], single["losses"], rtol=rtol)
    assert m["losses"][-1] != m["losses"][0]


@pytest.mark.parametrize("layout", ["dp2", "tp2", "pp2"])
def test_parallel_losses_match_single_process(runs, layout):
    single, m = runs["single"], runs[layout]
    assert m["world_size"] == 2 and len(m["peak_gib_per_rank"]) == 2
    assert len(m["losses"]) == len(single["losses"]) == CFG["steps"]
    np.testing.assert_allclose(m["losses"], single["losses"], rtol=2e-4)
    assert m["losses"][-1] != m["losses"][0]  # it trained


def test_tensor_and_pipeline_layouts_really_shard(runs):
    n = runs["single"]["trainable_parameters"]
    assert runs["dp2"]["trainable_parameters"] == n  # ZeRO-1 replicates weights, shards optimizer state
    assert runs["tp2"]["trainable_parameters"] < 0.6 * n  # AutoTP split the projections and the head
    assert runs["pp2"]["trainable_parameters"] < n  # rank 0 holds only the first stage


def test_layouts_report_what_they_ran(runs):
    assert runs["dp2"]["grad_accum"] == 2 and runs["tp2"]["grad_accum"] == 4 and runs["pp2"]["grad_accum"] == 4
    assert runs["single"]["zero_stage"] == 0 and runs["dp2"]["zero_stage"] == 1
    for m in runs.values():
        assert m["tokens_per_s"] > 0 and m["epoch_time_s"] > 0 and m["device"] == "cpu"


def test_report_compares_against_single(runs, tmp_path):
    from climatune import parallel_report

    paths = []
    for name, m in runs.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(m))
        paths.append(p)
    r = parallel_report.run(paths, tmp_path / "all.json", tmp_path / "p.png")
    assert r["layouts"]["single"]["speedup"] == 1.0
    assert r["layouts"]["pp2"]["max_loss_diff"] < 1e-3
    assert (tmp_path / "p.png").stat().st_size > 1000
