"""How the LoRA adapters compute: in the compute dtype (train.lora_compute) and with one dropout draw
per input tensor (train.lora_dropout_mask: shared).

q_proj, k_proj and v_proj read one tensor (the normed hidden states). peft draws a dropout mask for
each adapter and keeps three dropped-out copies alive for backward; on an H200 the 3B QLoRA step spent
about a fifth of its time and 8 GiB on that (bench/results/qlora_profile.json). SharedDropout lets the
first adapter draw and the next ones reuse the result while their input is the very same tensor, so
one kernel and one saved copy instead of three. Each adapter still sees dropout(p) of its input; only
the masks of q, k and v become the same draw. Activation recomputation restores the RNG state, so it
redraws the same mask. Nothing is held past the step: the result is dropped when its input is freed.
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F


class SharedDropout(torch.nn.Module):
    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self._in = self._out = None
        self._version = -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self._in is not None and self._in() is x and x._version == self._version:
            return self._out
        out = F.dropout(x, self.p, True)
        # the result is kept while its input lives (so also under checkpointing, where autograd does not
        # keep it) and let go when the input is freed
        self._in, self._out, self._version = weakref.ref(x, self._forget), out, x._version
        return out

    def _forget(self, ref) -> None:
        if ref is self._in:
            self._in = self._out = None

    def extra_repr(self) -> str:
        return f"p={self.p}, one draw per input tensor"


def share_lora_dropout(layers) -> int:
    """One SharedDropout per decoder layer for all of that layer's LoRA adapters (peft's
    `lora_dropout` ModuleDicts); returns the number of adapters changed."""
    changed = 0
    for layer in layers:
        shared = None
        for m in layer.modules():
            drop = getattr(m, "lora_dropout", None)
            if not isinstance(drop, torch.nn.ModuleDict):
                continue
            for name in list(drop.keys()):
                shared = shared or SharedDropout(float(getattr(drop[name], "p", 0.0)))
                drop[name] = shared
                changed += 1
    return changed


def configure_adapters(model, cfg, dtype, layers) -> None:
    """train.lora_compute and train.lora_dropout_mask applied to a peft model built in `dtype`."""
    if cfg.lora_compute == "auto":
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        compute_in_dtype(model, base.model, dtype)  # base.model: embeddings, layers, norm (what the loss calls)
    if cfg.lora_dropout > 0 and cfg.lora_dropout_mask == "shared":
        share_lora_dropout(layers)


def compute_in_dtype(model, inner, dtype) -> None:
    """Adapter matmuls in the base model's compute dtype, adapter weights still fp32 masters.

    peft keeps LoRA weights in fp32 and casts every adapter input up to fp32, so dropout, both adapter
    matmuls and two casts run in fp32 beside the bf16 base layer. Here the casts are off and `inner` (the decoder
    stack) runs under autocast to its own dtype: the adapters compute in bf16 from fp32 weights (autocast casts
    them once per forward), gradients reach the fp32 weights, the optimizer updates fp32 (no lost small
    updates). A no-op for an fp32 model."""
    if dtype == torch.float32:
        return
    for m in model.modules():
        if hasattr(m, "cast_input_dtype_enabled"):
            m.cast_input_dtype_enabled = False
    device_type = next(inner.parameters()).device.type
    inner.forward = torch.autocast(device_type, dtype=dtype)(inner.forward)
