"""perplexity: token-weighted, equal to a direct computation, deterministic, with intervals."""

from __future__ import annotations

import json

import numpy as np
import torch

from climatune.model import perplexity


def _settings(**kw):
    return perplexity.PerplexitySettings.from_dict(kw)


def test_matches_direct_computation_and_is_deterministic(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    blocks = np.random.default_rng(1).integers(0, 512, (5, 33)).astype(np.uint16)
    np.save(tmp_path / "test.npy", blocks)
    r1 = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir, "tuned": tiny_model_dir},
                        tmp_path / "a.json", _settings(batch_size=2, precision="fp32", bootstrap=200), seed=0)
    r2 = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir, "tuned": tiny_model_dir},
                        tmp_path / "b.json", _settings(batch_size=5, precision="fp32", bootstrap=200), seed=0)
    m = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    x = torch.from_numpy(blocks.astype(np.int64))
    with torch.no_grad():
        direct = float(torch.exp(m(input_ids=x, labels=x).loss))
    assert r1["tokens"] == 5 * 32
    assert abs(r1["base"]["perplexity"] - direct) / direct < 1e-4
    assert json.loads((tmp_path / "a.json").read_text())["base"] == r1["base"]
    assert r1["base"]["ci95"] == r2["base"]["ci95"]  # batch size does not change the result
    lo, hi = r1["base"]["ci95"]
    assert lo <= r1["base"]["perplexity"] <= hi
    assert r1["drop_pct"] == 0 and r1["drop_pct_ci95"] == [0, 0]


def test_empty_test_split_is_explained(tiny_model_dir, tmp_path):
    import pytest

    np.save(tmp_path / "t.npy", np.zeros((0, 64), dtype=np.uint16))
    with pytest.raises(ValueError, match="split.test_ratio"):
        perplexity.run(tmp_path / "t.npy", {"base": tiny_model_dir}, tmp_path / "p.json")


def test_document_bootstrap_is_wider_than_block_bootstrap_and_seeded():
    """Two documents of very different NLL: resampling documents (then blocks) spreads perplexity over
    both documents' levels; resampling blocks as if independent averages that away."""
    from climatune.model import bootstrap as B

    rng = np.random.default_rng(0)
    nll = np.concatenate([2.0 + 0.05 * rng.standard_normal(20), 4.0 + 0.05 * rng.standard_normal(20)]) * 100
    tokens = np.full(40, 100)
    doc = np.repeat([0, 1], 20)
    by_doc = B.interval(B.resampled_ppl({"m": nll}, tokens, doc, 500, seed=7)["m"])
    by_block = B.interval(B.resampled_ppl({"m": nll}, tokens, np.arange(40), 500, seed=7)["m"])
    assert by_doc[0] < by_block[0] < by_block[1] < by_doc[1]
    assert (by_doc[1] - by_doc[0]) > 3 * (by_block[1] - by_block[0])
    assert by_doc == B.interval(B.resampled_ppl({"m": nll}, tokens, doc, 500, seed=7)["m"])  # same seed, same
    assert by_doc != B.interval(B.resampled_ppl({"m": nll}, tokens, doc, 500, seed=8)["m"])
    # the second stage: a drawn document's blocks are drawn from that document only
    for idx in B.resample_indices(doc, 20, seed=1):
        assert len(idx) == 40 and all(len(set(doc[idx[k : k + 20]])) == 1 for k in (0, 20))


def _packed_test_split(tmp_path, vocab, lengths, seq_len=32):
    from climatune.corpus import tokenize
    from climatune.model import masking

    blocks = np.random.default_rng(2).integers(1, vocab, (len(lengths), seq_len)).astype(np.uint16)
    np.save(tmp_path / "test.npy", blocks)
    seg = masking.segments_of_docs(lengths, seq_len)
    tokenize.save_segments(tokenize.docs_path(tmp_path / "test.npy"), seg)
    ids = [f"doc{i}" for i in range(int(seg["seg_doc"].max()) + 1)]
    (tmp_path / "meta.json").write_text(json.dumps({"splits": {"test": {"document_ids": ids}}}))
    return blocks


def test_masked_perplexity_scores_each_document_as_if_alone(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    lengths = [[11, 5, 16], [32], [20, 12]]
    m = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    blocks = _packed_test_split(tmp_path, m.config.vocab_size, lengths)
    r = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir}, tmp_path / "p.json",
                       _settings(batch_size=2, precision="fp32", bootstrap=200), seed=0, document_masking=True)
    total, count = 0.0, 0
    with torch.no_grad():
        for b, row in enumerate(lengths):
            for s, n in zip(np.cumsum([0, *row[:-1]]), row):
                x = torch.from_numpy(blocks[b : b + 1, s : s + n].astype(np.int64))
                total += float(m(input_ids=x, labels=x).loss) * (n - 1)
                count += n - 1
    assert r["tokens"] == count == 3 * 31 - 3 and r["document_masking"] is True
    assert abs(r["base"]["perplexity"] - np.exp(total / count)) / np.exp(total / count) < 1e-4
    assert r["bootstrap_unit"] == "document" and r["documents"] == 6 and "two-stage" in r["interval_method"]
    assert [d["document"] for d in r["per_document"]] == [f"doc{i}" for i in range(6)]
    assert sum(d["tokens"] for d in r["per_document"]) == count
    lo, hi = r["base"]["ci95"]
    assert lo <= r["base"]["perplexity"] <= hi
    unmasked = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir}, tmp_path / "q.json",
                              _settings(batch_size=3, precision="fp32", bootstrap=200), seed=0, document_masking=False)
    assert unmasked["tokens"] == 3 * 31 and unmasked["base"]["perplexity"] != r["base"]["perplexity"]


