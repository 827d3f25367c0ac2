"""Rule probe: the largest and the fastest micro-batch that fit (see climatune.model.probe)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.model import probe, training

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    # settings that do not change what the probe measures are not params: read from the config
    train = {**snakemake.params.train, **{k: snakemake.config["train"][k] for k in training.NOT_PROBED}}
    probe.run(snakemake.input.model, snakemake.input.train, snakemake.output.json, train,
              probe.ProbeSettings.from_dict(dict(snakemake.params.probe)), out_png=snakemake.output.plot)
