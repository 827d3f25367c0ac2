"""The precision study on a GPU: the same short QLoRA fine-tune in fp32, fp16 (loss scaling) and bf16 for the
Llama-3.2-1B and 3B shapes -> bench/results/precision_gpu.json.

    python bench/precision_gpu.py --tokenizer .gpu/tokenizer --data .gpu/train.npy \
        --shapes llama-3.2-1b llama-3.2-3b --out bench/results/precision_gpu.json
    # check the script itself on CPU (never into bench/results/):
    python bench/precision_gpu.py --tokenizer results/model/base --shape tiny --device cpu --out /tmp/p.json

Each (shape, precision) runs in a fresh process through the precision stage's own functions
(climatune.model.precision: setup, train_steps), so the bench measures exactly what the stage runs:
config/ipcc-a100.yaml's train settings (NF4 double-quant base, LoRA r=8 on q/k/v/o, paged AdamW 8-bit,
fused loss and kernels where installed) at seq --seq-len and micro-batch --micro-batch without
accumulation, from the same random-weight folder, seed and data order. fp16 uses torch.amp.GradScaler
(its scale after each step and the skipped steps are kept). Per precision: tokens_per_s (median over the
steps after --warmup), peak_gib (CUDA's max allocated over the steps), final_loss (the last step's), the
loss curve. A precision that fails is recorded with its error instead of numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import yaml  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import environment, read_json, setup_logging  # noqa: E402
from climatune.model import precision as P  # noqa: E402
from climatune.model.prepare_model import SHAPES  # noqa: E402

RESULTS = (C.REPO / "bench" / "results" / "precision_gpu.json").resolve()
GPU_SHAPES = ("llama-3.2-1b", "llama-3.2-3b")


def data_path(a, vocab: int) -> Path:
    """--data, or (without it) structured synthetic blocks of --seq-len tokens below `vocab` in the work dir."""
    if a.data:
        blocks = np.load(a.data, mmap_mode="r")
        if blocks.shape[1] != a.seq_len:
            raise SystemExit(f"{a.data}: blocks of {blocks.shape[1]} tokens, expected --seq-len {a.seq_len}")
        return Path(a.data)
    p = Path(a.work) / f"synthetic_{a.seq_len}.npy"
    if not p.exists():
        rng = np.random.default_rng(0)
        base = np.tile(np.arange(a.seq_len) * 7 % min(vocab, 32000), (64, 1))
        noise = rng.integers(0, min(vocab, 32000), size=base.shape)
        p.parent.mkdir(parents=True, exist_ok=True)
        np.save(p, np.where(rng.random(base.shape) < 0.2, noise, base).astype(np.int32))
    return p


def one(a) -> dict:
    """One (shape, precision) in this process: the precision stage's setup and steps."""
    shape, p = a.one.split("/")
    model_dir = Path(a.work) / shape
    vocab = read_json(model_dir / "config.json")["vocab_size"]
    s = P.PrecisionSettings.from_dict({"precisions": [p], "steps": a.steps, "micro_batch": a.micro_batch,
                                       "effective_batch": a.micro_batch, "gradient_checkpointing": False,
                                       "max_seconds": 1e9, "fp16_init_scale": a.fp16_init_scale})
    train = yaml.safe_load((C.REPO / "config" / "ipcc-a100.yaml").read_text())["train"]
    train.update(seq_len=a.seq_len, device=a.device)
    cfg = P.study_config(train, s, p)
    try:
        r = P.setup(model_dir, data_path(a, vocab), cfg, s)
        rows, scaling = P.train_steps(r, Path(a.work) / "runs" / shape / p, s)
    except P.Skipped as e:  # fails to build or to run a step here
        return {"error": str(e), "environment": environment()}
    except Exception as e:  # e.g. out of memory during the steps: the other configurations still run
        return {"error": f"{type(e).__name__}: {e}", "environment": environment()}
    timed = rows[a.warmup:] or rows
    return {"tokens_per_s": float(np.median([x["tokens_per_s"] for x in timed])),
            "peak_gib": max(x["peak_gib"] for x in rows), "final_loss": rows[-1]["loss"],
            "first_loss": rows[0]["loss"], "loss_curve": [x["loss"] for x in rows], "loss_scaling": scaling,
            "compute_dtype": str(r["dtype"]).replace("torch.", ""), "steps": len(rows), "timed_steps": len(timed),
            "micro_batch": a.micro_batch, "seq_len": a.seq_len, "tokens_per_step": r["tokens_per_step"],
            "loss_mode": r["loss_mode"], "probe": r["probe"], "environment": environment()}


def check_out(a) -> None:
    """bench/results/precision_gpu.json holds only GPU numbers of the 1B and 3B shapes."""
    if Path(a.out).resolve() == RESULTS and (a.device != "cuda" or not set(a.shapes) <= set(GPU_SHAPES)):
        raise SystemExit(f"{RESULTS.relative_to(C.REPO)} takes only --device cuda runs of {GPU_SHAPES}; "
                         "write a check run elsewhere (--out /tmp/precision_check.json)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizer", required=True, help="tokenizer folder for the random-weight model folders")
    ap.add_argument("--data", help="train.npy of packed --seq-len blocks (default: synthetic blocks)")
    ap.add_argument("--shapes", "--shape", nargs="+", default=list(GPU_SHAPES), choices=sorted(SHAPES))
    ap.add_argument("--precisions", nargs="+", default=list(P.PRECISIONS), choices=P.PRECISIONS)
    ap.add_argument("--device", default="cuda", help="cuda; cpu only checks the script (tiny shape)")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--micro-batch", type=int, default=8, help="sequences per step (no accumulation)")
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps per precision")
    ap.add_argument("--warmup", type=int, default=3, help="first steps left out of tokens/s")
    ap.add_argument("--fp16-init-scale", type=float, default=65536.0)
    ap.add_argument("--work", default="/tmp/precision_gpu", help="random-weight folders, data, runs")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # SHAPE/PRECISION: one configuration in this process
    a = ap.parse_args()
    setup_logging(None)
    if a.one:
        C.write_result(a.out, one(a), quiet=True)
        return 0
    check_out(a)
    # no CUDA in this process (the configurations' own processes report the environment)
    result = {**C.header(sys.argv, with_environment=False), "settings": {k: getattr(a, k) for k in ("seq_len", "micro_batch", "steps",
                                                                            "warmup", "fp16_init_scale")},
              "data": a.data or "synthetic blocks (no --data)", "fresh_process_per_configuration": True}
    for shape in a.shapes:
        C.prepare_random_model(shape, Path(a.work) / shape, a.tokenizer, a.device)
    configs = [f"{shape}/{p}" for shape in a.shapes for p in a.precisions]
    for config, r in C.each_in_fresh_process(__file__, sys.argv[1:], "--one", configs, a.work):
        shape, p = config.split("/")
        result.setdefault("environment", r.pop("environment", None))
        result.setdefault(shape, {})[p] = r
        C.write_result(a.out, result, quiet=True)  # after each, so a cut-off run keeps what it measured
        print(f"{shape} {p}: " + (r["error"] if "error" in r else f"{r['tokens_per_s']:.0f} tokens/s, peak "
                                  f"{r['peak_gib']:.2f} GiB, loss {r['first_loss']:.4f} -> {r['final_loss']:.4f}"),
              flush=True)
    print(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
