"""hpo: successive-halving hyper-parameter search over a grid of train settings (default lr x lora_r).

Each trial is its own job (Snakemake wildcards `rung` and `slot`), so a cluster places each on its own GPU.
The stages, a module each: hpo_split (validation documents carved from the training documents; the test
documents are never read), hpo_trial (train one grid point to its rung's steps, resuming the trial it
continues, and score it), hpo_select (keep a rung's best 1/eta), and this one: the settings, the rung
arithmetic shared by all, and the summary, hpo.json (every trial of every rung, the winner) with its plot.

Run alone: python -m climatune.model.hpo results/hpo/rung*/t*/result.json --split results/hpo/data/split.json \
    --out results/hpo/hpo.json --plot results/hpo/hpo.png
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
from dataclasses import dataclass

from .._settings import Section, read_overrides
from .._util import UserError, figure, read_json, setup_logging, write_json
from . import training as T

log = logging.getLogger(__name__)

# train settings a trial may not vary: they fix the data, the batch geometry or the run's length
FIXED = ("max_steps", "epochs", "seq_len", "micro_batch", "effective_batch", "document_masking", "device",
         *T.RUNTIME_KEYS)


@dataclass(frozen=True)
class HpoSettings(Section):
    SECTION = "hpo"
    grid: dict
    eta: int
    rungs: int
    budget: int
    val_ratio: float
    val_blocks: int
    seed: int
    apply: bool

    def __post_init__(self):
        # Snakemake merges a --configfile's grid into the default one, key by key: an empty list (or null)
        # is how a site file removes a default key. A frozen settings object holds the lists as tuples.
        object.__setattr__(self, "grid", {k: tuple(v) for k, v in dict(self.grid).items() if v})


def grid_points(grid: dict) -> list[dict]:
    """Every combination of the grid, in config order (the last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def rung_sizes(n_trials: int, eta: int, rungs: int) -> list[int]:
    """Trials per rung: n, n//eta, ... (rung r keeps the best 1/eta of rung r-1)."""
    return [n_trials // eta**r for r in range(rungs)]


def steps_at(s: HpoSettings, rung: int) -> int:
    """Optimizer steps a trial of `rung` has taken in all when its job ends."""
    return s.budget * s.eta**rung


def check(s: HpoSettings, train: dict) -> list[str]:
    """What is wrong with the hpo settings given the train settings (empty when nothing): checked before
    any job starts."""
    problems, train_keys = [], set(train)
    unknown = sorted(set(s.grid) - set(train_keys))
    fixed = sorted(set(s.grid) & set(FIXED))
    empty = [] if s.grid else ["(all)"]
    if unknown:
        problems.append(f"hpo.grid: {unknown} are not train settings (known: {sorted(set(train_keys) - set(FIXED))})")
    if fixed:
        problems.append(f"hpo.grid: {fixed} cannot vary between trials (they fix the data, batch or length)")
    if empty:
        problems.append(f"hpo.grid: {empty} have no values")
    if not (unknown or fixed or empty):
        sizes = rung_sizes(len(grid_points(s.grid)), s.eta, s.rungs)
        if sizes[-1] < 1:
            problems.append(f"hpo: {len(grid_points(s.grid))} trials keep {sizes} per rung at eta={s.eta}: rung "
                            f"{sizes.index(0)} would be empty; use fewer rungs, a smaller eta or a larger grid")
        warmups = {math.ceil(w * steps_at(s, s.rungs - 1)) for w in s.grid.get("warmup_ratio", [train.get(
            "warmup_ratio", 0.0)])}
        if max(warmups) >= s.budget:
            problems.append(f"hpo: warmup_ratio x {steps_at(s, s.rungs - 1)} steps (the last rung's) = {max(warmups)} "
                            f"warmup steps, not fewer than hpo.budget={s.budget}: rung 0 would rank trials that "
                            "barely trained (the first step runs at lr 0); raise hpo.budget or lower warmup_ratio")
    return problems


# --- the summary ------------------------------------------------------------------------------


def summarize(result_jsons: list, split_json, out_json, out_png, s: HpoSettings) -> dict:
    """hpo.json: every trial of every rung, the rungs' sizes and steps, eta, the winner; and the plot."""
    trials = sorted((read_json(p) for p in result_jsons), key=lambda x: (x["rung"], x["val_loss"]))
    last = [t for t in trials if t["rung"] == s.rungs - 1]
    best = min(last, key=lambda x: (not math.isfinite(x["val_loss"]), x["val_loss"]))
    if not math.isfinite(best["val_loss"]):
        raise UserError(f"hpo: every trial of the last rung diverged (validation loss {best['val_loss']}): no "
                        "winner; lower the learning rates of hpo.grid")
    summary = {"trials": [{k: t[k] for k in ("rung", "slot", "params", "steps", "steps_this_rung", "val_loss",
                                             "train_loss", "seconds", "parent")} for t in trials],
               "rungs": [{"rung": r, "trials": n, "steps": steps_at(s, r)}
                         for r, n in enumerate(rung_sizes(len(grid_points(s.grid)), s.eta, s.rungs))],
               "eta": s.eta, "budget": s.budget, "grid": s.grid,
               "best": {"params": best["params"], "val_loss": best["val_loss"], "steps": best["steps"]},
               "validation": read_json(split_json), "apply": s.apply}
    write_json(out_json, summary)
    plot(trials, out_png)
    log.info("best of %d trials: %s (val loss %.4f after %d steps)", len(grid_points(s.grid)), best["params"],
             best["val_loss"], best["steps"])
    return summary


def _label(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def plot(trials: list[dict], out_png) -> None:
    """Validation loss against steps, one line per grid point (a point per rung it reached), and the
    training loss curves of the last rung's trials."""
    with figure(out_png, 2, (11, 4)) as (_, ax):
        for label in dict.fromkeys(_label(t["params"]) for t in trials):
            pts = sorted((t["steps"], t["val_loss"]) for t in trials if _label(t["params"]) == label)
            ax[0].plot(*zip(*pts), marker="o", label=label)
        ax[0].set(xlabel="optimizer steps", ylabel="validation loss (nats/token)",
                  title="successive halving: validation loss per trial")
        ax[0].legend(fontsize=7)
        last = max(t["rung"] for t in trials)
        for t in trials:
            if t["rung"] == last:
                ax[1].plot(*zip(*t["loss_curve"]) if "loss_curve" in t else ([], []), label=_label(t["params"]))
        ax[1].set(xlabel="optimizer step", ylabel="training loss", title=f"training loss of rung {last}'s trials")
        ax[1].legend(fontsize=7)
        for a in ax:
            a.grid(alpha=0.3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.hpo", description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="result.json of every trial of every rung")
    ap.add_argument("--split", required=True, help="hpo_split's split.json")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot", required=True)
    ap.add_argument("--config", help="hpo settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    summarize(a.results, a.split, a.out, a.plot, HpoSettings.from_dict(read_overrides(a.config)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
