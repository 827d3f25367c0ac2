"""hpo: successive halving — the validation split keeps documents apart, a continued trial is exactly the
run it would have been uninterrupted, a rung keeps its best 1/eta, and hpo.json carries every trial."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from climatune.corpus.tokenize import doc_segments, docs_path, load_segments, save_segments
from climatune.model import finetune, hpo, hpo_select, hpo_split, hpo_trial
from climatune.model import training as T

TRAIN = dict(seq_len=32, micro_batch=2, effective_batch=2, precision="fp32", lr=2e-3, gradient_checkpointing=False,
             lora_dropout=0.1, seed=7, warmup_ratio=0.0, log_every=1)


def settings(**over):
    base = dict(grid={"lr": [1e-3, 3e-3], "lora_r": [2, 4]}, eta=2, rungs=2, budget=2, val_ratio=0.3,
                val_blocks=0, seed=1, apply=False)
    return hpo.HpoSettings.from_dict({**base, **over})


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    """train.npy of 8 documents packed into 32-token blocks, its _docs.npz and meta.json, as tokenize writes."""
    d = tmp_path_factory.mktemp("tokens")
    rng = np.random.default_rng(0)
    lengths = [50, 70, 40, 90, 60, 45, 80, 65]
    stream = np.concatenate([np.tile(np.arange(n) * (i + 3) % 400, 1) + rng.integers(0, 2, n)
                             for i, n in enumerate(lengths)]).astype(np.uint16)
    n_blocks = len(stream) // 32
    np.save(d / "train.npy", stream[: n_blocks * 32].reshape(n_blocks, 32))
    save_segments(docs_path(d / "train.npy"), doc_segments(lengths, 32, n_blocks))
    ids = [f"doc{i}" for i in range(len(lengths))]
    (d / "meta.json").write_text(json.dumps({"splits": {"train": {"document_ids": ids}}}))
    return d


def test_grid_rungs_and_bad_settings_are_named():
    s = settings()
    assert hpo.grid_points(s.grid) == [{"lr": 1e-3, "lora_r": 2}, {"lr": 1e-3, "lora_r": 4},
                                       {"lr": 3e-3, "lora_r": 2}, {"lr": 3e-3, "lora_r": 4}]
    assert hpo.rung_sizes(6, 3, 2) == [6, 2] and [hpo.steps_at(s, r) for r in range(2)] == [2, 4]
    keys = T.TrainConfig.from_dict({}).to_dict()
    assert hpo.check(s, keys) == []
    assert "not train settings" in hpo.check(settings(grid={"lrr": [1]}), keys)[0]
    assert "cannot vary" in hpo.check(settings(grid={"seq_len": [64, 128]}), keys)[0]
    assert "rung 3 would be empty" in hpo.check(settings(rungs=4), keys)[0]
    # rung 0 must train at full lr: warmup over the last rung's 8 steps at 0.3 takes 3 >= budget 2
    assert "warmup steps" in hpo.check(settings(budget=2, rungs=3), {**keys, "warmup_ratio": 0.3})[0]
    # a site file removes a default key with an empty list (Snakemake merges grids key by key)
    assert settings(grid={"lr": [1e-3, 2e-3], "lora_r": []}).grid == {"lr": (1e-3, 2e-3)}


def test_split_keeps_validation_documents_out_of_the_fit_blocks(tokens, tmp_path):
    summary = hpo_split.split(tokens / "train.npy", tokens / "meta.json", tmp_path, settings())
    ids = json.loads((tokens / "meta.json").read_text())["splits"]["train"]["document_ids"]
    val = {ids.index(d) for d in summary["val_documents"]}
    assert len(val) == round(0.3 * 8)
    fit_seg, val_seg = load_segments(tmp_path / "fit_docs.npz"), load_segments(tmp_path / "val_docs.npz")
    assert set(val_seg["seg_doc"]) <= val and not set(fit_seg["seg_doc"]) & val
    blocks = np.load(tokens / "train.npy")
    fit, val_blocks = np.load(tmp_path / "fit.npy"), np.load(tmp_path / "val.npy")
    assert len(fit) + len(val_blocks) + summary["dropped_mixed_blocks"] == len(blocks)
    assert summary["dropped_mixed_blocks"] > 0  # blocks straddling a fit and a val document
    assert len(fit_seg["block_ptr"]) == len(fit) + 1 and fit_seg["block_ptr"][-1] == len(fit_seg["seg_doc"])
    # the same seed draws the same documents
    again = hpo_split.split(tokens / "train.npy", tokens / "meta.json", tmp_path / "again", settings())
    assert again["val_documents"] == summary["val_documents"]


@pytest.mark.slow
def test_a_continued_trial_is_the_uninterrupted_run_and_the_search_keeps_the_best(tiny_model_dir, tokens,
                                                                                    tmp_path):
    s = settings()
    data = tmp_path / "data"
    hpo_split.split(tokens / "train.npy", tokens / "meta.json", data, s)
    fit, val = data / "fit.npy", data / "val.npy"
    rung0 = [hpo_trial.trial(tiny_model_dir, fit, val, tmp_path / f"rung0/t{k}", TRAIN, s, 0, k) for k in range(4)]
    assert [r["steps"] for r in rung0] == [2] * 4 and all(math.isfinite(r["val_loss"]) for r in rung0)
    assert len({r["val_loss"] for r in rung0}) == 4  # four different settings, four different models
    # a continued trial whose parent's checkpoint is of another run (changed settings) fails, naming why
    with pytest.raises(Exception, match="cannot continue"):
        hpo_trial.trial(tiny_model_dir, fit, val, tmp_path / "other", {**TRAIN, "lora_alpha": 7}, s, 1, 0,
                        selection_json=_selection(tmp_path, rung0[0]))
    sel = hpo_select.select([tmp_path / f"rung0/t{k}/result.json" for k in range(4)], tmp_path / "sel0.json", s, 0)
    assert len(sel["survivors"]) == 2
    assert sel["survivors"][0]["val_loss"] == min(r["val_loss"] for r in rung0)
    rung1 = [hpo_trial.trial(tiny_model_dir, fit, val, tmp_path / f"rung1/t{k}", TRAIN, s, 1, k,
                             selection_json=tmp_path / "sel0.json") for k in range(2)]
    best = rung1[0]
    assert best["steps"] == 4 and best["steps_this_rung"] == 2 and best["params"] == sel["survivors"][0]["params"]
    # the same settings trained 4 steps in one go (schedule over the last rung's 4 steps): identical losses
    cfg = T.TrainConfig.from_dict({**TRAIN, **best["params"], "max_steps": 4, "checkpoint_every": 2})
    ref = finetune.train(tiny_model_dir, fit, tmp_path / "ref", cfg)
    ref_losses = [float(x) for x in (tmp_path / "ref/train_log.csv").read_text().split("\n")[1:] if x
                  for x in [x.split(",")[1]]]
    assert [loss for _, loss in best["loss_curve"]] == pytest.approx(ref_losses, rel=1e-5)
    assert ref["final_loss"] == pytest.approx(best["train_loss"], rel=1e-5)

    results = [tmp_path / f"rung{r}/t{k}/result.json" for r, n in ((0, 4), (1, 2)) for k in range(n)]
    summary = hpo.summarize(results, data / "split.json", tmp_path / "hpo.json", tmp_path / "hpo.png", s)
    assert {"trials", "rungs", "eta", "best"} <= set(summary)
    assert len(summary["trials"]) == 6 and [r["trials"] for r in summary["rungs"]] == [4, 2]
    assert all({"params", "rung", "steps", "val_loss"} <= set(t) for t in summary["trials"])
    assert summary["best"]["val_loss"] == min(r["val_loss"] for r in rung1)
    assert (tmp_path / "hpo.png").stat().st_size > 10_000


def _selection(tmp_path, parent: dict):
    p = tmp_path / "one.json"
    p.write_text(json.dumps({"survivors": [{k: parent[k] for k in ("slot", "params", "val_loss", "steps", "run")}]}))
    return p


def test_a_slot_beyond_what_the_rung_before_kept_is_refused(tmp_path):
    (tmp_path / "sel.json").write_text(json.dumps({"survivors": [{"params": {"lr": 1e-3}, "slot": "t0"}]}))
    with pytest.raises(Exception, match="kept only 1 trials"):
        hpo_trial.trial("m", "f", "v", tmp_path / "x", TRAIN, settings(), 1, 1, selection_json=tmp_path / "sel.json")
