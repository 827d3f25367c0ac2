"""precision: every precision trains from the same start with finite losses, fp16 runs through a GradScaler
(an overflowing scale skips steps and backs off), a precision that fails or is too slow is listed under
`skipped` with its reason, and precision.json has its keys."""

from __future__ import annotations

import json

import numpy as np
import pytest

from climatune.model import finetune, precision

TRAIN = dict(seq_len=32, lr=2e-3, lora_dropout=0.1, seed=7, warmup_ratio=0.0)


def settings(**over):
    base = dict(precisions=["fp32", "fp16", "bf16"], steps=3, micro_batch=2, effective_batch=2,
                gradient_checkpointing=False, max_seconds=600, probe_tokens=16, fp16_init_scale=65536,
                ppl_blocks=2, questions=2, max_new_tokens=4)
    return precision.PrecisionSettings.from_dict({**base, **over})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("precision_data")
    rng = np.random.default_rng(0)
    base = np.tile(np.arange(32) * 7 % 500, (12, 1))
    blocks = np.where(rng.random(base.shape) < 0.2, rng.integers(0, 500, size=base.shape), base).astype(np.uint16)
    np.save(d / "train.npy", blocks[:8])
    np.save(d / "test.npy", blocks[8:])
    qs = [{"id": "a:1", "task": "cloze", "question": "The ocean has absorbed", "answer": "most of the extra heat.",
           "key": "heat"},
          {"id": "a:2", "task": "question", "question": "What raises the sea level?", "answer": "thermal expansion"}]
    (d / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    return d


def run(model_dir, data, out, s):
    return precision.run(model_dir, data / "train.npy", data / "test.npy", data / "questions.jsonl", out, s, TRAIN)


@pytest.mark.slow
def test_each_precision_trains_and_fp16_is_loss_scaled(tiny_model_dir, data, tmp_path):
    # a start scale of 2^40 overflows fp16 gradients for sure: GradScaler must skip those steps and back off
    res = run(tiny_model_dir, data, tmp_path, settings(fp16_init_scale=2.0**40))
    saved = json.loads((tmp_path / "precision.json").read_text())
    assert set(saved) >= {"device", "precisions", "skipped", "settings"} and saved["skipped"] == {}
    assert (tmp_path / "precision.png").stat().st_size > 0
    for p in ("fp32", "fp16", "bf16"):
        m = res["precisions"][p]
        assert m["steps"] == 3 and m["losses_finite"] and np.isfinite(m["loss_curve"]).all()
        for k in ("tokens_per_s", "peak_gib", "final_loss"):
            assert m[k] > 0
        assert np.isfinite(m["perplexity"]["perplexity"]) and m["perplexity"]["blocks"] == 2
        assert np.isfinite(m["perplexity_before_training"])
        assert m["answers"]["questions"] == 2 and m["answers"]["rougeL"] is not None
        assert m["answers"]["bleu"] is not None
        assert (tmp_path / p / "train_log.csv").is_file() and (tmp_path / p / "adapter").is_dir()
    assert res["precisions"]["fp32"]["compute_dtype"] == "float32" and not res["precisions"]["fp32"]["autocast"]
    assert res["precisions"]["bf16"]["compute_dtype"] == "bfloat16" and res["precisions"]["bf16"]["autocast"]
    assert res["precisions"]["fp32"]["loss_scaling"] is None and res["precisions"]["bf16"]["loss_scaling"] is None
    # same initialisation and data: the first losses agree to the precision's resolution
    first = [res["precisions"][p]["first_loss"] for p in ("fp32", "fp16", "bf16")]
    assert max(first) - min(first) < 0.05
    ls = res["precisions"]["fp16"]["loss_scaling"]
    assert ls["init_scale"] == 2.0**40 and ls["skipped_steps"] == [1, 2, 3]
    assert ls["scale_after_step"] == [2.0**39, 2.0**38, 2.0**37] and ls["final_scale"] == 2.0**37


def test_a_failing_precision_is_skipped_with_its_error(tiny_model_dir, data, tmp_path, monkeypatch):
    real = finetune._setup

    def setup(model_dir, train_npy, cfg, probe):
        if cfg.precision == "fp16":
            raise RuntimeError("fp16 is not implemented for this test")
        return real(model_dir, train_npy, cfg, probe)

    monkeypatch.setattr(finetune, "_setup", setup)
    res = run(tiny_model_dir, data, tmp_path, settings(precisions=["fp16", "fp32"], steps=1, questions=0))
    assert list(res["precisions"]) == ["fp32"] and res["precisions"]["fp32"]["answers"]["questions"] == 0
    assert res["skipped"] == {"fp16": "fails on cpu: RuntimeError: fp16 is not implemented for this test"}
    assert json.loads((tmp_path / "precision.json").read_text())["skipped"] == res["skipped"]


def test_a_precision_too_slow_for_the_budget_is_skipped_with_its_measured_time(tiny_model_dir, data, tmp_path):
    res = run(tiny_model_dir, data, tmp_path, settings(precisions=["bf16"], max_seconds=1e-6))
    assert res["precisions"] == {}
    why = res["skipped"]["bf16"]
    assert why.startswith("too slow here: a 16-token forward+backward took") and "max_seconds = 1e-06" in why
    assert (tmp_path / "precision.png").is_file()  # the figure says "skipped" rather than missing


def test_study_config_keeps_train_settings_and_refuses_unknown_precisions():
    cfg = precision.study_config({"lora_r": 4, "seed": 3}, settings(steps=5), "fp16")
    assert (cfg.precision, cfg.max_steps, cfg.lora_r, cfg.seed, cfg.micro_batch) == ("fp16", 5, 4, 3, 2)
    with pytest.raises(ValueError, match="fp8"):
        precision.study_config({}, settings(), "fp8")


def test_evaluating_leaves_the_nf4_layers_as_trained(tiny_model_dir, data):
    """bitsandbytes repacks NF4 weights on CPUs with AVX512-bf16 at the first inference forward (then bf16
    compute, no gradient to the layer's input): training.build_model turns that off (model/nf4.py), so the
    study's evaluation before training, and perplexity's "as trained" models, compute as built."""
    s = settings(precisions=["fp32"])
    r = precision.setup(tiny_model_dir, data / "train.npy", precision.study_config(TRAIN, s, "fp32"), s)
    precision.held_out_perplexity(r, data / "test.npy", 2)
    packed = [n for n, m in r["model"].named_modules()
              if getattr(getattr(getattr(m, "weight", None), "quant_state", None), "packing_format_for_cpu", False)]
    assert packed == [] and r["model"].training
