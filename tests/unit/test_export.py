"""export: GGUF files with the llama keys, the tokenizer and GGML's q/k layout; llama.cpp loads them and
agrees with transformers; a wrong RoPE layout, a non-Llama model or an unknown tokenizer is refused."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil

import numpy as np
import pytest
import torch

from climatune.model import export, gguf_check, gguf_file, gguf_vocab

needs_llama_cpp = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None,
                                     reason="llama-cpp-python is not installed (pip install llama-cpp-python==0.3.36)")
PROMPT = "The ocean has absorbed most of the extra heat"


def _sharpen_and_save(model, tokenizer_dir, out):
    """Scale q/k up so attention is sharp, and v/o and the embedding so attention decides the next token:
    a wrong RoPE layout then changes the predictions (with the plain random init attention is nearly
    uniform and it would not). Saved in bf16 with the tokenizer, as finetune saves `merged`."""
    from transformers import AutoTokenizer

    with torch.no_grad():
        for name, p in model.named_parameters():
            p.mul_(10 if any(k in name for k in ("q_proj", "k_proj", "v_proj", "o_proj")) else
                   5 if "embed_tokens" in name else 1)
    model.to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def sharp_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny random Llama (tied embeddings, plain RoPE), sharpened."""
    from transformers import AutoModelForCausalLM

    m = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return _sharpen_and_save(m, tiny_model_dir, tmp_path_factory.mktemp("merged"))


def _settings(**kw):
    return export.ExportSettings.from_dict({"check_prompt": PROMPT, "check_tokens": 8, **kw})


def _write(folder, path, kind):
    config = gguf_file.llama_config(folder)
    return gguf_file.write_gguf(folder, path, kind, gguf_vocab.read_vocab(folder, config.vocab_size), "test")


