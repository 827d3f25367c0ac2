"""The leakage stage on the reference corpus: hashed n-gram overlap against exact word tuples, its time and
memory as the corpus grows, and MinHash LSH pairs against exact all-pairs Jaccard.

    .venv/bin/python bench/leakage_bench.py [--pdf-dir ../shared/corpus/pdfs] [--scales 1 4 10]
                                            [--thresholds 0.1 0.15 0.2 0.3 0.5] [--work /tmp/climatune-leakage-bench]

Texts: every PDF of --pdf-dir extracted whole (climatune.corpus.extract_text.extract_document, max_pages=0)
once into --work/texts, split as the workflow splits them (climatune.corpus.split.assign with config.yaml's
split seed and test_ratio). Settings: config.yaml's leakage section.

1. overlap: held-out n-grams found in the training text by the stage (64-bit hashes: train_ngram_set +
   overlap) and by Python sets of word tuples (exact, no hashing); both must agree. Seconds from one
   untraced run; peak MiB from a second run under tracemalloc (numpy's buffers are traced too).
2. scales: the corpus N times over, copy k with every word suffixed "z<k>" (new vocabulary, so distinct
   n-grams grow N-fold and the share found must stay that of N = 1): the stage's overlap only.
3. minhash: the stage's near_duplicates over all documents at each threshold, against the exact Jaccard of
   every pair of shingle sets: pairs at or above the threshold, found, recall and precision.

Writes bench/results/leakage.json.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (also puts src/ on sys.path)
from climatune.corpus import leakage as L  # noqa: E402

OUT = C.REPO / "bench" / "results" / "leakage.json"


def reference_texts(pdf_dir: Path, work: Path) -> dict[str, str]:
    """{doc: text} of every PDF that extracts, cached under work/texts."""
    from climatune.corpus.extract_text import discover, extract_document

    folder = work / "texts"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for doc, pdf in discover(pdf_dir).items():
        path = folder / f"{doc}.txt"
        if not path.exists():
            res = extract_document(pdf, doc, max_pages=0)
            if res.status != "ok":
                print(f"skipped {doc}: {res.reason}", flush=True)
                continue
            path.write_text(res.text)
        out[doc] = path.read_text()
    return out


def measured(fn):
    """(fn's result, seconds of an untraced run, tracemalloc peak MiB of a second run); the stage's cache
    of word hashes starts empty in both, so both count filling it."""
    L.word_hash.cache_clear()
    t0 = time.perf_counter()
    res = fn()
    seconds = time.perf_counter() - t0
    L.word_hash.cache_clear()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return res, seconds, peak


def hashed(train: list[str], test: list[str], n: int) -> tuple[int, int]:
    return L.overlap(test, L.train_ngram_set(train, n), n)


def tuples(train: list[str], test: list[str], n: int) -> tuple[int, int]:
    grams = set()
    for t in train:
        w = L.words(t)
        grams.update(tuple(w[i : i + n]) for i in range(len(w) - n + 1))
    total = found = 0
    for t in test:
        w = L.words(t)
        g = [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
        total, found = total + len(g), found + sum(x in grams for x in g)
    return total, found


def scaled(texts: list[str], scale: int) -> list[str]:
    """The texts `scale` times over, copy k with every word suffixed z<k> (made before any timing)."""
    return [re.sub(r"[^\W_]+", lambda m: f"{m.group(0)}z{k}", t) if k else t for k in range(scale) for t in texts]


def bench_minhash(texts: dict[str, str], split_of: dict[str, str], s, thresholds) -> list[dict]:
    shingles = {d: L.distinct(L.ngrams(t, s.shingle)) for d, t in texts.items()}
    exact = {(a, b): L.exact_jaccard(shingles[a], shingles[b])[0] for a, b in itertools.combinations(texts, 2)}
    rows = []
    for thr in thresholds:
        st = L.LeakageSettings.from_dict({**s.to_dict(), "threshold": thr})
        t0 = time.perf_counter()
        pairs, candidates, _ = L.near_duplicates(texts.get, split_of, st)
        seconds = time.perf_counter() - t0
        truth = {p for p, j in exact.items() if j >= thr}
        found = {(p["a"], p["b"]) for p in pairs}
        rows.append({"threshold": thr, "exact_pairs": len(truth), "listed_pairs": len(found),
                     "lsh_candidates": candidates, "true_positives": len(truth & found),
                     "recall": round(len(truth & found) / len(truth), 3) if truth else None,
                     "precision": round(len(truth & found) / len(found), 3) if found else None,
                     "cross_split_pairs": sum(p["cross_split"] for p in pairs), "seconds": round(seconds, 3),
                     "pairs": [{k: p[k] for k in ("a", "b", "cross_split", "estimated_jaccard", "exact_jaccard",
                                                  "containment")} for p in pairs]})
    top = sorted(exact.items(), key=lambda kv: -kv[1])[:5]
    rows.append({"closest_pairs_exact": [{"a": a, "b": b, "exact_jaccard": round(j, 4)} for (a, b), j in top]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_argument_group("input")
    g.add_argument("--pdf-dir", type=Path, default=C.REPO.parent / "shared/corpus/pdfs",
                   help="folder of PDFs (default: ../shared/corpus/pdfs)")
    g.add_argument("--work", type=Path, default=Path("/tmp/climatune-leakage-bench"),
                   help="cache of extracted texts")
    g = ap.add_argument_group("what")
    g.add_argument("--scales", type=int, nargs="+", default=[1, 4, 10], help="corpus copies for the overlap")
    g.add_argument("--thresholds", type=float, nargs="+", default=[0.1, 0.15, 0.2, 0.3, 0.5],
                   help="MinHash LSH thresholds compared with exact Jaccard")
    g = ap.add_argument_group("output")
    g.add_argument("--out", type=Path, default=OUT, help="JSON result file")
    a = ap.parse_args(argv)
    if not a.pdf_dir.is_dir():
        print(f"no PDF folder at {a.pdf_dir}; pass --pdf-dir", file=sys.stderr)
        return 2
    from climatune._settings import section
    from climatune.corpus.split import assign

    s = L.LeakageSettings.from_dict()
    texts = reference_texts(a.pdf_dir, a.work)
    sp = assign(list(texts), **{k: section("split")[k] for k in ("seed", "test_ratio")})
    train, test = [texts[d] for d in sp["train"]], [texts[d] for d in sp["test"]]
    words = sum(len(L.words(t)) for t in texts.values())
    result = {**C.header(sys.argv if argv is None else ["leakage_bench.py", *argv]), "settings": s.to_dict(),
              "documents": len(texts), "train_documents": len(train), "test_documents": len(test), "words": words}

    (h_total, h_found), h_s, h_mib = measured(lambda: hashed(train, test, s.ngram))
    (t_total, t_found), t_s, t_mib = measured(lambda: tuples(train, test, s.ngram))
    result["overlap"] = {"hashed": {"ngrams": h_total, "found": h_found, "seconds": round(h_s, 3),
                                    "peak_mib": round(h_mib, 1)},
                         "tuples": {"ngrams": t_total, "found": t_found, "seconds": round(t_s, 3),
                                    "peak_mib": round(t_mib, 1)},
                         "identical": (h_total, h_found) == (t_total, t_found),
                         "pct": L.pct(h_found, h_total)}
    print(f"{words:,} words in {len(texts)} documents ({len(train)} train, {len(test)} held out)\n")
    print(f"{'overlap':8s} {'n-grams':>9s} {'found':>7s} {'%':>6s} {'s':>6s} {'peak MiB':>9s}")
    for name in ("hashed", "tuples"):
        r = result["overlap"][name]
        print(f"{name:8s} {r['ngrams']:9,d} {r['found']:7,d} {L.pct(r['found'], r['ngrams']):6.2f} "
              f"{r['seconds']:6.2f} {r['peak_mib']:9.1f}")
    print(f"identical: {result['overlap']['identical']}\n")

    result["scales"] = []
    print(f"{'scale':>5s} {'words':>11s} {'%':>6s} {'s':>6s} {'Mwords/s':>9s} {'peak MiB':>9s}")
    for n in a.scales:
        big_train, big_test = scaled(train, n), scaled(test, n)
        (total, found), sec, mib = measured(lambda: hashed(big_train, big_test, s.ngram))
        row = {"scale": n, "words": words * n, "pct": L.pct(found, total), "seconds": round(sec, 3),
               "words_per_s": round(words * n / sec), "peak_mib": round(mib, 1)}
        result["scales"].append(row)
        print(f"{n:5d} {row['words']:11,d} {row['pct']:6.2f} {sec:6.2f} {row['words_per_s'] / 1e6:9.2f} {mib:9.1f}")

    split_of = {d: "train" for d in sp["train"]} | {d: "test" for d in sp["test"]}
    result["minhash"] = bench_minhash(texts, split_of, s, a.thresholds)
    print(f"\n{'threshold':>9s} {'exact':>6s} {'listed':>6s} {'recall':>6s} {'prec.':>6s} {'cross':>6s} {'s':>6s}")
    for r in result["minhash"][:-1]:
        rec, prec = (f"{v:6.2f}" if v is not None else f"{'-':>6s}" for v in (r["recall"], r["precision"]))
        print(f"{r['threshold']:9.2f} {r['exact_pairs']:6d} {r['listed_pairs']:6d} {rec} {prec} "
              f"{r['cross_split_pairs']:6d} {r['seconds']:6.2f}")
    C.write_result(a.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
