"""tokenize: the model's own (fast) tokenizer over each split, documents joined with EOS, packed into
blocks of seq_len tokens with no padding.

Outputs `train.npy` and `test.npy` (shape [blocks, seq_len], uint16 when the vocabulary fits, else
int32) and `meta.json` with the counts and the tokenizer used. The tail shorter than one block is
dropped and counted. Documents are encoded as one batch, which the Rust tokenizer spreads over all
cores (TOKENIZERS_PARALLELISM).

Run alone: python -m climatune.corpus.tokenize SPLIT.json TEXT_DIR MODEL_DIR --out-dir results/tokens --seq-len 512
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import read_json, setup_logging, write_json

log = logging.getLogger(__name__)


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


def pack(docs: list[list[int]], eos_id: int, seq_len: int) -> tuple[np.ndarray, int, int]:
    """Join documents with EOS and cut into [n, seq_len] blocks. Returns (blocks, tokens, dropped)."""
    total = sum(len(d) + 1 for d in docs)
    flat = np.empty(total, dtype=np.int64)
    pos = 0
    for d in docs:
        flat[pos : pos + len(d)] = d
        flat[pos + len(d)] = eos_id
        pos += len(d) + 1
    n = total // seq_len
    return flat[: n * seq_len].reshape(n, seq_len), total, total - n * seq_len


def run(split: str | Path, text_dir: str | Path, model_dir: str | Path, out_dir: str | Path,
        seq_len: int | None = None) -> dict:
    """Tokenize and pack both splits; write train.npy, test.npy and meta.json into `out_dir`.
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
        texts = [(Path(text_dir) / f"{d}.txt").read_text() for d in sp[name]]
        t0 = time.perf_counter()
        ids = encode_documents(tok, texts)
        dt = time.perf_counter() - t0
        blocks, tokens, dropped = pack(ids, tok.eos_token_id, seq_len)
        np.save(out_dir / f"{name}.npy", blocks.astype(dtype))
        t_all, n_all = t_all + dt, n_all + tokens
        meta["splits"][name] = {"documents": len(texts), "tokens": tokens, "blocks": int(blocks.shape[0]),
                                "block_tokens": int(blocks.size), "dropped_tail_tokens": dropped}
        log.info("%s: %d documents, %d tokens -> %d blocks of %d (%d tail tokens dropped)", name, len(texts),
                 tokens, blocks.shape[0], seq_len, dropped)
        if blocks.shape[0] == 0:
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
