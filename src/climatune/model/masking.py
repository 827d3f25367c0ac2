"""Document masking in packed blocks: documents joined in one block do not see each other.

tokenize packs documents (each followed by EOS) into blocks and records per block where each document
segment starts (`<split>_docs.npz`, see corpus/tokenize.py). With masking on, a micro-batch carries
- `position_ids` restarting at 0 at every segment start, so RoPE sees each document from its own start;
- `labels` = input_ids with -100 at every segment start after the block's first token: the first token
  of a document is not predicted from the previous document's EOS (the loss and perplexity skip it);
- attention inside a segment only. That mask is not built here: transformers (5.x, checked with 5.23:
  masking_utils.find_packed_sequence_indices) derives it from position ids that restart, once per
  forward, for each attention kernel: sdpa and eager get a block-diagonal causal [B, 1, T, T] boolean
  mask (on CUDA, SDPA then runs its memory-efficient kernel, which takes masks, instead of flash),
  flex_attention a BlockMask, flash_attention_2/3 (not offered by train.attention today) their varlen
  kernels (cu_seqlens from the restarts, no T x T mask at all). A micro-batch with no boundary keeps
  plain causal attention (SDPA's is_causal path, flash on CUDA), so masking costs nothing where
  documents are longer than blocks. The forward must run without a KV cache (use_cache=False): with
  one, transformers skips that detection.
  tests/unit/test_masking.py checks that a masked block's loss equals its documents' loss run one by one.

"auto" turns masking on from AUTO_FROM tokens per block: shorter blocks rarely hold a boundary, and the
seeds' 512-token recipe (and its benchmark) stays as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..corpus.tokenize import docs_path, load_segments

AUTO_FROM = 1024  # train.document_masking "auto": on from this seq_len
IGNORE = -100  # label that cross-entropy skips (PyTorch's and Hugging Face's ignore_index)


def masking_on(setting: bool | str, seq_len: int) -> bool:
    """train.document_masking resolved for blocks of `seq_len` tokens."""
    if setting == "auto":
        return seq_len >= AUTO_FROM
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"train.document_masking must be true, false or auto, got {setting!r}")


def segments_for(blocks_npy: str | Path, required: bool) -> dict | None:
    """The document segments tokenize wrote next to `blocks_npy`; None when absent and not `required`."""
    p = docs_path(blocks_npy)
    if p.is_file():
        return load_segments(p)
    if required:
        raise FileNotFoundError(f"document masking needs {p} (written by the tokenize stage beside "
                                f"{Path(blocks_npy).name}); re-run tokenize or set train.document_masking: false")
    return None


def segments_of_docs(lengths: list[list[int]], seq_len: int) -> dict:
    """Segments of blocks that each hold whole documents of the given lengths (tests and benchmarks)."""
    ptr, start, doc = [0], [], []
    for i, row in enumerate(lengths):
        if sum(row) != seq_len:
            raise ValueError(f"block {i}: documents of {row} tokens do not fill {seq_len}")
        start += list(np.cumsum([0, *row[:-1]]))
        doc += list(range(len(doc), len(doc) + len(row)))
        ptr.append(len(start))
    return {"block_ptr": np.asarray(ptr, np.int64), "seg_start": np.asarray(start, np.int32),
            "seg_doc": np.asarray(doc, np.int32)}


def starts(seg: dict, rows: np.ndarray, seq_len: int) -> np.ndarray:
    """[len(rows), seq_len] bool: True where a document segment starts inside block rows[i] (offset > 0)."""
    out = np.zeros((len(rows), seq_len), dtype=bool)
    ptr, st = seg["block_ptr"], seg["seg_start"]
    for i, b in enumerate(np.asarray(rows)):
        out[i, st[ptr[b] + 1 : ptr[b + 1]]] = True
    return out


def doc_of_tokens(seg: dict, rows: np.ndarray, seq_len: int) -> np.ndarray:
    """[len(rows), seq_len] int: the document index of every token of blocks `rows`."""
    out = np.empty((len(rows), seq_len), dtype=np.int64)
    ptr, st, dc = seg["block_ptr"], seg["seg_start"], seg["seg_doc"]
    for i, b in enumerate(np.asarray(rows)):
        s = st[ptr[b] : ptr[b + 1]]
        out[i] = np.repeat(dc[ptr[b] : ptr[b + 1]], np.diff(np.append(s, seq_len)))
    return out


def position_ids(start: np.ndarray) -> np.ndarray:
    """Positions that restart at 0 at every True of `start` ([B, T] bool), and at each row's start."""
    t = np.arange(start.shape[1])
    first = np.where(start, t, 0)
    return t - np.maximum.accumulate(first, axis=1)


def batch_inputs(blocks, rows, seg: dict | None, device) -> dict:
    """Model inputs of blocks `rows`: input_ids, and with segments (masking on) position_ids and labels."""
    import torch

    ids = np.asarray(blocks[np.asarray(rows)], dtype=np.int64)
    out = {"input_ids": torch.from_numpy(ids)}
    if seg is not None:
        st = starts(seg, rows, ids.shape[1])
        if st.any():  # no boundary: plain causal attention, every token scored, as without masking
            labels = ids.copy()
            labels[st] = IGNORE
            out["labels"] = torch.from_numpy(labels)
            out["position_ids"] = torch.from_numpy(position_ids(st))
    return {k: v.to(device, non_blocking=True) for k, v in out.items()}


def attention_kernel(setting: str, masking: bool | str, seq_len: int, device) -> str:
    """train.attention resolved. auto: FlexAttention on CUDA when document masking is on, else SDPA
    (flash on CUDA for plain causal blocks). With a mask, SDPA leaves flash for its memory-efficient
    kernel, which computes every block of the T x T product; FlexAttention's block mask skips the blocks
    above the diagonal and across documents (3B QLoRA at seq 4096 on an H200: 29.9k vs 23.3k tokens/s,
    0.87 vs 0.69 of seq 512; bench/results/qlora_long.json). FlexAttention has no backward on CPU."""
    if setting != "auto":
        return setting
    return "flex_attention" if device.type == "cuda" and masking_on(masking, seq_len) else "sdpa"
