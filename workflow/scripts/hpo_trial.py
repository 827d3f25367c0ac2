"""Rule hpo_trial: one trial of the successive-halving search (see climatune.model.hpo_trial)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import read_json, rule_log
from climatune.model import hpo_trial
from climatune.model.hpo import HpoSettings

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    i, w = snakemake.input, snakemake.wildcards
    # cadence settings are not params (changing them retrains nothing): read from the config
    train = {**snakemake.params.train, **{k: snakemake.config["train"][k] for k in ("log_every", "checkpoint_every")}}
    hpo_trial.trial(i.model, i.fit, i.val, Path(snakemake.output.result).parent, train,
                    HpoSettings.from_dict(dict(snakemake.params.hpo)), int(w.rung), int(w.slot[1:]),
                    probe=read_json(i.probe) if i.get("probe") else None, selection_json=i.get("selection"))
