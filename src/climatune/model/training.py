"""Builders shared by probe, finetune and the benchmarks: one place decides how a QLoRA model, its
optimizer, its schedule, its loss and its data are made, so the probe measures exactly what
finetune runs.

QLoRA here is: base weights in bitsandbytes 4-bit NF4 with double quantization, LoRA adapters (peft)
on the chosen projections, gradient checkpointing, paged 8-bit AdamW. `build_model` builds every model.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .data import BlockStream, set_seed, total_steps  # noqa: F401 (training's API: T.BlockStream, ...)
from .loss import _liger_available, causal_lm_loss, resolve_loss  # noqa: F401
from .masking import attention_kernel
from .nf4 import keep_nf4_unpacked

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
# `train:` keys that do not change what is trained: the rules pass them outside `params` (so changing
# them reruns nothing) and the stages read them from the config.
RUNTIME_KEYS = ("checkpoint_every", "keep_checkpoints", "log_every")
# `train:` keys that do not change what the probe measures (memory and speed of a training step).
NOT_PROBED = RUNTIME_KEYS + ("lr", "weight_decay", "schedule", "warmup_ratio", "epochs", "max_steps")
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the training computation: `train:` of config/config.yaml, where every
    default lives and is explained (config/schema.yaml checks types and ranges). Build it with
    `TrainConfig.from_dict(overrides)`; the fields have no defaults of their own."""

    seq_len: int
    document_masking: bool | str  # true | false | "auto" (on from seq_len 1024: masking.AUTO_FROM)
    precision: str  # auto | bf16 | fp16 | fp32 (compute dtype; auto: bf16 on CUDA, measured on CPU)
    quantization: str  # nf4 | none
    double_quant: bool
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_targets: tuple
    gradient_checkpointing: bool | str  # true | false | "auto" (the probe decides)
    optimizer: str  # paged_adamw_8bit | adamw_8bit | adamw
    lr: float
    weight_decay: float
    schedule: str  # cosine | linear | constant
    warmup_ratio: float
    max_grad_norm: float
    effective_batch: int
    micro_batch: int | str  # an integer, or "auto" (from the probe)
    epochs: float
    max_steps: int  # > 0 overrides epochs
    seed: int
    attention: str  # auto (flex_attention on CUDA with document masking, else sdpa) | sdpa | eager | flex_attention
    loss: str  # auto | hf | chunked | liger (auto: liger on CUDA when installed, else chunked)
    loss_chunk_tokens: int
    upcast_non_quantized: bool  # true: norms/embeddings/head in fp32 (peft's kbit preparation)
    fused_kernels: bool | str  # Liger RMSNorm/SwiGLU/RoPE Triton kernels (auto: on CUDA if installed)
    lora_compute: str  # auto: adapter matmuls in the compute dtype (fp32 master weights) | fp32
    lora_dropout_mask: str  # shared: one mask per input tensor (q/k/v share it) | per_module (peft's)
    compile: bool  # torch.compile each decoder layer (regional compilation)
    checkpoint_every: int
    keep_checkpoints: int
    log_every: int
    device: str  # auto | cpu | cuda

    @classmethod
    def from_dict(cls, d: dict | None = None) -> "TrainConfig":
        """config.yaml's `train:` with `d` on top; an unknown key names the known ones."""
        from .._settings import section

        merged = section("train", d)
        merged["lora_targets"] = tuple(merged["lora_targets"])
        return cls(**merged)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["lora_targets"] = list(d["lora_targets"])
        return d


# --- device and precision ---------------------------------------------------------------------


def resolve_device(name: str = "auto"):
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def resolve_dtype(precision: str, device):
    """Compute dtype. "auto" is bf16 on CUDA (fp16 where the GPU lacks bf16); on CPU it is chosen by
    measurement (`cpu_prefers_bf16`): CPUs without bf16 units emulate it, ~26x slower than fp32 on
    the 2-core AVX2 machines this was built on (SmolLM2 LoRA step 4x256: ~200 s vs 7 s)."""
    import torch

    table = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    if precision != "auto":
        return table[precision]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_prefers_bf16() else torch.float32


