"""Rule rag_questions: held-out documents (+ a user file) -> questions (see climatune.rag.questions)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.rag import questions

with rule_log(snakemake.log[0]):
    q, i = snakemake.params.q, snakemake.input
    questions.run(i.chunks, i.split, Path(i.texts[0]).parent, snakemake.output[0], per_doc=q["per_doc"],
                  max_questions=q["max"], seed=q["seed"], user_file=i.get("user"), mode=q["mode"],
                  masked_per_doc=q.get("masked_per_doc"), max_shared_run=q.get("max_shared_run"),
                  out_summary=snakemake.output.summary)
