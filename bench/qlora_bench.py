"""QLoRA fine-tuning speed and memory: the seed recipe vs climatune's fine-tune stage, same GPU, same run.

    python bench/qlora_bench.py --data results/tokens/train.npy --tokenizer results/model/base \
        --shapes llama-3.2-3b llama-3.2-1b --out bench/results/qlora.json

Both variants are built by climatune.training from the same random-weight folder (real Llama-3.2
shapes), on the same packed text blocks at seq 512:
  seed  HF forward with labels (full fp32 logits), peft's prepare_model_for_kbit_training (norms,
        embeddings and head upcast to fp32), NF4 + double quant, bf16 compute, LoRA r=8 a=32 on q/k/v/o,
        gradient checkpointing, paged AdamW 8-bit.
  ours  the same quantization, adapters and optimizer, plus the fine-tune stage's switches: fused
        linear + cross-entropy (Liger) or chunked loss, non-quantized weights kept in bf16, Liger's fused
        RMSNorm/SwiGLU/RoPE, gradient checkpointing off where it fits (the probe's choice).
Phases per variant (each timed with CUDA synchronisation after warm-up steps):
  loss       N optimizer steps from the same init and data (same seeds) -> loss curve
  speed      tokens/s at the equal micro-batch (default 19, the seeds' choice)
  largest    largest micro-batch that fits (doubling, then bisection, one real step per try)
The seed variant runs first; Liger's patches of transformers' Llama module are undone after each variant. Each
shape runs in a fresh process (--one-process to run all in this one): measured on an H100, the 1B shape's
"ours" ran at 43.8k tokens/s after the 3B shape in the same process and at 59.7k in a fresh one, so
state left by one shape (allocator, bitsandbytes' paged buffers, kernels) must not reach the next.

--long: seq 512, 2048 and 4096 with document masking -> bench/results/qlora_long.json (bench/qlora_long.py).
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import GIB, setup_logging  # noqa: E402
from climatune.model import prepare_model as M  # noqa: E402
from climatune.model import training as T  # noqa: E402
from climatune.model.memory import peak_memory_bytes, reset_peak_memory
from climatune.model.probe import Prober  # noqa: E402

log = logging.getLogger("qlora_bench")

COMMON = dict(seq_len=512, precision="bf16", quantization="nf4", double_quant=True, lora_r=8, lora_alpha=32,
              lora_dropout=0.1, lora_targets=["q_proj", "k_proj", "v_proj", "o_proj"], optimizer="paged_adamw_8bit",
              lr=2e-4, schedule="cosine", warmup_ratio=0.03, max_grad_norm=1.0, seed=1234, device="cuda")
VARIANTS = {
    "seed": dict(COMMON, loss="hf", upcast_non_quantized=True, fused_kernels=False, gradient_checkpointing=True,
                 lora_compute="fp32", lora_dropout_mask="per_module"),
    "ours": dict(COMMON, loss="auto", upcast_non_quantized=False, fused_kernels="auto", lora_compute="auto", lora_dropout_mask="shared",
                 gradient_checkpointing=False),
}


DEV = None  # torch.device, set in main (cuda; cpu only to check the script itself on tiny shapes)


def sync():
    import torch

    if DEV.type == "cuda":
        torch.cuda.synchronize()


def free():
    import torch

    gc.collect()
    if DEV.type == "cuda":
        torch.cuda.empty_cache()


def peaks() -> tuple[float, float]:
    """Peak allocated and reserved GiB since `reset_peak_memory(DEV)` (peak RSS twice on CPU)."""
    return peak_memory_bytes(DEV) / GIB, peak_memory_bytes(DEV, reserved=True) / GIB


def build(model_dir, cfg: T.TrainConfig):
    T.set_seed(cfg.seed)  # same LoRA init for every variant
    m = T.build_model(model_dir, cfg, DEV)
    return m, T.build_optimizer(m, cfg)


def phase_loss(model, opt, cfg: T.TrainConfig, blocks, steps: int, mb: int,
               step_s: list | None = None) -> list[float]:
    """`steps` optimizer steps at micro-batch `mb` (no accumulation) on the seeded block order; with
    `step_s`, each step's time is appended to it."""
    import torch

    loss_mode = T.resolve_loss(cfg.loss, DEV)
    sched = T.build_scheduler(opt, cfg, steps)
    data = T.BlockStream(blocks, mb, cfg.seed)
    T.set_seed(cfg.seed)  # same dropout masks
    losses = []
    for k in range(steps):
        sync()
        t0 = time.perf_counter()
        loss = T.causal_lm_loss(model, data.batch(k, DEV), loss_mode, cfg.loss_chunk_tokens)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(T.trainable_parameters(model), cfg.max_grad_norm)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        if step_s is not None:
            sync()
            step_s.append(time.perf_counter() - t0)
    return losses


