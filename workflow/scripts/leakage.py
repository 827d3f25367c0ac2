"""Rule leakage: held-out n-grams found in training, near-duplicate documents (see climatune.corpus.leakage)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs

from climatune._util import rule_log
from climatune.corpus import leakage

with rule_log(snakemake.log[0]):
    i = snakemake.input
    leakage.run(i.split, Path(i.texts[0]).parent, snakemake.output.json, snakemake.output.plot,
                leakage.LeakageSettings.from_dict(snakemake.params.leakage), tokens_npy=i.tokens,
                meta_json=i.meta, model_dir=i.model)
