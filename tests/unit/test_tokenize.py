"""tokenize: EOS-joined packing, dtypes, counts."""

from __future__ import annotations

import json

import numpy as np
import pytest

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


DOCS = [[5, 6, 7], list(range(10, 60)), [8], [], list(range(100, 113))]  # doc 2 is longer than most blocks


def _saved(tmp_path, blocks, dtype):
    ref = tmp_path / "ref.npy"
    np.save(ref, blocks.astype(dtype))
    return ref.read_bytes()


def _tmp_left(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("seq_len", [1, 3, 4, 7, 16, 64, 80, 200])
@pytest.mark.parametrize("dtype", [np.uint16, np.int32])
def test_pack_to_file_equals_pack(tmp_path, seq_len, dtype):
    """Streamed blocks are the in-memory `pack`'s, byte for byte as np.save writes them; also with a
    document longer than a block (50 ids), chunks that split the blocks and fewer tokens than one block
    (seq_len 80 and 200: no block)."""
    blocks, total, dropped = tokenize.pack(DOCS, eos_id=0, seq_len=seq_len)
    out = tmp_path / "out" / "train.npy"
    out.parent.mkdir()
    n, tokens, tail = tokenize.pack_to_file(iter(DOCS), 0, seq_len, out, dtype, chunk_tokens=2 * seq_len + 1)
    assert (n, tokens, tail) == (blocks.shape[0], total, dropped)
    got = np.load(out)
    assert got.dtype == dtype and got.shape == blocks.shape and np.array_equal(got, blocks)
    assert out.read_bytes() == _saved(tmp_path, blocks, dtype)
    assert _tmp_left(out.parent) == []


def test_pack_to_file_empty_split_and_failure_leave_no_temp(tmp_path):
    out = tmp_path / "test.npy"
    assert tokenize.pack_to_file([], 0, 8, out, np.uint16) == (0, 0, 0)
    assert np.load(out).shape == (0, 8)

    def broken():
        yield [1, 2, 3]
        raise RuntimeError("tokenizer died")

    with pytest.raises(RuntimeError):
        tokenize.pack_to_file(broken(), 0, 2, tmp_path / "train.npy", np.uint16)
    assert not (tmp_path / "train.npy").exists() and _tmp_left(tmp_path) == []


def test_text_batches_bound_documents_and_characters(tmp_path):
    paths = []
    for i, n in enumerate([10, 10, 50, 10, 25, 10, 10, 10]):
        paths.append(tmp_path / f"d{i}.txt")
        paths[-1].write_text("x" * n)
    sizes = [[len(t) for t in b] for b in tokenize.text_batches(paths, batch_docs=2, batch_chars=30)]
    assert sizes == [[10, 10], [50], [10], [25], [10, 10], [10]]


def test_run_streams_the_same_blocks_as_pack(tmp_path, tiny_tokenizer_dir, monkeypatch):
    """run() writes what the in-memory path (encode all, pack, np.save) writes, in batches smaller than the
    split, and leaves no temporary file in out_dir."""
    text = tmp_path / "text"
    text.mkdir()
    names = [f"d{i}" for i in range(7)]
    for i, d in enumerate(names):
        (text / f"{d}.txt").write_text(f"Report {i}: warming of {i}.{i} degrees, sea ice. " * (5 + 30 * i))
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[:6], "test": names[6:]}))
    tok = tokenize.load_tokenizer(tiny_tokenizer_dir)
    for k, v in {"BATCH_DOCS": 2, "BATCH_CHARS": 2500, "CHUNK_TOKENS": 100}.items():
        monkeypatch.setattr(tokenize, k, v)
    batches, text_batches = [], tokenize.text_batches

    def recorded(*args):
        for b in text_batches(*args):
            batches.append(len(b))
            yield b

    monkeypatch.setattr(tokenize, "text_batches", recorded)
    meta = tokenize.run(split, text, tiny_tokenizer_dir, tmp_path / "tok", seq_len=48)
    assert batches == [2, 1, 1, 1, 1, 1]  # 2 short documents, then one per batch (2795+ characters)
    for name, docs in (("train", names[:6]), ("test", names[6:])):
        ids = tokenize.encode_documents(tok, [(text / f"{d}.txt").read_text() for d in docs])
        blocks, tokens, dropped = tokenize.pack(ids, tok.eos_token_id, 48)
        assert (tmp_path / "tok" / f"{name}.npy").read_bytes() == _saved(tmp_path, blocks, np.uint16)
        seg = tokenize.load_segments(tmp_path / "tok" / f"{name}_docs.npz")
        assert meta["splits"][name] == {"documents": len(docs), "tokens": tokens, "blocks": blocks.shape[0],
                                        "block_tokens": blocks.size, "dropped_tail_tokens": dropped,
                                        "boundaries_in_blocks": len(seg["seg_start"]) - blocks.shape[0],
                                        "document_ids": docs}
        assert _segments_of_stream(ids, 48, blocks.shape[0]) == _as_lists(seg)
    assert sorted(p.name for p in (tmp_path / "tok").iterdir()) == ["meta.json", "test.npy", "test_docs.npz",
                                                                   "train.npy", "train_docs.npz"]


def _segments_of_stream(docs, seq_len, n_blocks):
    """Reference: the document of every packed token, cut into blocks, and where each block's runs start."""
    owner = np.concatenate([np.full(len(d) + 1, i) for i, d in enumerate(docs)])[: n_blocks * seq_len]
    out = []
    for row in owner.reshape(n_blocks, seq_len):
        starts = [0] + [j for j in range(1, seq_len) if row[j] != row[j - 1]]
        out.append([(s, int(row[s])) for s in starts])
    return out


def _as_lists(seg):
    p, s, d = seg["block_ptr"], seg["seg_start"], seg["seg_doc"]
    return [[(int(s[k]), int(d[k])) for k in range(p[b], p[b + 1])] for b in range(len(p) - 1)]


@pytest.mark.parametrize("seq_len", [1, 3, 4, 7, 16, 64])
def test_doc_segments_match_the_packed_stream(seq_len):
    """Each block's segments start where its tokens change document (EOS belongs to the document it
    ends; an empty document is its EOS alone), also for documents longer than a block and starts on a
    block's first token."""
    n = tokenize.pack(DOCS, eos_id=0, seq_len=seq_len)[0].shape[0]
    seg = tokenize.doc_segments([len(d) + 1 for d in DOCS], seq_len, n)
    assert _as_lists(seg) == _segments_of_stream(DOCS, seq_len, n)
    assert seg["block_ptr"][-1] == len(seg["seg_start"]) and (seg["seg_start"][seg["block_ptr"][:-1]] == 0).all()
