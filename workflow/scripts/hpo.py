"""Rule hpo: hpo.json (every trial of every rung, the winner) and its plot (see climatune.model.hpo)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.model import hpo

with rule_log(snakemake.log[0]):
    out = snakemake.output
    hpo.summarize(list(snakemake.input.results), snakemake.input.split, out.json, out.plot,
                  hpo.HpoSettings.from_dict(dict(snakemake.params.hpo)))
