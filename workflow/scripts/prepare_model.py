"""Rule prepare_model: model.source -> results/model/base safetensors folder (see climatune.model)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune import model
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    p = snakemake.params
    model.run(p.source, snakemake.output[0], tokenizer=p.tokenizer, save_dtype=p.save_dtype)
