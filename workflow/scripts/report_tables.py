"""Rule report_tables: the headline tables as HTML pages for the report (see climatune.model.report_tables)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.model import report_tables

with rule_log(snakemake.log[0]):
    i, out = snakemake.input, snakemake.output
    probe = i.probe or None
    report_tables.run(Path(out.corpus).parent, i.manifest, probe, i.perplexity, i.parallel, dict(snakemake.config),
                      i.export, i.precision, i.hpo)
    if probe is None:  # micro_batch set by hand: no probe ran; the page says so
        Path(out.probe).write_text(report_tables.page("Probe", "<p>train.micro_batch was set by hand "
                                                      f"({snakemake.config['train']['micro_batch']}): no probe ran.</p>"))
