"""Rule parallel_perplexity: held-out perplexity of one layout's trained model (see climatune.perplexity)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune import perplexity
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    c = snakemake.params.cfg
    perplexity.run(snakemake.input.test, {snakemake.wildcards.layout: snakemake.input.model}, snakemake.output[0],
                   batch_size=c["batch_size"], precision=c["precision"], bootstrap=c["bootstrap"],
                   seed=snakemake.params.seed)
