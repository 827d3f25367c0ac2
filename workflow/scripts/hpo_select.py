"""Rule hpo_select: a rung's trials ranked by validation loss, its best kept (see climatune.model.hpo_select)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.model import hpo_select
from climatune.model.hpo import HpoSettings

with rule_log(snakemake.log[0]):
    hpo_select.select(list(snakemake.input), snakemake.output[0], HpoSettings.from_dict(dict(snakemake.params.hpo)),
                      int(snakemake.wildcards.rung))
