"""Parallel training with DeepSpeed: layouts (layout.py), the launcher (launch.py), one rank's training
(worker.py, build.py, pipe.py), checkpoints (checkpoint.py), the written model (export.py) and the
comparison of layouts (report.py). `python -m climatune.parallel` runs the launcher.

This file imports nothing heavy: the SLURM profile and the workflow read layouts through it."""

from .launch import check_gpus, in_slurm_allocation, launch_command, main, read_runs, visible_gpus
from .layout import (
                     MODES,
                     SUPPORT,
                     Layout,
                     UnsupportedLayout,
                     check_batch,
                     check_master_weights,
                     check_supported,
                     parse_layout,
                     processes_per_node,
                     slurm_geometry,
                     support_markdown,
)
from .settings import ParallelSettings

__all__ = ["MODES", "SUPPORT", "Layout", "ParallelSettings", "UnsupportedLayout", "check_batch", "check_gpus",
           "check_master_weights", "check_supported", "in_slurm_allocation", "launch_command", "main",
           "parse_layout", "processes_per_node", "read_runs", "slurm_geometry", "support_markdown", "visible_gpus"]
