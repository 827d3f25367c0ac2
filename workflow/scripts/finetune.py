"""Rule finetune: QLoRA fine-tuning, resumable, then the merged model (see climatune.finetune)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune import finetune
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    out = snakemake.output
    finetune.run(snakemake.input.model, snakemake.input.train, Path(out.log_csv).parent, dict(snakemake.params.train),
                 probe_json=snakemake.input.probe or None, merged_dir=out.merged,
                 merge_dtype=snakemake.params.merged_dtype, loss_png=out.plot)
