"""split: by document, deterministic, stable when documents are added."""

from __future__ import annotations

import pytest

from climatune.corpus.split import assign, score


def test_deterministic_and_disjoint():
    docs = [f"doc{i:03d}" for i in range(200)]
    a, b = assign(docs, 7, 0.1), assign(list(reversed(docs)), 7, 0.1)
    assert a == b
    assert not set(a["train"]) & set(a["test"])
    assert sorted(a["train"] + a["test"]) == docs
    assert 10 <= len(a["test"]) <= 32  # ~10% of 200
    assert assign(docs, 8, 0.1)["test"] != a["test"]  # the seed matters


def test_stable_when_documents_are_added():
    docs = [f"report_{i}" for i in range(50)]
    before = assign(docs, 1, 0.2)
    after = assign(docs + [f"new_{i}" for i in range(30)], 1, 0.2)
    assert set(before["test"]) <= set(after["test"])
    assert set(before["train"]) <= set(after["train"])


def test_small_corpus_gets_both_sides():
    for seed in range(20):
        s = assign(["a", "b", "c"], seed, 0.1)
        assert s["train"] and s["test"]
    assert assign(["only"], 0, 0.1)["train"] == ["only"]


def test_scores_are_uniform_enough():
    xs = [score(f"d{i}", 0) for i in range(2000)]
    assert 0.45 < sum(xs) / len(xs) < 0.55 and min(xs) >= 0 and max(xs) < 1


def test_bad_ratio():
    with pytest.raises(ValueError, match="test_ratio"):
        assign(["a"], 0, 1.0)
