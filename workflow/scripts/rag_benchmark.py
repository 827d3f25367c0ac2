"""Rule rag_benchmark: retrieval per index + the four systems -> metrics, table, plot (see climatune.rag.benchmark)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
from climatune._util import rule_log
from climatune.rag import benchmark

with rule_log(snakemake.log[0]):
    i, o = snakemake.input, snakemake.output
    benchmark.run(list(i.retrieval), list(i.systems), o.metrics, o.table, o.plot, answer_jsonls=list(i.answers),
                  questions_json=i.questions, out_answers=o.answers)
