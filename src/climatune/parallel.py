"""parallel: continue training the model on the tokenized data under a DeepSpeed layout, and measure it.

A layout is a name such as "single", "dp2", "tp2", "pp2", "dp2pp2" or "dp2tp2": degrees of data (ZeRO),
tensor (AutoTP) and pipeline (PipelineModule) parallelism whose product is the world size. Everything
parallel is DeepSpeed's own: ZeRO for DP, AutoTP training (`tensor_parallel.autotp_size`) for TP, and
deepspeed.pipe.PipelineModule over the Llama decoder layers for PP. Unsupported combinations fail
before anything is launched, naming the combination and the reason (SUPPORT below is the matrix the
README shows and the tests exercise).

Every layout trains on the same global batch per optimizer step, in the same order, so their loss
curves can be compared step by step with the single-process run.

Run: python -m climatune.parallel --layout dp2 --model results/model/base --train results/tokens/train.npy \
     --out results/parallel/dp2/metrics.json            (launches torchrun itself when not under one)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ._util import UserError, setup_logging

log = logging.getLogger(__name__)

MODES = ("full", "lora", "qlora")
# (kind, mode) -> the ZeRO stages that tests/test_parallel.py runs (and climatune therefore accepts),
# or the reason the combination does not work.
SUPPORT = {
    ("single", "full"): (0,), ("single", "lora"): (0,), ("single", "qlora"): (0,),
    ("dp", "full"): (0, 1, 2, 3), ("dp", "lora"): (2,), ("dp", "qlora"): (2,),
    ("tp", "full"): (1, 2),
    ("tp", "lora"): "AutoTP replaces the LoRA-wrapped linear layers, leaving 0 trainable parameters",
    ("tp", "qlora"): "AutoTP cannot shard bitsandbytes 4-bit weights (shape error at initialisation)",
    ("pp", "full"): (0, 1),  # DeepSpeed's pipeline engine allows ZeRO 0-1 only
    ("pp", "lora"): "LoRA inside PipelineModule stages is not a DeepSpeed-documented path; not built",
    ("pp", "qlora"): "QLoRA inside PipelineModule stages is not a DeepSpeed-documented path; not built",
}
WHY_ZERO = {"pp": "DeepSpeed pipeline parallelism supports ZeRO stage 0 or 1 only",
            "tp": "AutoTP training is tested here with ZeRO stages 1-2",
            "dp": "LoRA/QLoRA under data parallelism is tested here with ZeRO-2 (ZeRO-3 would shard the "
                  "frozen base that peft wraps)",
            "single": "a single process uses no ZeRO"}


class UnsupportedLayout(UserError):
    """A layout/mode/ZeRO combination that DeepSpeed cannot run (checked before launching)."""


@dataclass(frozen=True)
class Layout:
    name: str
    dp: int = 1
    tp: int = 1
    pp: int = 1

    @property
    def world(self) -> int:
        return self.dp * self.tp * self.pp

    @property
    def kind(self) -> str:
        if self.tp > 1:
            return "tp"
        if self.pp > 1:
            return "pp"
        return "dp" if self.dp > 1 else "single"


def parse_layout(name: str) -> Layout:
    """'dp2pp2' -> Layout(dp=2, pp=2); 'single' -> world size 1."""
    if name == "single":
        return Layout(name)
    parts = re.findall(r"(dp|tp|pp)(\d+)", name)
    if not parts or "".join(f"{k}{v}" for k, v in parts) != name or len({k for k, _ in parts}) != len(parts):
        raise UnsupportedLayout(f"layout '{name}' is not of the form single, dpN, tpN, ppN or a combination "
                                "such as dp2pp2")
    degrees = {k: int(v) for k, v in parts}
    if min(degrees.values()) < 1:
        raise UnsupportedLayout(f"layout '{name}': degrees must be >= 1")
    return Layout(name, degrees.get("dp", 1), degrees.get("tp", 1), degrees.get("pp", 1))


def check_supported(layout: Layout, mode: str, zero: int) -> None:
    """Raise UnsupportedLayout naming the combination and why, before anything is launched."""
    if mode not in MODES:
        raise UnsupportedLayout(f"parallel.mode must be one of {MODES}, got '{mode}'")
    combo = f"{layout.name} (dp={layout.dp}, tp={layout.tp}, pp={layout.pp}) x {mode} x ZeRO-{zero}"
    if layout.tp > 1 and layout.pp > 1:
        raise UnsupportedLayout(f"{combo}: DeepSpeed has no documented tensor x pipeline parallel path without "
                                "Megatron; use tp or pp (each optionally with dp)")
    ok = SUPPORT[(layout.kind, mode)]
    if isinstance(ok, str):
        raise UnsupportedLayout(f"{combo}: {ok}")
    if zero not in ok:
        raise UnsupportedLayout(f"{combo}: ZeRO-{zero} is not supported here ({WHY_ZERO[layout.kind]}); "
                                f"use ZeRO stage {', '.join(map(str, ok))}")


def zero_stage(layout: Layout, cfg: dict) -> int:
    """The configured ZeRO stage for multi-process layouts; a single process uses none."""
    return cfg.get("zero_stage", 1) if layout.world > 1 else 0


def check_batch(layout: Layout, global_batch: int, micro_batch: int) -> int:
    """Gradient accumulation steps so that every layout sees `global_batch` sequences per step."""
    per_step = micro_batch * layout.dp
    if global_batch % per_step:
        raise UnsupportedLayout(f"parallel.global_batch={global_batch} is not a multiple of micro_batch x dp = "
                                f"{micro_batch} x {layout.dp} for layout {layout.name}")
    return global_batch // per_step


def support_markdown() -> str:
    """The README's supported-layout matrix (tests check that the README shows exactly this)."""
    head = "| layout | full | lora | qlora |\n|---|---|---|---|"
    names = {"single": "single (1 process)", "dp": "dpN (ZeRO data parallel)", "tp": "tpN (AutoTP), tpN x dp",
             "pp": "ppN (PipelineModule), ppN x dp"}
    lines = [head]
    for kind in ("single", "dp", "tp", "pp"):
        cells = []
        for mode in MODES:
            v = SUPPORT[(kind, mode)]
            cells.append(f"no: {v}" if isinstance(v, str) else "ZeRO " + "/".join(map(str, v)))
        lines.append(f"| {names[kind]} | " + " | ".join(cells) + " |")
    lines.append("| tpN x ppN (any dp) | no: no DeepSpeed path without Megatron | no | no |")
    return "\n".join(lines)


