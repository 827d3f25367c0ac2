"""training builders: the chunked loss equals the model's own, data order is addressable, QLoRA builds."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from climatune.model import training as T


@pytest.fixture(scope="module")
def tiny_lora(tiny_model_dir):
    cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="fp32", gradient_checkpointing=False, lora_dropout=0.0))
    torch.manual_seed(0)
    return T.build_model(tiny_model_dir, cfg, torch.device("cpu")), cfg


def _grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}


def test_qlora_model_is_nf4_with_lora_in_train_mode(tiny_lora):
    import bitsandbytes as bnb

    model, _ = tiny_lora
    assert model.training  # from_pretrained gives eval mode: we must switch back
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.modules())
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert any("q_proj" in n for n in names) and not any("gate_proj" in n for n in names)


@pytest.mark.parametrize("chunk", [7, 64, 4096])
def test_chunked_loss_matches_hf_loss_and_grads(tiny_lora, chunk):
    model, _ = tiny_lora
    x = torch.randint(0, model.config.vocab_size, (3, 32))
    model.zero_grad()
    ref = T.causal_lm_loss(model, x, "hf")
    ref.backward()
    g_ref = _grads(model)
    model.zero_grad()
    got = T.causal_lm_loss(model, x, "chunked", chunk_tokens=chunk)
    got.backward()
    g = _grads(model)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    assert g.keys() == g_ref.keys() and g
    for n in g:
        torch.testing.assert_close(g[n], g_ref[n], rtol=1e-4, atol=1e-6)


def test_gradient_checkpointing_keeps_lora_gradients(tiny_model_dir):
    cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="fp32", gradient_checkpointing=True, lora_dropout=0.0))
    torch.manual_seed(0)
    model = T.build_model(tiny_model_dir, cfg, torch.device("cpu"))
    assert model.is_gradient_checkpointing
    x = torch.randint(0, model.config.vocab_size, (2, 32))
    T.causal_lm_loss(model, x, "chunked").backward()
    grads = _grads(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(grads) == sorted(trainable)  # every adapter gets a gradient through the recomputation
    # lora_B starts at zero, so at step 0 only B's gradient is non-zero (A's is B^T times something)
    assert all(g.abs().sum() > 0 for n, g in grads.items() if "lora_B" in n)


def test_block_stream_is_addressable_by_micro_step():
    blocks = np.arange(10 * 4).reshape(10, 4)
    a, b = T.BlockStream(blocks, 3, seed=5), T.BlockStream(blocks, 3, seed=5)
    seq = [a.rows(k)[:, 0].tolist() for k in range(7)]  # 21 rows: crosses two epoch boundaries
    assert [b.rows(k)[:, 0].tolist() for k in (6, 2, 0)] == [seq[6], seq[2], seq[0]]
    first_epoch = sorted(r for rows in seq[:3] for r in rows) + [seq[3][0]]
    assert sorted(first_epoch) == list(range(0, 40, 4))  # each block once per epoch
    assert T.BlockStream(blocks, 3, seed=6).rows(0).tolist() != a.rows(0).tolist()


def test_schedule_and_steps():
    cfg = T.TrainConfig.from_dict(dict(epochs=2, max_steps=0, effective_batch=4, warmup_ratio=0.25, lr=1.0))
    assert T.total_steps(cfg, n_blocks=10, effective_batch=4) == 5
    assert T.total_steps(T.TrainConfig.from_dict(dict(max_steps=3)), 10, 4) == 3
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sch = T.build_scheduler(opt, T.TrainConfig.from_dict(dict(warmup_ratio=0.25, schedule="cosine", lr=1.0)), 8)
    lrs = []
    for _ in range(8):
        lrs.append(sch.get_last_lr()[0])
        opt.step()
        sch.step()
    assert lrs[0] == 0 and lrs[2] == pytest.approx(1.0) and lrs[-1] < 0.1


def test_unknown_keys_and_bad_values_are_named():
    with pytest.raises(ValueError, match="lora_rank"):
        T.TrainConfig.from_dict({"lora_rank": 8})
    with pytest.raises(ValueError, match="optimizer"):
        T.build_optimizer(torch.nn.Linear(2, 2), T.TrainConfig.from_dict(dict(optimizer="sgd")))


def test_cpu_dtype_is_chosen_by_measurement():
    dt = T.resolve_dtype("auto", torch.device("cpu"))
    assert dt in (torch.float32, torch.bfloat16)
    assert "ms" in T._CPU_BF16 and set(T._CPU_BF16["ms"]) == {"float32", "bfloat16"}
    assert T.resolve_dtype("fp16", torch.device("cpu")) == torch.float16


# --- the speed/memory switches of the fine-tune stage (issue: twice the seed recipe's throughput) ------


def test_upcast_switch_matches_peft_preparation_and_changes_nothing_in_fp32(tiny_model_dir):
    x = torch.randint(0, 512, (2, 32))
    losses = {}
    for upcast in (False, True):
        cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="fp32", gradient_checkpointing=False, lora_dropout=0.0,
                            upcast_non_quantized=upcast))
        torch.manual_seed(0)
        m = T.build_model(tiny_model_dir, cfg, torch.device("cpu"))
        losses[upcast] = float(T.causal_lm_loss(m, x, "chunked"))
    torch.testing.assert_close(losses[True], losses[False], rtol=1e-6, atol=1e-6)


def test_upcast_switch_keeps_non_quantized_weights_in_compute_dtype(tiny_model_dir):
    for upcast, want in ((True, torch.float32), (False, torch.bfloat16)):
        cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="bf16", gradient_checkpointing=False, upcast_non_quantized=upcast))
        m = T.build_model(tiny_model_dir, cfg, torch.device("cpu"))
        norm = next(p for n, p in m.named_parameters() if n.endswith("input_layernorm.weight"))
        assert norm.dtype == want, (upcast, norm.dtype)


def test_fused_kernels_need_cuda_and_auto_is_off_on_cpu():
    assert T.resolve_fused("auto", torch.device("cpu")) is False
    assert T.resolve_loss("auto", torch.device("cpu")) == "chunked"
    with pytest.raises(ValueError, match="needs a CUDA device"):
        T.resolve_fused(True, torch.device("cpu"))


def test_expandable_segments_default_respects_the_user(monkeypatch):
    monkeypatch.delenv("PYTORCH_CUDA_ALLOC_CONF", raising=False)
    T.configure_cuda_allocator()
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"
    monkeypatch.setenv("PYTORCH_CUDA_ALLOC_CONF", "max_split_size_mb:128")
    T.configure_cuda_allocator()
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "max_split_size_mb:128"


def test_seed_and_ours_variants_of_the_benchmark_train_alike_on_cpu(tiny_model_dir, tiny_tokenizer_dir):
    """bench/qlora_bench.py's two recipes, with the differences that exist on CPU switched on: the loss form
    (the model's own full-logits loss vs the chunked one), the non-quantized weights (upcast to fp32 vs
    kept in bf16, the recipes' compute dtype) and gradient checkpointing (on vs off). Liger's fused kernels
    are Triton (CUDA only): off in both here, compared only by the benchmark on a GPU.

    Eight optimizer steps of the benchmark's own loss phase, from the same seed and data, with one
    learning rate high enough that the adapters move the loss by far more than the variants differ:
    each step's loss agrees within LOSS_RTOL, the loss of a fixed batch falls by the same amount (within
    25%) in both, and the trained adapters (lora_B starts at zero: all of it is training) agree within
    25% of their size. Measured here: 3e-5 per step, falls of 0.049 and 0.048, adapters 4% apart."""
    import importlib.util

    from transformers import AutoTokenizer

    from climatune.corpus.demo_corpus import documents

    from ..conftest import REPO

    LOSS_RTOL = 1e-3  # bf16 vs fp32 norms, embeddings and head, hf vs chunked loss
    spec = importlib.util.spec_from_file_location("qlora_bench", REPO / "bench" / "qlora_bench.py")
    qb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(qb)
    cpu = torch.device("cpu")
    qb.DEV = cpu
    text = " ".join(p for d in documents() for _, ps in d["sections"] for p in ps)
    ids = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)(text)["input_ids"]
    blocks = np.asarray(ids[: 32 * 32], dtype=np.uint16).reshape(32, 32)  # real text, 32 blocks of 32
    fixed = torch.from_numpy(blocks[:8].astype(np.int64))
    used, losses, moved, lora_b = {}, {}, {}, {}
    for name in ("seed", "ours"):
        # the same dropout draws in both (a shared q/k/v draw is a different random draw, compared
        # statistically in test_adapters.py); everything else is each variant's own
        cfg = T.TrainConfig.from_dict({**qb.VARIANTS[name], "device": "cpu", "seq_len": 32, "lr": 1e-2,
                                       "lora_dropout_mask": "per_module"})
        model, opt = qb.build(tiny_model_dir, cfg)
        frozen = {p.dtype for n, p in model.named_parameters()
                  if any(k in n for k in ("embed_tokens", "norm", "lm_head")) and not p.requires_grad}
        used[name] = (T.resolve_loss(cfg.loss, cpu), frozen, model.is_gradient_checkpointing,
                      T.resolve_fused(cfg.fused_kernels, cpu), T.resolve_dtype(cfg.precision, cpu))

        def fixed_loss(model=model, mode=used[name][0]):
            model.eval()
            with torch.no_grad():
                v = float(T.causal_lm_loss(model, fixed, mode))
            model.train()
            return v

        before = fixed_loss()
        losses[name] = qb.phase_loss(model, opt, cfg, blocks, steps=8, mb=4)
        moved[name] = before - fixed_loss()
        lora_b[name] = {n: p.detach().float().clone() for n, p in model.named_parameters() if "lora_B" in n}
    # the two recipes really differ here: loss form, non-quantized dtype, checkpointing (same compute dtype)
    assert used["seed"] == ("hf", {torch.float32}, True, False, torch.bfloat16)
    assert used["ours"] == ("chunked", {torch.bfloat16}, False, False, torch.bfloat16)
    seed, ours = np.array(losses["seed"]), np.array(losses["ours"])
    assert len(seed) == 8 and not np.array_equal(seed, ours)  # not one recipe compared with itself
    np.testing.assert_allclose(ours, seed, rtol=LOSS_RTOL)
    # training moved the loss of a fixed batch, by the same amount in both
    assert moved["seed"] > 0.02 and abs(moved["ours"] - moved["seed"]) < 0.25 * moved["seed"], moved
    assert lora_b["seed"].keys() == lora_b["ours"].keys() and lora_b["seed"]
    size = sum(float((b**2).sum()) for b in lora_b["seed"].values()) ** 0.5
    diff = sum(float(((lora_b["ours"][n] - b) ** 2).sum()) for n, b in lora_b["seed"].items()) ** 0.5
    assert size > 0.1 and diff < 0.25 * size, (diff, size)


def test_compile_switch_compiles_every_layer_and_matches_eager(tiny_model_dir):
    """train.compile (off by default: bench/results/compile.json shows it does not pay on an H100) must
    still be right when a user turns it on: the regionally compiled layers give eager's loss and LoRA
    gradients (real inductor on CPU; the compilation takes tens of seconds here)."""
    torch._dynamo.reset()
    x = torch.randint(0, 256, (2, 16))
    out = {}
    for compiled in (False, True):
        cfg = T.TrainConfig.from_dict(dict(seq_len=16, precision="fp32", quantization="none", gradient_checkpointing=False,
                            lora_dropout=0.0, compile=compiled))
        torch.manual_seed(0)
        model = T.build_model(tiny_model_dir, cfg, torch.device("cpu"))
        layers = T.decoder_layers(model)
        assert all((getattr(m, "_compiled_call_impl", None) is not None) == compiled for m in layers)
        loss = T.causal_lm_loss(model, x, "chunked")
        loss.backward()
        out[compiled] = (loss.detach(), _grads(model))
    torch._dynamo.reset()
    (l0, g0), (l1, g1) = out[False], out[True]
    torch.testing.assert_close(l1, l0, rtol=1e-5, atol=1e-5)
    assert g0.keys() == g1.keys() and g0
    for n in g0:
        torch.testing.assert_close(g1[n], g0[n], rtol=1e-3, atol=1e-6)


def test_undo_fused_kernels_restores_the_llama_module(monkeypatch):
    """Liger's module-wide patches (classes, RoPE) are put back for models built later in the process.
    (Liger itself needs CUDA: a patch of the same kind stands in for it.)"""
    from transformers.models.llama import modeling_llama

    original = modeling_llama.LlamaRMSNorm
    monkeypatch.setattr(T, "_LLAMA_MODULE_BEFORE_LIGER", dict(vars(modeling_llama)))
    monkeypatch.setattr(modeling_llama, "LlamaRMSNorm", object)
    T.undo_fused_kernels()
    assert modeling_llama.LlamaRMSNorm is original
