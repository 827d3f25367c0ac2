"""rag_chunk: every usable document -> overlapping chunks of N tokens that know where they come from.

Chunks are cut with the embedder's own tokenizer (so an embedding sees its whole chunk: a chunk
longer than the embedder's max_seq_length would be silently truncated), `chunk_tokens` long with
`overlap` tokens shared by neighbours. Each chunk carries its document, split (train/test), the pages
it spans (page .. page_end) and character offsets into results/corpus/text/{doc}.txt, so an answer can
cite its source.

Run alone: python -m climatune.rag.chunk SPLIT.json TEXT_DIR --out chunks.jsonl [--tokens 200 --overlap 40]
"""

from __future__ import annotations

import argparse
import bisect
import logging
from pathlib import Path

from .._settings import cli_defaults, default
from .._util import read_json, read_jsonl, setup_logging, write_jsonl
from .embedder import load_embedder

log = logging.getLogger(__name__)


def chunk_text(text: str, tokenizer, chunk_tokens: int, overlap: int) -> list[tuple[int, int, int]]:
    """[(char_start, char_end, n_tokens)] windows of `chunk_tokens` tokens, `overlap` shared.

    The last window is moved back to end at the text's end (full length) unless the text is shorter
    than one window; a tail that the previous window already covers is not repeated."""
    if not 0 <= overlap < chunk_tokens:
        raise ValueError(f"rag.chunk_overlap must be in [0, chunk_tokens={chunk_tokens}), got {overlap}")
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    offs = [o for o in enc["offset_mapping"] if o[1] > o[0]]
    n = len(offs)
    if n == 0:
        return []
    stride = chunk_tokens - overlap
    starts = list(range(0, max(1, n - overlap), stride))
    if len(starts) > 1 and starts[-1] + chunk_tokens > n:
        starts[-1] = max(0, n - chunk_tokens)
        if starts[-1] <= starts[-2]:
            starts.pop()
    out = []
    for s in starts:
        e = min(n, s + chunk_tokens)
        out.append((offs[s][0], offs[e - 1][1], e - s))
    return out


def run(split_json, text_dir, out_jsonl, embedder: str | None = None, chunk_tokens: int | None = None,
        overlap: int | None = None) -> list[dict]:
    """Chunk every document of the split; arguments left None come from config.yaml's `rag:`."""
    embedder = default("rag", "embedder") if embedder is None else embedder
    chunk_tokens = default("rag", "chunk_tokens") if chunk_tokens is None else chunk_tokens
    overlap = default("rag", "chunk_overlap") if overlap is None else overlap
    split = read_json(split_json)
    model = load_embedder(embedder)
    tok = model.tokenizer
    if chunk_tokens > model.max_seq_length:
        log.warning("rag.chunk_tokens=%d exceeds the embedder's max_seq_length=%d: embeddings see only the "
                    "first %d tokens of each chunk", chunk_tokens, model.max_seq_length, model.max_seq_length)
    chunks = []
    for part in ("train", "test"):
        for doc in split[part]:
            text = (Path(text_dir) / f"{doc}.txt").read_text()
            meta_path = Path(text_dir) / f"{doc}.json"
            page_starts = read_json(meta_path).get("page_starts", [0]) if meta_path.exists() else [0]
            for s, e, n in chunk_text(text, tok, chunk_tokens, overlap):
                page = max(1, bisect.bisect_right(page_starts, s))
                page_end = max(page, bisect.bisect_right(page_starts, max(s, e - 1)))
                chunks.append({"id": len(chunks), "doc": doc, "split": part, "page": page, "page_end": page_end,
                               "char_start": s, "char_end": e, "tokens": n, "text": text[s:e]})
    write_jsonl(out_jsonl, chunks)
    docs = len({c["doc"] for c in chunks})
    log.info("%d chunks of <= %d tokens (overlap %d) from %d documents", len(chunks), chunk_tokens, overlap, docs)
    return chunks


def read_chunks(path) -> list[dict]:
    return read_jsonl(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.chunk", description=__doc__.splitlines()[0])
    ap.add_argument("split")
    ap.add_argument("text_dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--embedder")
    ap.add_argument("--tokens", type=int)
    ap.add_argument("--overlap", type=int)
    cli_defaults(ap, "rag", {"embedder": "embedder", "tokens": "chunk_tokens", "overlap": "chunk_overlap"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.split, a.text_dir, a.out, a.embedder, a.tokens, a.overlap)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