def phase_speed(model, opt, cfg: T.TrainConfig, blocks, mb: int, warmup: int, steps: int) -> dict:
    """tokens/s and peak memory at micro-batch `mb` (full optimizer steps)."""
    loss_mode = T.resolve_loss(cfg.loss, DEV)
    data = T.BlockStream(blocks, mb, cfg.seed)
    T.set_gradient_checkpointing(model, bool(cfg.gradient_checkpointing))
    free()
    reset_peak_memory(DEV)

    def step(k):
        loss = T.causal_lm_loss(model, data.batch(k, DEV), loss_mode, cfg.loss_chunk_tokens)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for k in range(warmup):
        step(k)
    sync()
    t0 = time.perf_counter()
    for k in range(steps):
        step(warmup + k)
    sync()
    dt = time.perf_counter() - t0
    alloc, reserved = peaks()
    return {"micro_batch": mb, "tokens_per_s": round(steps * mb * cfg.seq_len / dt, 1),
            "step_s": round(dt / steps, 4), "peak_gib": round(alloc, 3), "peak_reserved_gib": round(reserved, 3),
            "gradient_checkpointing": bool(cfg.gradient_checkpointing)}


def phase_largest(model, opt, cfg: T.TrainConfig, blocks, max_mb: int, gc_on: bool) -> tuple[int, list]:
    from climatune.model.probe import memory_budget

    cfg_gc = T.TrainConfig.from_dict({**cfg.to_dict(), "gradient_checkpointing": gc_on})
    prober = Prober(model, opt, blocks, cfg_gc, DEV, steps=0, budget=memory_budget(DEV, None, 0.0))
    largest = prober.search(gc_on, max_mb)
    return largest, prober.tries


def run_variant(name: str, model_dir, blocks, a) -> dict:
    cfg = T.TrainConfig.from_dict({**VARIANTS[name], "device": DEV.type})
    if DEV.type == "cpu":
        cfg = T.TrainConfig.from_dict({**cfg.to_dict(), "precision": "fp32", "seq_len": a.seq_len})
    t0 = time.perf_counter()
    model, opt = build(model_dir, cfg)
    res = {"config": cfg.to_dict(), "loss_mode": T.resolve_loss(cfg.loss, DEV),
           "fused_kernels": T.resolve_fused(cfg.fused_kernels, DEV),
           "build_s": round(time.perf_counter() - t0, 1)}
    log.info("%s: built in %.0fs (loss %s, fused kernels %s)", name, res["build_s"], res["loss_mode"],
             res["fused_kernels"])
    # loss from the shared init first, before any other step touches the adapters
    T.set_gradient_checkpointing(model, bool(cfg.gradient_checkpointing))
    res["losses"] = phase_loss(model, opt, cfg, blocks, a.loss_steps, a.loss_micro_batch)
    log.info("%s: loss %.4f -> %.4f after %d steps", name, res["losses"][0], res["losses"][-1], a.loss_steps)
    res["speed_equal_mb"] = phase_speed(model, opt, cfg, blocks, a.equal_micro_batch, a.warmup, a.steps)
    log.info("%s: %s", name, res["speed_equal_mb"])
    if name == "ours":
        # the other checkpointing setting at the same micro-batch, for the record
        alt = T.TrainConfig.from_dict({**cfg.to_dict(), "gradient_checkpointing": True})
        res["speed_equal_mb_checkpointing"] = phase_speed(model, opt, alt, blocks, a.equal_micro_batch, a.warmup,
                                                          a.steps)
        log.info("%s with checkpointing: %s", name, res["speed_equal_mb_checkpointing"])
    # largest micro-batch: the memory-lean setting of each variant (checkpointing on)
    res["max_micro_batch"], res["largest_tries"] = phase_largest(model, opt, cfg, blocks, a.max_micro_batch, True)
    log.info("%s: largest micro-batch %d", name, res["max_micro_batch"])
    del model, opt
    free()
    return res


def run_shapes_in_fresh_processes(a) -> int:
    """This script once per shape, each in a new process, merged into one JSON (command: this one)."""
    merged: dict = {}
    for shape, r in C.each_in_fresh_process(__file__, sys.argv[1:], "--shapes", a.shapes, a.work):
        merged = merged or {k: v for k, v in r.items() if k not in M.SHAPES}
        merged[shape] = r[shape]
        merged["command"] = C.header(sys.argv, with_environment=False)["command"]
        merged["fresh_process_per_shape"] = True
        C.write_result(a.out, merged)  # after each shape, so a cut-off run keeps what it measured
    return 0