# --- launching ----------------------------------------------------------------------------------


def processes_per_node(layout: Layout, nodes: int) -> int:
    """Processes (GPUs) of the layout on each of `nodes` nodes; an uneven split is refused."""
    if layout.world % nodes:
        raise UnsupportedLayout(f"layout {layout.name} needs {layout.world} processes, which {nodes} nodes "
                                f"cannot split evenly (parallel.nodes)")
    return layout.world // nodes


def slurm_geometry(layout_name: str, nodes: int) -> dict:
    """What one `parallel` job asks SLURM for (profiles/slurm evaluates this per job): its nodes, GPUs per
    node, and the executor plugin's MPI task geometry, one task per GPU (tasks_per_node, or tasks when
    each node has one GPU; the plugin refuses 1 for either). The one-process `single` layout takes one
    node and an empty `mpi` (no task geometry; the plugin runs it as is)."""
    layout = parse_layout(layout_name)
    if layout.world == 1:
        return {"nodes": 1, "gpus_per_node": 1, "mpi": "", "tasks_per_node": 0, "tasks": 0}
    per_node = processes_per_node(layout, nodes)
    return {"nodes": nodes, "gpus_per_node": per_node, "mpi": "srun",
            "tasks_per_node": per_node if per_node > 1 else 0, "tasks": nodes if per_node == 1 else 0}


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


def read_runs(a) -> list[tuple[Layout, dict, str]]:
    """(layout, settings, metrics path) of each run: one from --layout/--config/--out, or a --suite
    file (a JSON list of {"layout", "config", "out"}) of runs with one world size, run one after the
    other in a single launch (one process start-up for a sweep of layouts or ZeRO stages)."""
    if a.suite:
        items = json.loads(open(a.suite).read())
        runs = [(parse_layout(i["layout"]), i.get("config", {}), i["out"]) for i in items]
    else:
        if not (a.layout and a.out):
            raise UnsupportedLayout("give --layout and --out, or --suite")
        runs = [(parse_layout(a.layout), json.loads(a.config), a.out)]
    for layout, cfg, _ in runs:
        check_supported(layout, cfg.get("mode", "full"), zero_stage(layout, cfg))
        check_batch(layout, cfg.get("global_batch", 8), cfg.get("micro_batch", 2))
    if len({r[0].world for r in runs}) != 1:
        raise UnsupportedLayout("a suite must hold runs of one world size (one launch)")
    runs.sort(key=lambda r: r[0].tp > 1)  # AutoTP sets up process groups for the rest of the process: last
    return runs


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m climatune.parallel", description=__doc__.splitlines()[0])
    ap.add_argument("--layout")
    ap.add_argument("--model", required=True, help="prepared model folder (results/model/base)")
    ap.add_argument("--train", required=True, help="results/tokens/train.npy")
    ap.add_argument("--out", help="metrics.json of this layout")
    ap.add_argument("--config", default="{}", help="JSON object of parallel settings (config.yaml's parallel:)")
    ap.add_argument("--suite", help="JSON file: list of {layout, config, out} of one world size, run in one launch")
    ap.add_argument("--nodes", type=int, default=1, help="nodes of the launch (config parallel.nodes)")
    # not "--log": torchrun's own parser would take it for an abbreviation of --log-dir
    ap.add_argument("--log-file")
    a = ap.parse_args(argv)
    setup_logging(a.log_file)
    try:
        runs = read_runs(a)
    except UnsupportedLayout as e:
        log.error("%s", e)
        return 2
    world = runs[0][0].world
    if "LOCAL_RANK" in os.environ or world == 1:  # one rank of a launch, or a single process
        if world == 1:
            os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1",
                              MASTER_PORT=os.environ.get("MASTER_PORT", "29511"))
        from .parallel_worker import train

        for layout, cfg, out in runs:
            train(layout, a.model, a.train, out, cfg)
        return 0
    layout = runs[0][0]
    try:
        hosts, cpus = slurm_job() if in_slurm_allocation() else (None, None)
        cmd = launch_command(layout, argv, a.nodes, cpus, hosts)
    except UnsupportedLayout as e:
        log.error("%s", e)
        return 2
    log.info("launching %d processes: %s", layout.world, " ".join(cmd))
    src = str(Path(__file__).resolve().parents[1])  # the ranks import this package, also from a conda env
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run(cmd, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main())