def test_leaky_blocks_are_dropped_and_counted(tiny_model_dir, tmp_path):
    import pytest

    _packed_test_split(tmp_path, 512, [[11, 5, 16], [32], [20, 12]])
    leak = tmp_path / "leakage.json"
    leak.write_text(json.dumps({"test_13gram_in_train_pct": 3.0, "test_block_13gram_pct": [0.0, 80.0, 12.5]}))
    s = _settings(batch_size=2, precision="fp32", bootstrap=100, drop_leaky_above=50)
    r = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir}, tmp_path / "p.json", s, seed=0,
                       document_masking=True, leakage_json=leak)
    assert r["blocks"] == 2 and r["blocks_total"] == 3 and r["leakage"]["blocks_dropped"] == 1
    assert r["tokens"] == 2 * 31 - 3 and r["documents"] == 5  # block 1 (one document) is gone
    keep_all = perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir}, tmp_path / "q.json",
                              _settings(batch_size=2, precision="fp32", bootstrap=100), seed=0, leakage_json=leak)
    assert keep_all["blocks"] == 3 and keep_all["leakage"]["blocks_dropped"] == 0
    leak.write_text(json.dumps({"test_block_13gram_pct": [0.0, 1.0]}))
    with pytest.raises(ValueError, match="each of the 3 held-out blocks"):
        perplexity.run(tmp_path / "test.npy", {"base": tiny_model_dir}, tmp_path / "p.json", s, leakage_json=leak)


def _fine_tune(tiny_model_dir, tmp_path, quantization):
    """A LoRA fine-tune's outputs as finetune writes them (adapter with non-zero B, summary, merged fp32)."""
    from climatune._util import write_json
    from climatune.model import finetune
    from climatune.model import training as T

    cfg = T.TrainConfig.from_dict(dict(seq_len=32, precision="fp32", quantization=quantization, lora_dropout=0.0,
                                       gradient_checkpointing=False, device="cpu"))
    torch.manual_seed(0)
    model = T.build_model(tiny_model_dir, cfg, torch.device("cpu"))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.05)
    model.save_pretrained(tmp_path / "adapter", safe_serialization=True)
    write_json(tmp_path / "summary.json", {"config": cfg.to_dict(), "compute_dtype": "float32", "device": "cpu"})
    finetune.merge(tiny_model_dir, tmp_path / "adapter", tmp_path / "merged", dtype="float32")
    _packed_test_split(tmp_path, 512, [[11, 5, 16], [32], [20, 12]])
    summary = str(tmp_path / "summary.json")
    return {"base": tiny_model_dir, "base_as_trained": perplexity.AsTrained(str(tiny_model_dir), None, summary),
            "tuned_as_trained": perplexity.AsTrained(str(tiny_model_dir), str(tmp_path / "adapter"), summary),
            "tuned_merged": tmp_path / "merged"}


def test_as_trained_and_merged_agree_in_fp32(tiny_model_dir, tmp_path):
    """The fine-tune as trained (base + unmerged adapter, rebuilt from the run's settings) and the merged
    model score the same in fp32 without quantization, and both differ from the base: the adapter is applied."""
    models = _fine_tune(tiny_model_dir, tmp_path, "none")
    r = perplexity.run(tmp_path / "test.npy", models, tmp_path / "p.json",
                       _settings(batch_size=2, precision="fp32", bootstrap=200), seed=0, document_masking=True)
    d = r["as_trained_vs_merged"]
    assert abs(d["ppl_diff"]) < 1e-3 * r["tuned_merged"]["perplexity"] and d["max_abs_block_nll_diff"] < 1e-4
    assert abs(r["base"]["perplexity"] - r["tuned_merged"]["perplexity"]) > 1e-3 * r["base"]["perplexity"]
    assert abs(r["base_as_trained"]["perplexity"] - r["base"]["perplexity"]) < 1e-4 * r["base"]["perplexity"]
    assert r["tuned"]["same_as"] == "tuned_as_trained" and "unmerged" in r["tuned_as_trained"]["evaluated"]["weights"]
    assert abs(r["drop_pct"] - r["drop_pct_merged"]) < 0.1 and abs(r["drop_pct"] - r["drop_pct_quantized"]) < 0.1
    lo, hi = r["drop_pct_ci95"]
    assert lo <= r["drop_pct"] <= hi


def test_as_trained_qlora_is_the_nf4_base_with_the_adapter(tiny_model_dir, tmp_path):
    """With QLoRA the as-trained model runs on the NF4 base (bitsandbytes, also on CPU): it and the NF4
    base alone differ from their 16-bit counterparts by the quantization error, which the JSON reports."""
    models = _fine_tune(tiny_model_dir, tmp_path, "nf4")
    r = perplexity.run(tmp_path / "test.npy", models, tmp_path / "p.json",
                       _settings(batch_size=3, precision="fp32", bootstrap=100), seed=0, document_masking=True)
    assert r["tuned_as_trained"]["evaluated"]["weights"].startswith("NF4 double-quantized base")
    assert r["base_as_trained"]["perplexity"] != r["base"]["perplexity"]
    assert r["as_trained_vs_merged"]["max_abs_block_nll_diff"] > 1e-4
    assert r["interval_note"].startswith("only 6 held-out document(s)")
