"""Rule precision: the same short fine-tune in fp32, fp16 and bf16, side by side (see climatune.model.precision)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.model import precision

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    i, out = snakemake.input, snakemake.output
    precision.run(i.model, i.train, i.test, i.questions, Path(out.json).parent,
                  precision.PrecisionSettings.from_dict(dict(snakemake.params.precision)),
                  dict(snakemake.params.train), out_png=out.plot)
