"""probe: doubling + bisection on real steps, only real OOM counts, the choice and its accumulation."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from climatune.model import probe

OOM_SCRIPT = """
import json, resource, sys
import bitsandbytes, peft, scipy.optimize, transformers.models.llama.modeling_llama  # import before the limit
from transformers import AutoModelForCausalLM, BitsAndBytesConfig
from climatune.model import probe
model_dir, npy, out, extra_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (vm + extra_mb * 2**20, resource.RLIM_INFINITY))
cfg = dict(seq_len=64, effective_batch=8, precision="fp32", gradient_checkpointing=False, loss="hf")
probe.run(model_dir, npy, out, cfg, probe.ProbeSettings.from_dict({"max_micro_batch": 1 << 20, "steps": 1}))
"""


def _try(mb, gc, tps, fits=True):
    return {"micro_batch": mb, "gradient_checkpointing": gc, "fits": fits, "peak_gib": 1.0, "tokens_per_s": tps}


def test_choose_prefers_small_within_tolerance_and_never_shrinks_effective_batch():
    tries = [_try(1, True, 50), _try(2, True, 90), _try(4, True, 100), _try(8, True, 101), _try(16, True, 0, False),
             _try(4, False, 130), _try(8, False, 129), _try(16, False, 500)]
    ch = probe.choose(tries, effective_batch=12, tolerance=0.03)
    assert ch["gradient_checkpointing"] is False  # faster without recomputation
    assert (ch["micro_batch"], ch["grad_accum"], ch["effective_batch"]) == (4, 3, 12)
    ch = probe.choose(tries, effective_batch=10, tolerance=0.03)
    assert ch["micro_batch"] * ch["grad_accum"] >= 10 and ch["micro_batch"] <= 8
    with pytest.raises(probe.NothingFitsError):
        probe.choose([_try(1, True, 0, False)], 8, 0.03)


def test_only_real_oom_counts():
    assert probe.is_oom(torch.OutOfMemoryError("CUDA out of memory"))
    assert probe.is_oom(RuntimeError("[enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory"))
    assert not probe.is_oom(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    assert not probe.is_oom(ValueError("out of memory"))


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    p = tmp_path_factory.mktemp("probe") / "train.npy"
    np.save(p, np.random.default_rng(0).integers(0, 500, (16, 64)).astype(np.uint16))
    return p


@pytest.mark.slow
def test_probe_both_checkpointing_settings_and_plot(tiny_model_dir, blocks, tmp_path):
    cfg = dict(seq_len=64, effective_batch=8, precision="fp32", gradient_checkpointing="auto")
    r = probe.run(tiny_model_dir, blocks, tmp_path / "p.json", cfg,
                  probe.ProbeSettings.from_dict({"max_micro_batch": 8, "steps": 1}), out_png=tmp_path / "p.png")
    assert r["max_micro_batch"] == {"off": 8, "on": 8}
    assert {(t["micro_batch"], t["gradient_checkpointing"]) for t in r["tries"]} == {
        (mb, gc) for mb in (1, 2, 4, 8) for gc in (False, True)}
    assert all(t["fits"] and t["tokens_per_s"] > 0 and t["peak_gib"] > 0 for t in r["tries"])
    ch = r["chosen"]
    assert ch["micro_batch"] * ch["grad_accum"] == 8 and ch["why"]
    assert json.loads((tmp_path / "p.json").read_text())["chosen"] == ch
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_budget_below_the_model_fits_nothing(tiny_model_dir, blocks, tmp_path):
    cfg = dict(seq_len=64, effective_batch=8, precision="fp32", gradient_checkpointing=True)
    with pytest.raises(probe.NothingFitsError, match="not even 1"):
        probe.run(tiny_model_dir, blocks, tmp_path / "p.json", cfg,
                  probe.ProbeSettings.from_dict({"memory_gb": 0.01, "max_micro_batch": 4, "steps": 1}))


@pytest.mark.slow
def test_real_allocation_failure_is_caught_and_bisected(tiny_model_dir, blocks, tmp_path):
    """Under an address-space limit, big micro-batches really fail to allocate: the probe records
    them as out of memory, bisects, and still chooses a configuration that fits."""
    out = tmp_path / "p.json"
    res = subprocess.run([sys.executable, "-c", OOM_SCRIPT, str(tiny_model_dir), str(blocks), str(out), "350"],
                         capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1", **_env()})
    assert res.returncode == 0, res.stderr[-3000:]
    r = json.loads(out.read_text())
    tries = r["tries"]
    assert {t["gradient_checkpointing"] for t in tries} == {False}
    misses = [t for t in tries if not t["fits"]]
    # every miss is a real allocation failure, caught: not a peak over the (here unlimited) budget
    assert misses and all(t["error"].startswith("out of memory") for t in misses), tries
    largest = r["max_micro_batch"]["off"]
    assert largest >= 8 and r["largest_micro_batch"] == largest
    _assert_doubling_then_bisection(tries, max_mb=1 << 20, largest=largest)
    # tries up to the effective batch (8) are timed, larger ones only checked for fit
    assert all((t["tokens_per_s"] or 0) > 0 for t in tries if t["fits"] and t["micro_batch"] <= 8), tries
    assert all(t["tokens_per_s"] is None for t in tries if t["micro_batch"] > 8), tries
    ch = r["chosen"]
    assert ch["micro_batch"] <= largest and ch["micro_batch"] * ch["grad_accum"] == 8


def _assert_doubling_then_bisection(tries: list[dict], max_mb: int, largest: int) -> None:
    """`tries` (one checkpointing setting, in order) are the search's: 1, 2, 4, ... while they fit, then,
    after the first miss, each try is the midpoint of the largest fit and the smallest miss so far, until
    those two are within ~6% (max(1, fit // 16)); `largest` is the largest fit, recorded as fitting, and
    the smallest miss above it was really tried and did not fit."""
    mbs = [t["micro_batch"] for t in tries]
    assert len(set(mbs)) == len(mbs), f"a micro-batch tried twice: {mbs}"
    first_miss = next(i for i, t in enumerate(tries) if not t["fits"])
    assert mbs[: first_miss + 1] == [2**k for k in range(first_miss + 1)], f"not doubling from 1: {mbs}"
    assert mbs[first_miss] <= max_mb
    lo, hi = mbs[first_miss - 1], mbs[first_miss]
    for t in tries[first_miss + 1:]:
        assert hi - lo > max(1, lo // 16), f"tried {t['micro_batch']} after the search had converged: {mbs}"
        assert t["micro_batch"] == (lo + hi) // 2, f"{t['micro_batch']} is not the midpoint of {lo}..{hi}: {mbs}"
        lo, hi = (t["micro_batch"], hi) if t["fits"] else (lo, t["micro_batch"])
    assert hi - lo <= max(1, lo // 16), f"stopped before converging ({lo}..{hi}): {mbs}"
    fits = {t["micro_batch"]: t["fits"] for t in tries}
    assert largest == lo == max(mb for mb, ok in fits.items() if ok) and fits[largest] is True
    assert hi == min(mb for mb, ok in fits.items() if not ok and mb > largest) and fits[hi] is False


@pytest.mark.parametrize("fits_up_to, max_mb, largest", [(37, 1 << 20, 36), (5, 1 << 20, 5), (1, 64, 1),
                                                         (300, 64, 64), (300, 48, 48), (0, 64, 0)])
def test_search_doubles_then_bisects_to_within_six_percent(fits_up_to, max_mb, largest):
    """The search alone, against a stand-in for the real try (a micro-batch fits up to `fits_up_to`):
    its tries, in order, and the largest fit it returns."""
    from climatune.model.prober import Prober

    class Stub(Prober):
        def attempt(self, mb, gc):
            rec = {"micro_batch": mb, "gradient_checkpointing": gc, "fits": mb <= fits_up_to}
            self.tries.append(rec)
            return rec

    cfg = probe.T.TrainConfig.from_dict(dict(loss="chunked"))
    p = Stub(None, None, None, cfg, torch.device("cpu"), steps=1, budget=1)
    assert p.search(False, max_mb) == largest
    mbs = [t["micro_batch"] for t in p.tries]
    if fits_up_to >= max_mb:  # nothing misses: doubling, then max_mb itself when it is not a power of two
        assert mbs == [2**k for k in range(max_mb.bit_length())] + ([max_mb] if max_mb & (max_mb - 1) else [])
    elif fits_up_to == 0:
        assert mbs == [1]
    else:
        _assert_doubling_then_bisection(p.tries, max_mb, largest)
        assert largest >= fits_up_to * 15 / 16  # within ~6% of the true largest
    if fits_up_to == 37:
        assert mbs == [1, 2, 4, 8, 16, 32, 64, 48, 40, 36, 38]


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}


def test_the_recorded_choice_is_reused_until_something_relevant_changes(tiny_model_dir, blocks, tmp_path, caplog):
    """The choice rests on timings: measured again it could differ and train another model. The same
    settings, model, data and device reuse the recorded measurement (said in the log); a setting that
    changes the training step measures again; one that does not (lr, log cadence) reuses."""
    import logging

    caplog.set_level(logging.INFO)
    cfg = dict(seq_len=64, effective_batch=4, precision="fp32", gradient_checkpointing="auto")
    s = probe.ProbeSettings.from_dict({"max_micro_batch": 2, "steps": 1})
    first = probe.run(tiny_model_dir, blocks, tmp_path / "a" / "p.json", cfg, s)
    cache = list((tmp_path / "a" / "cache").glob("*.json"))
    assert len(cache) == 1 and "reusing" not in caplog.text
    (tmp_path / "a" / "p.json").unlink()  # Snakemake deletes the output before a rerun
    again = probe.run(tiny_model_dir, blocks, tmp_path / "a" / "p.json", {**cfg, "lr": 0.5, "log_every": 7}, s)
    assert "reusing the probe's measurement" in caplog.text and again == first
    caplog.clear()
    probe.run(tiny_model_dir, blocks, tmp_path / "a" / "p.json", {**cfg, "seq_len": 32}, s)
    assert "reusing" not in caplog.text and len(list((tmp_path / "a" / "cache").glob("*.json"))) == 2


def test_masked_probe_tries_blocks_with_boundaries_first(tiny_model_dir, tmp_path, monkeypatch):
    """With document masking the tries carry finetune's masked inputs, on the blocks holding the most
    documents (the masked attention path, when the data has one); without the boundaries file it stops."""
    from climatune.corpus import tokenize
    from climatune.model import prober

    npy = tmp_path / "train.npy"
    np.save(npy, np.random.default_rng(0).integers(0, 500, (4, 64)).astype(np.uint16))
    cfg = dict(seq_len=64, effective_batch=2, precision="fp32", gradient_checkpointing=True, document_masking=True)
    s = probe.ProbeSettings.from_dict({"max_micro_batch": 2, "steps": 1})
    with pytest.raises(FileNotFoundError, match="train_docs.npz"):
        probe.run(tiny_model_dir, npy, tmp_path / "p.json", cfg, s)
    # block 2 holds three documents, the others one each
    seg = {"block_ptr": np.array([0, 1, 2, 5, 6]), "seg_start": np.array([0, 0, 0, 10, 40, 0], np.int32),
           "seg_doc": np.array([0, 0, 0, 1, 2, 2], np.int32)}
    tokenize.save_segments(tokenize.docs_path(npy), seg)
    seen = []
    step = prober.Prober._step
    monkeypatch.setattr(prober.Prober, "_step", lambda self, batch: (seen.append(batch), step(self, batch))[1])
    r = probe.run(tiny_model_dir, npy, tmp_path / "p.json", cfg, s)
    assert r["chosen"]["micro_batch"] in (1, 2) and seen
    assert all(b["position_ids"][0].tolist()[10] == 0 and b["labels"][0, 40] == -100 for b in seen)
