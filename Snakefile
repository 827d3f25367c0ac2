# climatune: PDF reports -> domain-tuned Llama -> perplexity and RAG benchmarks.
#   make demo                                  the embedded default, offline, on CPU
#   snakemake -n                               dry run: the jobs and why they run
#   snakemake --profile profiles/slurm --configfile config/ipcc-a100.yaml
from snakemake.utils import min_version

min_version("9.0")


# The embedded default; --configfile / --config layer on top of it, so a site file holds only changes.
configfile: f"{workflow.basedir}/config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/rag.smk"
include: "workflow/rules/parallel.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
