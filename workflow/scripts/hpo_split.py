"""Rule hpo_split: validation blocks carved from the training documents (see climatune.model.hpo_split)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.model import hpo_split
from climatune.model.hpo import HpoSettings

with rule_log(snakemake.log[0]):
    i = snakemake.input
    hpo_split.split(i.train, i.meta, snakemake.output.summary.rsplit("/", 1)[0],
                    HpoSettings.from_dict(dict(snakemake.params.hpo)))
