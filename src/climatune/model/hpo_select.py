"""hpo_select: the trials of one rung ranked by validation loss; the best 1/eta go on to the next rung
(the last rung's first is the search's winner).

Run alone: python -m climatune.model.hpo_select results/hpo/rung0/t*/result.json --rung 0 --out results/hpo/rung0/selection.json
"""

from __future__ import annotations

import argparse
import logging
import math

from .._settings import read_overrides
from .._util import read_json, setup_logging, write_json
from .hpo import HpoSettings, grid_points, rung_sizes

log = logging.getLogger(__name__)


def select(result_jsons: list, out_json, s: HpoSettings, rung: int) -> dict:
    """Rank a rung's trials by validation loss (a non-finite loss ranks last); keep the next rung's share."""
    results = [read_json(p) for p in result_jsons]
    # a non-finite loss ranks last; equal losses keep slot order (grid order at rung 0), said in the log
    ranked = sorted(results, key=lambda x: (not math.isfinite(x["val_loss"]), x["val_loss"]))
    ties = len(results) - len({x["val_loss"] for x in results})
    if ties:
        log.warning("rung %d: %d trial(s) tie on validation loss with another; slot order breaks the tie", rung, ties)
    keep = rung_sizes(len(grid_points(s.grid)), s.eta, s.rungs)[rung + 1] if rung + 1 < s.rungs else 1
    sel = {"rung": rung, "ranking": [{k: x[k] for k in ("slot", "params", "val_loss", "steps")} for x in ranked],
           "survivors": [{k: x[k] for k in ("slot", "params", "val_loss", "steps", "run")} for x in ranked[:keep]]}
    write_json(out_json, sel)
    log.info("rung %d: kept %s", rung, [(x["slot"], x["params"], round(x["val_loss"], 4)) for x in ranked[:keep]])
    return sel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.hpo_select", description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="result.json of every trial of the rung")
    ap.add_argument("--rung", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", help="hpo settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    select(a.results, a.out, HpoSettings.from_dict(read_overrides(a.config)), a.rung)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
