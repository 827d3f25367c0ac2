"""Rule demo_corpus: typeset the embedded demo corpus (see climatune.corpus.demo_corpus)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.corpus import demo_corpus

with rule_log(snakemake.log[0]):
    demo_corpus.run(snakemake.params.out_dir)
