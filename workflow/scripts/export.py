"""Rule export: the merged model as 16-bit safetensors and GGUF, checked with llama.cpp (see climatune.model.export)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.model import export

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    export.run(snakemake.input.merged, Path(snakemake.output.json).parent,
               export.ExportSettings.from_dict(dict(snakemake.params.cfg)), threads=snakemake.threads)
