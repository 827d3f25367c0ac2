"""Rule perplexity: base vs tuned on the held-out blocks (see climatune.model.perplexity)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.model import perplexity

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    perplexity.run(snakemake.input.test, {"base": snakemake.input.base, "tuned": snakemake.input.tuned},
                   snakemake.output[0], perplexity.PerplexitySettings.from_dict(dict(snakemake.params.cfg)),
                   seed=snakemake.params.seed)
