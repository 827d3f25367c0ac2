"""Does torch.compile pay for the fine-tune stage? Eager vs regionally compiled decoder layers, same run.

    python bench/compile_bench.py --data results/tokens/train.npy --tokenizer results/model/base \
        --shapes llama-3.2-3b --out bench/results/compile.json

Both variants are climatune's fine-tune configuration ("ours" in bench/qlora_bench.py: NF4 + double
quant, bf16, LoRA r=8 a=32 q/k/v/o, paged AdamW 8-bit, fused loss and kernels), built from the same
random-weight folder with the same seed; the compiled one sets `train.compile: true`. Per variant:
  loss       --loss-steps optimizer steps at micro-batch --loss-micro-batch from the same init and
             data; the first step's time is recorded (it carries the compilation)
  speed      tokens/s and peak memory at the equal micro-batch, checkpointing off and on
The table gives the speed ratio, the compile cost and the largest loss difference.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
import qlora_bench as Q  # noqa: E402
from climatune._util import setup_logging  # noqa: E402
from climatune.model import prepare_model as M  # noqa: E402
from climatune.model import training as T  # noqa: E402

log = logging.getLogger("compile_bench")


def run_variant(compiled: bool, model_dir, blocks, a) -> dict:
    import torch

    base = {**Q.VARIANTS["ours"], "device": Q.DEV.type, "compile": compiled}
    if Q.DEV.type == "cpu":
        base.update(precision="fp32", seq_len=a.seq_len)
    cfg = T.TrainConfig.from_dict(base)
    torch._dynamo.reset()
    model, opt = Q.build(model_dir, cfg)
    step_s: list[float] = []
    losses = Q.phase_loss(model, opt, cfg, blocks, a.loss_steps, a.loss_micro_batch, step_s)
    res = {"compile": compiled, "losses": losses, "first_step_s": round(step_s[0], 2),
           "steady_step_s": round(float(np.median(step_s[1:])), 4)}
    log.info("%s: loss %.4f -> %.4f, first step %.1fs, then %.3fs", "compiled" if compiled else "eager",
             losses[0], losses[-1], step_s[0], res["steady_step_s"])
    cfg_off = T.TrainConfig.from_dict({**cfg.to_dict(), "gradient_checkpointing": False})
    cfg_on = T.TrainConfig.from_dict({**cfg.to_dict(), "gradient_checkpointing": True})
    res["speed"] = Q.phase_speed(model, opt, cfg_off, blocks, a.equal_micro_batch, a.warmup, a.steps)
    res["speed_checkpointing"] = Q.phase_speed(model, opt, cfg_on, blocks, a.equal_micro_batch, a.warmup, a.steps)
    res["tokens_per_s"] = res["speed"]["tokens_per_s"]
    log.info("%s: %s | checkpointing: %s", "compiled" if compiled else "eager", res["speed"],
             res["speed_checkpointing"])
    del model, opt
    Q.free()
    return res


def run_shapes_in_fresh_processes(a) -> int:
    """This script once per shape, each in a new process, merged into one JSON (command: this one)."""
    merged: dict = {}
    for shape, r in C.each_in_fresh_process(__file__, sys.argv[1:], "--shapes", a.shapes, a.work):
        merged = merged or {k: v for k, v in r.items() if k not in M.SHAPES}
        merged[shape] = r[shape]
        merged["command"] = C.header(sys.argv, with_environment=False)["command"]
        merged["fresh_process_per_shape"] = True
        C.write_result(a.out, merged)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="train.npy of packed blocks (real text)")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--shapes", nargs="+", default=["llama-3.2-3b"], choices=sorted(M.SHAPES))
    ap.add_argument("--work", default="/tmp/qlora_bench")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only checks the script (tiny shape)")
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--equal-micro-batch", type=int, default=19)
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps (the compiled variant recompiles "
                                                           "for a new batch shape)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--loss-steps", type=int, default=10)
    ap.add_argument("--loss-micro-batch", type=int, default=8)
    ap.add_argument("--out", default="bench/results/compile.json")
    a = ap.parse_args()
    if len(a.shapes) > 1:  # a shape's run leaves Liger's patches and allocator state behind: one process each
        return run_shapes_in_fresh_processes(a)
    setup_logging(None)
    import torch
    from transformers.utils import logging as hf_logging

    Q.DEV = torch.device(a.device)
    hf_logging.disable_progress_bar()
    T.configure_cuda_allocator()
    blocks = np.load(a.data)[:, : a.seq_len] if a.device == "cpu" else np.load(a.data)
    if blocks.shape[1] != a.seq_len:
        raise SystemExit(f"{a.data}: blocks of {blocks.shape[1]} tokens, expected --seq-len {a.seq_len}")
    phases = ("equal_micro_batch", "warmup", "steps", "loss_steps", "loss_micro_batch", "seq_len")
    result = {**C.header(sys.argv), "phases": {k: getattr(a, k) for k in phases}}
    for shape in a.shapes:
        model_dir = C.prepare_random_model(shape, Path(a.work) / shape, a.tokenizer, a.device)
        e = run_variant(False, model_dir, blocks, a)
        c = run_variant(True, model_dir, blocks, a)
        r = {"eager": e, "compiled": c, "gpu": result["environment"].get("gpu"), "pid": os.getpid(),
             "tokens_per_s_ratio": round(c["tokens_per_s"] / e["tokens_per_s"], 3),
             "tokens_per_s_ratio_checkpointing": round(c["speed_checkpointing"]["tokens_per_s"]
                                                       / e["speed_checkpointing"]["tokens_per_s"], 3),
             "compile_overhead_s": round(c["first_step_s"] - e["first_step_s"], 1),
             "max_loss_rel_diff": round(max(abs(x - y) / abs(y) for x, y in zip(c["losses"], e["losses"])), 6)}
        result[shape] = r
        C.write_result(a.out, result)
        print(f"\n{shape} at seq {a.seq_len}, micro-batch {a.equal_micro_batch}, on {r['gpu'] or a.device}")
        print(f"{'':10s}{'tokens/s':>10s}{'peak GiB':>10s}{'ckpt tok/s':>12s}{'first step s':>14s}")
        for name, v in (("eager", e), ("compiled", c)):
            print(f"{name:10s}{v['tokens_per_s']:10.0f}{v['speed']['peak_gib']:10.1f}"
                  f"{v['speed_checkpointing']['tokens_per_s']:12.0f}{v['first_step_s']:14.1f}")
        print(f"compiled/eager: {r['tokens_per_s_ratio']}x (checkpointing {r['tokens_per_s_ratio_checkpointing']}x), "
              f"compile cost {r['compile_overhead_s']} s, max loss rel diff {r['max_loss_rel_diff']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
