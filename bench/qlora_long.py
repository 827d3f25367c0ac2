"""Long packed sequences with document masking: QLoRA step speed, memory and MFU at seq 512, 2048, 4096.

    python bench/qlora_long.py --tokenizer results/model/base --out bench/results/qlora_long.json
    python bench/qlora_bench.py --long ...   (the same)
    python bench/qlora_long.py --tokenizer results/model/base --device cpu --shapes tiny --seqs 64 128 \
        --tokens-per-micro-batch 256 --out /tmp/qlora_long.json     (checks the script on a CPU)

The fine-tune stage's recipe ("ours" of bench/qlora_bench.py: NF4 + double quant, LoRA r=8 on q/k/v/o,
bf16, chunked or Liger loss, paged AdamW 8-bit) on random-weight Llama-3.2 shapes, with
train.document_masking on at every length. Blocks are random tokens cut into documents of exponential
length (mean --doc-mean tokens, so nearly every block holds a boundary and takes the masked attention
path; model/masking.py). Each length gets the same tokens per micro-batch (--tokens-per-micro-batch /
seq sequences; halved on out-of-memory, then checkpointing on), so the lengths differ only in how the
tokens are cut. Per length: tokens/s over --steps timed optimizer steps after --warmup, peak allocated
GiB, and mfu = 4 x parameters x tokens/s / the bf16 matmul peak measured in the same process (8192^3
matmuls for --peak-seconds; the 4 x parameters FLOPs per token of the issue: forward 2N, backward
through the frozen base 2N, adapter weight gradients negligible). long_vs_512 = tokens/s at the longest
length over tokens/s at 512. Each shape runs in a fresh process.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import GIB, setup_logging  # noqa: E402
from climatune.model import masking  # noqa: E402
from climatune.model import prepare_model as M  # noqa: E402
from climatune.model import training as T  # noqa: E402
from climatune.model.memory import peak_memory_bytes, reset_peak_memory  # noqa: E402

log = logging.getLogger("qlora_long")


def matmul_peak_tflops(device, seconds: float) -> float:
    """Dense matmul throughput of this device (bf16 8192^3 on CUDA; fp32 512^3 on a CPU, a smoke value)."""
    import torch

    cuda = device.type == "cuda"
    n, dtype = (8192, torch.bfloat16) if cuda else (512, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(10):
            a @ b
        reps += 10
        sync()
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e12


def parameters(model_dir) -> int:
    """Parameters of the model as stored (NF4 packing halves numel(): count from the config)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        m = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir))
    return sum(p.numel() for p in m.parameters())


def packed(n_blocks: int, seq: int, vocab: int, doc_mean: float, seed: int) -> tuple[np.ndarray, dict]:
    """Random blocks and their segments: documents of exponential length (mean doc_mean) packed back to back."""
    rng = np.random.default_rng(seed)
    lengths = np.maximum(1, rng.exponential(doc_mean, size=int(n_blocks * seq / doc_mean * 2) + 8).astype(int))
    from climatune.corpus.tokenize import doc_segments

    return rng.integers(1, vocab, (n_blocks, seq)), doc_segments(lengths, seq, n_blocks)


