"""Rule parallel: train one DeepSpeed layout and write its model (see climatune.parallel.launch)."""
import json
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs

from pathlib import Path

from climatune import parallel
from climatune._util import rule_log

with rule_log(snakemake.log[0]):
    cfg = snakemake.config["parallel"]  # checkpointing and nodes are not params: changing them retrains nothing
    settings = {**snakemake.params.settings, "checkpoint_every": cfg["checkpoint_every"],
                "keep_checkpoints": cfg["keep_checkpoints"]}
    argv = ["--layout", snakemake.wildcards.layout, "--model", snakemake.input.model, "--train",
            snakemake.input.train, "--out-dir", str(Path(snakemake.output.metrics).parent),
            "--config", json.dumps(settings), "--nodes", str(cfg["nodes"]), "--log-file", snakemake.log[0]]
    rc = parallel.main(argv)
    if rc:
        raise SystemExit(rc)
