"""Rule extract_text: one PDF -> clean text + metadata (see climatune.corpus.extract_text)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.corpus import extract_text

with rule_log(snakemake.log[0]):
    p = snakemake.params
    settings = extract_text.ExtractSettings.from_dict({"max_pages": p.max_pages, "drop_references": p.drop_references,
                                                      "languages": list(p.languages),
                                                      "min_chars_per_page": p.min_chars_per_page})
    extract_text.run(p.path, snakemake.output.text, snakemake.output.meta, snakemake.wildcards.doc,
                     settings)
