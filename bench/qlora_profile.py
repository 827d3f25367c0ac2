"""Where a QLoRA step's time goes on one GPU: torch profiler over the fine-tune stage's step.

    python bench/qlora_profile.py --data .gpu/train.npy --tokenizer .gpu/tokenizer --shape llama-3.2-3b \
        --out bench/results/qlora_profile.json

Builds climatune's recipe ("ours" in bench/qlora_bench.py: NF4 + double quant, bf16, LoRA r=8 on
q/k/v/o, fused loss and kernels where installed) on a random-weight model of a real shape, warms up,
then profiles a few full optimizer steps and reports:
  - GPU kernel time by category (NF4 dequantization, matmuls, attention, loss, optimizer, elementwise)
    and the share of wall time the GPU was busy (host syncs and launch gaps are the rest);
  - the cost of dequantizing every NF4 weight once (what a step pays per forward and again per backward);
  - the measured bf16 matmul peak of this GPU and the step's MFU (4 x parameters FLOPs per token);
  - tokens/s of variants at the same micro-batch (each changes one thing), to see what would pay.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
import qlora_bench as Q  # noqa: E402
from climatune._util import setup_logging  # noqa: E402
from climatune.model import training as T  # noqa: E402
from qlora_long import matmul_peak_tflops  # noqa: E402  (one MFU denominator for both scripts)

log = logging.getLogger("qlora_profile")

CATEGORIES = (  # first match wins; kernel names lower-cased
    ("nf4_dequant", ("dequant", "kdequantize")),
    ("attention", ("flash", "fmha", "attention", "sdpa", "cudnn")),
    ("loss", ("cross_entropy", "liger", "softmax", "log_softmax")),
    ("optimizer", ("optimizer", "adam", "8bit")),
    ("matmul", ("gemm", "cutlass", "nvjet", "sm90", "sm80", "xmma", "cublas", "matmul")),
    ("norm_act", ("rms", "silu", "swiglu", "rope", "norm")),
    ("copy_cast", ("copy", "cast", "convert", "fill", "memset", "memcpy")),
)


def category(name: str) -> str:
    n = name.lower()
    for cat, keys in CATEGORIES:
        if any(k in n for k in keys):
            return cat
    return "elementwise_other"


def dequant_once_ms(model, reps: int = 5) -> dict:
    """Time to dequantize every NF4 weight of the model once (bitsandbytes' kernel)."""
    import bitsandbytes.functional as F
    import torch

    weights = [m.weight for m in model.modules() if type(m).__name__ == "Linear4bit"]
    for w in weights:
        F.dequantize_4bit(w.data, w.quant_state)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        for w in weights:
            F.dequantize_4bit(w.data, w.quant_state)
    torch.cuda.synchronize()
    return {"modules": len(weights), "ms": round((time.perf_counter() - t0) / reps * 1e3, 2)}


def profile_steps(model, opt, cfg, blocks, mb: int, steps: int) -> dict:
    """Kernel time by category over `steps` full steps, and how busy the GPU was."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    loss_mode = T.resolve_loss(cfg.loss, Q.DEV)
    data = T.BlockStream(blocks, mb, cfg.seed)

    def step(k):
        loss = T.causal_lm_loss(model, data.batch(k, Q.DEV), loss_mode, cfg.loss_chunk_tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(T.trainable_parameters(model), cfg.max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for k in range(3):
        step(k)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        for k in range(steps):
            float(step(3 + k).detach())  # the trainer reads the loss every step
        torch.cuda.synchronize()
        wall = time.perf_counter() - t0
    by_cat: dict[str, float] = defaultdict(float)
    kernels = []
    for ev in prof.key_averages():
        dev_us = getattr(ev, "self_device_time_total", None) or getattr(ev, "self_cuda_time_total", 0)
        if dev_us <= 0 or "CUDA" not in str(getattr(ev, "device_type", "")):
            continue  # CPU-side ops; their kernels are events of their own
        by_cat[category(ev.key)] += dev_us
        kernels.append((dev_us, ev.count, ev.key[:120]))
    busy_us = sum(by_cat.values())
    kernels.sort(reverse=True)
    return {"micro_batch": mb, "steps": steps, "wall_s": round(wall, 4),
            "tokens_per_s": round(steps * mb * cfg.seq_len / wall, 1),
            "gpu_busy_share": round(busy_us / 1e6 / wall, 4),
            "ms_per_step_by_category": {k: round(v / 1e3 / steps, 2) for k, v in
                                        sorted(by_cat.items(), key=lambda kv: -kv[1])},
            "top_kernels": [{"ms_per_step": round(us / 1e3 / steps, 3), "calls_per_step": n // steps, "name": name}
                            for us, n, name in kernels[:25]]}


def variant_speed(model_dir, blocks, a, mb: int, **changes) -> dict:
    cfg = T.TrainConfig.from_dict({**Q.VARIANTS["ours"], "device": "cuda", **changes})
    model, opt = Q.build(model_dir, cfg)
    try:
        return Q.phase_speed(model, opt, cfg, blocks, mb, a.warmup, a.steps)
    finally:
        del model, opt
        T.undo_fused_kernels()
        Q.free()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--shape", default="llama-3.2-3b")
    ap.add_argument("--micro-batch", type=int, default=19)
    ap.add_argument("--profile-steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--loss-steps", type=int, default=50)
    ap.add_argument("--work", default="/tmp/qlora_bench")
    ap.add_argument("--out", default="bench/results/qlora_profile.json")
    a = ap.parse_args()
    setup_logging(None)
    import torch

    Q.DEV = torch.device("cuda")
    T.configure_cuda_allocator()
    blocks = np.load(a.data)
    model_dir = C.prepare_random_model(a.shape, Path(a.work) / a.shape, a.tokenizer, "cuda")
    res = {**C.header(sys.argv), "shape": a.shape, "peak_bf16_tflops": round(matmul_peak_tflops(Q.DEV, 3.0), 1)}
    cfg = T.TrainConfig.from_dict({**Q.VARIANTS["ours"], "device": "cuda"})
    model, opt = Q.build(model_dir, cfg)
    n_params = sum(p.numel() for p in model.parameters())  # NF4 weights count half: use the shape's count
    from climatune.model.prepare_model import llama_config

    with torch.device("meta"):
        from transformers import AutoModelForCausalLM

        full = sum(p.numel() for p in AutoModelForCausalLM.from_config(llama_config(a.shape)).parameters())
    res["parameters"] = full
    res["dequant_all_weights"] = dequant_once_ms(model)
    res["profile"] = profile_steps(model, opt, cfg, blocks, a.micro_batch, a.profile_steps)
    res["mfu"] = round(4 * full * res["profile"]["tokens_per_s"] / (res["peak_bf16_tflops"] * 1e12), 4)
    log.info("loaded %d parameters (packed), %s", n_params, res["profile"]["ms_per_step_by_category"])
    del model, opt
    T.undo_fused_kernels()
    Q.free()
    C.write_result(a.out, res)
    variants = {"ours": {}, "lora_fp32": {"lora_compute": "fp32"}, "adamw": {"optimizer": "adamw"},
                "no_lora_dropout": {"lora_dropout": 0.0}, "checkpointing": {"gradient_checkpointing": True}}
    res["variants"] = {}
    for name, changes in variants.items():
        res["variants"][name] = variant_speed(model_dir, blocks, a, a.micro_batch, **changes)
        log.info("%s: %s", name, res["variants"][name])
        C.write_result(a.out, res)
    for mb in (2 * a.micro_batch, 4 * a.micro_batch):
        res["variants"][f"ours_mb{mb}"] = variant_speed(model_dir, blocks, a, mb)
        C.write_result(a.out, res)
    res["losses"] = {}  # each change must keep the loss: 50 steps from one init, same data
    for name, changes in {"lora_fp32": {"lora_compute": "fp32"}, "ours": {}, "adamw": {"optimizer": "adamw"}}.items():
        cfg = T.TrainConfig.from_dict({**Q.VARIANTS["ours"], "device": "cuda", **changes})
        model, opt = Q.build(model_dir, cfg)
        res["losses"][name] = Q.phase_loss(model, opt, cfg, blocks, a.loss_steps, 8)
        del model, opt
        T.undo_fused_kernels()
        Q.free()
        C.write_result(a.out, res)
    ref = np.mean(res["losses"]["lora_fp32"][-5:])
    res["loss_rel_diff_last5"] = {k: round(abs(np.mean(v[-5:]) - ref) / ref, 5) for k, v in res["losses"].items()}
    C.write_result(a.out, res)
    print(f"\n{a.shape}: {res['profile']['tokens_per_s']:.0f} tokens/s profiled, GPU busy "
          f"{res['profile']['gpu_busy_share']:.0%}, MFU {res['mfu']:.3f} (peak {res['peak_bf16_tflops']} TFLOP/s)")
    for k, v in res["profile"]["ms_per_step_by_category"].items():
        print(f"  {k:20s}{v:10.2f} ms/step")
    for name, v in res["variants"].items():
        print(f"  {name:20s}{v['tokens_per_s']:10.0f} tokens/s  {v['peak_gib']:.1f} GiB")
    print("loss after", a.loss_steps, "steps, relative to lora_fp32:", res["loss_rel_diff_last5"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