def measure(model, opt, cfg, seq: int, mb: int, a, vocab: int, device) -> dict:
    """tokens/s and peak memory of full optimizer steps at micro-batch mb, document masking on."""
    import torch

    blocks, seg = packed(mb * (a.warmup + a.steps), seq, vocab, a.doc_mean, cfg.seed)
    data = T.BlockStream(blocks, mb, cfg.seed, masking=True, segments=seg)
    mode = T.resolve_loss(cfg.loss, device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    reset_peak_memory(device)

    def step(k):
        T.causal_lm_loss(model, mode=mode, chunk_tokens=cfg.loss_chunk_tokens, **data.inputs(k, device)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for k in range(a.warmup):
        step(k)
    sync()
    t0 = time.perf_counter()
    for k in range(a.steps):
        step(a.warmup + k)
    sync()
    dt = time.perf_counter() - t0
    return {"micro_batch": mb, "tokens_per_s": round(a.steps * mb * seq / dt, 1),
            "peak_gib": round(peak_memory_bytes(device) / GIB, 3), "step_s": round(dt / a.steps, 4),
            "boundaries_per_block": round((len(seg["seg_start"]) - len(blocks)) / len(blocks), 2)}


def at_length(model, opt, cfg, seq: int, a, vocab: int, device) -> dict:
    """`measure` at the largest micro-batch up to tokens_per_micro_batch / seq that fits (halving on OOM,
    then gradient checkpointing on)."""
    from climatune.model.prober import is_oom

    for gc_on in (bool(cfg.gradient_checkpointing), True):
        T.set_gradient_checkpointing(model, gc_on)
        mb = max(1, a.tokens_per_micro_batch // seq)
        while mb >= 1:
            try:
                r = measure(model, opt, cfg, seq, mb, a, vocab, device)
                return {**r, "gradient_checkpointing": gc_on}
            except Exception as e:  # only a real out-of-memory makes the micro-batch smaller
                if not is_oom(e):
                    raise
                opt.zero_grad(set_to_none=True)
                log.info("seq %d micro-batch %d checkpointing %s: out of memory", seq, mb, gc_on)
                mb //= 2
    raise SystemExit(f"seq {seq}: not even micro-batch 1 fits")


def run_shape(shape: str, a, device, peak_tflops: float) -> dict:
    """Every length of one shape on one model and optimizer (the fine-tune stage's recipe, masking on)."""
    import qlora_bench as QB

    model_dir = C.prepare_random_model(shape, Path(a.work) / shape, a.tokenizer, a.device)
    over = {"device": device.type, "seq_len": max(a.seqs), "document_masking": True, "attention": a.attention}
    if device.type == "cpu":
        over["precision"] = "fp32"  # bf16 is emulated on most CPUs
    cfg = T.TrainConfig.from_dict({**QB.VARIANTS["ours"], **over})
    T.set_seed(cfg.seed)
    model = T.build_model(model_dir, cfg, device)
    opt = T.build_optimizer(model, cfg)
    r: dict = {"parameters": parameters(model_dir), "loss_mode": T.resolve_loss(cfg.loss, device),
               "config": cfg.to_dict()}
    for seq in a.seqs:
        res = at_length(model, opt, cfg, seq, a, model.config.vocab_size, device)
        res["mfu"] = round(4 * r["parameters"] * res["tokens_per_s"] / (peak_tflops * 1e12), 4)
        r[f"seq_{seq}"] = res
        log.info("%s seq %d: %s", shape, seq, res)
    base = r.get("seq_512") or r[f"seq_{min(a.seqs)}"]
    r["long_vs_512"] = round(r[f"seq_{max(a.seqs)}"]["tokens_per_s"] / base["tokens_per_s"], 3)
    T.undo_fused_kernels()
    return r


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(prog="python bench/qlora_long.py", description=__doc__.splitlines()[0])
    g = ap.add_argument_group("inputs")
    g.add_argument("--tokenizer", required=True, help="tokenizer folder for the random-weight model folders")
    g.add_argument("--shapes", nargs="+", default=["llama-3.2-1b", "llama-3.2-3b"], choices=sorted(M.SHAPES))
    g.add_argument("--work", default="/tmp/qlora_bench", help="where the random-weight model folders go")
    g.add_argument("--device", default="cuda", help="cuda; cpu only checks the script (tiny shape, short seqs)")
    g = ap.add_argument_group("measurement")
    g.add_argument("--seqs", nargs="+", type=int, default=[512, 2048, 4096], help="block lengths")
    g.add_argument("--tokens-per-micro-batch", type=int, default=16384, help="micro-batch = this / seq")
    g.add_argument("--doc-mean", type=float, default=1024, help="mean document length in tokens")
    g.add_argument("--attention", default="sdpa", choices=["sdpa", "flex_attention"],
                   help="train.attention (the masked path: SDPA's memory-efficient kernel or a FlexAttention BlockMask)")
    g.add_argument("--warmup", type=int, default=2)
    g.add_argument("--steps", type=int, default=5, help="timed optimizer steps per length")
    g.add_argument("--peak-seconds", type=float, default=3.0, help="duration of the matmul peak measurement")
    g = ap.add_argument_group("output")
    g.add_argument("--out", default="bench/results/qlora_long.json")
    a = ap.parse_args(argv)
    setup_logging(None)
    if len(a.shapes) > 1:
        merged: dict = {}
        for shape, r in C.each_in_fresh_process(__file__, argv, "--shapes", a.shapes, a.work):
            merged = merged or {k: v for k, v in r.items() if k not in M.SHAPES}
            merged[shape] = r[shape]
            merged["command"] = C.header([__file__, *argv], with_environment=False)["command"]
            C.write_result(a.out, merged)
        return 0
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    device = torch.device(a.device)
    T.configure_cuda_allocator()
    peak = matmul_peak_tflops(device, a.peak_seconds)
    header = C.header([__file__, *argv])
    result = {**header, "device": header["environment"].get("gpu") or f"cpu ({header['environment'].get('cpu')})",
              "matmul_peak_tflops": round(peak, 2), "document_masking": True,
              "doc_mean_tokens": a.doc_mean, "attention": a.attention, "tokens_per_micro_batch": a.tokens_per_micro_batch,
              "warmup": a.warmup, "steps": a.steps, "auto_masking_from": masking.AUTO_FROM}
    result[a.shapes[0]] = run_shape(a.shapes[0], a, device, peak)
    C.write_result(a.out, result)
    r = result[a.shapes[0]]
    print(f"\n{a.shapes[0]} on {result['device']} (matmul peak {peak:.1f} TFLOP/s), document masking on")
    print(f"{'seq':>6s}{'micro-batch':>13s}{'tokens/s':>11s}{'peak GiB':>10s}{'mfu':>7s}")
    for seq in a.seqs:
        v = r[f"seq_{seq}"]
        print(f"{seq:6d}{v['micro_batch']:13d}{v['tokens_per_s']:11.0f}{v['peak_gib']:10.2f}{v['mfu']:7.3f}")
    print(f"long_vs_512: {r['long_vs_512']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
