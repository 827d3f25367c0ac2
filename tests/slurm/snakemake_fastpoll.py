"""`python tests/slurm/snakemake_fastpoll.py ARGS` = `snakemake ARGS`, with one test-speed change.

snakemake-executor-plugin-slurm 2.8.0 lengthens the pause between two job-status queries by 10 s after
every query that finds no finished job (up to 180 s): a fair load limit for a real cluster, but in a
test whose jobs take 5-30 s it is most of the wall time. Here the pause stays at most
CLIMATUNE_SLURM_TEST_POLL seconds (default 2). Everything else (profile, submission, resources, the
squeue status query, the jobs themselves, which run `python -m snakemake`) is the stock plugin.
"""

import os
import sys

import snakemake_executor_plugin_slurm as slurm
from snakemake.cli import main
from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor

CAP = float(os.environ.get("CLIMATUNE_SLURM_TEST_POLL", "2"))
_base = RemoteExecutor.next_seconds_between_status_checks
slurm.Executor.next_seconds_between_status_checks = property(
    lambda self: min(_base.fget(self), CAP), _base.fset
)

if __name__ == "__main__":
    sys.argv[0] = "snakemake"
    sys.exit(main())
