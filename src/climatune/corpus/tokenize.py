"""tokenize: the model's own (fast) tokenizer over each split, documents joined with EOS, packed into
blocks of seq_len tokens with no padding.

Outputs `train.npy` and `test.npy` (shape [blocks, seq_len], uint16 when the vocabulary fits, else
int32) and `meta.json` with the counts and the tokenizer used. The tail shorter than one block is
dropped and counted.

Document boundaries: `train_docs.npz` and `test_docs.npz` say which documents each block holds, as
segments (a document's run of tokens inside one block, its EOS included): block b's segments are
`block_ptr[b]:block_ptr[b+1]`, each starting at offset `seg_start` in the block (the first at 0, maybe
the continuation of a document begun in an earlier block) and belonging to document `seg_doc`, an index
into meta.json's `splits.<split>.document_ids`. Training masks attention and positions with them
(model/masking.py); perplexity bootstraps over documents. Their size is O(documents + blocks).

Memory stays bounded by one batch of documents, whatever the corpus size: documents are read and
encoded a batch at a time (at most `batch_docs` documents and about `batch_chars` characters; the
Rust tokenizer spreads a batch over all cores, TOKENIZERS_PARALLELISM), each document's ids and its
EOS are appended to a temporary file next to the output (`.<split>.ids.tmp`), and the blocks are then
copied from it in chunks into the .npy file, written under a temporary name and renamed at the end.
`pack` is the in-memory reference of the same packing (used by the tests).

Run alone: python -m climatune.corpus.tokenize SPLIT.json TEXT_DIR MODEL_DIR --out-dir results/tokens --seq-len 512
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
from numpy.lib.format import open_memmap

from .._settings import cli_defaults, default
from .._util import read_json, setup_logging, write_json

log = logging.getLogger(__name__)

BATCH_DOCS = 32  # documents per tokenizer call (spread over the cores)
BATCH_CHARS = 1_000_000  # ... or fewer, once their text reaches this many (~110 MB of transient encodings)
CHUNK_TOKENS = 1 << 22  # tokens copied at a time from the temporary ids file into the blocks


def load_tokenizer(model_dir: str | Path):
    """The fast tokenizer saved with the prepared model; it must define an EOS token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    if not getattr(tok, "is_fast", False):
        log.warning("tokenizer in %s is not a fast (Rust) tokenizer; tokenization will be slow", model_dir)
    if tok.eos_token_id is None:
        raise ValueError(f"the tokenizer in {model_dir} has no EOS token; documents cannot be joined")
    return tok


