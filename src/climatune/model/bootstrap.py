"""Bootstrap intervals of perplexity over clustered units: two-stage cluster bootstrap (resample clusters,
the held-out documents, with replacement; then resample the units, each document's block pieces, with
replacement inside every drawn cluster), percentile intervals.

Blocks of one document share its topic, style and vocabulary, so their NLLs are correlated; resampling
blocks as if independent gives intervals that are too narrow, the more so the fewer documents are held
out. The document is the unit that was sampled (the split holds out documents), so it is the first
stage. Perplexity of a resample is exp(sum NLL / sum tokens) over the drawn units (a ratio estimator:
pieces of any size weigh by their tokens). All models are scored on the same resamples, so differences
between them (the drop, as-trained vs merged) get paired intervals. With one unit per cluster this is the
ordinary bootstrap of the units (`cluster` = their own index).
"""

from __future__ import annotations

import numpy as np

METHOD = "two-stage cluster bootstrap percentile"


def resample_indices(cluster: np.ndarray, samples: int, seed: int):
    """For each of `samples` resamples, the indices of the units drawn: as many clusters as there are,
    with replacement, then as many units as a drawn cluster holds, with replacement, from that cluster."""
    cluster = np.asarray(cluster)
    order = np.argsort(cluster, kind="stable")
    _, counts = np.unique(cluster[order], return_counts=True)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rng = np.random.default_rng(seed)
    for _ in range(samples):
        pick = rng.integers(0, len(counts), size=len(counts))
        n = counts[pick]
        within = (rng.random(int(n.sum())) * np.repeat(n, n)).astype(np.int64)
        yield order[np.repeat(offsets[pick], n) + within]


def resampled_ppl(nll: dict[str, np.ndarray], tokens: np.ndarray, cluster: np.ndarray, samples: int,
                  seed: int) -> dict[str, np.ndarray]:
    """Perplexity of every model (name -> NLL per unit) on the same two-stage resamples, [samples] each."""
    out = {name: np.empty(samples) for name in nll}
    for k, idx in enumerate(resample_indices(cluster, samples, seed)):
        t = tokens[idx].sum()
        for name, v in nll.items():
            out[name][k] = np.exp(v[idx].sum() / t)
    return out


def interval(values: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of bootstrap values."""
    a = 100 * (1 - level) / 2
    return [float(np.percentile(values, a)), float(np.percentile(values, 100 - a))]


def description(level: float, unit: str, inner: str, samples: int, seed: int) -> str:
    """What interval_method says in the JSON."""
    if unit == "block":
        return (f"bootstrap percentile over blocks, {level:.0%} ({samples} resamples, seed {seed}; no document "
                "boundaries were found, so each block stands for its own document)")
    return (f"{METHOD}, {level:.0%}: {unit}s with replacement, then the {inner} of each drawn {unit} with "
            f"replacement ({samples} resamples, seed {seed}); paired across models")
