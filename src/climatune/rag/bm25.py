"""BM25, the lexical baseline: a bm25s index over the chunk texts, built by the rag_index stage for
index type `bm25` and searched through search.Searcher.

Tokens are lower-cased words of two or more characters and numbers with their decimals ("3.7", "1,5";
bm25s's default pattern would drop "3.7" and every one-digit number, which factual questions about
reports need). English stopwords are dropped (bm25s's "en" list) and each word is reduced to its
Snowball stem ("warming" and "warm" match) unless `stemmer: none`; the stemmer is nltk's English
Snowball stemmer, the algorithm bm25s's recommended PyStemmer implements. How the index was tokenised
is saved beside it, so queries are always tokenised the same way. A chunk that shares no term with
the query scores 0 and is not returned: an empty result says "nothing matches", not "these ten".

Run alone: python -m climatune.rag.bm25 chunks.jsonl --out bm25/ [--params '{"k1": 1.2}'] [--query "sea level"]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from .._settings import default
from .._util import UserError, read_json, setup_logging, write_json
from .chunk import read_chunks

log = logging.getLogger(__name__)

TOKEN_PATTERN = r"(?u)\d+(?:[.,]\d+)*|\b\w\w+\b"
STOPWORDS = "en"
STEMMERS = ("snowball", "none")
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
TOKENIZER_FILE = "tokenizer.json"  # how the index was tokenised, next to bm25s's own files


class BM25ParamError(UserError):
    """BM25 settings that bm25s cannot use."""


def check_params(params: dict | None) -> dict:
    """config.yaml's rag.bm25 with `params` on top, or BM25ParamError naming every problem."""
    base = default("rag", "bm25")
    params = params or {}
    unknown = sorted(set(params) - set(base))
    p = {**base, **{k: v for k, v in params.items() if k in base}}
    errors = [f"rag.bm25: unknown key(s) {unknown}; known: {sorted(base)}"] if unknown else []
    if p["method"] not in METHODS:
        errors.append(f"rag.bm25.method must be one of {', '.join(METHODS)}, got {p['method']!r}")
    if p["stemmer"] not in STEMMERS:
        errors.append(f"rag.bm25.stemmer must be one of {', '.join(STEMMERS)}, got {p['stemmer']!r}")
    if not p["k1"] >= 0 or not 0 <= p["b"] <= 1:
        errors.append(f"rag.bm25 needs k1 >= 0 and 0 <= b <= 1, got k1={p['k1']}, b={p['b']}")
    if errors:
        raise BM25ParamError("; ".join(errors))
    return p


def stemmer(name: str):
    """A function from a list of words to their stems (what bm25s.tokenize calls), or None."""
    if name == "none":
        return None
    from nltk.stem.snowball import SnowballStemmer

    snowball = SnowballStemmer("english")
    return lambda words: [snowball.stem(w) for w in words]


def tokenize(texts: list[str], stem=None) -> list[list[str]]:
    """The terms of each text, as the index and its queries see them (see the module's docstring)."""
    import bm25s

    return bm25s.tokenize(list(texts), token_pattern=TOKEN_PATTERN, stopwords=STOPWORDS, stemmer=stem,
                          return_ids=False, show_progress=False)


def build(texts: list[str], params: dict | None = None):
    """A bm25s.BM25 over `texts` (document i is texts[i]); parameters as check_params merges them."""
    import bm25s

    p = check_params(params)
    index = bm25s.BM25(k1=p["k1"], b=p["b"], method=p["method"])
    index.index(tokenize(texts, stemmer(p["stemmer"])), show_progress=False)
    return index


def save(index, out_dir, params: dict | None = None) -> int:
    """Write a built index (bm25s's own files) and how it was tokenised into `out_dir`; its size in bytes."""
    p = check_params(params)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index.save(str(out), show_progress=False)
    write_json(out / TOKENIZER_FILE, {"stemmer": p["stemmer"], "stopwords": STOPWORDS, "token_pattern": TOKEN_PATTERN})
    return sum(f.stat().st_size for f in out.iterdir())


class BM25Index:
    """A saved BM25 index, searched by query text: search(texts, k) -> chunk ids, best first."""

    def __init__(self, path):
        import bm25s

        path = Path(path)
        if not (path / TOKENIZER_FILE).is_file():
            raise BM25ParamError(f"{path} is not a BM25 index folder (no {TOKENIZER_FILE}); build it with "
                                 "python -m climatune.rag.index chunks.jsonl --type bm25 --out DIR")
        self.info = read_json(path / TOKENIZER_FILE)
        self.index = bm25s.BM25.load(str(path), show_progress=False)
        self.stem = stemmer(self.info["stemmer"])
        self.ntotal = int(self.index.scores["num_docs"])

    def search(self, texts: list[str], k: int) -> list[list[int]]:
        """The k best-scoring chunks of each text (fewer where fewer share a term with it)."""
        if not texts:
            return []
        k = min(k, self.ntotal)
        docs, scores = self.index.retrieve(tokenize(texts, self.stem), k=k, show_progress=False)
        return [[int(d) for d, s in zip(row, srow) if s > 0] for row, srow in zip(docs, scores)]


def run(chunks_jsonl, out_dir, params: dict | None = None) -> dict:
    """Build the BM25 index of every chunk into `out_dir` and its description into `out_dir`.json."""
    p = check_params(params)
    chunks = read_chunks(chunks_jsonl)
    if [c["id"] for c in chunks] != list(range(len(chunks))):
        raise BM25ParamError(f"{chunks_jsonl}: chunk ids must be 0..n-1 in file order (they are row numbers "
                             "in every index)")
    t0 = time.perf_counter()
    index = build([c["text"] for c in chunks], p)
    dt = time.perf_counter() - t0
    out = Path(out_dir)
    size = save(index, out, p)
    info = {"type": "bm25", "params": p, "chunks": len(chunks), "vocabulary": len(index.vocab_dict),
            "build_s": round(dt, 3), "bytes": size, "bytes_per_chunk": round(size / max(1, len(chunks)), 2)}
    write_json(out.with_suffix(".json"), info)
    log.info("bm25 index: %d chunks, %d terms in %.2fs, %.1f bytes/chunk", len(chunks), info["vocabulary"], dt,
             info["bytes_per_chunk"])
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.bm25", description=__doc__.splitlines()[0])
    ap.add_argument("chunks")
    ap.add_argument("--out", required=True, help="index folder (its description goes to <out>.json)")
    ap.add_argument("--params", default="{}", help="JSON object over config.yaml's rag.bm25, e.g. '{\"k1\": 1.2}'")
    ap.add_argument("--query", action="append", default=[], help="search the built index for this text (repeatable)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.chunks, a.out, json.loads(a.params))
    if a.query:
        for q, ids in zip(a.query, BM25Index(a.out).search(a.query, 5)):
            print(f"{q!r}: chunks {ids}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
