"""DeepSpeed layouts on 2 GPUs: single GPU vs DP=2, TP=2, PP=2 for the Llama-3.2-1B and 3B shapes at seq 512.

    python bench/parallel_gpu.py --train results/tokens/train.npy --tokenizer results/model/base \
        --shapes llama-3.2-1b llama-3.2-3b --out bench/results/parallel_gpu.json

Each layout is the parallel stage itself (`python -m climatune.parallel`): full-parameter bf16
training with ZeRO-1 (single: none) on the same global batches, so the loss curves compare step by
step. The 2-GPU layouts run in one launch (--suite) to pay the start-up once. Reported per shape:
tokens/s, peak GiB per GPU and final loss of each layout, DP speedup, TP and PP per-GPU memory as a
share of the single-GPU peak, and the GPU count. --device cpu checks the script on the tiny shape.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from climatune import model as M  # noqa: E402
from climatune._util import environment, read_json, write_json  # noqa: E402

LAYOUTS2 = ["dp2", "pp2", "tp2"]  # tp2 last in a launch: AutoTP sets up process groups for the process


def run_parallel(args: list[str], env: dict) -> None:
    res = subprocess.run([sys.executable, "-m", "climatune.parallel", *args], env=env, text=True,
                         capture_output=True)
    sys.stdout.write(res.stdout[-3000:])
    if res.returncode:
        sys.stderr.write(res.stderr[-6000:])
        raise SystemExit(f"parallel run failed: {args}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="train.npy of seq-512 blocks")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--shapes", nargs="+", default=["llama-3.2-1b", "llama-3.2-3b"])
    ap.add_argument("--global-batch", type=int, default=16)
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=8, help="optimizer steps per layout (first untimed)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--work", default="/tmp/parallel_gpu")
    ap.add_argument("--out", default="bench/results/parallel_gpu.json")
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1] / "src"),
                                                                   os.environ.get("PYTHONPATH")) if p)}
    if a.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    cfg = {"mode": "full", "zero_stage": 1, "global_batch": a.global_batch, "micro_batch": a.micro_batch,
           "steps": a.steps, "lr": 1e-5, "seed": 1234, "precision": "auto"}
    result = {"command": "python bench/parallel_gpu.py " + " ".join(sys.argv[1:]), "environment": environment(),
              "config": cfg}
    import torch

    result["gpus"] = torch.cuda.device_count() if a.device == "cuda" else 0
    for shape in a.shapes:
        work = Path(a.work) / shape
        base = work / "base"
        if not (base / "config.json").exists():
            M.run(f"random:{shape}", base, tokenizer=a.tokenizer, save_dtype="bfloat16", init_device=a.device)
        common = ["--model", str(base), "--train", a.train]
        run_parallel(["--layout", "single", "--out", str(work / "single.json"), "--config", json.dumps(cfg), *common], env)
        suite = work / "suite.json"
        suite.write_text(json.dumps([{"layout": lay, "config": cfg, "out": str(work / f"{lay}.json")}
                                     for lay in LAYOUTS2]))
        run_parallel(["--suite", str(suite), *common], env)
        r = {}
        for lay in ["single", *LAYOUTS2]:
            m = read_json(work / f"{lay}.json")
            r[lay] = {"tokens_per_s": m["tokens_per_s"], "peak_gib_per_gpu": m["peak_gib_max"],
                      "peak_gib_per_rank": m["peak_gib_per_rank"], "final_loss": m["final_loss"], "losses": m["losses"],
                      "epoch_time_s": m["epoch_time_s"], "step_s": m["step_s"]}
        s = r["single"]
        r["dp2_speedup"] = round(r["dp2"]["tokens_per_s"] / s["tokens_per_s"], 3)
        r["tp2_mem_ratio"] = round(r["tp2"]["peak_gib_per_gpu"] / s["peak_gib_per_gpu"], 3)
        r["pp2_mem_ratio"] = round(r["pp2"]["peak_gib_per_gpu"] / s["peak_gib_per_gpu"], 3)
        r["max_loss_diff"] = {lay: round(max(abs(x - y) for x, y in zip(r[lay]["losses"], s["losses"])), 5)
                              for lay in LAYOUTS2}
        r["gpus"] = result["gpus"]
        result[shape] = r
        write_json(a.out, result)
        print(f"\n{shape}: {'layout':8s}{'tokens/s':>10s}{'peak GiB/GPU':>14s}{'final loss':>12s}")
        for lay in ["single", *LAYOUTS2]:
            print(f"{'':{len(shape) + 2}s}{lay:8s}{r[lay]['tokens_per_s']:10.0f}{r[lay]['peak_gib_per_gpu']:14.2f}"
                  f"{r[lay]['final_loss']:12.4f}")
        print(f"DP speedup {r['dp2_speedup']}x; TP memory {r['tp2_mem_ratio']:.0%}, PP memory {r['pp2_mem_ratio']:.0%} "
              f"of single; max |loss - single| {r['max_loss_diff']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
