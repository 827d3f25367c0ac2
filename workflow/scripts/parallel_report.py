"""Rule parallel_report: all layouts side by side against the single-process run (see climatune.parallel.report)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.parallel import report

with rule_log(snakemake.log[0]):
    report.run(list(snakemake.input.metrics), snakemake.output.metrics, snakemake.output.plot,
               list(snakemake.input.perplexity))
