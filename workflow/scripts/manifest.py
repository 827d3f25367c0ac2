"""Rule manifest: per-document records -> manifest.tsv, duplicates marked (see climatune.manifest)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune import manifest
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    manifest.run(list(snakemake.input), snakemake.output[0], pdf_dir=snakemake.params.pdf_dir)
