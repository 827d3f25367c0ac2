"""Rule parallel_perplexity: held-out perplexity of one layout's trained model (see climatune.parallel.perplexity)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.parallel import perplexity

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    perplexity.run(snakemake.input.test, snakemake.wildcards.layout, snakemake.input.model, snakemake.output[0],
                   dict(snakemake.params.cfg), snakemake.params.seed, snakemake.input.leakage or None)
