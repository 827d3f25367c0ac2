"""parallel_report: every layout against the single-process run -> results/parallel/metrics.json + plot.

For each layout: tokens/s and the speedup over "single", the epoch-time estimate, the largest per-rank
peak memory and its ratio to the single run's peak, the largest loss difference from the single run
over the steps (the layouts train on identical global batches, so their curves should coincide up to
floating-point reduction order), and the held-out perplexity of the model it wrote.

Run alone: python -m climatune.parallel.report results/parallel/*/metrics.json --perplexity \
           results/eval/parallel/*.json --out results/parallel/metrics.json --plot results/parallel/parallel.png
"""

from __future__ import annotations

import argparse
import logging

from .._util import figure, read_json, setup_logging, write_json

log = logging.getLogger(__name__)

ROW_KEYS = ("world_size", "dp", "tp", "pp", "mode", "zero_stage", "tokens_per_s", "epoch_time_s", "elapsed_s",
            "peak_gib_per_rank", "peak_gib_max", "final_loss", "losses", "device", "dtype", "steps")


def compare(layouts: dict, perplexity: dict | None = None) -> dict:
    """`layouts`: metrics.json of each layout by name; `perplexity`: {layout: {perplexity, ci95, ...}}."""
    base = layouts.get("single")
    out = {"layouts": {}, "baseline": "single" if base else None}
    for name, m in layouts.items():
        row = {k: m.get(k) for k in ROW_KEYS}
        if perplexity and name in perplexity:
            row["perplexity"] = perplexity[name]["perplexity"]
            row["perplexity_ci95"] = perplexity[name]["ci95"]
        if base:
            row["speedup"] = round(m["tokens_per_s"] / base["tokens_per_s"], 3)
            row["mem_ratio"] = round(m["peak_gib_max"] / base["peak_gib_max"], 3)
            n = min(len(m["losses"]), len(base["losses"]))
            row["max_loss_diff"] = round(max(abs(a - b) for a, b in zip(m["losses"][:n], base["losses"][:n])), 6)
        out["layouts"][name] = row
    return out


def run(metrics_jsons: list, out_json, out_png=None, perplexity_jsons: list | None = None) -> dict:
    ppl = {}
    for p in perplexity_jsons or []:
        d = read_json(p)
        ppl.update({k: v for k, v in d.items() if isinstance(v, dict) and "perplexity" in v})
    result = compare({m["layout"]: m for m in map(read_json, metrics_jsons)}, ppl)
    write_json(out_json, result)
    for name, r in result["layouts"].items():
        log.info("%-8s %8.0f tokens/s  speedup %s  peak %.2f GiB/rank  final loss %.5f  max |dloss| %s  "
                 "perplexity %s", name, r["tokens_per_s"], r.get("speedup"), r["peak_gib_max"], r["final_loss"],
                 r.get("max_loss_diff"), r.get("perplexity"))
    if out_png:
        plot(result, out_png)
    return result


def plot(result: dict, out_png) -> None:
    rows = result["layouts"]
    names = list(rows)
    with figure(out_png, 4, (18, 3.8)) as (_, ax):
        ax[0].bar(names, [rows[n]["tokens_per_s"] for n in names], color="tab:blue")
        for i, n in enumerate(names):
            if "speedup" in rows[n]:
                ax[0].text(i, rows[n]["tokens_per_s"], f"{rows[n]['speedup']:.2f}x", ha="center", va="bottom",
                           fontsize=8)
        ax[0].set(ylabel="tokens/s", title="throughput (speedup over single)")
        ax[1].bar(names, [rows[n]["peak_gib_max"] for n in names], color="tab:orange")
        ax[1].set(ylabel="GiB", title="peak memory of the largest rank")
        for n in names:
            ax[2].plot(range(1, len(rows[n]["losses"]) + 1), rows[n]["losses"], marker="o", ms=3, label=n)
        ax[2].set(xlabel="optimizer step", ylabel="loss", title="loss on identical global batches")
        ax[2].legend(fontsize=8)
        with_ppl = [n for n in names if "perplexity" in rows[n]]
        if with_ppl:
            vals = [rows[n]["perplexity"] for n in with_ppl]
            err = [[v - rows[n]["perplexity_ci95"][0] for n, v in zip(with_ppl, vals)],
                   [rows[n]["perplexity_ci95"][1] - v for n, v in zip(with_ppl, vals)]]
            ax[3].bar(with_ppl, vals, yerr=err, color="tab:green", capsize=4)
        ax[3].set(ylabel="perplexity", title="held-out perplexity of each model (95% CI)")
        for a in ax:
            a.grid(alpha=0.3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.parallel.report", description=__doc__.splitlines()[0])
    ap.add_argument("metrics", nargs="+")
    ap.add_argument("--perplexity", nargs="*", default=[])
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.metrics, a.out, a.plot, a.perplexity)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
