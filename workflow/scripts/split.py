"""Rule split: documents -> train/test by a stable hash (see climatune.corpus.split)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.corpus import split

with rule_log(snakemake.log[0]):
    p = snakemake.params
    split.run(snakemake.input[0], snakemake.output[0],
              split.SplitSettings.from_dict({"seed": p.seed, "test_ratio": p.test_ratio}), pdf_dir=p.pdf_dir)
