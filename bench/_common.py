"""What every bench script shares: random-weight models prepared in a process of their own, the header of
a result JSON, fresh processes per configuration, timing until a minimum duration, atomic JSON output.

A bench script starts with

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _common as C  # noqa: E402  (also puts src/ on sys.path)

`timed` and `search_latency` are the rag_retrieve stage's own functions (climatune.rag.retrieve),
re-exported here so that the RAG benchmark and the stage measure latency the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
SRC = str(REPO / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from climatune._util import environment, read_json, write_json  # noqa: E402
from climatune.rag.retrieve import search_latency, timed  # noqa: E402,F401 (re-exported)

__all__ = ["REPO", "SRC", "each_in_fresh_process", "header", "in_fresh_process", "prepare_random_model",
           "python_env", "search_latency", "timed", "write_result"]


def python_env(cpu_only: bool = False, base: dict | None = None) -> dict:
    """Environment of a child Python process: `base` (default os.environ) with src/ first on PYTHONPATH;
    with `cpu_only`, no GPU visible (CUDA_VISIBLE_DEVICES="")."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    if cpu_only:
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def in_fresh_process(target: str | os.PathLike, args, env: dict | None = None, timeout: float | None = None,
                     capture: bool = False) -> subprocess.CompletedProcess:
    """Run `target` in a new Python process (this interpreter) and wait for it: a script when it ends in
    .py, else a module (`python -m target`), with `args` (str() of each). Nothing it loads (CUDA context,
    allocator, kernels, weights) stays in the caller. `env` defaults to `python_env()`; with `capture`,
    stdout and stderr come back as text; `timeout` raises subprocess.TimeoutExpired."""
    target = str(target)
    cmd = [sys.executable, target] if target.endswith(".py") else [sys.executable, "-m", target]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, env=python_env() if env is None else env, text=True, capture_output=capture,
                          timeout=timeout)


def each_in_fresh_process(script: str | os.PathLike, argv: list[str], option: str, values,
                          work: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """Run the bench `script` once per value, each in a fresh process, with its own command line `argv`
    plus `option value --out <work>/result_<value>.json` (argparse: the last occurrence wins), and yield
    (value, that run's result JSON) after each. A failed run ends the caller with its command line."""
    for value in values:
        part = Path(work) / f"result_{value}.json"
        args = [*argv, option, value, "--out", str(part)]
        if in_fresh_process(script, args).returncode:
            raise SystemExit(f"{Path(script).stem} failed for {value}: "
                             + " ".join([sys.executable, str(script), *args]))
        yield value, read_json(part)


def prepare_random_model(shape: str, out_dir: str | os.PathLike, tokenizer: str | os.PathLike, device: str,
                         seed: int = 0, env: dict | None = None) -> Path:
    """Folder of random weights of `shape` (bf16, seed `seed`, drawn on `device`), prepared by
    `python -m climatune.model.prepare_model random:<shape>` in a process of its own, so that neither a
    CUDA context nor the weights stay in the caller; skipped when out_dir/config.json exists."""
    out = Path(out_dir)
    if (out / "config.json").exists():
        return out
    t0 = time.perf_counter()
    args = [f"random:{shape}", "--out", out, "--tokenizer", tokenizer, "--save-dtype", "bfloat16",
            "--seed", seed, "--init-device", device]
    rc = in_fresh_process("climatune.model.prepare_model", args,
                          env=python_env(cpu_only=device == "cpu") if env is None else env).returncode
    if rc:
        raise SystemExit(f"preparing random:{shape} in {out} failed (exit {rc})")
    print(f"{shape}: random model prepared in {time.perf_counter() - t0:.0f}s", flush=True)
    return out


def git_commit() -> str | None:
    """HEAD of the checkout bench/ lives in; None without git or outside a repository."""
    try:
        res = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode:
        return None
    return res.stdout.strip() or None


def header(argv: list[str], with_environment: bool = True) -> dict:
    """The first keys of a result JSON: command (as `python bench/<script> <args>`), environment
    (climatune._util.environment(); leave it out with `with_environment=False` in a process that must not
    touch CUDA), git_commit (None where unknown) and date (UTC, ISO 8601)."""
    h = {"command": f"python bench/{Path(argv[0]).name} " + " ".join(argv[1:])}
    if with_environment:
        h["environment"] = environment()
    h["git_commit"] = git_commit()
    h["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return h


def write_result(path: str | os.PathLike, obj, quiet: bool = False) -> None:
    """Write `obj` as JSON to `path` atomically (climatune._util.write_json) and say where it went."""
    write_json(path, obj)
    if not quiet:
        print(f"written to {path}", flush=True)
