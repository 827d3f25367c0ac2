"""tokenize: EOS-joined packing, dtypes, counts."""

from __future__ import annotations

import json

import numpy as np

from climatune.corpus import tokenize


def test_pack_joins_with_eos_and_drops_tail():
    blocks, total, dropped = tokenize.pack([[1, 2, 3], [4, 5], [6]], eos_id=0, seq_len=4)
    assert total == 9 and dropped == 1
    assert blocks.tolist() == [[1, 2, 3, 0], [4, 5, 0, 6]]


def test_run_on_split(tmp_path, tiny_tokenizer_dir):
    text = tmp_path / "text"
    text.mkdir()
    for i in range(4):
        (text / f"d{i}.txt").write_text(f"Document {i} about sea level rise and ocean heat. " * 40)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["d0", "d1", "d2"], "test": ["d3"]}))
    meta = tokenize.run(split, text, tiny_tokenizer_dir, tmp_path / "tok", seq_len=32)
    train = np.load(tmp_path / "tok" / "train.npy")
    test = np.load(tmp_path / "tok" / "test.npy")
    assert train.dtype == np.uint16 and train.shape[1] == 32
    assert meta["splits"]["train"]["blocks"] == train.shape[0]
    assert meta["splits"]["test"]["blocks"] == test.shape[0] > 0
    tok = tokenize.load_tokenizer(tiny_tokenizer_dir)
    first = tok("Document 0 about sea level", add_special_tokens=False)["input_ids"]
    assert train[0, : len(first)].tolist() == first
    assert (train == tok.eos_token_id).sum() >= 2  # documents separated by EOS
    assert meta["tokens_per_s"] > 0
