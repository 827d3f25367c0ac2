"""Rule chat: serve the chat UI in the foreground over the workflow's models and index (see climatune.chat)."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # the package, also inside conda envs
import torch

from climatune._util import rule_log
from climatune.chat import app
from climatune.chat.engine import Inputs

with rule_log(snakemake.log[0]):  # records go to the terminal and to the rule's log
    torch.set_num_threads(snakemake.threads)
    i, p, c = snakemake.input, snakemake.params, dict(snakemake.params.chat)
    index = [i.index] if isinstance(i.index, str) else list(i.index)
    inputs = Inputs(i.base, i.tuned, i.chunks, index, p.index)
    app.serve(inputs, c.get("host", "127.0.0.1"), c.get("port", 7860), c.get("passages", 3),
              dict(p.index_params), p.embedder, c.get("max_new_tokens"), c.get("temperature"))
