"""The model stages on a GPU, exactly as the workflow runs them: probe -> finetune -> perplexity.

    python bench/model_stages_gpu.py --train results/tokens/train.npy --test results/tokens/test.npy \
        --tokenizer results/model/base --shapes llama-3.2-1b llama-3.2-3b --out bench/results/model_gpu.json

For each Llama-3.2 shape (random weights: speed and memory behave as with the real ones) this calls
the same functions as the probe, finetune and perplexity rules, with the training settings of
config/ipcc-a100.yaml except the length (--steps optimizer steps), and records the probe table, the
chosen micro-batch, the largest one, the fine-tune throughput and peak memory, and the perplexities.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import read_json, setup_logging  # noqa: E402
from climatune.model import finetune, perplexity, probe  # noqa: E402

REPO = C.REPO


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--shapes", nargs="+", default=["llama-3.2-1b", "llama-3.2-3b"])
    ap.add_argument("--steps", type=int, default=30, help="fine-tune optimizer steps")
    ap.add_argument("--max-micro-batch", type=int, default=512, help="probe.max_micro_batch")
    ap.add_argument("--perplexity-blocks", type=int, default=0, help="score only the first N test blocks (0: all)")
    ap.add_argument("--device", default="cuda", help="cuda; cpu only checks the script on the tiny shape")
    ap.add_argument("--work", default="/tmp/model_stages")
    ap.add_argument("--out", default="bench/results/model_gpu.json")
    a = ap.parse_args()
    setup_logging(None)
    cfg = yaml.safe_load((REPO / "config" / "ipcc-a100.yaml").read_text())
    train_cfg = {**cfg["train"], "max_steps": a.steps, "checkpoint_every": 10 ** 6, "log_every": 5,
                 "device": a.device}
    if a.device == "cpu":
        train_cfg.update(precision="auto", effective_batch=4)
    test = a.test
    if a.perplexity_blocks:
        import numpy as np

        test = str(Path(a.work) / "test_subset.npy")
        Path(a.work).mkdir(parents=True, exist_ok=True)
        np.save(test, np.load(a.test)[: a.perplexity_blocks])
    result = {**C.header(sys.argv), "train_config": train_cfg,
              "probe_config": {**cfg["probe"], "max_micro_batch": a.max_micro_batch}}
    for shape in a.shapes:
        work = Path(a.work) / shape
        t0 = time.perf_counter()
        base = C.prepare_random_model(shape, work / "base", a.tokenizer, a.device)
        times = {"prepare_model_s": round(time.perf_counter() - t0, 1)}
        t0 = time.perf_counter()
        p = cfg["probe"]
        pr = probe.run(base, a.train, work / "probe.json", train_cfg,
                       probe.ProbeSettings.from_dict({**p, "max_micro_batch": a.max_micro_batch}),
                       out_png=work / "probe.png")
        times["probe_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        ft = finetune.run(base, a.train, work / "finetune", train_cfg, probe_json=work / "probe.json",
                          merged_dir=work / "merged")
        times["finetune_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        pp = perplexity.run(test, {"base": str(base), "tuned": str(work / "merged")}, work / "perplexity.json",
                            perplexity.PerplexitySettings.from_dict(
                                {"batch_size": cfg["perplexity"]["batch_size"], "bootstrap": 1000,
                                 "precision": "bf16" if a.device == "cuda" else "auto"}), device=a.device)
        times["perplexity_s"] = round(time.perf_counter() - t0, 1)
        result[shape] = {
            "chosen_micro_batch": pr["chosen"]["micro_batch"],
            "max_micro_batch": pr["largest_micro_batch"],
            "tokens_per_s": ft["tokens_per_s_median"],
            "peak_gib": ft["peak_gib"],
            "gpu": result["environment"].get("gpu"),
            "probe": {k: pr[k] for k in ("budget_gib", "max_micro_batch", "chosen", "tries")},
            "finetune": {k: ft[k] for k in ("steps", "micro_batch", "grad_accum", "effective_batch",
                                             "gradient_checkpointing", "loss", "first_loss", "final_loss")},
            "train_log": (work / "finetune" / "train_log.csv").read_text(),
            "perplexity": {k: pp[k] for k in ("base", "tuned", "tokens", "drop_pct")},
            "stage_seconds": times,
        }
        C.write_result(a.out, result)
        r = result[shape]
        print(f"\n{shape}: chosen micro-batch {r['chosen_micro_batch']} (checkpointing "
              f"{'on' if pr['chosen']['gradient_checkpointing'] else 'off'}), largest {r['max_micro_batch']}, "
              f"{r['tokens_per_s']:.0f} tokens/s, peak {r['peak_gib']:.1f} GiB; perplexity "
              f"{pp['base']['perplexity']:.1f} -> {pp['tuned']['perplexity']:.1f}; {times}")
        print(f"{'mb':>6s}{'ckpt':>6s}{'fits':>6s}{'peak GiB':>10s}{'tokens/s':>10s}")
        for t in pr["tries"]:
            print(f"{t['micro_batch']:6d}{'on' if t['gradient_checkpointing'] else 'off':>6s}{str(t['fits']):>6s}"
                  f"{t['peak_gib'] or 0:10.1f}{t['tokens_per_s'] or 0:10.0f}")
    read_json(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