def encode_documents(tok, texts: list[str], batch_docs: int = 64) -> list[list[int]]:
    """Token ids of each text (no special tokens), encoded in batches over all cores."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    out: list[list[int]] = []
    for i in range(0, len(texts), batch_docs):
        enc = tok(texts[i : i + batch_docs], add_special_tokens=False, return_attention_mask=False)
        out.extend(enc["input_ids"])
    return out


def text_batches(paths: Iterable[Path], batch_docs: int | None = None,
                 batch_chars: int | None = None) -> Iterator[list[str]]:
    """The texts of `paths` in order, read lazily, in batches of at most `batch_docs` (BATCH_DOCS) documents
    and `batch_chars` (BATCH_CHARS) characters; a longer document is a batch of its own."""
    batch_docs = BATCH_DOCS if batch_docs is None else batch_docs
    batch_chars = BATCH_CHARS if batch_chars is None else batch_chars
    batch: list[str] = []
    chars = 0
    for p in paths:
        text = Path(p).read_text()
        if batch and (len(batch) >= batch_docs or chars + len(text) > batch_chars):
            yield batch
            batch, chars = [], 0
        batch.append(text)
        chars += len(text)
    if batch:
        yield batch


def stream_encode(tok, paths: Iterable[Path], stats: dict, batch_docs: int | None = None,
                  batch_chars: int | None = None) -> Iterator[list[int]]:
    """Each document's token ids, in order, encoded one batch at a time; adds the seconds spent in the
    tokenizer to stats["seconds"]."""
    for texts in text_batches(paths, batch_docs, batch_chars):
        t0 = time.perf_counter()
        ids = encode_documents(tok, texts, batch_docs=len(texts))
        stats["seconds"] = stats.get("seconds", 0.0) + time.perf_counter() - t0
        yield from ids


def pack(docs: list[list[int]], eos_id: int, seq_len: int) -> tuple[np.ndarray, int, int]:
    """Join documents with EOS and cut into [n, seq_len] blocks. Returns (blocks, tokens, dropped).
    In-memory reference of `pack_to_file`, which writes the same blocks in bounded memory."""
    total = sum(len(d) + 1 for d in docs)
    flat = np.empty(total, dtype=np.int64)
    pos = 0
    for d in docs:
        flat[pos : pos + len(d)] = d
        flat[pos + len(d)] = eos_id
        pos += len(d) + 1
    n = total // seq_len
    return flat[: n * seq_len].reshape(n, seq_len), total, total - n * seq_len


def write_ids(docs: Iterable[Sequence[int]], eos_id: int, dtype, f) -> int:
    """Append each document's ids and an EOS to the binary file `f` as `dtype`; returns the tokens
    written. The ids go through int64 first, so values convert exactly as `pack(...).astype(dtype)`."""
    total = 0
    for d in docs:
        a = np.empty(len(d) + 1, dtype=np.int64)
        a[:-1] = d
        a[-1] = eos_id
        f.write(a.astype(dtype).tobytes())
        total += a.size
    return total


def blocks_from_ids(ids_path: Path, n_blocks: int, seq_len: int, dtype, out_path: Path,
                    chunk_tokens: int | None = None) -> None:
    """Write the first n_blocks * seq_len ids of the flat file `ids_path` as an [n_blocks, seq_len] .npy
    file at `out_path`, `chunk_tokens` (CHUNK_TOKENS, rounded to whole blocks) at a time. The header
    comes from `open_memmap` (as np.save writes it); the data go through plain writes, so no mapped
    page stays resident."""
    dtype = np.dtype(dtype)
    arr = open_memmap(out_path, mode="w+", dtype=dtype, shape=(int(n_blocks), int(seq_len)))
    offset = arr.offset
    del arr
    rows = max(1, (CHUNK_TOKENS if chunk_tokens is None else chunk_tokens) // seq_len)
    with open(ids_path, "rb") as src, open(out_path, "r+b") as dst:
        dst.seek(offset)
        for r0 in range(0, n_blocks, rows):
            count = min(rows, n_blocks - r0) * seq_len
            chunk = np.fromfile(src, dtype=dtype, count=count)
            if chunk.size != count:
                raise OSError(f"{ids_path} ended early: {chunk.size} of {count} ids")
            dst.write(chunk.tobytes())


def pack_to_file(docs: Iterable[Sequence[int]], eos_id: int, seq_len: int, out_path: str | Path, dtype,
                 chunk_tokens: int | None = None) -> tuple[int, int, int]:
    """`pack(docs, eos_id, seq_len)[0].astype(dtype)` saved as the .npy file `out_path`, in memory bounded
    by one document (plus one chunk): ids go to `.<stem>.ids.tmp`, the blocks to `.<stem>.npy.tmp`, renamed
    onto `out_path` once complete; both temporary files are gone afterwards, also on failure.
    Returns (blocks, tokens, dropped)."""
    out_path = Path(out_path)
    stem = out_path.name[: -len(".npy")] if out_path.name.endswith(".npy") else out_path.name
    ids_tmp = out_path.with_name(f".{stem}.ids.tmp")
    npy_tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        with open(ids_tmp, "wb") as f:
            total = write_ids(docs, eos_id, dtype, f)
        n = total // seq_len
        blocks_from_ids(ids_tmp, n, seq_len, dtype, npy_tmp, chunk_tokens)
        os.replace(npy_tmp, out_path)
    finally:
        for p in (ids_tmp, npy_tmp):
            p.unlink(missing_ok=True)
    return n, total, total - n * seq_len


def doc_segments(lengths: Sequence[int], seq_len: int, n_blocks: int) -> dict[str, np.ndarray]:
    """The segments of `n_blocks` blocks packed from documents of `lengths` tokens each (EOS included),
    as written to <split>_docs.npz (see the module doc). Memory O(documents + blocks)."""
    ends = np.cumsum(np.asarray(lengths, dtype=np.int64))
    starts = ends - np.asarray(lengths, dtype=np.int64)
    inner = starts[(starts < n_blocks * seq_len) & (starts % seq_len != 0)]  # a start on a block edge is one
    pos = np.sort(np.concatenate([np.arange(n_blocks, dtype=np.int64) * seq_len, inner]))
    block = pos // seq_len
    ptr = np.zeros(n_blocks + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(block, minlength=n_blocks))
    return {"block_ptr": ptr, "seg_start": (pos - block * seq_len).astype(np.int32),
            "seg_doc": np.searchsorted(ends, pos, side="right").astype(np.int32)}


def docs_path(blocks_npy: str | Path) -> Path:
    """Where tokenize writes the document segments of a blocks file: train.npy -> train_docs.npz."""
    p = Path(blocks_npy)
    return p.with_name(f"{p.name.removesuffix('.npy')}_docs.npz")


def save_segments(path: str | Path, seg: dict[str, np.ndarray]) -> None:
    """Write segments as an .npz file, under a temporary name renamed at the end."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **seg)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_segments(path: str | Path) -> dict[str, np.ndarray]:
    """The segments tokenize wrote (see the module doc)."""
    with np.load(path) as z:
        return {k: z[k] for k in ("block_ptr", "seg_start", "seg_doc")}