def test_gguf_holds_llama_keys_tokenizer_and_ggml_layout(sharp_model_dir, tmp_path):
    import gguf
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    f16 = _write(sharp_model_dir, tmp_path / "f16.gguf", "f16")
    q8 = _write(sharp_model_dir, tmp_path / "q8.gguf", "q8_0")
    assert q8["bytes"] < 0.6 * f16["bytes"] and f16["sha256"] == hashlib.sha256((tmp_path / "f16.gguf").read_bytes()).hexdigest()
    r = gguf.GGUFReader(tmp_path / "f16.gguf")
    kv = {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}
    assert kv["general.architecture"] == "llama" and kv["general.file_type"] == gguf.LlamaFileType.MOSTLY_F16
    assert (kv["llama.block_count"], kv["llama.embedding_length"], kv["llama.feed_forward_length"]) == (2, 64, 128)
    assert (kv["llama.attention.head_count"], kv["llama.attention.head_count_kv"], kv["llama.rope.dimension_count"]) == (4, 2, 16)
    assert kv["llama.context_length"] == 2048 and kv["llama.vocab_size"] == 512 and kv["llama.rope.freq_base"] == 10000.0
    assert abs(kv["llama.attention.layer_norm_rms_epsilon"] - 1e-6) < 1e-9
    tok = AutoTokenizer.from_pretrained(sharp_model_dir)
    assert kv["tokenizer.ggml.model"] == "gpt2" and kv["tokenizer.ggml.pre"] == "gpt-2"
    assert kv["tokenizer.ggml.tokens"] == [t for t, _ in sorted(tok.get_vocab().items(), key=lambda x: x[1])]
    assert kv["tokenizer.ggml.eos_token_id"] == tok.eos_token_id and kv["tokenizer.ggml.add_bos_token"] is False
    assert kv["tokenizer.ggml.token_type"][tok.eos_token_id] == gguf_vocab.CONTROL
    tensors = {t.name: t for t in r.tensors}
    assert len(tensors) == 2 * 9 + 2 and "output.weight" not in tensors  # tied head: token_embd serves both
    assert tensors["blk.0.attn_norm.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    hf = {k: v.float().numpy() for k, v in load_file(sharp_model_dir / "model.safetensors").items()}
    got = {n: np.asarray(tensors[n].data, dtype=np.float32) for n in ("blk.1.attn_q.weight", "blk.1.attn_k.weight",
                                                                      "blk.1.attn_v.weight")}
    assert np.array_equal(got["blk.1.attn_q.weight"], gguf_file.rope_to_ggml(hf["model.layers.1.self_attn.q_proj.weight"], 4))
    assert np.array_equal(got["blk.1.attn_k.weight"], gguf_file.rope_to_ggml(hf["model.layers.1.self_attn.k_proj.weight"], 2))
    assert np.array_equal(got["blk.1.attn_v.weight"], hf["model.layers.1.self_attn.v_proj.weight"])
    assert gguf.GGUFReader(tmp_path / "q8.gguf").fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    q4 = _write(sharp_model_dir, tmp_path / "q4.gguf", "q4_0")  # the (tied) output matrix stays Q8_0
    assert q4["tensor_types"] == {"Q8_0": 1, "Q4_0": 14, "F32": 5} and q4["bytes"] < q8["bytes"]


def test_permutation_turns_rotate_half_rope_into_ggml_pairs():
    """HF's RoPE (rotate_half over the two halves of a head) on q equals GGML's RoPE (rotating adjacent
    pairs) on the permuted q, permuted: why q_proj/k_proj rows are interleaved."""
    rng = np.random.default_rng(0)
    heads, d, pos, base = 3, 8, 5, 10000.0
    q = rng.standard_normal(heads * d)
    theta = pos * base ** (-np.arange(0, d, 2) / d)
    cos, sin = np.cos(np.tile(theta, 2)), np.sin(np.tile(theta, 2))
    h = q.reshape(heads, d)
    hf = (h * cos + np.concatenate([-h[:, d // 2:], h[:, : d // 2]], axis=1) * sin).reshape(-1)
    g = gguf_file.rope_to_ggml(q, heads).reshape(heads, d // 2, 2)
    x, y = g[..., 0], g[..., 1]
    ggml = np.stack([x * np.cos(theta) - y * np.sin(theta), x * np.sin(theta) + y * np.cos(theta)], -1).reshape(-1)
    assert np.allclose(ggml, gguf_file.rope_to_ggml(hf, heads))


@needs_llama_cpp
def test_export_writes_files_and_llama_cpp_agrees_with_transformers(sharp_model_dir, tmp_path):
    r = export.run(sharp_model_dir, tmp_path, _settings(), threads=1)
    assert json.loads(json.dumps(r)) == json.loads((tmp_path / "export.json").read_text())
    assert r["safetensors_bytes"] == sum(p.stat().st_size for p in (tmp_path / "model-16bit").glob("*.safetensors"))
    assert json.loads((tmp_path / "model-16bit" / "config.json").read_text())["dtype"] == "bfloat16"
    assert [g["type"] for g in r["gguf"]] == ["f16", "q8_0"]
    for g in r["gguf"]:
        path = tmp_path / f"model-{g['type']}.gguf"
        assert g["bytes"] == path.stat().st_size and g["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert r["gguf"][1]["bytes"] < 0.6 * r["gguf"][0]["bytes"]
    c = r["gguf_check"]
    assert c["passed"] and c["loader"].startswith("llama-cpp-python ") and c["generated"]
    f16 = c["files"][0]
    assert f16["prompt_tokens_match"] and f16["top1_agreement_with_ties"] == 1.0 and f16["max_abs_logit_diff"] < 0.05
    assert f16["greedy_match_tokens"] == 8 and f16["greedy_ids"] == c["reference"]["greedy_ids"]
    assert c["files"][1]["passed"] and c["files"][1]["greedy_ids"]


@needs_llama_cpp
def test_gguf_without_the_rope_permutation_fails_the_job(sharp_model_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(gguf_file, "rope_to_ggml", lambda w, heads: w)
    with pytest.raises(gguf_check.CheckFailed, match="q/k RoPE layout"):
        export.run(sharp_model_dir, tmp_path, _settings(gguf_types=["f16"]), threads=1)
    r = json.loads((tmp_path / "export.json").read_text())["gguf_check"]
    assert not r["passed"] and r["files"][0]["top1_agreement"] < 0.6


@needs_llama_cpp
def test_untied_head_and_llama3_rope_scaling_agree_with_transformers(tiny_model_dir, tmp_path):
    """Llama 3.x's layout: a separate output matrix and llama3 RoPE scaling (GGUF's rope_freqs tensor)."""
    import gguf
    from transformers import AutoModelForCausalLM

    from climatune.model import prepare_model

    cfg = prepare_model.llama_config("tiny-untied", vocab_size=512)
    cfg.rope_parameters = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    torch.manual_seed(0)
    folder = _sharpen_and_save(AutoModelForCausalLM.from_config(cfg), tiny_model_dir, tmp_path / "merged")
    r = export.run(folder, tmp_path / "out", _settings(gguf_types=["f16"]), threads=1)
    assert r["gguf_check"]["passed"] and r["gguf_check"]["files"][0]["greedy_match_tokens"] == 8
    tensors = {t.name: t for t in gguf.GGUFReader(tmp_path / "out" / "model-f16.gguf").tensors}
    assert "output.weight" in tensors and tensors["rope_freqs.weight"].tensor_type == gguf.GGMLQuantizationType.F32
    assert np.asarray(tensors["rope_freqs.weight"].data).max() > 1  # the low frequencies are slowed down


def _tokenizer(kind: str, out):
    """A byte-level BPE (vocab 512) with SmolLM's or Llama 3's pre-tokenizer, trained on the demo corpus."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from climatune.corpus.demo_corpus import documents

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        if kind == "smollm" else
        [pre_tokenizers.Split(Regex(gguf_vocab.LLAMA3_SPLIT), "isolated"),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator([p for d in documents() for _, ps in d["sections"] for p in ps], trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>").save_pretrained(out)
    return out


@needs_llama_cpp
@pytest.mark.parametrize("pre", ["smollm", "llama-bpe"])
def test_smollm_and_llama3_pre_tokenizers_tokenize_as_in_transformers(pre, tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from climatune.model import prepare_model

    torch.manual_seed(0)
    m = AutoModelForCausalLM.from_config(prepare_model.llama_config("tiny", vocab_size=512))
    folder = _sharpen_and_save(m, _tokenizer(pre, tmp_path / "tok"), tmp_path / "merged")
    # digits, punctuation, blank lines, runs of spaces: where the three pre-tokenizers split differently
    prompt = "Earth's climate: CO2 rose from about 280 ppm to 410 ppm (in 2023),\n\n  roughly 1,900 parts.\n"
    r = export.run(folder, tmp_path / "out", _settings(gguf_types=["f16"], check_prompt=prompt), threads=1)
    assert r["tokenizer"]["pre"] == pre and r["gguf_check"]["files"][0]["prompt_tokens_match"]


def test_non_llama_model_is_refused_before_any_work(tmp_path, capsys):
    from transformers import GPT2Config

    GPT2Config(n_layer=1, n_embd=32, n_head=2, architectures=["GPT2LMHeadModel"]).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(gguf_vocab.ExportError, match=r"gpt2 model .*GPT2LMHeadModel.*Llama models"):
        export.run(tmp_path / "gpt2", tmp_path / "out", _settings())
    assert not (tmp_path / "out").exists()
    assert export.main([str(tmp_path / "gpt2"), "--out", str(tmp_path / "out")]) == 1
    assert "convert_hf_to_gguf.py" in capsys.readouterr().err


def test_unknown_tokenizers_are_refused_with_what_is_unsupported(sharp_model_dir, tmp_path):
    assert gguf_vocab.pre_tokenizer_name({"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, {"type": "ByteLevel", "use_regex": True}]}) == "smollm"
    assert gguf_vocab.pre_tokenizer_name({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": gguf_vocab.LLAMA3_SPLIT}}, {"type": "ByteLevel", "use_regex": False}]}) == "llama-bpe"
    folder = tmp_path / "m"
    shutil.copytree(sharp_model_dir, folder)
    spec = json.loads((folder / "tokenizer.json").read_text())
    (folder / "tokenizer.json").write_text(json.dumps({**spec, "pre_tokenizer": {"type": "Whitespace"}}))
    with pytest.raises(gguf_vocab.ExportError, match="pre-tokenizer .*Whitespace.* no llama.cpp equivalent"):
        gguf_vocab.read_vocab(folder, 512)
    (folder / "tokenizer.json").write_text(json.dumps({**spec, "model": {**spec["model"], "byte_fallback": True}}))
    with pytest.raises(gguf_vocab.ExportError, match="byte fallback"):
        gguf_vocab.read_vocab(folder, 512)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(gguf_vocab.ExportError, match="no tokenizer.json"):
        export.run(folder, tmp_path / "out", _settings())
