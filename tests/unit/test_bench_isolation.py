"""Benchmarks measure each configuration in a process of its own: state left by one shape's run (Liger's
module patches, the CUDA allocator, a DeepSpeed engine's memory) must not skew the next."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ..conftest import REPO


def _load(name: str):
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["compile_bench", "qlora_bench"])
def test_several_shapes_run_in_fresh_processes(name, monkeypatch, tmp_path):
    bench = _load(name)
    calls = []

    def fresh(script, argv, option, values, work):
        calls.append((option, list(values)))
        for v in values:
            yield v, {"command": "x", v: {"pid": 1000 + len(calls)}}

    def in_this_process(*a, **k):
        raise AssertionError("a shape was measured in the calling process")

    monkeypatch.setattr(bench.C, "each_in_fresh_process", fresh)
    for f in ("run_variant", "run_shape"):
        if hasattr(bench, f):
            monkeypatch.setattr(bench, f, in_this_process)
    out = tmp_path / "r.json"
    monkeypatch.setattr(sys, "argv", [name, "--data", "x.npy", "--tokenizer", "t", "--shapes", "llama-3.2-1b",
                                      "llama-3.2-3b", "--out", str(out), "--work", str(tmp_path)])
    assert bench.main() == 0
    assert calls == [("--shapes", ["llama-3.2-1b", "llama-3.2-3b"])]
    import json

    r = json.loads(out.read_text())
    assert r["fresh_process_per_shape"] is True and {"llama-3.2-1b", "llama-3.2-3b"} <= set(r)