def _counted(docs: Iterable[Sequence[int]], lengths: list[int]) -> Iterator[Sequence[int]]:
    """`docs` unchanged, appending each one's packed length (its ids and EOS) to `lengths`."""
    for d in docs:
        lengths.append(len(d) + 1)
        yield d


def run(split: str | Path, text_dir: str | Path, model_dir: str | Path, out_dir: str | Path,
        seq_len: int | None = None) -> dict:
    """Tokenize and pack both splits; write train.npy, test.npy, their _docs.npz and meta.json into `out_dir`.
    `seq_len` defaults to config.yaml's train.seq_len."""
    seq_len = default("train", "seq_len") if seq_len is None else seq_len
    sp = read_json(split)
    tok = load_tokenizer(model_dir)
    vocab = len(tok)
    dtype = np.uint16 if vocab <= np.iinfo(np.uint16).max + 1 else np.int32
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {"seq_len": seq_len, "tokenizer": str(model_dir), "tokenizer_class": type(tok).__name__,
            "vocab_size": vocab, "eos_id": tok.eos_token_id, "dtype": np.dtype(dtype).name, "splits": {}}
    t_all, n_all = 0.0, 0
    for name in ("train", "test"):
        paths = [Path(text_dir) / f"{d}.txt" for d in sp[name]]
        stats, lengths = {"seconds": 0.0}, []
        docs = _counted(stream_encode(tok, paths, stats), lengths)
        n, tokens, dropped = pack_to_file(docs, tok.eos_token_id, seq_len, out_dir / f"{name}.npy", dtype)
        seg = doc_segments(lengths, seq_len, n)
        save_segments(docs_path(out_dir / f"{name}.npy"), seg)
        t_all, n_all = t_all + stats["seconds"], n_all + tokens
        meta["splits"][name] = {"documents": len(paths), "tokens": tokens, "blocks": n,
                                "block_tokens": n * seq_len, "dropped_tail_tokens": dropped,
                                "boundaries_in_blocks": int(len(seg["seg_start"]) - n),
                                "document_ids": list(sp[name])}
        log.info("%s: %d documents, %d tokens -> %d blocks of %d (%d tail tokens dropped)", name, len(paths),
                 tokens, n, seq_len, dropped)
        if n == 0:
            log.warning("%s split has fewer than seq_len=%d tokens: no block", name, seq_len)
    meta["tokens_per_s"] = round(n_all / t_all) if t_all > 0 else None
    meta["seconds"] = round(t_all, 3)
    log.info("tokenized %d tokens in %.2fs: %s tokens/s", n_all, t_all, meta["tokens_per_s"])
    write_json(out_dir / "meta.json", meta)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.corpus.tokenize", description=__doc__.splitlines()[0])
    ap.add_argument("split")
    ap.add_argument("text_dir")
    ap.add_argument("model_dir", help="folder with the model's tokenizer (results/model/base)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--seq-len", type=int)
    cli_defaults(ap, "train", {"seq_len": "seq_len"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.split, a.text_dir, a.model_dir, a.out_dir, a.seq_len)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
