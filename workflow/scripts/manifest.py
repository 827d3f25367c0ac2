"""Rule manifest: per-document records -> manifest.tsv, duplicates marked (see climatune.corpus.manifest)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.corpus import manifest

with rule_log(snakemake.log[0]):
    manifest.run(list(snakemake.input), snakemake.output[0], pdf_dir=snakemake.params.pdf_dir)
