"""DeepSpeed layouts on GPUs: each layout in a fresh launch of the parallel stage, against `single`.

    python bench/parallel_gpu.py --train .gpu/train.npy --tokenizer .gpu/tokenizer \
        --shapes llama-3.2-1b llama-3.2-3b --runs single dp2 tp2 pp2 dp2:zero2 dp2:zero3 dp2:ac \
        --out bench/results/parallel_gpu.json

A run is `layout[:modifier,...]`: zeroN (ZeRO stage), ac (activation checkpointing), mbN (micro-batch),
gbN (global batch).
Each run is `python -m climatune.parallel --bench` in a process of its own (a layout run after another in
one process starts with the other's GPU memory), full-parameter bf16 training with fp32 master weights on
identical global batches, so loss curves compare step by step with `single` (ZeRO-1 at world size 1).
Results of a run are kept in --work and reused by a later call with the same settings (the baseline of
a 4-GPU table measured on the same machine). A run that fails or runs out of memory is recorded as such
(with the allocator's reading) and the rest go on. --device cpu checks the script on the tiny shape.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import read_json, write_json  # noqa: E402
from climatune.parallel import parse_layout  # noqa: E402

SRC = C.SRC


def parse_run(spec: str, base: dict) -> tuple[str, dict]:
    """'dp2:zero3,ac' -> ('dp2', settings with zero_stage 3 and activation checkpointing)."""
    layout, _, mods = spec.partition(":")
    parse_layout(layout)
    cfg = dict(base)
    for m in filter(None, mods.split(",")):
        if m.startswith("zero"):
            cfg["zero_stage"] = int(m[4:])
        elif m == "ac":
            cfg["activation_checkpointing"] = True
        elif m.startswith("mb"):
            cfg["micro_batch"] = int(m[2:])
        elif m.startswith("gb"):
            cfg["global_batch"] = int(m[2:])
        else:
            raise SystemExit(f"unknown run modifier '{m}' in '{spec}' (zeroN, ac, mbN, gbN)")
    return layout, cfg


def launch(layout: str, cfg: dict, model: Path, train: str, out: Path, env: dict, timeout: int) -> dict:
    """One fresh launch; its metrics, or {"oom": ...} / {"error": ...}."""
    for f in out.glob("*.json"):
        f.unlink()
    args = ["--layout", layout, "--model", model, "--train", train, "--out-dir", out,
            "--config", json.dumps(cfg), "--bench", "--log-file", out / "run.log"]
    t0 = time.perf_counter()
    try:
        res = C.in_fresh_process("climatune.parallel", args, env=env, timeout=timeout, capture=True)
        rc, tail = res.returncode, (res.stdout + res.stderr)[-4000:]
    except subprocess.TimeoutExpired as e:
        rc, tail = "timeout", str(e.stderr or "")[-4000:]
    wall = round(time.perf_counter() - t0, 1)
    if rc == 0 and (out / "metrics.json").exists():
        return {**read_json(out / "metrics.json"), "launch_wall_s": wall}
    ooms = [read_json(p) for p in sorted(out.glob("oom-rank*.json"))]
    if ooms:
        return {"oom": True, "ranks": ooms, "peak_gib_at_oom": max(o["peak_gib"] for o in ooms),
                "total_gib": ooms[0]["total_gib"], "message": ooms[0]["message"], "launch_wall_s": wall}
    return {"error": f"exit {rc}", "tail": tail, "launch_wall_s": wall}


def row(m: dict) -> dict:
    """The fields of one run in the result JSON."""
    if "tokens_per_s" not in m:
        return m
    keys = ("tokens_per_s", "final_loss", "losses", "step_s", "epoch_time_s", "train_blocks", "peak_gib_per_rank",
            "zero_stage", "optimizer", "activation_checkpointing", "global_batch", "micro_batch", "grad_accum",
            "world_size", "steps", "build_s", "launch_wall_s", "gpu")
    return {"peak_gib_per_gpu": m["peak_gib_max"], **{k: m.get(k) for k in keys}}


def summarise(r: dict) -> dict:
    """<run>_speedup (tokens/s), <run>_mem_ratio (peak GiB per GPU) and max_loss_diff[<run>] (largest
    per-step |loss - single|) of every run against `single`, where both ran."""
    s = r.get("single")
    if not s or "losses" not in s:
        return r
    r["max_loss_diff"] = {}
    for name, m in list(r.items()):
        if not isinstance(m, dict) or "losses" not in m or name == "single":
            continue
        key = name.replace(":", "_").replace(",", "_")
        r[f"{key}_speedup"] = round(m["tokens_per_s"] / s["tokens_per_s"], 3)
        r[f"{key}_mem_ratio"] = round(m["peak_gib_per_gpu"] / s["peak_gib_per_gpu"], 3)
        n = min(len(m["losses"]), len(s["losses"]))
        r["max_loss_diff"][name] = round(max(abs(a - b) for a, b in zip(m["losses"][:n], s["losses"][:n])), 6)
    return r


def code_digest() -> str:
    """sha256 of the code a run executes (the parallel package and the model package: training and the
    modules it builds on, and prepare_model, which draws the random weights)."""
    files = [f for pkg in ("parallel", "model") for f in sorted(Path(SRC, "climatune", pkg).glob("*.py"))]
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def gpu_names() -> list[str]:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [n.strip() for n in out.splitlines() if n.strip()]
    return [names[int(i)] for i in visible.split(",") if i.strip().isdigit()] if visible else names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_argument_group("data and model")
    g.add_argument("--train", required=True, help="train.npy of seq-512 blocks (tokenized by the pipeline)")
    g.add_argument("--tokenizer", required=True, help="tokenizer folder for the random-weight shapes")
    g.add_argument("--shapes", nargs="+", default=["llama-3.2-1b", "llama-3.2-3b"])
    g = ap.add_argument_group("runs")
    g.add_argument("--runs", nargs="+", default=["single", "dp2", "tp2", "pp2"], help="layout[:zeroN,ac,mbN] ...")
    g.add_argument("--global-batch", type=int, default=64, help="sequences per optimizer step, every layout")
    g.add_argument("--micro-batch", type=int, default=4, help="sequences per rank per forward pass")
    g.add_argument("--steps", type=int, default=6, help="optimizer steps per run (the first is not timed)")
    g.add_argument("--lr", type=float, default=1e-5, help="constant learning rate (small: bf16 rounding shows)")
    g.add_argument("--run-timeout", type=int, default=420, help="seconds one launch may take")
    g.add_argument("--deadline", type=float, default=0,
                   help="unix time after which no run starts (0: none); runs left are done by a later call")
    g.add_argument("--fresh", nargs="*", help="rerun these runs (all listed in --runs if none named) even when "
                   "their results are in --work")
    g = ap.add_argument_group("output")
    g.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    g.add_argument("--work", default=".bench-work/parallel", help="models and per-run results (reused)")
    g.add_argument("--out", default="bench/results/parallel_gpu.json")
    a = ap.parse_args()
    env = C.python_env(cpu_only=a.device == "cpu")
    base = {"mode": "full", "zero_stage": 1, "global_batch": a.global_batch, "micro_batch": a.micro_batch,
            "max_steps": a.steps, "lr": a.lr, "schedule": "constant", "warmup_ratio": 0.0, "seed": 1234,
            "precision": "auto", "checkpoint_every": 0}
    # GPU names from nvidia-smi: this process never touches CUDA (a context here would hold GPU 0 memory
    # through every run); the torch/CUDA environment comes from the runs' own records.
    names = gpu_names() if a.device == "cuda" else []
    result = read_json(a.out) if Path(a.out).exists() else {}
    result.update({**C.header(sys.argv, with_environment=False), "settings": base,
                   "gpus": max(parse_layout(r.split(":")[0]).world for r in a.runs), "gpus_on_machine": len(names),
                   "device": f"{len(names)}x {names[0]}" if names else "cpu"})
    code = code_digest()  # a result is reused only by the same code, settings and data
    result["code_digest"] = code
    for shape in a.shapes:
        work = Path(a.work) / shape
        model = C.prepare_random_model(shape, work / "base", a.tokenizer, a.device, env=env)
        r = result.get(shape, {})
        for spec in a.runs:
            layout, cfg = parse_run(spec, base)
            key = hashlib.sha256(json.dumps([cfg, code, a.train, os.path.getsize(a.train)], sort_keys=True)
                                 .encode()).hexdigest()[:10]
            out = work / f"{spec.replace(':', '_').replace(',', '_')}-{key}"
            cached = out / "result.json"
            fresh = a.fresh is not None and (not a.fresh or spec in a.fresh)
            if cached.exists() and not fresh:
                m = read_json(cached)
            elif a.deadline and time.time() > a.deadline:
                print(f"{shape} {spec}: not started (past --deadline); a later call runs it", flush=True)
                continue
            else:
                out.mkdir(parents=True, exist_ok=True)
                m = launch(layout, cfg, model, a.train, out, env, a.run_timeout)
                write_json(cached, m)
            if m.get("environment"):
                result["environment"] = m["environment"]
            r[spec] = row(m)
            print(f"{shape} {spec}: " + (f"{m['tokens_per_s']:.0f} tokens/s, peak {m['peak_gib_max']:.1f} GiB/GPU, "
                                         f"final loss {m['final_loss']:.5f}" if "tokens_per_s" in m else
                                         ("OOM " + m["message"][:160] if m.get("oom") else m["error"] + " " + m["tail"][-800:])),
                  flush=True)
            result[shape] = summarise(r)
            C.write_result(a.out, result, quiet=True)  # after each run: a cut-off call keeps what it measured
        if shape in result:
            table(shape, result[shape])
    print(f"written to {a.out}")
    return 0


def table(shape: str, r: dict) -> None:
    print(f"\n{shape}: {'run':14s}{'tokens/s':>10s}{'peak GiB/GPU':>14s}{'final loss':>12s}{'vs single':>10s}")
    s = r.get("single", {})
    for name, m in r.items():
        if not isinstance(m, dict) or name == "max_loss_diff":
            continue
        if "tokens_per_s" in m:
            sp = f"{m['tokens_per_s'] / s['tokens_per_s']:.2f}x" if "tokens_per_s" in s else ""
            print(f"{'':{len(shape) + 2}s}{name:14s}{m['tokens_per_s']:10.0f}{m['peak_gib_per_gpu']:14.2f}"
                  f"{m['final_loss']:12.5f}{sp:>10s}")
        else:
            print(f"{'':{len(shape) + 2}s}{name:14s}{'OOM' if m.get('oom') else 'failed':>10s}")
    print("max |loss - single| per step:", r.get("max_loss_diff"))


if __name__ == "__main__":
    raise SystemExit(main())
