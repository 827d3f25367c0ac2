"""Rule parallel: one DeepSpeed layout, launched with torchrun (see climatune.parallel)."""
import json
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs

from climatune import parallel
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    argv = ["--layout", snakemake.wildcards.layout, "--model", snakemake.input.model, "--train",
            snakemake.input.train, "--out", snakemake.output[0], "--config", json.dumps(dict(snakemake.params.cfg)),
            "--nodes", str(snakemake.config["parallel"]["nodes"]), "--log-file", snakemake.log[0]]
    rc = parallel.main(argv)
    if rc:
        raise SystemExit(rc)
