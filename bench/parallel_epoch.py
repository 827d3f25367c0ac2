"""One epoch of the 26 reference reports with Llama-3.2-3B per DeepSpeed layout, from the measured throughput.

    python bench/parallel_epoch.py --inputs bench/results/parallel_gpu.json bench/results/parallel_gpu4.json \
        --out bench/results/parallel_epoch.json

An epoch is every training block of the tokenized corpus once (train_blocks x seq_len tokens, recorded by
each run); its time is that over the run's measured tokens/s (steady state, the first step excluded). Shown
next to the seed project's 2x A100 figure (337 -> 169 minutes per epoch, single GPU -> 2 GPUs), whose
corpus size and batch are not recorded, so only the ratios compare.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import read_json  # noqa: E402

SEEDS = {"single_min": 337, "two_gpus_min": 169, "speedup": round(337 / 169, 3), "gpus": "2x A100",
         "source": "the seed project's README (multi-GPU run of Llama-3.2-3B)"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", nargs="+", required=True, help="results of bench/parallel_gpu.py")
    ap.add_argument("--shape", default="llama-3.2-3b")
    ap.add_argument("--out", default="bench/results/parallel_epoch.json")
    a = ap.parse_args()
    rows, sources = {}, {}
    for path in a.inputs:
        d = read_json(path)
        runs = {k: m for k, m in d.get(a.shape, {}).items() if isinstance(m, dict) and "tokens_per_s" in m}
        single = runs.get("single")  # speedups only against the single run of the same machine and call
        for name, m in runs.items():
            tokens = m["train_blocks"] * 512
            r = {"epoch_min": round(tokens / m["tokens_per_s"] / 60, 2), "tokens_per_s": m["tokens_per_s"],
                 "peak_gib_per_gpu": m["peak_gib_per_gpu"], "gpus": m["world_size"], "epoch_tokens": tokens,
                 "device": d.get("device"), "source": Path(path).name}
            if single:
                r["speedup"] = round(m["tokens_per_s"] / single["tokens_per_s"], 3)
                r["mem_ratio"] = round(m["peak_gib_per_gpu"] / single["peak_gib_per_gpu"], 3)
            rows[name if name not in rows else f"{name} ({Path(path).stem})"] = r
        sources[Path(path).name] = {"device": d.get("device"), "code": d.get("code")}
    single = rows.get("single")
    C.write_result(a.out, {"shape": a.shape, "layouts": rows, "seeds": SEEDS, "inputs": sources,
                           **C.header(sys.argv, with_environment=False)})
    print(f"{a.shape}, one epoch of {single['epoch_tokens'] if single else '?'} tokens:")
    print(f"  {'layout':24s}{'GPUs':>5s}{'epoch min':>11s}{'speedup':>9s}{'peak GiB/GPU':>14s}{'mem ratio':>11s}")
    for name, r in rows.items():
        print(f"  {name:24s}{r['gpus']:5d}{r['epoch_min']:11.2f}{r.get('speedup', 0):9.2f}{r['peak_gib_per_gpu']:14.1f}"
              f"{r.get('mem_ratio', 0):11.2f}")
    print(f"  seeds (2x A100): {SEEDS['single_min']} -> {SEEDS['two_gpus_min']} min ({SEEDS['speedup']}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
