"""perplexity: token-weighted, equal to a direct computation, deterministic, with intervals."""

from __future__ import annotations

import json

import numpy as np
import torch

from climatune.model import perplexity


def _settings(**kw):
    return perplexity.PerplexitySettings.from_dict(kw)


def test_matches_direct_computation_and_is_deterministic(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    blocks = np.random.default_rng(1).integers(0, 512, (5, 33)).astype(np.uint16)
    np.save(tmp_path / "test.npy", blocks)
    r1 = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir, "tuned": tiny_model_dir},
                        tmp_path / "a.json", _settings(batch_size=2, precision="fp32", bootstrap=200), seed=0)
    r2 = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir, "tuned": tiny_model_dir},
                        tmp_path / "b.json", _settings(batch_size=5, precision="fp32", bootstrap=200), seed=0)
    m = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    x = torch.from_numpy(blocks.astype(np.int64))
    with torch.no_grad():
        direct = float(torch.exp(m(input_ids=x, labels=x).loss))
    assert r1["tokens"] == 5 * 32
    assert abs(r1["base"]["perplexity"] - direct) / direct < 1e-4
    assert json.loads((tmp_path / "a.json").read_text())["base"] == r1["base"]
    assert r1["base"]["ci95"] == r2["base"]["ci95"]  # batch size does not change the result
    lo, hi = r1["base"]["ci95"]
    assert lo <= r1["base"]["perplexity"] <= hi
    assert r1["drop_pct"] == 0 and r1["drop_pct_ci95"] == [0, 0]


def test_empty_test_split_is_explained(tiny_model_dir, tmp_path):
    import pytest

    np.save(tmp_path / "t.npy", np.zeros((0, 64), dtype=np.uint16))
    with pytest.raises(ValueError, match="split.test_ratio"):
        perplexity.run(tmp_path / "t.npy", {"base": tiny_model_dir}, tmp_path / "p.json")
