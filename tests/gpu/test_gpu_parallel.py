"""GPU layer: what CPU tests in fp32 cannot see. Skipped without CUDA; run on a lent GPU machine with
`python -m pytest tests/gpu` (bench/GPU.md). Tiny random Llamas, so each test takes seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def _cuda_devices() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


GPUS = _cuda_devices()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(GPUS == 0, reason="needs a CUDA device")]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    d = tmp_path_factory.mktemp("gpu-data")
    np.save(d / "train.npy", np.random.default_rng(0).integers(0, 512, (64, 64)).astype(np.uint16))
    return d / "train.npy"


def _bench_run(model_dir, train, out, layout: str, **settings) -> subprocess.CompletedProcess:
    cfg = {"global_batch": 8, "micro_batch": 2, "max_steps": 6, "lr": 1e-4, "schedule": "constant",
           "precision": "bf16", "checkpoint_every": 0, **settings}
    return subprocess.run([sys.executable, "-m", "climatune.parallel", "--layout", layout, "--model", str(model_dir),
                           "--train", str(train), "--out-dir", str(out), "--config", json.dumps(cfg), "--bench"],
                          capture_output=True, text=True, timeout=600, env={**os.environ})


@pytest.mark.skipif(not _has("deepspeed"), reason="needs deepspeed")
def test_bf16_single_keeps_fp32_master_weights_and_zero0_is_refused(tiny_model_dir, blocks, tmp_path):
    res = _bench_run(tiny_model_dir, blocks, tmp_path / "z0", "single", zero_stage=0)
    assert res.returncode == 2 and "no fp32 master weights" in res.stderr
    res = _bench_run(tiny_model_dir, blocks, tmp_path / "z1", "single", zero_stage=1)
    assert res.returncode == 0, res.stderr[-3000:]
    m = json.loads((tmp_path / "z1" / "metrics.json").read_text())
    assert m["dtype"] == "bfloat16" and m["optimizer"] == "DeepSpeedZeroOptimizer" and m["device"] == "cuda"
    assert m["losses"][-1] < m["losses"][0]


@pytest.mark.skipif(not _has("deepspeed") or GPUS < 2, reason="needs deepspeed and 2 GPUs")
@pytest.mark.parametrize("layout", ["dp2", "tp2", "pp2"])
def test_two_gpu_layouts_follow_the_single_gpu_loss_in_bf16(tiny_model_dir, blocks, tmp_path, layout):
    """Every step within 2e-3 of the single-GPU run (bf16 with fp32 master weights everywhere)."""
    assert _bench_run(tiny_model_dir, blocks, tmp_path / "single", "single").returncode == 0
    res = _bench_run(tiny_model_dir, blocks, tmp_path / layout, layout)
    assert res.returncode == 0, res.stderr[-3000:]
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    m = json.loads((tmp_path / layout / "metrics.json").read_text())
    assert max(abs(a - b) for a, b in zip(m["losses"], single["losses"])) < 2e-3
    assert m["world_size"] == 2 and len(m["peak_gib_per_rank"]) == 2


def test_too_many_gpus_are_refused_before_launch(tiny_model_dir, blocks, tmp_path):
    layout = f"dp{GPUS * 2}"
    res = _bench_run(tiny_model_dir, blocks, tmp_path / "x", layout)
    assert res.returncode == 2 and f"needs {GPUS * 2} GPUs on this node, but only {GPUS} are visible" in res.stderr


@pytest.mark.skipif(not _has("bitsandbytes"), reason="needs bitsandbytes")
def test_qlora_finetune_steps_in_bf16_on_the_gpu(tiny_model_dir, blocks, tmp_path):
    """The QLoRA recipe as configured (NF4 + double quant, bf16, paged 8-bit AdamW) trains on the GPU."""
    from climatune.model import finetune
    from climatune.model import training as T

    cfg = T.TrainConfig.from_dict({"seq_len": 64, "micro_batch": 2, "effective_batch": 4, "max_steps": 4,
                                   "precision": "bf16", "device": "cuda", "checkpoint_every": 4, "lr": 1e-3})
    summary = finetune.train(tiny_model_dir, blocks, tmp_path / "ft", cfg)
    assert summary["compute_dtype"] == "bfloat16" and summary["device"].startswith("cuda")
    assert summary["final_loss"] < summary["first_loss"]
