"""What one rank trains: the DeepSpeed config and the model of a layout.

Data-parallel layouts train `CausalLMLoss(model)`: the Hugging Face model whose forward returns the
mean next-token loss, computed chunk by chunk in fp32 by the fine-tune stage's own loss function
(no full-vocabulary fp32 logits). Tensor-parallel layouts train the Hugging Face model itself: its
vocabulary-sharded head gets DeepSpeed's vocabulary-parallel cross-entropy through the model's
`loss_function` hook. Pipeline layouts train a PipelineModule (pipe.py) with the loss on the last stage.
"""

from __future__ import annotations

import logging

from torch import nn

from .layout import Layout
from .settings import ParallelSettings

log = logging.getLogger(__name__)

LOSS_CHUNK_TOKENS = 4096


class CausalLMLoss(nn.Module):
    """A causal LM whose forward(input_ids) is its mean next-token cross-entropy (fp32)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        from ..model.training import causal_lm_loss

        return causal_lm_loss(self.model, input_ids, "chunked", LOSS_CHUNK_TOKENS)


def ds_config(layout: Layout, s: ParallelSettings, accum: int, bf16: bool) -> dict:
    """DeepSpeed's configuration of this layout. Every bf16 layout keeps fp32 master weights: ZeRO >= 1
    (also for `single`) or the pipeline engine's BF16_Optimizer (layout.check_master_weights refuses the
    rest)."""
    zero = {"stage": s.zero_stage}
    if s.zero_stage >= 1:
        zero.update(overlap_comm=s.overlap_comm, contiguous_gradients=s.contiguous_gradients,
                    reduce_bucket_size=s.reduce_bucket_size, allgather_bucket_size=s.allgather_bucket_size)
    if s.zero_stage == 3:
        zero.update(stage3_prefetch_bucket_size=s.allgather_bucket_size)
    ds = {
        "train_micro_batch_size_per_gpu": s.micro_batch,
        "gradient_accumulation_steps": accum,
        # torch's AdamW: no JIT build of DeepSpeed's FusedAdam on a fresh machine, same math
        "optimizer": {"type": "AdamW", "params": {"lr": s.lr, "weight_decay": s.weight_decay, "torch_adam": True}},
        "zero_optimization": zero,
        "bf16": {"enabled": bf16},
        "gradient_clipping": s.max_grad_norm,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if layout.tp > 1:
        # The (tied) embedding and the head are split by vocabulary too, with DeepSpeed's vocabulary-
        # parallel cross-entropy installed as the model's loss_function: otherwise every rank holds the
        # whole 128k x hidden embedding (3B: tp2 memory 56% of single instead of 50%).
        ds["tensor_parallel"] = {"autotp_size": layout.tp, "vocab_parallel_lm_head": True}
    return ds


def lr_lambda(s: ParallelSettings, total_steps: int):
    """Multiplier of the peak lr at each optimizer step: linear warmup, then the schedule."""
    import math

    warmup = int(math.ceil(s.warmup_ratio * total_steps))

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if s.schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total_steps - warmup)
        if s.schedule == "linear":
            return max(0.0, 1.0 - progress)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return f


def build(layout: Layout, model_dir, s: ParallelSettings, ds: dict, dtype, device):
    """(module to hand to deepspeed.initialize, its trainable parameters or None). None lets DeepSpeed
    collect them after AutoTP has replaced the sharded layers (parameters listed before that are gone)."""
    if layout.pp > 1:
        from deepspeed.runtime.pipe.topology import PipeDataParallelTopology

        from .pipe import build_pipeline

        topo = PipeDataParallelTopology(num_pp=layout.pp, num_dp=layout.dp)
        model = build_pipeline(model_dir, layout.pp, dtype, topo, s.activation_checkpointing)
        return model, [p for p in model.parameters() if p.requires_grad]
    keep = None
    if s.zero_stage == 3:
        from transformers.integrations import HfDeepSpeedConfig

        keep = HfDeepSpeedConfig(ds)  # must exist before from_pretrained so the weights load sharded  # noqa: F841
    model = _load_hf(model_dir, s, dtype, device)
    if s.activation_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if s.mode != "full":
            model.enable_input_require_grads()
    model.train()  # from_pretrained returns eval mode, where checkpointing is silently off
    if layout.tp > 1:
        return model, None
    wrapped = CausalLMLoss(model)
    return wrapped, [p for p in wrapped.parameters() if p.requires_grad]


def _load_hf(model_dir, s: ParallelSettings, dtype, device):
    import torch
    from transformers import AutoModelForCausalLM

    from ..model import training as T

    if s.mode == "full":
        m = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, attn_implementation="sdpa")
        m.config.use_cache = False
        return m
    tcfg = T.TrainConfig.from_dict(dict(quantization="nf4" if s.mode == "qlora" else "none", lora_r=s.lora_r,
                         lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
                         precision="bf16" if dtype == torch.bfloat16 else "fp32", gradient_checkpointing=False,
                         fused_kernels=False, lora_compute="fp32", lora_dropout_mask="per_module"))
    # DeepSpeed holds the adapters in bf16 with fp32 masters in its optimizer: peft's casts are no-ops
    # there, and the layouts' GPU loss agreement was measured with this exact computation.
    return T.build_model(model_dir, tcfg, device)