_CPU_BF16: dict = {}


def cpu_prefers_bf16(n: int = 512, reps: int = 3) -> bool:
    """Time an n x n x n matmul in bf16 and fp32 on this CPU; bf16 only if clearly faster. Cached."""
    import torch

    if "fast" not in _CPU_BF16:
        times = {}
        for dt in (torch.float32, torch.bfloat16):
            a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
            a @ b, (t0 := time.perf_counter())  # warm-up, then the clock
            for _ in range(reps):
                a @ b
            times[dt] = (time.perf_counter() - t0) / reps
        _CPU_BF16["fast"] = times[torch.bfloat16] < 0.8 * times[torch.float32]
        _CPU_BF16["ms"] = {str(k).replace("torch.", ""): round(v * 1e3, 3) for k, v in times.items()}
        log.info("CPU matmul %dx%d: %s ms -> compute in %s", n, n, _CPU_BF16["ms"],
                 "bfloat16" if _CPU_BF16["fast"] else "float32 (bf16 is emulated here)")
    return _CPU_BF16["fast"]


def differences_from_gpu_recipe(cfg: TrainConfig, device, dtype) -> list[str]:
    """What this run does differently from the configured GPU recipe (bf16, fused Liger loss and kernels
    where configured "auto", paged 8-bit AdamW), said once in the log on every device: a GPU install
    without liger-kernel falls back to the chunked loss and unfused kernels, and says so."""
    import torch

    notes = []
    if dtype != torch.bfloat16 and cfg.precision in ("auto", "bf16"):
        why = (f"bf16 is emulated on this CPU; matmul ms {_CPU_BF16.get('ms', {})}" if device.type == "cpu"
               else "this GPU has no bf16")
        notes.append(f"compute dtype {str(dtype).replace('torch.', '')} instead of bfloat16 ({why})")
    if device.type == "cpu" and cfg.optimizer.startswith("paged"):
        notes.append("paged 8-bit AdamW runs unpaged (bitsandbytes pages only CUDA memory)")
    if cfg.loss == "auto" and resolve_loss(cfg.loss, device) != "liger":
        why = "Triton kernels need CUDA" if device.type == "cpu" else \
            "liger-kernel is not installed: make install-gpu (requirements/gpu.txt)"
        notes.append(f"chunked cross-entropy in PyTorch instead of Liger's fused kernel ({why})")
    if cfg.fused_kernels == "auto" and not resolve_fused(cfg.fused_kernels, device) and device.type == "cuda":
        notes.append("unfused RMSNorm/SwiGLU/RoPE: liger-kernel is not installed (make install-gpu)")
    return notes


def resolve_fused(fused: bool | str, device) -> bool:
    """Liger's fused RMSNorm/SwiGLU/RoPE kernels are Triton: CUDA only."""
    if fused == "auto":
        return device.type == "cuda" and _liger_available()
    if fused and device.type != "cuda":
        raise ValueError("train.fused_kernels=true needs a CUDA device (Liger kernels are Triton)")
    return bool(fused)


# --- model ------------------------------------------------------------------------------------


def build_model(model_dir: str | Path, cfg: TrainConfig, device=None, lora: bool = True):
    """The training model: NF4-quantized base (unless quantization "none"), LoRA adapters, train mode
    (from_pretrained returns eval mode, where gradient checkpointing is silently off)."""
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    device = device or resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.precision, device)
    kw = dict(dtype=dtype, device_map={"": device},
              attn_implementation=attention_kernel(cfg.attention, cfg.document_masking, cfg.seq_len, device))
    if cfg.quantization == "nf4":
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=cfg.double_quant,
            bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_storage=torch.uint8)
    elif cfg.quantization != "none":
        raise ValueError(f"train.quantization must be nf4 or none, got {cfg.quantization!r}")
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kw)
    model.config.use_cache = False
    keep_nf4_unpacked(model)  # evaluated NF4 layers keep computing in `dtype` (model/nf4.py)
    if resolve_fused(cfg.fused_kernels, device):
        _apply_fused_kernels(model)
    if lora:
        model = _add_lora(model, cfg)
        from .adapters import configure_adapters

        configure_adapters(model, cfg, dtype, decoder_layers(model))
    set_gradient_checkpointing(model, bool(cfg.gradient_checkpointing is True))
    model.train()
    if cfg.compile:
        compile_layers(model)
    return model


