"""Check that every layout's loss curve matches `single` step by step (GPU, bf16 with fp32 master weights).

    python bench/parallel_loss_check.py bench/results/parallel_gpu.json [more.json ...] [--tolerance 2e-3]

Reads results of bench/parallel_gpu.py, compares each run's per-step loss with the `single` run of the
same shape (both trained on identical global batches), prints a table, writes the verdict into each JSON
under "loss_check" and exits 1 if any run differs by more than the tolerance at any step. A shape
without a `single` run (the 8B shape, which no single GPU holds) is checked against its first run that
trained.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)
from climatune._util import read_json  # noqa: E402


def tables(result: dict, prefix: str = ""):
    """(name, runs) of every shape's table, also those nested under "repeat" or "earlier_*"."""
    for key, val in result.items():
        if not isinstance(val, dict) or key in ("loss_check", "environment", "settings"):
            continue
        if any(isinstance(v, dict) and "losses" in v for v in val.values()):
            yield prefix + key, val
        else:
            yield from tables(val, f"{prefix}{key}/")


def check(result: dict, tol: float) -> dict:
    verdict = {"tolerance": tol, "shapes": {}, "passed": True}
    for shape, runs in tables(result):
        trained = {k: v for k, v in runs.items() if isinstance(v, dict) and isinstance(v.get("losses"), list)}
        if len(trained) < 2:
            continue
        ref = "single" if "single" in trained else next(iter(trained))
        rows = {}
        for name, m in trained.items():
            if name == ref:
                continue
            n = min(len(m["losses"]), len(trained[ref]["losses"]))
            diffs = [abs(a - b) for a, b in zip(m["losses"][:n], trained[ref]["losses"][:n])]
            rows[name] = {"max_diff": round(max(diffs), 6), "steps": n, "passed": max(diffs) <= tol}
            verdict["passed"] &= rows[name]["passed"]
        verdict["shapes"][shape] = {"reference": ref, "runs": rows}
    return verdict


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="JSON files written by bench/parallel_gpu.py")
    ap.add_argument("--tolerance", type=float, default=2e-3, help="largest allowed |loss - reference| per step")
    a = ap.parse_args()
    ok = True
    for path in a.results:
        result = read_json(path)
        v = check(result, a.tolerance)
        result["loss_check"] = v
        C.write_result(path, result)
        for shape, s in v["shapes"].items():
            print(f"{path} {shape} (against {s['reference']}):")
            for name, r in s["runs"].items():
                print(f"  {name:16s} max |dloss| {r['max_diff']:.6f} over {r['steps']} steps  "
                      f"{'ok' if r['passed'] else 'FAIL'}")
        ok &= v["passed"]
    print("all loss curves agree within", a.tolerance if ok else f"{a.tolerance}: NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
