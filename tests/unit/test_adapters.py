"""The step's speed switches (train.lora_compute, train.lora_dropout_mask) change the computation,
not what is learned: checked against peft's own behaviour on a tiny model."""

import pytest
import torch

from climatune.model import training as T


def _cfg(**kw):
    base = dict(seq_len=32, precision="fp32", quantization="none", device="cpu", gradient_checkpointing=False,
                lora_dropout=0.1, loss="chunked", optimizer="adamw", lr=1e-2)
    return T.TrainConfig.from_dict({**base, **kw})


def _draws(model, ids, monkeypatch) -> int:
    calls = []
    real = torch.nn.functional.dropout

    def counting(x, p=0.5, training=True, inplace=False):
        calls.append(x.shape)
        return real(x, p, training, inplace)

    monkeypatch.setattr(torch.nn.functional, "dropout", counting)
    T.causal_lm_loss(model, ids, "chunked", 1024).backward()
    return len(calls)


@pytest.mark.parametrize("checkpointing", [False, True])
def test_shared_dropout_draws_once_per_input_tensor(tiny_model_dir, monkeypatch, checkpointing):
    ids = torch.randint(0, 100, (2, 32))
    n_layers = len(T.decoder_layers(T.build_model(tiny_model_dir, _cfg())))
    per = {}
    for mask in ("per_module", "shared"):
        m = T.build_model(tiny_model_dir, _cfg(lora_dropout_mask=mask, gradient_checkpointing=checkpointing))
        per[mask] = _draws(m, ids, monkeypatch)
    recompute = 2 if checkpointing else 1  # checkpointed layers run their forward again in backward
    assert per["per_module"] == 4 * n_layers * recompute  # q, k, v, o each draw
    assert per["shared"] == 2 * n_layers * recompute  # q/k/v share one draw; o reads another tensor


def test_shared_dropout_mask_is_the_same_for_q_k_v(tiny_model_dir):
    m = T.build_model(tiny_model_dir, _cfg(lora_dropout_mask="shared"))
    layer = T.decoder_layers(m)[0].self_attn
    drop = layer.q_proj.lora_dropout["default"]
    assert drop is layer.k_proj.lora_dropout["default"] is layer.v_proj.lora_dropout["default"]
    x = torch.ones(4, 64)
    a, b = drop(x), drop(x)
    assert a is b and (a == 0).any()  # the same draw for the same tensor ...
    c = drop(x.clone())
    assert not torch.equal(a, c)  # ... and a new one for another tensor
    drop.eval()
    assert drop(x) is x


def test_speed_switches_keep_the_loss_curve(tiny_model_dir):
    """30 steps with each switch on vs peft's behaviour: the same curve within noise (dropout draws
    differ, so not bit-equal), and the adapters stay fp32."""
    ids = torch.randint(0, 100, (4, 32), generator=torch.Generator().manual_seed(0))
    curves = {}
    for name, kw in {"peft": dict(lora_dropout_mask="per_module", lora_compute="fp32"),
                     "ours": dict(lora_dropout_mask="shared", lora_compute="auto"),
                     "bf16": dict(lora_dropout_mask="shared", lora_compute="auto", precision="bf16")}.items():
        cfg = _cfg(**kw)
        T.set_seed(0)
        m = T.build_model(tiny_model_dir, cfg)
        assert {p.dtype for p in T.trainable_parameters(m)} == {torch.float32}
        opt = T.build_optimizer(m, cfg)
        curve = []
        for _ in range(30):
            loss = T.causal_lm_loss(m, ids, "chunked", 1024)
            loss.backward()
            opt.step()
            opt.zero_grad()
            curve.append(float(loss.detach()))
        curves[name] = curve
    drop = curves["peft"][0] - curves["peft"][-1]
    assert drop > 0.3, curves["peft"]
    for name in ("ours", "bf16"):
        assert abs(curves[name][-1] - curves["peft"][-1]) < 0.15 * drop, (name, curves[name][-1], curves["peft"][-1])
