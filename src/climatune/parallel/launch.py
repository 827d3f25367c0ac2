"""parallel: train the model on the tokenized data under a DeepSpeed layout, and save it.

The multi-GPU counterpart of finetune: full-parameter (or LoRA/QLoRA) training over results/tokens/
train.npy for `epochs` / `max_steps`, DeepSpeed checkpoints every `checkpoint_every` steps (a killed or
requeued job resumes), and the trained model in Hugging Face format under <out-dir>/model. Every layout
trains on the same global batches in the same order, so loss curves compare step by step with `single`.

This module launches: torchrun with one process per rank (per GPU), or one srun step inside a SLURM
job; a layout that needs more GPUs than this node shows is refused before anything starts.

Run: python -m climatune.parallel --layout dp2 --model results/model/base --train results/tokens/train.npy \
         --out-dir results/parallel/dp2 [--config settings.yaml|'{"max_steps": 20}'] [--bench]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .._settings import read_overrides
from .._util import UserError, die_with_parent, setup_logging, writer_lock
from .layout import Layout, UnsupportedLayout, check_batch, check_supported, parse_layout, processes_per_node
from .settings import ParallelSettings

log = logging.getLogger(__name__)

RUN_IDS_ENV = "CLIMATUNE_PARALLEL_RUN_IDS"


def in_slurm_allocation() -> bool:
    """Inside a SLURM job but not inside one of its steps: where this launcher starts its own step (the
    SLURM profile runs `parallel` jobs unwrapped, `mpi` set, so the job's whole allocation is ours)."""
    return bool(os.environ.get("SLURM_JOB_ID")) and not os.environ.get("SLURM_STEP_ID") and bool(shutil.which("srun"))


def launch_command(layout: Layout, argv: list[str], nodes: int = 1, cpus_per_node: int | None = None,
                   slurm_nodes: list[str] | None = None) -> list[str]:
    """The launch of one layout: torchrun with one process per rank (per GPU on GPUs).

    Inside a SLURM allocation (`slurm_nodes`: its hosts) it is one `srun` step with one torchrun per node,
    the step given all the job's GPUs, memory and CPUs (`cpus_per_node`) on each node; several nodes meet
    at a c10d rendezvous on the first node. Outside SLURM it is one local torchrun (one node only)."""
    per_node = processes_per_node(layout, nodes)
    torchrun = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={per_node}"]
    if slurm_nodes is None:
        if nodes > 1:
            raise UnsupportedLayout(f"parallel.nodes={nodes} needs a SLURM allocation of {nodes} nodes: run "
                                    "the workflow with --profile profiles/slurm (site key parallel_nodes) or "
                                    "inside salloc")
        return [*torchrun, "--standalone", "-m", "climatune.parallel", *argv]
    if len(slurm_nodes) != nodes:
        raise UnsupportedLayout(
            f"parallel.nodes={nodes}, but this SLURM job has {len(slurm_nodes)} node(s) ({','.join(slurm_nodes)}): "
            f"set parallel_nodes: {nodes} in the SLURM site file (profiles/site.yaml) or "
            f"CLIMATUNE_SLURM_PARALLEL_NODES={nodes}, so that the job asks for as many nodes as the config")
    if nodes == 1:
        rdzv = ["--standalone"]
    else:  # a port of this job's own, so two jobs that share a first node do not collide
        port = 20000 + int(os.environ.get("SLURM_JOB_ID", "0")) % 20000
        rdzv = [f"--nnodes={nodes}", "--rdzv_backend=c10d", f"--rdzv_endpoint={slurm_nodes[0]}:{port}",
                f"--rdzv_id={os.environ.get('SLURM_JOB_ID', 'climatune')}"]
    srun = ["srun", f"--nodes={nodes}", f"--ntasks={nodes}", "--ntasks-per-node=1", "--mem=0",
            "--kill-on-bad-exit=1", *([f"--cpus-per-task={cpus_per_node}"] if cpus_per_node else [])]
    return [*srun, *torchrun, *rdzv, "-m", "climatune.parallel", *argv]


def slurm_job() -> tuple[list[str], int]:
    """Hosts of this SLURM job and its CPUs per node, from scontrol (the executor plugin strips SLURM_*
    but SLURM_JOB_ID from the jobs it runs)."""
    if not shutil.which("scontrol"):
        raise UnsupportedLayout("inside a SLURM job, but scontrol is not available to read its nodes")
    info = subprocess.run(["scontrol", "show", "job", os.environ["SLURM_JOB_ID"]], capture_output=True, text=True,
                          check=True).stdout
    hosts = subprocess.run(["scontrol", "show", "hostnames", re.search(r"\bNodeList=(\S+)", info).group(1)],
                           capture_output=True, text=True, check=True).stdout.split()
    return hosts, int(re.search(r"\bNumCPUs=(\d+)", info).group(1)) // max(1, len(hosts))


def visible_gpus() -> int:
    """GPUs this process can use (CUDA_VISIBLE_DEVICES applied); 0 without CUDA."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_gpus(layout: Layout, per_node: int, gpus: int) -> None:
    """Refuse a layout that needs more GPUs on this node than are visible (ranks would call set_device on
    GPUs that do not exist). Without any GPU the ranks run on CPU (gloo), as the demo does."""
    if 0 < gpus < per_node:
        raise UnsupportedLayout(
            f"layout {layout.name} needs {per_node} GPUs on this node, but only {gpus} are visible "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}): remove it from "
            "parallel.layouts or run it on a node with enough GPUs")


def read_runs(a) -> list[tuple[Layout, ParallelSettings, str, str]]:
    """(layout, settings, output folder, model) of each run: one from --layout/--config/--out-dir, or a
    --suite file (a JSON list of {"layout", "config", "out_dir"[, "model"]}) of runs with one world size,
    run one after the other in a single launch (one process start-up for a sweep of layouts on CPU; GPU
    measurements use one launch per layout, bench/parallel_gpu.py)."""
    if a.suite:
        items = json.loads(Path(a.suite).read_text())
        runs = [(parse_layout(i["layout"]), ParallelSettings.from_dict(i.get("config", {})), i["out_dir"],
                 i.get("model", a.model)) for i in items]
    else:
        if not (a.layout and a.out_dir):
            raise UnsupportedLayout("give --layout and --out-dir, or --suite")
        runs = [(parse_layout(a.layout), ParallelSettings.from_dict(read_overrides(a.config)), a.out_dir, a.model)]
    for layout, s, _, _ in runs:
        check_supported(layout, s.mode, s.zero_stage, s.precision)
        check_batch(layout, s.global_batch, s.micro_batch)
    if len({r[0].world for r in runs}) != 1:
        raise UnsupportedLayout("a suite must hold runs of one world size (one launch)")
    # Pipeline and AutoTP engines leave DeepSpeed's process groups set for the rest of the process: plain
    # data-parallel runs first, then pipelines, AutoTP last.
    runs.sort(key=lambda r: (r[0].tp > 1, r[0].pp > 1))
    return runs


def run_ids(runs, train: str, bench: bool) -> list[str | None]:
    """Run id of each run that keeps checkpoints (content hashes of the model and data: computed once
    here, not by every rank)."""
    from .checkpoint import run_id

    return [run_id(s.identity(), layout.name, model, train) if s.checkpoint_every > 0 and not bench else None
            for layout, s, _, model in runs]


def _free_port() -> int:
    """A TCP port free on this host now (two single-process runs on one node must not share one)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _allocator_env() -> dict:
    """CUDA's expandable segments (less fragmentation, fewer cudaMalloc/cudaFree syncs between steps) for
    every rank; a user's own PYTORCH_CUDA_ALLOC_CONF wins."""
    if "PYTORCH_CUDA_ALLOC_CONF" in os.environ:
        return {}
    return {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m climatune.parallel", description=__doc__.splitlines()[0])
    ap.add_argument("--layout", help="single, dpN, tpN, ppN, dp2pp2, dp2tp2, ...")
    ap.add_argument("--model", required=True, help="prepared model folder (results/model/base)")
    ap.add_argument("--train", required=True, help="results/tokens/train.npy")
    ap.add_argument("--out-dir", help="results/parallel/<layout>: metrics.json, model/, train_log.csv")
    ap.add_argument("--config", help="parallel settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--suite", help="JSON file: list of {layout, config, out_dir} of one world size, one launch")
    ap.add_argument("--nodes", type=int, default=1, help="nodes of the launch (config parallel.nodes)")
    ap.add_argument("--bench", action="store_true", help="measure only: no checkpoints, no model written")
    ap.add_argument("--stop-after", type=int, default=0, help="leave after N steps of this run (resume tests)")
    # not "--log": torchrun's own parser would take it for an abbreviation of --log-dir
    ap.add_argument("--log-file")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    a = _parser().parse_args(argv)
    setup_logging(a.log_file)
    try:
        runs = read_runs(a)
        world = runs[0][0].world
        if "LOCAL_RANK" in os.environ:  # one rank of a launch
            return _run_here(runs, a)
        with contextlib.ExitStack() as held:  # no second launcher may train into the same folders
            for _, _, out_dir, _ in runs:
                held.enter_context(writer_lock(out_dir, "a parallel training run"))
            return _run_here(runs, a) if world == 1 else _launch(runs, a, argv)
    except UserError as e:
        log.error("%s", e)
        return 2


def _run_here(runs, a) -> int:
    from .worker import train

    if "LOCAL_RANK" in os.environ:
        die_with_parent()  # torchrun's ranks live in sessions of their own: never outlive the launch
    os.environ.update(_allocator_env())  # before this process touches CUDA
    if runs[0][0].world == 1 and "LOCAL_RANK" not in os.environ:  # a single process: its own rendezvous
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
    ids = json.loads(os.environ[RUN_IDS_ENV]) if RUN_IDS_ENV in os.environ else run_ids(runs, a.train, a.bench)
    for (layout, s, out_dir, model), run in zip(runs, ids):
        train(layout, model, a.train, out_dir, s, run, a.bench, a.stop_after)
    return 0


def _launch(runs, a, argv: list[str]) -> int:
    layout = runs[0][0]
    hosts, cpus = slurm_job() if in_slurm_allocation() else (None, None)
    cmd = launch_command(layout, argv, a.nodes, cpus, hosts)
    gpus = visible_gpus()
    check_gpus(layout, processes_per_node(layout, a.nodes), gpus)
    if not gpus:
        log.info("no GPU visible: %d CPU processes (gloo), fp32", layout.world)
    log.info("launching %d processes: %s", layout.world, " ".join(cmd))
    src = str(Path(__file__).resolve().parents[2])  # the ranks import this package, also from a conda env
    env = {**os.environ, **_allocator_env(), "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
           RUN_IDS_ENV: json.dumps(run_ids(runs, a.train, a.bench))}
    return subprocess.run(cmd, env=env, preexec_fn=die_with_parent).returncode
