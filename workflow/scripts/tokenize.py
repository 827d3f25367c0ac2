"""Rule tokenize: split documents -> packed token blocks (see climatune.corpus.tokenize)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs

from climatune._util import rule_log
from climatune.corpus import tokenize

with rule_log(snakemake.log[0]):
    text_dir = Path(snakemake.input.texts[0]).parent
    out_dir = Path(snakemake.output.meta).parent
    tokenize.run(snakemake.input.split, text_dir, snakemake.input.model, out_dir, seq_len=snakemake.params.seq_len)
