"""leakage: how much of the held-out text is already in the training text, before any training.

Words. Text is Unicode-normalised (NFKC: ligatures, full-width and superscript forms become plain
characters), lower-cased, and cut into words = maximal runs of Unicode letters and digits (regex
`[^\\W_]+`); all else (punctuation, symbols, underscores, whitespace) separates words and is dropped:
"Sea-level rise (1.5°C)" is [sea, level, rise, 1, 5, c]; line breaks, hyphens or quotes hide no match.

13-grams. Every run of `ngram` (13) consecutive words of a document, one per position (a repeated
n-gram counts each time), hashed to 64 bits: a word is blake2b(word, 8 bytes), an n-gram the polynomial
sum of its word hashes mod 2^64 (numpy). The training side is one sorted array of its distinct n-gram
hashes (8 bytes each; its text is not kept). `test_13gram_in_train_pct` is 100 x (held-out n-grams whose
hash is in that array) / (held-out n-grams), pooled over the held-out documents; the same per held-out
document (`per_test_document`) and per block of results/tokens/test.npy (`test_block_13gram_pct`, in
block order): a block is decoded with the tokenizer that packed it, cut at its EOS tokens (n-grams never
span two documents), and its words' n-grams looked up; a word cut by the block's edge counts as its
fragment. Fewer than `ngram` words: no n-gram, 0.0. The keys say 13gram for any `ngram`.

Near duplicates. Each document's set of word `shingle`-grams (5, hashed as above) gets a MinHash
(datasketch, `num_perm` permutations, scheme affine64); MinHashLSH at `threshold` proposes pairs among
all documents, and `near_duplicate_pairs` lists those whose estimated Jaccard is at least `threshold`,
with the exact Jaccard and containment (shared shingles over the smaller set) from the two texts, and
`cross_split` (one train, one test: the dangerous case). Each held-out document also gets its closest
training document by estimated Jaccard (`nearest_train`). Memory: the training n-gram array and
8 x `num_perm` bytes per document; texts are read when needed.

Run alone: python -m climatune.corpus.leakage SPLIT.json TEXT_DIR --out leakage.json --plot leakage.png
           [--tokens test.npy --meta meta.json --model MODEL_DIR] [--config '{"threshold": 0.5}']
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .._settings import Section, read_overrides
from .._util import figure, read_json, setup_logging, write_json

log = logging.getLogger(__name__)

WORD = re.compile(r"[^\W_]+")
PRIME = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial n-gram hash (wraps mod 2^64)
MINHASH_CHUNK = 8192  # shingles per MinHash update: the permuted values of one chunk exist at a time


@dataclass(frozen=True)
class LeakageSettings(Section):
    """`leakage:` of config/config.yaml."""

    SECTION = "leakage"
    ngram: int
    shingle: int
    num_perm: int
    threshold: float


def words(text: str) -> list[str]:
    """The normalised word tokens of `text` (NFKC, lower-case, runs of letters and digits)."""
    return WORD.findall(unicodedata.normalize("NFKC", text).lower())


@functools.lru_cache(maxsize=1 << 20)
def word_hash(word: str) -> int:
    """blake2b of a word, 8 bytes (cached: a corpus repeats its vocabulary)."""
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def ngrams(text: str, n: int) -> np.ndarray:
    """64-bit hash of the word n-gram starting at each word position of `text` (empty below n words)."""
    w = np.fromiter((word_hash(x) for x in words(text)), dtype=np.uint64)
    count = len(w) - n + 1
    h = np.zeros(max(count, 0), dtype=np.uint64)
    for j in range(n if count > 0 else 0):  # uint64 arithmetic wraps: the polynomial mod 2^64
        h = h * PRIME + w[j : j + count]
    return h


def distinct(h: np.ndarray) -> np.ndarray:
    """Sorted distinct values of `h`: np.sort and a mask (numpy 2.4's np.unique is ~50x slower on uint64)."""
    h = np.sort(h)
    return h[np.concatenate(([True], h[1:] != h[:-1]))] if len(h) else h


def pct(found: int, total: int) -> float:
    return round(100.0 * found / total, 4) if total else 0.0


def train_ngram_set(texts: Iterable[str], n: int) -> np.ndarray:
    """Sorted distinct n-gram hashes of the training texts (at the peak ~3 x 8 bytes per distinct n-gram
    of a document, summed over the documents; their text is read one at a time)."""
    parts = [distinct(ngrams(t, n)) for t in texts]
    return distinct(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def overlap(texts: Iterable[str], train: np.ndarray, n: int) -> tuple[int, int]:
    """(n-grams, n-grams found in the sorted array `train`) summed over `texts`, each text's n-grams apart."""
    total = found = 0
    for t in texts:
        h = ngrams(t, n)
        if len(h) and len(train):  # binary search of each n-gram's hash
            found += int(np.count_nonzero(train[np.minimum(np.searchsorted(train, h), len(train) - 1)] == h))
        total += len(h)
    return total, found


def block_texts(blocks: np.ndarray, eos_id: int, tok) -> Iterator[list[str]]:
    """Each block's text, one string per stretch between EOS tokens (the documents it holds)."""
    for row in blocks:
        ids = np.asarray(row, dtype=np.int64)
        pieces = [p[p != eos_id] for p in np.split(ids, np.flatnonzero(ids == eos_id))]
        yield tok.batch_decode([p.tolist() for p in pieces if len(p)])


def block_pcts(tokens_npy, meta_json, model_dir, train: np.ndarray, n: int) -> list[float]:
    """% of each test block's n-grams found in the training set, in test.npy's block order."""
    from .tokenize import load_tokenizer

    blocks = np.load(tokens_npy, mmap_mode="r")
    eos_id = read_json(meta_json)["eos_id"]
    tok = load_tokenizer(model_dir)
    out = []
    for pieces in block_texts(blocks, eos_id, tok):  # one block read from the memory map at a time
        total, found = overlap(pieces, train, n)
        out.append(pct(found, total))
    return out


def minhash(shingles: np.ndarray, num_perm: int):
    """datasketch MinHash (affine64) of a set of 64-bit shingle hashes, updated in chunks."""
    from datasketch import MinHash

    m = MinHash(num_perm=num_perm, seed=1, scheme="affine64", hashfunc=int)
    for i in range(0, len(shingles), MINHASH_CHUNK):
        m.update_batch(shingles[i : i + MINHASH_CHUNK].tolist())
    return m


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two sets of distinct hashes."""
    inter, small = len(np.intersect1d(a, b, assume_unique=True)), min(len(a), len(b))
    return (inter / (len(a) + len(b) - inter), inter / small) if small else (0.0, 0.0)


def near_duplicates(read: Callable[[str], str], split_of: dict[str, str],
                    s: LeakageSettings) -> tuple[list[dict], int, dict]:
    """Near-duplicate pairs among the documents of `split_of` (text: `read(doc)`) by MinHash LSH (see the
    module doc); returns (pairs, LSH candidates, each document's MinHash). Documents with no shingle
    (fewer words than `shingle`) take no part."""
    from datasketch import MinHashLSH

    def shingles(d: str) -> np.ndarray:
        return distinct(ngrams(read(d), s.shingle))

    sketches = {d: minhash(sh, s.num_perm) for d in split_of if len(sh := shingles(d))}
    lsh = MinHashLSH(threshold=s.threshold, num_perm=s.num_perm)
    for d, m in sketches.items():
        lsh.insert(d, m)
    candidates = sorted({tuple(sorted((d, o))) for d, m in sketches.items() for o in lsh.query(m) if o != d})
    pairs = []
    for a, b in candidates:
        est = sketches[a].jaccard(sketches[b])
        if est < s.threshold:
            continue
        jac, cont = exact_jaccard(shingles(a), shingles(b))
        pairs.append({"a": a, "b": b, "split_a": split_of[a], "split_b": split_of[b],
                      "cross_split": split_of[a] != split_of[b], "estimated_jaccard": round(est, 4),
                      "exact_jaccard": round(jac, 4), "containment": round(cont, 4)})
    pairs.sort(key=lambda p: (-p["exact_jaccard"], p["a"], p["b"]))
    return pairs, len(candidates), sketches


def nearest_train(sketches: dict, split_of: dict[str, str]) -> dict[str, dict]:
    """Each held-out document's closest training document by estimated Jaccard (all train x test pairs,
    compared as arrays of MinHash values), also when below the threshold; None when none shares a value."""
    train = [d for d in sketches if split_of[d] == "train"]
    if not train:
        return {}
    values = np.stack([sketches[d].hashvalues for d in train])
    out = {}
    for d in (d for d in sketches if split_of[d] == "test"):
        est = (values == sketches[d].hashvalues).mean(axis=1)
        out[d] = {"doc": train[int(np.argmax(est))] if est.max() > 0 else None,
                  "estimated_jaccard": round(float(est.max()), 4)}
    return out


def plot(result: dict, out_png) -> None:
    """Per held-out document: % of its n-grams found in training, and its closest training document by
    MinHash; then the near-duplicate pairs (exact Jaccard bars, estimate ticks, red across the split)."""
    docs, pairs = result["per_test_document"], result["near_duplicate_pairs"]
    names, thr = list(docs), result["minhash"]["threshold"]
    pcts = [docs[d]["pct"] for d in names]
    with figure(out_png, 3, (19, 1.6 + 0.32 * max(len(docs), len(pairs), 4))) as (_, ax):
        ax[0].barh(names, pcts, color="tab:blue")
        for y, v in enumerate(pcts):
            ax[0].text(v, y, f" {v:.1f}", va="center", fontsize=7)
        ax[0].axvline(result["test_13gram_in_train_pct"], color="black", ls="--",
                      label=f"all held-out text: {result['test_13gram_in_train_pct']:.1f}%")
        ax[0].set(xlabel=f"% of its word {result['ngram']}-grams found in the training text",
                  title="held-out documents", xlim=(0, max(5.0, 1.2 * max(pcts, default=0))))
        near = [docs[d].get("nearest_train") or {"doc": None, "estimated_jaccard": 0.0} for d in names]
        ax[1].barh(range(len(names)), [n["estimated_jaccard"] for n in near], color="tab:orange")
        for y, n in enumerate(near):
            label = f" {n['doc']} ({n['estimated_jaccard']:.2f})" if n["doc"] else " none"
            ax[1].text(n["estimated_jaccard"], y, label, va="center", fontsize=6)
        ax[1].set(yticks=[], xlim=(0, 1), title="closest training document (MinHash)",
                  xlabel=f"estimated Jaccard of word {result['minhash']['shingle']}-gram sets")
        ys = range(len(pairs))
        ax[2].barh(ys, [p["exact_jaccard"] for p in pairs],
                   color=["tab:red" if p["cross_split"] else "lightgray" for p in pairs])
        ax[2].plot([p["estimated_jaccard"] for p in pairs], ys, "k|", ms=12, label="MinHash estimate")
        for y, p in zip(ys, pairs):
            ax[2].text(0.01, y, f"{p['a']} × {p['b']} (containment {p['containment']:.2f})", va="center",
                       fontsize=6)
        if pairs:
            ax[2].legend(fontsize=8)
        else:
            ax[2].text(0.5, 0.5, f"no pair at Jaccard ≥ {thr}", ha="center", va="center", transform=ax[2].transAxes)
        ax[2].set(xlabel="exact Jaccard (red: one training, one held-out document)", xlim=(0, 1), yticks=[],
                  title=f"near-duplicate pairs ({result['cross_split_pairs']} cross the split)")
        ax[0].legend(fontsize=8)
        for a in ax:
            a.invert_yaxis()
            a.grid(alpha=0.3, axis="x")
        for a in ax[1:]:
            a.axvline(thr, color="black", ls=":")


def run(split, text_dir, out, plot_png=None, settings: LeakageSettings | None = None, tokens_npy=None,
        meta_json=None, model_dir=None) -> dict:
    """Measure leakage of `split` (split.json) over `text_dir`/<doc>.txt and write `out` (and the plot).
    With `tokens_npy`, `meta_json` and `model_dir` (test.npy, meta.json and the tokenizer that packed it)
    also the per-block list `test_block_13gram_pct`; `settings`: config.yaml's `leakage:`."""
    s = settings or LeakageSettings.from_dict()
    sp = read_json(split)
    split_of = {d: "train" for d in sp["train"]} | {d: "test" for d in sp["test"]}

    def text(d: str) -> str:
        return (Path(text_dir) / f"{d}.txt").read_text()

    t0 = time.perf_counter()
    train = train_ngram_set((text(d) for d in sp["train"]), s.ngram)
    per_doc, total, found = {}, 0, 0
    for d in sp["test"]:
        n_d, f_d = overlap([text(d)], train, s.ngram)
        per_doc[d] = {"ngrams": n_d, "in_train": f_d, "pct": pct(f_d, n_d)}
        total, found = total + n_d, found + f_d
    t_ngrams = time.perf_counter() - t0
    result = {"ngram": s.ngram, "test_13gram_in_train_pct": pct(found, total), "test_ngrams": total,
              "test_ngrams_in_train": found, "train_distinct_ngrams": len(train), "per_test_document": per_doc}
    if tokens_npy is not None:
        blocks = block_pcts(tokens_npy, meta_json, model_dir, train, s.ngram)
        result |= {"test_block_13gram_pct": blocks, "test_blocks": len(blocks),
                   "test_block_pct_mean": round(float(np.mean(blocks)), 4) if blocks else 0.0}
    t1 = time.perf_counter()
    pairs, candidates, sketches = near_duplicates(text, split_of, s)
    for d, near in nearest_train(sketches, split_of).items():
        per_doc[d]["nearest_train"] = near
    result |= {"near_duplicate_pairs": pairs, "cross_split_pairs": sum(p["cross_split"] for p in pairs),
               "minhash": {"shingle": s.shingle, "num_perm": s.num_perm, "threshold": s.threshold,
                           "lsh_candidates": candidates, "documents": len(split_of)},
               "seconds": {"ngrams": round(t_ngrams, 3), "blocks": round(t1 - t0 - t_ngrams, 3),
                           "minhash": round(time.perf_counter() - t1, 3)}}
    write_json(out, result)
    if plot_png:
        plot(result, plot_png)
    log.info("%.2f%% of %d held-out %d-grams are in the training text; %d near-duplicate pair(s) at Jaccard >= "
             "%s, %d across the split; %.2fs", result["test_13gram_in_train_pct"], total, s.ngram, len(pairs),
             s.threshold, result["cross_split_pairs"], time.perf_counter() - t0)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.leakage", description=__doc__.splitlines()[0])
    ap.add_argument("split", help="split.json (train/test document ids)")
    ap.add_argument("text_dir", help="folder of <doc>.txt (results/corpus/text)")
    ap.add_argument("--out", required=True, help="leakage.json to write")
    ap.add_argument("--plot", help="PNG to write")
    ap.add_argument("--tokens", help="test.npy: also the per-block list (needs --meta and --model)")
    ap.add_argument("--meta", help="meta.json of the tokens (its eos_id)")
    ap.add_argument("--model", help="folder of the tokenizer that packed test.npy (results/model/base)")
    ap.add_argument("--config", help="overrides of config.yaml's leakage: section, JSON or a .json/.yaml file")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    if a.tokens and not (a.meta and a.model):
        ap.error("--tokens needs --meta and --model")
    setup_logging(a.log)
    overrides = read_overrides(a.config)
    if isinstance(overrides.get("leakage"), dict):  # a whole config: its leakage section
        overrides = overrides["leakage"]
    run(a.split, a.text_dir, a.out, a.plot, LeakageSettings.from_dict(overrides), a.tokens, a.meta, a.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
