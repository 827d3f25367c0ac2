"""Rule probe: the largest and the fastest micro-batch that fit (see climatune.probe)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune import probe
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params.probe
    probe.run(snakemake.input.model, snakemake.input.train, snakemake.output.json, dict(snakemake.params.train),
              memory_gb=p["memory_gb"], safety_margin=p["safety_margin"], max_micro_batch=p["max_micro_batch"],
              steps=p["steps"], tolerance=p["tolerance"], out_png=snakemake.output.plot)
