"""leakage: held-out 13-grams found in training (pooled, per document, per test block) and MinHash
near-duplicate pairs, on tiny texts whose answers are counted by hand."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from climatune._settings import SettingsError
from climatune.corpus import leakage, tokenize
from climatune.corpus.leakage import LeakageSettings, words

S = LeakageSettings.from_dict({"ngram": 13, "shingle": 5, "num_perm": 128, "threshold": 0.5})


def _vocab(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def _corpus(tmp_path, docs: dict[str, str], train: list[str], test: list[str]):
    text = tmp_path / "text"
    text.mkdir()
    for d, t in docs.items():
        (text / f"{d}.txt").write_text(t)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": train, "test": test}))
    return split, text


def test_words_are_lower_cased_and_punctuation_free():
    assert words("Sea-level RISE (1.5°C), don't\n\ufb01sh_net") == ["sea", "level", "rise", "1", "5", "c", "don",
                                                                  "t", "fish", "net"]


def test_hashed_ngrams_match_tuples_of_words():
    rng = random.Random(0)
    vocab = _vocab("v", 30)  # a small vocabulary: many repeated n-grams, some shared
    a = " ".join(rng.choice(vocab) for _ in range(3000))
    b = " ".join(rng.choice(vocab[:6]) for _ in range(3000))
    for n in (1, 2, 3, 5):
        wa, wb = words(a), words(b + " " + a[:400])
        grams_a = {tuple(wa[i : i + n]) for i in range(len(wa) - n + 1)}
        expect = sum(tuple(wb[i : i + n]) in grams_a for i in range(len(wb) - n + 1))
        train = leakage.train_ngram_set([a], n)
        assert len(train) == len(grams_a)
        assert leakage.overlap([b + " " + a[:400]], train, n) == (len(wb) - n + 1, expect)


def test_a_copied_paragraph_is_counted_by_hand(tmp_path):
    paragraph = _vocab("p", 20)  # 20 words copied from a training document
    train_doc = " ".join(_vocab("t", 30) + paragraph + _vocab("u", 30)) + "."
    # the copy changes case and punctuation only; 10 new words either side: 40 words, 28 13-grams,
    # of which those inside the 20 copied words are in train: 20 - 13 + 1 = 8
    copy = ", ".join(w.upper() for w in paragraph)
    test_copy = " ".join(_vocab("x", 10)) + " -- " + copy + "! " + " ".join(_vocab("y", 10))
    test_new = " ".join(_vocab("z", 25))  # 13 13-grams, none in train
    split, text = _corpus(tmp_path, {"tr": train_doc, "cp": test_copy, "new": test_new}, ["tr"], ["cp", "new"])
    r = leakage.run(split, text, tmp_path / "leakage.json", settings=S)
    docs = {d: {k: v[k] for k in ("ngrams", "in_train", "pct")} for d, v in r["per_test_document"].items()}
    assert docs == {"cp": {"ngrams": 28, "in_train": 8, "pct": round(100 * 8 / 28, 4)},
                    "new": {"ngrams": 13, "in_train": 0, "pct": 0.0}}
    assert r["test_13gram_in_train_pct"] == round(100 * 8 / 41, 4)
    assert json.loads((tmp_path / "leakage.json").read_text())["test_ngrams_in_train"] == 8
    assert "test_block_13gram_pct" not in r  # no tokens given


def _doc(rng, vocab, n=400) -> list[str]:
    return [rng.choice(vocab) for _ in range(n)]


def test_near_duplicates_found_and_distinct_pair_not(tmp_path):
    rng = random.Random(1)
    vocab = _vocab("w", 5000)
    a = _doc(rng, vocab)
    b = list(a)
    for i in range(0, len(b), 40):  # one word in 40 changed: ~77% of 5-shingles kept, Jaccard ~0.6
        b[i] = "changed"
    c, d = _doc(rng, vocab), _doc(rng, vocab)
    docs = {"a": " ".join(a), "b": " ".join(b), "c": " ".join(c), "d": " ".join(d), "tiny": "too short"}
    split, text = _corpus(tmp_path, docs, ["a", "c"], ["b", "d", "tiny"])
    r = leakage.run(split, text, tmp_path / "leakage.json", tmp_path / "leakage.png", settings=S)
    assert [(p["a"], p["b"]) for p in r["near_duplicate_pairs"]] == [("a", "b")]
    pair = r["near_duplicate_pairs"][0]
    sa = {tuple(a[i : i + 5]) for i in range(len(a) - 4)}
    sb = {tuple(b[i : i + 5]) for i in range(len(b) - 4)}
    assert pair["exact_jaccard"] == round(len(sa & sb) / len(sa | sb), 4)
    assert abs(pair["estimated_jaccard"] - pair["exact_jaccard"]) < 0.15  # ~1/sqrt(128) standard error
    assert pair["cross_split"] and (pair["split_a"], pair["split_b"]) == ("train", "test")
    assert r["cross_split_pairs"] == 1
    assert r["minhash"]["documents"] == 5
    assert r["per_test_document"]["d"]["nearest_train"] == {"doc": None, "estimated_jaccard": 0.0}  # shares nothing
    assert r["per_test_document"]["b"]["nearest_train"] == {"doc": "a", "estimated_jaccard": pair["estimated_jaccard"]}
    assert "nearest_train" not in r["per_test_document"]["tiny"]  # no shingle: no MinHash
    assert (tmp_path / "leakage.png").stat().st_size > 0
    # a stricter threshold than the pair's Jaccard finds nothing
    strict = LeakageSettings.from_dict({**S.to_dict(), "threshold": 0.95})
    assert leakage.run(split, text, tmp_path / "strict.json", settings=strict)["near_duplicate_pairs"] == []


def test_lsh_candidates_below_the_threshold_are_not_listed(monkeypatch):
    """LSH proposes pairs, the MinHash estimate decides: a false positive of the index stays out."""
    from datasketch import MinHashLSH

    monkeypatch.setattr(MinHashLSH, "query", lambda self, m: list(self.keys.keys()))  # every pair a candidate
    rng = random.Random(3)
    a = _doc(rng, _vocab("w", 5000))
    b = [w if i % 40 else "changed" for i, w in enumerate(a)]
    docs = {"a": " ".join(a), "b": " ".join(b), "c": " ".join(_doc(rng, _vocab("w", 5000)))}
    pairs, candidates, _ = leakage.near_duplicates(docs.get, {"a": "train", "b": "train", "c": "test"}, S)
    assert candidates == 3 and [(p["a"], p["b"]) for p in pairs] == [("a", "b")]
    assert not pairs[0]["cross_split"]


def test_blocks_are_cut_at_eos():
    class Tok:  # decodes ids as words t<id>
        def batch_decode(self, seqs):
            return [" ".join(f"t{i}" for i in s) for s in seqs]

    blocks = np.array([[1, 2, 0, 3, 4], [0, 5, 6, 0, 7], [8, 0, 0, 9, 0]], dtype=np.uint16)
    assert list(leakage.block_texts(blocks, 0, Tok())) == [["t1 t2", "t3 t4"], ["t5 t6", "t7"], ["t8", "t9"]]


def test_block_list_follows_test_npy(tmp_path, tiny_tokenizer_dir):
    rng = random.Random(2)
    vocab = ["ocean", "heat", "ice", "sea", "level", "rise", "carbon", "budget", "forest", "soil", "water",
             "storm", "flood", "risk", "city", "coast", "warming", "emission", "policy", "energy"]
    train = " ".join(_doc(rng, vocab, 600))
    distinct = " ".join(f"q{i}" for i in range(300))  # words that never occur in training
    split, text = _corpus(tmp_path, {"tr": train, "copy": train, "new": distinct}, ["tr"], ["copy", "new"])
    meta = tokenize.run(split, text, tiny_tokenizer_dir, tmp_path / "tokens", seq_len=64)
    tok = tmp_path / "tokens"
    r = leakage.run(split, text, tmp_path / "leakage.json", settings=S, tokens_npy=tok / "test.npy",
                    meta_json=tok / "meta.json", model_dir=tiny_tokenizer_dir)
    blocks = r["test_block_13gram_pct"]
    assert len(blocks) == r["test_blocks"] == meta["splits"]["test"]["blocks"] == len(np.load(tok / "test.npy"))
    assert r["per_test_document"]["copy"]["pct"] == 100.0 and r["per_test_document"]["new"]["pct"] == 0.0
    # the copy's blocks come first (split order), the distinct document's last
    copy_blocks = [b for b in blocks if b > 0]
    assert blocks[0] > 70 and blocks[-1] == 0.0 and len(copy_blocks) >= 3
    assert blocks == sorted(blocks, key=lambda b: b == 0.0)  # never a copy block after a distinct one
    # the same shares from tuples of words: each block decoded apart, cut at EOS, its 13-grams looked up
    from transformers import AutoTokenizer

    t = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir))
    wt = words(train)
    grams = {tuple(wt[i : i + 13]) for i in range(len(wt) - 12)}
    expect = []
    for row in np.load(tok / "test.npy").tolist():
        pieces, cur = [], []
        for i in row + [meta["eos_id"]]:
            if i == meta["eos_id"]:
                pieces, cur = pieces + [cur], []
            else:
                cur.append(i)
        ws = [words(t.decode(p)) for p in pieces if p]
        g = [tuple(w[i : i + 13]) for w in ws for i in range(len(w) - 12)]
        expect.append(round(100 * sum(x in grams for x in g) / len(g), 4) if g else 0.0)
    assert blocks == expect


def test_main_and_settings(tmp_path):
    split, text = _corpus(tmp_path, {"a": "one two three four five six", "b": "seven eight"}, ["a"], ["b"])
    out = tmp_path / "l.json"
    assert leakage.main([str(split), str(text), "--out", str(out), "--config", '{"ngram": 2}']) == 0
    r = json.loads(out.read_text())
    assert r["ngram"] == 2 and r["per_test_document"]["b"]["ngrams"] == 1
    assert r["per_test_document"]["b"]["pct"] == 0.0
    with pytest.raises(SettingsError, match="known"):
        LeakageSettings.from_dict({"ngrams": 13})