def decoder_layers(model) -> list:
    """The decoder layers of a (peft-wrapped) Llama-family model."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return list(base.model.layers)


def compile_layers(model) -> int:
    """Regional torch.compile: each decoder layer compiled in place (identical layers share the compiled
    code, so the compile cost is one layer's, not the model's). Returns the number of layers compiled."""
    layers = decoder_layers(model)
    for layer in layers:
        layer.compile()
    return len(layers)


_LLAMA_MODULE_BEFORE_LIGER: dict | None = None


def _apply_fused_kernels(model) -> None:
    from liger_kernel.transformers import apply_liger_kernel_to_llama
    from transformers.models.llama import modeling_llama

    global _LLAMA_MODULE_BEFORE_LIGER
    if _LLAMA_MODULE_BEFORE_LIGER is None:
        _LLAMA_MODULE_BEFORE_LIGER = dict(vars(modeling_llama))
    # The loss is computed by causal_lm_loss, so Liger's own forward patch stays off.
    apply_liger_kernel_to_llama(rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                fused_linear_cross_entropy=False, model=model)


def undo_fused_kernels() -> None:
    """Liger patches transformers' Llama module for the whole process (classes and RoPE), not only the
    model it was applied to: put the module back, so that a model built later in this process without
    fused kernels is the plain one."""
    if _LLAMA_MODULE_BEFORE_LIGER is not None:
        from transformers.models.llama import modeling_llama

        for k, v in _LLAMA_MODULE_BEFORE_LIGER.items():
            setattr(modeling_llama, k, v)


def _add_lora(model, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if cfg.quantization == "nf4" and cfg.upcast_non_quantized:
        # peft's standard QLoRA preparation: every non-quantized weight (embeddings, norms, head) to fp32.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    targets = ALL_LINEAR if list(cfg.lora_targets) == ["all-linear"] or cfg.lora_targets == "all-linear" \
        else list(cfg.lora_targets)
    lcfg = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=targets, bias="none", task_type="CAUSAL_LM")
    model = get_peft_model(model, lcfg)
    # Checkpointed blocks need an input that requires grad, or their LoRA weights get no gradient
    # (the embedding is frozen).
    model.enable_input_require_grads()
    return model


def set_gradient_checkpointing(model, on: bool) -> None:
    if on:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    elif getattr(model, "is_gradient_checkpointing", False):
        model.gradient_checkpointing_disable()


def trainable_parameters(model) -> list:
    return [p for p in model.parameters() if p.requires_grad]


# --- optimizer and schedule ---------------------------------------------------------------------


def build_optimizer(model, cfg: TrainConfig):
    import torch

    params = trainable_parameters(model)
    if cfg.optimizer in ("paged_adamw_8bit", "adamw_8bit"):
        import bitsandbytes as bnb

        cls = bnb.optim.PagedAdamW8bit if cfg.optimizer == "paged_adamw_8bit" else bnb.optim.AdamW8bit
        return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"train.optimizer must be paged_adamw_8bit, adamw_8bit or adamw, got {cfg.optimizer!r}")


def build_scheduler(optimizer, cfg: TrainConfig, steps: int):
    from transformers import get_scheduler

    names = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
    if cfg.schedule not in names:
        raise ValueError(f"train.schedule must be one of {sorted(names)}, got {cfg.schedule!r}")
    warmup = int(math.ceil(cfg.warmup_ratio * steps))
    return get_scheduler(names[cfg.schedule], optimizer, num_warmup_steps=warmup, num_training_steps=steps)


def configure_cuda_allocator(expandable_segments: bool = True) -> None:
    """Expandable segments cut fragmentation (QLoRA peak memory fell by about a third in public
    reports); must be set before CUDA initialises. A user's own setting wins."""
    if expandable_segments and "PYTORCH_CUDA_ALLOC_CONF" not in os.environ:
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
