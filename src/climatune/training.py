"""Builders shared by probe, finetune and the benchmarks: one place decides how a QLoRA model, its
optimizer, its schedule, its loss and its data are made, so the probe measures exactly what
finetune runs.

QLoRA here is: base weights in bitsandbytes 4-bit NF4 with double quantization, LoRA adapters
(peft) on the chosen projections, gradient checkpointing, paged 8-bit AdamW. `build_model` is the
only builder of models; variants are its keyword arguments, not new functions.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class TrainConfig:
    """Everything that decides the training computation. Mirrors `train:` in config/schema.yaml."""

    seq_len: int = 512
    precision: str = "auto"  # auto | bf16 | fp16 | fp32 (compute dtype; auto: bf16 on CUDA, fp32 on CPU)
    quantization: str = "nf4"  # nf4 | none
    double_quant: bool = True
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: list = field(default_factory=lambda: list(DEFAULT_TARGETS))
    gradient_checkpointing: bool | str = True  # true | false | "auto" (the probe decides)
    optimizer: str = "paged_adamw_8bit"  # paged_adamw_8bit | adamw_8bit | adamw
    lr: float = 2e-4
    weight_decay: float = 0.0
    schedule: str = "cosine"  # cosine | linear | constant
    warmup_ratio: float = 0.03
    max_grad_norm: float = 1.0
    effective_batch: int = 16
    micro_batch: int | str = "auto"  # an integer, or "auto" (from the probe)
    epochs: float = 1.0
    max_steps: int = 0  # > 0 overrides epochs
    seed: int = 1234
    attention: str = "sdpa"
    loss: str = "auto"  # auto | hf | chunked | liger  (auto: liger on CUDA when installed, else chunked)
    loss_chunk_tokens: int = 4096
    upcast_non_quantized: bool = False  # true: norms/embeddings/head in fp32 (peft's kbit preparation)
    fused_kernels: bool | str = "auto"  # Liger RMSNorm/SwiGLU/RoPE Triton kernels (auto: on CUDA if installed)
    compile: bool = False  # torch.compile each decoder layer (regional compilation)
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    log_every: int = 1
    device: str = "auto"  # auto | cpu | cuda

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown train keys {unknown}; known: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


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
            a @ b  # warm-up
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            times[dt] = (time.perf_counter() - t0) / reps
        _CPU_BF16["fast"] = times[torch.bfloat16] < 0.8 * times[torch.float32]
        _CPU_BF16["ms"] = {str(k).replace("torch.", ""): round(v * 1e3, 3) for k, v in times.items()}
        log.info("CPU matmul %dx%d: %s ms -> compute in %s", n, n, _CPU_BF16["ms"],
                 "bfloat16" if _CPU_BF16["fast"] else "float32 (bf16 is emulated here)")
    return _CPU_BF16["fast"]


def differences_from_gpu_recipe(cfg: TrainConfig, device, dtype) -> list[str]:
    """What this run does differently from the GPU configuration, said once in the log."""
    import torch

    notes = []
    if device.type == "cpu":
        if dtype != torch.bfloat16:
            ms = _CPU_BF16.get("ms", {})
            notes.append(f"compute dtype {str(dtype).replace('torch.', '')} instead of bfloat16 "
                         f"(bf16 is emulated on this CPU; matmul ms {ms})")
        if cfg.optimizer.startswith("paged"):
            notes.append("paged 8-bit AdamW runs unpaged (bitsandbytes pages only CUDA memory)")
        if resolve_loss(cfg.loss, device) != "liger":
            notes.append("chunked cross-entropy in PyTorch instead of Liger's fused Triton kernel")
    return notes


def _liger_available() -> bool:
    try:
        import liger_kernel  # noqa: F401

        return True
    except ImportError:
        return False


def resolve_fused(fused: bool | str, device) -> bool:
    """Liger's fused RMSNorm/SwiGLU/RoPE kernels are Triton: CUDA only."""
    if fused == "auto":
        return device.type == "cuda" and _liger_available()
    if fused and device.type != "cuda":
        raise ValueError("train.fused_kernels=true needs a CUDA device (Liger kernels are Triton)")
    return bool(fused)


def resolve_loss(loss: str, device) -> str:
    if loss != "auto":
        return loss
    return "liger" if device.type == "cuda" and _liger_available() else "chunked"


# --- model ------------------------------------------------------------------------------------


