"""parallel_perplexity: held-out perplexity of the model one DeepSpeed layout wrote, scored exactly as
the perplexity stage scores the base and fine-tuned models (climatune.model.perplexity).

Run alone: python -m climatune.parallel.perplexity results/tokens/test.npy --layout dp2 \
           --model results/parallel/dp2/model --out results/eval/parallel/dp2.json
"""

from __future__ import annotations

import argparse

from .._settings import read_overrides, section
from .._util import setup_logging
from ..model import perplexity


def run(test_npy, layout: str, model_dir, out_json, settings: dict, seed: int, leakage_json=None) -> dict:
    """`settings`: config.yaml's `perplexity:` (batch_size, precision, bootstrap, drop_leaky_above)."""
    return perplexity.run(test_npy, {layout: str(model_dir)}, out_json,
                          perplexity.PerplexitySettings.from_dict(dict(settings)), seed=seed, leakage_json=leakage_json)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.parallel.perplexity", description=__doc__.splitlines()[0])
    ap.add_argument("test_npy")
    ap.add_argument("--layout", required=True)
    ap.add_argument("--model", required=True, help="results/parallel/<layout>/model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--config", help="perplexity settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--seed", type=int, help="bootstrap seed (default: config.yaml's train.seed)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    seed = a.seed if a.seed is not None else section("train")["seed"]
    run(a.test_npy, a.layout, a.model, a.out, section("perplexity", read_overrides(a.config)), seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
