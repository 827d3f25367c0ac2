# Plumbing only: config validation, the document list, and input functions.
import os
import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../../config/schema.yaml")

# The package lives in src/ (scripts add it to their own path, so conda envs need no install).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from climatune import democorpus, extract  # noqa: E402

PDF_DIR = config["corpus"]["pdf_dir"].rstrip("/")
if config["corpus"]["demo"]:
    DOC_PDFS = {d: Path(PDF_DIR) / f"{d}.pdf" for d in democorpus.doc_ids()}
else:
    try:
        DOC_PDFS = extract.discover(PDF_DIR)
    except extract.NoPdfsError as e:
        raise WorkflowError(str(e)) from None
DOCS = sorted(DOC_PDFS)


wildcard_constraints:
    doc="[a-z0-9_-]+",


def get_pdf(wildcards):
    return str(DOC_PDFS[wildcards.doc])


def get_probe_result(wildcards):
    """The probe runs only when the micro-batch is left to it."""
    return "results/probe/probe.json" if config["train"]["micro_batch"] == "auto" else []


def get_final_output():
    """What `rule all` builds; grows with each stage of the pipeline."""
    return [
        "results/corpus/manifest.tsv",
        "results/corpus/split.json",
        "results/tokens/meta.json",
        "results/eval/perplexity.json",
    ]
