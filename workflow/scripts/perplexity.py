"""Rule perplexity: base vs tuned (as trained, and merged) on the held-out blocks (see climatune.model.perplexity)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.model import perplexity

with rule_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    i = snakemake.input
    models = {"base": i.base, "base_as_trained": perplexity.AsTrained(i.base, None, i.summary),
              "tuned_as_trained": perplexity.AsTrained(i.base, i.adapter, i.summary), "tuned_merged": i.tuned}
    perplexity.run(i.test, models, snakemake.output[0],
                   perplexity.PerplexitySettings.from_dict(dict(snakemake.params.cfg)), seed=snakemake.params.seed,
                   document_masking=snakemake.params.document_masking, leakage_json=i.leakage or None)