def main() -> int:
    if "--long" in sys.argv[1:]:  # long packed sequences with document masking: bench/qlora_long.py
        import qlora_long

        return qlora_long.main([x for x in sys.argv[1:] if x != "--long"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_argument_group("inputs")
    g.add_argument("--data", required=True, help="train.npy of packed seq-512 blocks (real text)")
    g.add_argument("--tokenizer", required=True, help="tokenizer folder for the random-weight model folders")
    g.add_argument("--shapes", nargs="+", default=["llama-3.2-3b", "llama-3.2-1b"], choices=sorted(M.SHAPES))
    g.add_argument("--work", default="/tmp/qlora_bench", help="where the random-weight model folders go")
    g.add_argument("--device", default="cuda", help="cuda; cpu only checks the script (tiny shape, short seq)")
    g.add_argument("--seq-len", type=int, default=512, help="block length (the benchmark is at 512)")
    g = ap.add_argument_group("phases")
    g.add_argument("--equal-micro-batch", type=int, default=19, help="micro-batch of the speed comparison")
    g.add_argument("--warmup", type=int, default=2)
    g.add_argument("--steps", type=int, default=5, help="timed steps of the speed phase")
    g.add_argument("--loss-steps", type=int, default=50)
    g.add_argument("--loss-micro-batch", type=int, default=8)
    g.add_argument("--max-micro-batch", type=int, default=1024, help="upper end of the largest-batch search")
    g = ap.add_argument_group("output")
    g.add_argument("--out", default="bench/results/qlora.json")
    g.add_argument("--one-process", action="store_true", help="run every shape in this process")
    a = ap.parse_args()
    setup_logging(None)
    if len(a.shapes) > 1 and not a.one_process:
        return run_shapes_in_fresh_processes(a)
    import torch

    global DEV
    DEV = torch.device(a.device)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    T.configure_cuda_allocator()
    blocks = np.load(a.data)
    if blocks.shape[1] != a.seq_len:
        raise SystemExit(f"{a.data}: blocks of {blocks.shape[1]} tokens, expected --seq-len {a.seq_len}")
    result = {**C.header(sys.argv), "data": {"path": a.data, "blocks": int(len(blocks))},
              "phases": {"equal_micro_batch": a.equal_micro_batch, "warmup": a.warmup, "steps": a.steps,
                         "loss_steps": a.loss_steps, "loss_micro_batch": a.loss_micro_batch}}
    for shape in a.shapes:
        model_dir = C.prepare_random_model(shape, Path(a.work) / shape, a.tokenizer, a.device)
        r = {}
        for name in ("seed", "ours"):
            r[name] = run_variant(name, model_dir, blocks, a)
            T.undo_fused_kernels()
        s, o = r["seed"], r["ours"]
        r["seed"]["tokens_per_s"] = s["speed_equal_mb"]["tokens_per_s"]
        r["ours"]["tokens_per_s"] = o["speed_equal_mb"]["tokens_per_s"]
        r["tokens_per_s_ratio"] = round(o["tokens_per_s"] / s["tokens_per_s"], 3)
        r["max_micro_batch_ratio"] = round(o["max_micro_batch"] / max(1, s["max_micro_batch"]), 3)
        r["loss_rel_diff"] = round(abs(o["losses"][-1] - s["losses"][-1]) / s["losses"][-1], 5)
        r["loss_rel_diff_mean_last5"] = round(abs(np.mean(o["losses"][-5:]) - np.mean(s["losses"][-5:]))
                                              / np.mean(s["losses"][-5:]), 5)
        r["gpu"] = result["environment"].get("gpu")
        result[shape] = r
        C.write_result(a.out, result)  # after each shape, so a cut-off run keeps what it measured
        print(f"\n{shape} at seq {a.seq_len} on {r['gpu'] or a.device}")
        print(f"{'':8s}{'tokens/s@' + str(a.equal_micro_batch):>16s}{'peak GiB':>10s}{'max mb':>8s}{'loss@' + str(a.loss_steps):>10s}")
        for name in ("seed", "ours"):
            v = r[name]
            print(f"{name:8s}{v['tokens_per_s']:16.0f}{v['speed_equal_mb']['peak_gib']:10.1f}"
                  f"{v['max_micro_batch']:8d}{v['losses'][-1]:10.4f}")
        print(f"ratios: tokens/s {r['tokens_per_s_ratio']}x, max micro-batch {r['max_micro_batch_ratio']}x, "
              f"loss rel diff {r['loss_rel_diff']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
