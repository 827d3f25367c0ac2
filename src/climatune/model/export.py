"""export: the merged fine-tuned model as 16-bit safetensors and as GGUF files for llama.cpp, checked.

Outputs (results/export/):
  model-16bit/      the merged model (results/finetune/merged) in `export.dtype` (bfloat16 or float16),
                    safetensors with its config and tokenizer: what transformers / vLLM users load
  model-<type>.gguf one GGUF per `export.gguf_types` (default f16 and q8_0), written with the gguf
                    package from model-16bit (gguf_file: Llama keys, q/k RoPE permutation, tensors;
                    gguf_vocab: the tokenizer, converted from tokenizer.json)
  export.json       sizes and sha256 of every file, and `gguf_check`: each GGUF loaded by
                    llama-cpp-python in the same job, its greedy text for `export.check_prompt`, and
                    its agreement with transformers on model-16bit (gguf_check)

Refused before any work, with a message naming what is unsupported: a model that is not a plain
Llama, a tokenizer without a known llama.cpp equivalent, llama-cpp-python missing. A GGUF that fails
the check (does not load, tokenizes differently, or a 16-bit file that picks other tokens than
transformers) fails the job after export.json is written.

Run alone: python -m climatune.model.export results/finetune/merged --out results/export \
           [--dtype bfloat16] [--gguf-types f16 q8_0] [--threads 4]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .._settings import Section, cli_defaults
from .._util import UserError, setup_logging, write_json
from . import gguf_check, gguf_file, gguf_vocab
from .gguf_file import TYPES
from .gguf_vocab import ExportError  # noqa: F401 (the stage's API: export.ExportError)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportSettings(Section):
    """`export:` of config/config.yaml."""

    SECTION = "export"
    dtype: str
    gguf_types: tuple
    check_prompt: str
    check_tokens: int

    def __post_init__(self):
        unknown = [t for t in self.gguf_types if t not in TYPES]
        if unknown or not self.gguf_types:
            raise UserError(f"export.gguf_types {list(self.gguf_types)}: give one or more of {sorted(TYPES)}")
        if self.dtype not in ("bfloat16", "float16"):
            raise UserError(f"export.dtype '{self.dtype}': give bfloat16 or float16")


def gguf_path(out_dir: str | Path, kind: str) -> Path:
    return Path(out_dir) / f"model-{kind}.gguf"


def save_16bit(merged: str | Path, out: Path, dtype: str) -> dict:
    """The merged model re-saved in `dtype` with its tokenizer; file sizes and sha256."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=getattr(torch, dtype))
    tok = AutoTokenizer.from_pretrained(merged)
    if out.exists():
        shutil.rmtree(out)  # no shard of an earlier, larger export left behind
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    files = [{"file": p.name, "bytes": p.stat().st_size, "sha256": gguf_file.sha256(p)}
             for p in sorted(out.glob("*.safetensors"))]
    n = sum(p.numel() for p in model.parameters())
    log.info("saved %s in %s: %.1fM parameters, %.1f MiB", out, dtype, n / 1e6,
             sum(f["bytes"] for f in files) / 2**20)
    return {"files": files, "bytes": sum(f["bytes"] for f in files), "parameters": n,
            "seconds": round(time.perf_counter() - t0, 2)}


def run(merged: str | Path, out_dir: str | Path, settings: ExportSettings | None = None, threads: int = 1,
        name: str | None = None) -> dict:
    """Write model-16bit/, one GGUF per type and export.json (the module doc); raise CheckFailed when a
    GGUF fails its check (export.json is written first, with the failure)."""
    from transformers.utils import logging as hf_logging

    s = settings or ExportSettings.from_dict()
    t0 = time.perf_counter()
    merged, out = Path(merged), Path(out_dir)
    hf_logging.disable_progress_bar()
    # everything that can be refused is refused before any file is written
    config = gguf_file.llama_config(merged)
    gguf_file.rope(config)
    vocab = gguf_vocab.read_vocab(merged, config.vocab_size)
    loader = gguf_check.loader_version()
    log.info("exporting %s (%d layers, hidden %d, vocab %d; tokenizer pre '%s') with %s", merged,
             config.num_hidden_layers, config.hidden_size, config.vocab_size, vocab.pre, loader)
    out.mkdir(parents=True, exist_ok=True)
    st = save_16bit(merged, out / "model-16bit", s.dtype)
    label = name or f"climatune {merged.name}"
    ggufs = [gguf_file.write_gguf(out / "model-16bit", gguf_path(out, k), k, vocab, label) for k in s.gguf_types]
    check = gguf_check.run(out / "model-16bit", [(k, gguf_path(out, k)) for k in s.gguf_types], s.check_prompt,
                           s.check_tokens, threads)
    result = {"source": str(merged), "dtype": s.dtype, "parameters": st["parameters"],
              "safetensors_bytes": st["bytes"], "safetensors": st["files"], "gguf": ggufs, "gguf_check": check,
              "tokenizer": vocab.summary(), "settings": s.to_dict(), "threads": threads,
              "seconds": {"safetensors": st["seconds"], "gguf": round(sum(g["seconds"] for g in ggufs), 2),
                          "check": round(sum(f.get("seconds", 0) for f in check["files"]), 2),
                          "total": round(time.perf_counter() - t0, 2)}}
    write_json(out / "export.json", result)
    if not check["passed"]:
        raise gguf_check.CheckFailed("GGUF check failed (details in " + str(out / "export.json") + "): "
                                     + "; ".join(check["failures"]))
    log.info("export done in %.1f s: safetensors %.1f MiB; %s; llama.cpp generated %r", result["seconds"]["total"],
             st["bytes"] / 2**20, ", ".join(f"{g['type']} {g['bytes'] / 2**20:.1f} MiB" for g in ggufs),
             check["generated"])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.export", description=__doc__.splitlines()[0])
    ap.add_argument("merged", help="merged model folder (results/finetune/merged)")
    ap.add_argument("--out", required=True, help="output folder (results/export)")
    ap.add_argument("--dtype", choices=["bfloat16", "float16"])
    ap.add_argument("--gguf-types", nargs="+", choices=sorted(TYPES))
    ap.add_argument("--check-prompt")
    ap.add_argument("--check-tokens", type=int)
    cli_defaults(ap, "export", {k: k for k in ("dtype", "gguf_types", "check_prompt", "check_tokens")})
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp and torch CPU threads")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    import torch

    torch.set_num_threads(a.threads)
    try:
        run(a.merged, a.out, ExportSettings.from_dict({k: getattr(a, k) for k in ("dtype", "gguf_types",
                                                                               "check_prompt", "check_tokens")}),
            threads=a.threads)
    except UserError as e:
        log.error("%s", e)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
