"""Document masking: a packed, masked block scores exactly like its documents run one by one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climatune.corpus import tokenize
from climatune.model import masking as M
from climatune.model import training as T

CPU = torch.device("cpu")
DOC_LENGTHS = [[11, 5, 16], [32], [1, 30, 1]]  # boundaries mid-block, none, one-token documents at both ends


def _blocks(vocab: int, seq_len: int = 32) -> np.ndarray:
    return np.random.default_rng(3).integers(1, vocab, (len(DOC_LENGTHS), seq_len))


def _one_by_one(model, block: np.ndarray, lengths: list[int], mode: str):
    """Token-weighted mean loss of the block's documents, each run alone."""
    total, count, start = 0.0, 0, 0
    for n in lengths:
        if n > 1:
            ids = torch.from_numpy(block[None, start : start + n])
            total = total + T.causal_lm_loss(model, ids, mode) * (n - 1)
            count += n - 1
        start += n
    return total / count


def _lora(model_dir, gc: bool, quantization: str):
    cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="fp32", gradient_checkpointing=gc, lora_dropout=0.0,
                                       quantization=quantization))
    torch.manual_seed(0)
    model = T.build_model(model_dir, cfg, CPU)
    for n, p in model.named_parameters():  # LoRA B starts at zero: give the adapters an effect to test
        if "lora_B" in n:
            torch.nn.init.normal_(p, std=0.05)
    return model


@pytest.mark.parametrize("mode, kind", [("hf", "plain"), ("chunked", "plain"), ("chunked", "lora_gc"),
                                        ("hf", "qlora_gc")])
def test_masked_block_loss_equals_its_documents_run_alone(tiny_model_dir, mode, kind):
    from transformers import AutoModelForCausalLM

    if kind == "plain":
        model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32, attn_implementation="sdpa")
    else:
        model = _lora(tiny_model_dir, gc=True, quantization="nf4" if kind == "qlora_gc" else "none")
    blocks = _blocks(model.config.vocab_size)
    seg = M.segments_of_docs(DOC_LENGTHS, 32)
    for b, lengths in enumerate(DOC_LENGTHS):
        packed = T.causal_lm_loss(model, mode=mode, **M.batch_inputs(blocks, [b], seg, CPU))
        alone = _one_by_one(model, blocks[b], lengths, mode)
        packed, alone = float(packed.detach()), float(alone.detach())
        assert abs(packed - alone) < 1e-5, (b, packed, alone)
        if len(lengths) > 1:  # the test can fail: without masking the documents see each other
            plain = T.causal_lm_loss(model, torch.from_numpy(blocks[b : b + 1]), mode)
            assert abs(float(plain.detach()) - alone) > 1e-3


def test_masked_gradients_equal_the_documents_run_alone(tiny_model_dir):
    """The LoRA gradients too, through gradient checkpointing, for a micro-batch of three blocks."""
    model = _lora(tiny_model_dir, gc=True, quantization="none")
    blocks = _blocks(model.config.vocab_size)
    seg = M.segments_of_docs(DOC_LENGTHS, 32)
    inputs = M.batch_inputs(blocks, [0, 1, 2], seg, CPU)
    T.causal_lm_loss(model, mode="chunked", **inputs).backward()
    packed = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    total, count = 0.0, 0
    for b, lengths in enumerate(DOC_LENGTHS):
        n_scored = sum(n - 1 for n in lengths if n > 1)
        total = total + _one_by_one(model, blocks[b], lengths, "chunked") * n_scored
        count += n_scored
    (total / count).backward()
    alone = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert packed.keys() == alone.keys() and packed
    for n in packed:
        torch.testing.assert_close(packed[n], alone[n], rtol=1e-4, atol=1e-6)


def test_positions_restart_and_boundary_labels_are_ignored():
    seg = M.segments_of_docs([[3, 2, 3], [8]], 8)
    blocks = np.arange(16).reshape(2, 8)
    x = M.batch_inputs(blocks, [0], seg, CPU)
    assert x["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0, 1, 2]]
    assert x["labels"].tolist() == [[0, 1, 2, -100, 4, -100, 6, 7]]
    assert M.doc_of_tokens(seg, [0, 1], 8).tolist() == [[0, 0, 0, 1, 1, 2, 2, 2], [3] * 8]
    assert set(M.batch_inputs(blocks, [1], seg, CPU)) == {"input_ids"}  # no boundary: plain causal
    assert set(M.batch_inputs(blocks, [0], None, CPU)) == {"input_ids"}  # masking off


def test_auto_switch_and_block_stream_reads_tokenizes_boundaries(tmp_path):
    assert not M.masking_on("auto", 512) and M.masking_on("auto", 1024) and M.masking_on(True, 16)
    with pytest.raises(ValueError, match="document_masking"):
        M.masking_on("yes", 16)
    docs = [[5, 6, 7], list(range(10, 40)), [8], [], list(range(100, 113))]
    blocks, _, _ = tokenize.pack(docs, eos_id=0, seq_len=8)
    np.save(tmp_path / "train.npy", blocks)
    with pytest.raises(FileNotFoundError, match="train_docs.npz"):
        T.BlockStream(tmp_path / "train.npy", 2, seed=0, masking=True)
    tokenize.save_segments(tokenize.docs_path(tmp_path / "train.npy"),
                           tokenize.doc_segments([len(d) + 1 for d in docs], 8, len(blocks)))
    s = T.BlockStream(tmp_path / "train.npy", 2, seed=0, masking=True)
    for k in range(3):
        x = s.inputs(k, CPU)
        ids = x["input_ids"].numpy()
        assert (ids == s.rows(k)).all()
        # every position after an EOS starts a document: position 0, label ignored
        after_eos = np.zeros_like(ids, dtype=bool)
        after_eos[:, 1:] = ids[:, :-1] == 0
        pos = x.get("position_ids", torch.arange(8).expand(2, 8)).numpy()
        assert (pos[after_eos] == 0).all() and ((pos == 0) == (after_eos | (np.arange(8) == 0))).all()
        if "labels" in x:
            assert ((x["labels"].numpy() == -100) == after_eos).all()
    assert T.BlockStream(tmp_path / "train.npy", 2, seed=0).inputs(0, CPU).keys() == {"input_ids"}
