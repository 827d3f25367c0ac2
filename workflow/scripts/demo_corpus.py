"""Rule demo_corpus: typeset the embedded demo corpus (see climatune.democorpus)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune import democorpus
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    democorpus.run(snakemake.params.out_dir)
