"""Rule prepare_model: model.source -> results/model/base safetensors folder (see climatune.model.prepare_model)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.model import prepare_model

with rule_log(snakemake.log[0]):
    p = snakemake.params
    prepare_model.run(p.source, snakemake.output[0], tokenizer=p.tokenizer, save_dtype=p.save_dtype)
