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


def test_cli_refuses_unsupported_layout_without_launching(tmp_path):
    res = subprocess.run([sys.executable, "-m", "climatune.parallel", "--layout", "tp2pp2", "--model", "x", "--train",
                          "y", "--out", str(tmp_path / "m.json")], capture_output=True, text=True)
    assert res.returncode == 2 and "Megatron" in res.stderr and not (tmp_path / "m.json").exists()


@pytest.fixture(scope="module")
def runs(tiny_model_dir, tmp_path_factory):
    """single, dp2, tp2 and pp2 on the tiny Llama, each a real `python -m climatune.parallel` run."""
    d = tmp_path_factory.mktemp("parallel")
    rng = np.random.default_rng(0)
    np.save(d / "train.npy", rng.integers(0, 512, (16, 32)).astype(np.uint16))
    env = {**os.environ, "MASTER_PORT": "29533"}
    out = {}
    for layout in ("single", "dp2", "tp2", "pp2"):
        res = subprocess.run([sys.executable, "-m", "climatune.parallel", "--layout", layout, "--model",
                              str(tiny_model_dir), "--train", str(d / "train.npy"), "--out", str(d / f"{layout}.json"),
                              "--config", json.dumps(CFG)], capture_output=True, text=True, env=env, timeout=600)
        assert res.returncode == 0, f"{layout}:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}"
        out[layout] = json.loads((d / f"{layout}.json").read_text())
    return out


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
