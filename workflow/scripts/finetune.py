"""Rule finetune: QLoRA fine-tuning, resumable, then the merged model (see climatune.model.finetune)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import read_json, rule_log
from climatune.model import finetune, training

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    out = snakemake.output
    # cadence settings are not params (changing them retrains nothing): read from the config
    train = {**snakemake.params.train, **{k: snakemake.config["train"][k] for k in training.RUNTIME_KEYS}}
    if snakemake.input.hpo:  # hpo.apply: the search's winner over train:'s settings
        best = read_json(snakemake.input.hpo)["best"]
        print(f"hpo.apply: training with the search's winner {best['params']} (val loss {best['val_loss']:.4f})",
              file=sys.stderr)
        train.update(best["params"])
    finetune.run(snakemake.input.model, snakemake.input.train, Path(out.log_csv).parent, train,
                 probe_json=snakemake.input.probe or None, merged_dir=out.merged,
                 merge_dtype=snakemake.params.merged_dtype, loss_png=out.plot)
