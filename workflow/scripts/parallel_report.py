"""Rule parallel_report: all layouts side by side against the single-process run (see climatune.parallel_report)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune import parallel_report
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    parallel_report.run(list(snakemake.input), snakemake.output.metrics, snakemake.output.plot)