def build_model(model_dir: str | Path, cfg: TrainConfig, device=None, lora: bool = True):
    """The training model: NF4-quantized base (unless quantization "none"), LoRA adapters, train mode.

    Note: from_pretrained returns eval mode, where gradient checkpointing is silently off; this
    returns the model in train mode.
    """
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    device = device or resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.precision, device)
    kw = dict(dtype=dtype, attn_implementation=cfg.attention, device_map={"": device})
    if cfg.quantization == "nf4":
        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=cfg.double_quant,
            bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_storage=torch.uint8)
    elif cfg.quantization != "none":
        raise ValueError(f"train.quantization must be nf4 or none, got {cfg.quantization!r}")
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), **kw)
    model.config.use_cache = False
    if resolve_fused(cfg.fused_kernels, device):
        _apply_fused_kernels(model)
    if lora:
        model = _add_lora(model, cfg)
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
    targets = ALL_LINEAR if cfg.lora_targets in ("all-linear", ["all-linear"]) else list(cfg.lora_targets)
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


def build_scheduler(optimizer, cfg: TrainConfig, total_steps: int):
    from transformers import get_scheduler

    names = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
    if cfg.schedule not in names:
        raise ValueError(f"train.schedule must be one of {sorted(names)}, got {cfg.schedule!r}")
    warmup = int(math.ceil(cfg.warmup_ratio * total_steps))
    return get_scheduler(names[cfg.schedule], optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)


# --- loss ---------------------------------------------------------------------------------------


def causal_lm_loss(model, input_ids, mode: str = "chunked", chunk_tokens: int = 4096):
    """Mean next-token cross-entropy of a batch of packed blocks.

    "hf": the model's own forward with labels (full [B, T, vocab] logits, upcast to fp32).
    "chunked": hidden states once, then lm_head + cross-entropy over chunks of tokens, each chunk
        recomputed in backward (torch.utils.checkpoint), so full-vocabulary logits never exist at once.
    "liger": Liger-Kernel's fused linear + cross-entropy (Triton, CUDA only).
    """
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    if mode == "hf":
        return model(input_ids=input_ids, labels=input_ids).loss
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = lm.model(input_ids=input_ids).last_hidden_state
    h = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    y = input_ids[:, 1:].reshape(-1)
    head = lm.lm_head
    if mode == "liger":
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

        return liger_fused_linear_cross_entropy(h.to(head.weight.dtype), head.weight, y)
    if mode != "chunked":
        raise ValueError(f"train.loss must be auto, hf, chunked or liger, got {mode!r}")

    def chunk_loss(hc, yc):
        return F.cross_entropy(head(hc).float(), yc, reduction="sum")

    total = h.new_zeros((), dtype=torch.float32)
    for i in range(0, h.shape[0], chunk_tokens):
        total = total + checkpoint(chunk_loss, h[i : i + chunk_tokens], y[i : i + chunk_tokens], use_reentrant=False)
    return total / y.numel()


# --- data ---------------------------------------------------------------------------------------


class BlockStream:
    """Packed blocks in a seeded order, addressed by micro-step: micro-step k always gets the same
    rows, so a resumed run needs only k to continue with exactly the data it would have seen."""

    def __init__(self, path: str | Path | np.ndarray, micro_batch: int, seed: int):
        self.blocks = np.load(path, mmap_mode="r") if not isinstance(path, np.ndarray) else path
        if self.blocks.ndim != 2 or len(self.blocks) == 0:
            raise ValueError(f"no training blocks in {path}: the train split is shorter than one seq_len")
        self.n, self.mb, self.seed = len(self.blocks), micro_batch, seed
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return self._perms[epoch]

    def rows(self, micro_step: int) -> np.ndarray:
        start = micro_step * self.mb
        idx = [self._perm(i // self.n)[i % self.n] for i in range(start, start + self.mb)]
        return np.asarray(self.blocks[idx], dtype=np.int64)

    def batch(self, micro_step: int, device):
        import torch

        return torch.from_numpy(self.rows(micro_step)).to(device, non_blocking=True)


def total_steps(cfg: TrainConfig, n_blocks: int, effective_batch: int) -> int:
    if cfg.max_steps > 0:
        return cfg.max_steps
    return max(1, int(math.ceil(cfg.epochs * n_blocks / effective_batch)))


def set_seed(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def configure_cuda_allocator(expandable_segments: bool = True) -> None:
    """Expandable segments cut fragmentation (QLoRA peak memory fell by about a third in public
    reports); must be set before CUDA initialises. A user's own setting wins."""
    if expandable_segments and "PYTORCH_CUDA_ALLOC_CONF" not in os.environ:
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = "expandable_segments:True"
