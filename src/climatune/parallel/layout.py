"""Layouts: which DeepSpeed parallelism a name means, and which combinations are supported.

A layout is a name such as "single", "dp2", "tp2", "pp2", "dp2pp2" or "dp2tp2": degrees of data (ZeRO),
tensor (AutoTP) and pipeline (PipelineModule) parallelism whose product is the world size. Unsupported
combinations fail before anything is launched, naming the combination and the reason. SUPPORT is the
matrix the README shows and tests/unit/test_parallel.py exercises cell by cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._util import UserError

MODES = ("full", "lora", "qlora")
# (kind, mode) -> the ZeRO stages that tests/unit/test_parallel.py runs (and climatune therefore accepts),
# or the measured reason the combination does not work.
SUPPORT = {
    ("single", "full"): (0, 1), ("single", "lora"): (0, 1), ("single", "qlora"): (0, 1),
    ("dp", "full"): (0, 1, 2, 3), ("dp", "lora"): (2,), ("dp", "qlora"): (2,),
    ("tp", "full"): (1, 2),
    ("tp", "lora"): "DeepSpeed 0.19.8 AutoTP (its HF tp_plan path) replaces the peft LoRA-wrapped projections with "
                    "sharded base layers, leaving 0 trainable parameters (measured: tiny Llama, tp2, CPU); "
                    "peft's tp_plan LoRA sharding serves transformers' own DTensor TP, not DeepSpeed's",
    ("tp", "qlora"): "AutoTP cannot shard bitsandbytes 4-bit weights (shape error at initialisation)",
    ("pp", "full"): (0, 1),  # DeepSpeed's pipeline engine allows ZeRO 0-1 only
    ("pp", "lora"): "LoRA inside PipelineModule stages is not a DeepSpeed-documented path; not built",
    ("pp", "qlora"): "QLoRA inside PipelineModule stages is not a DeepSpeed-documented path; not built",
}
WHY_ZERO = {"pp": "DeepSpeed pipeline parallelism supports ZeRO stage 0 or 1 only",
            "tp": "AutoTP training is tested here with ZeRO stages 1-2",
            "dp": "LoRA/QLoRA under data parallelism is tested here with ZeRO-2 (ZeRO-3 would shard the "
                  "frozen base that peft wraps)",
            "single": "one process is tested with ZeRO 0-1"}
# bf16 without fp32 master weights: DeepSpeed's ZeRO-0 engine outside a pipeline (its DDP_BFLOAT16
# optimizer) updates the bf16 weights directly, so updates below bf16 resolution round away (a 1B run
# at lr 1e-5 ended 0.38 nats behind after 8 steps). ZeRO >= 1 and the pipeline engine's BF16_Optimizer
# keep fp32 masters.
BF16_NO_MASTER = ("bf16 training with ZeRO-0 outside a pipeline keeps no fp32 master weights in DeepSpeed "
                  "(small updates round away in bf16); use parallel.zero_stage >= 1 (ZeRO-2 for LoRA/QLoRA "
                  "under data parallelism)")


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


def check_supported(layout: Layout, mode: str, zero: int, precision: str = "auto") -> None:
    """Raise UnsupportedLayout naming the combination and why, before anything is launched.
    `precision` "bf16" also refuses bf16 without fp32 master weights ("auto" is checked by the ranks,
    which know whether they run on a GPU)."""
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
    if precision == "bf16":
        check_master_weights(layout, mode, zero, bf16=True)


def check_master_weights(layout: Layout, mode: str, zero: int, bf16: bool) -> None:
    """Refuse bf16 training (full or adapters) that DeepSpeed would run without fp32 master weights."""
    if bf16 and zero == 0 and layout.pp == 1:
        raise UnsupportedLayout(f"{layout.name} x {mode} x ZeRO-0: {BF16_NO_MASTER}")


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
