"""Write a Hugging Face Llama folder (safetensors + tokenizer) as one GGUF file (for the export stage).

The llama architecture's keys (context/embedding/feed-forward length, block count, head counts, RoPE
base, dimension and scaling, RMS epsilon, vocabulary size, file type) and the tokenizer's (gguf_vocab)
come first; then every tensor under its GGUF name (gguf.TensorNameMap of MODEL_ARCH.LLAMA), streamed
one at a time from the safetensors files: memory stays near one tensor, not a second model.

RoPE layout: Hugging Face Llama keeps each head's q/k output rows as [first halves | second halves]
(rotate_half), GGML's LLAMA rope rotates adjacent pairs. q_proj/k_proj rows are therefore interleaved
per head (`rope_to_ggml`), as llama.cpp's convert_hf_to_gguf.py does; without it the model loads but
attends wrongly, which the export's check against transformers catches.

Types: 1-D tensors (norms, RoPE factors) stay F32 in every file (llama.cpp's convention); 2-D tensors
take the file's type, except the output matrix of a q4/q5 file (Q8_0, see LOW_BIT). A block-quantized
type needs rows that are a multiple of its block (32): a tensor whose rows are not is written F16
instead and counted in the result.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .gguf_vocab import ExportError, Vocab, write_vocab

log = logging.getLogger(__name__)

# export.gguf_types -> (GGMLQuantizationType name, LlamaFileType name)
TYPES = {"f32": ("F32", "ALL_F32"), "f16": ("F16", "MOSTLY_F16"), "bf16": ("BF16", "MOSTLY_BF16"),
         "q8_0": ("Q8_0", "MOSTLY_Q8_0"), "q5_1": ("Q5_1", "MOSTLY_Q5_1"), "q5_0": ("Q5_0", "MOSTLY_Q5_0"),
         "q4_1": ("Q4_1", "MOSTLY_Q4_1"), "q4_0": ("Q4_0", "MOSTLY_Q4_0")}
UNQUANTIZED = ("f32", "f16", "bf16")
# In these the output matrix (token_embd when tied) stays Q8_0, as llama-quantize keeps it at Q6_K (which
# the gguf package cannot write): 4-5 bit logits cost far more than 4-5 bit hidden layers.
LOW_BIT = ("q5_1", "q5_0", "q4_1", "q4_0")


@dataclass
class Item:
    """One tensor of the GGUF file: its name, shape (HF order), GGML type and how to read it as float32."""

    name: str
    shape: tuple
    qtype: object
    load: Callable[[], np.ndarray]


def llama_config(folder: str | Path):
    """The folder's transformers config, refused unless it is a plain Llama (LlamaForCausalLM)."""
    from transformers import AutoConfig

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ExportError(f"{folder} has no config.json: not a Hugging Face model folder")
    config = AutoConfig.from_pretrained(folder)
    archs = list(getattr(config, "architectures", None) or [])
    if config.model_type != "llama" or archs != ["LlamaForCausalLM"]:
        raise ExportError(f"{folder} is a {config.model_type} model (architectures: {archs or 'none'}): the export "
                          "writes GGUF for Llama models (model_type llama, LlamaForCausalLM) only; convert other "
                          "architectures with llama.cpp's convert_hf_to_gguf.py")
    return config


def head_dim(config) -> int:
    return getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads


def rope(config) -> tuple[float, dict]:
    """(RoPE base, the rope parameters) of transformers 5 (`rope_parameters`) or 4 (`rope_theta`, `rope_scaling`)."""
    params = dict(getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {})
    theta = params.get("rope_theta", getattr(config, "rope_theta", 10000.0))
    params.setdefault("rope_type", params.get("type", "default"))
    if params["rope_type"] not in ("default", "linear", "llama3"):
        raise ExportError(f"RoPE scaling '{params['rope_type']}' is not written by the export (default, linear and "
                          "llama3 are); convert with llama.cpp's convert_hf_to_gguf.py")
    return float(theta), params


def rope_to_ggml(w: np.ndarray, heads: int) -> np.ndarray:
    """q_proj/k_proj rows (or bias) from HF's half-split RoPE layout to GGML's interleaved pairs, per head."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(config) -> np.ndarray:
    """rope_freqs of a llama3-scaled RoPE: by how much each frequency is divided (llama.cpp's LLAMA
    reads them from this tensor), from transformers' own llama3 frequencies."""
    import torch
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    scaled, _ = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    d = head_dim(config)
    plain = 1.0 / (rope(config)[0] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    return (plain / scaled.float()).numpy().astype(np.float32)


def write_hparams(w, config, kind: str, name: str) -> None:
    """general.* and llama.* keys of GGUFWriter `w`."""
    import gguf

    theta, params = rope(config)
    w.add_type("model")
    w.add_name(name)
    w.add_context_length(config.max_position_embeddings)
    w.add_embedding_length(config.hidden_size)
    w.add_block_count(config.num_hidden_layers)
    w.add_feed_forward_length(config.intermediate_size)
    w.add_head_count(config.num_attention_heads)
    w.add_head_count_kv(config.num_key_value_heads)
    w.add_rope_freq_base(theta)
    w.add_layer_norm_rms_eps(config.rms_norm_eps)
    w.add_vocab_size(config.vocab_size)
    w.add_rope_dimension_count(head_dim(config))
    w.add_key_length(head_dim(config))
    w.add_value_length(head_dim(config))
    if params["rope_type"] == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(params["factor"])
    w.add_file_type(gguf.LlamaFileType[TYPES[kind][1]])
    if kind not in UNQUANTIZED:
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _ggml_type(shape: tuple, kind: str, head: bool = False):
    """The GGML type of a tensor in a file of type `kind`; `head`: the output matrix (token_embd when tied)."""
    import gguf

    t = gguf.GGMLQuantizationType[TYPES[kind][0]]
    if head and kind in LOW_BIT:
        t = gguf.GGMLQuantizationType.Q8_0
    if len(shape) == 1:
        return gguf.GGMLQuantizationType.F32
    if shape[-1] % gguf.GGML_QUANT_SIZES[t][0]:
        return gguf.GGMLQuantizationType.F16
    return t


def plan(folder: Path, config, kind: str) -> list[Item]:
    """Every tensor of the GGUF file, in the safetensors' order, nothing read yet."""
    import gguf
    from safetensors import safe_open

    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ExportError(f"{folder} holds no *.safetensors weights")
    items = []
    for path in files:
        with safe_open(path, framework="pt") as st:
            for key in st.keys():
                if key.endswith("rotary_emb.inv_freq") or (key == "lm_head.weight" and config.tie_word_embeddings):
                    continue  # recomputed by llama.cpp / the same tensor as token_embd
                name = tmap.get_name(key, try_suffixes=(".weight", ".bias"))
                if name is None:
                    raise ExportError(f"tensor {key} of {path} has no GGUF name in the llama architecture: "
                                      "not a plain Llama checkpoint")
                heads = (config.num_attention_heads if ".q_proj." in key
                         else config.num_key_value_heads if ".k_proj." in key else None)
                shape = tuple(st.get_slice(key).get_shape())
                head = name == "output.weight" or (name == "token_embd.weight" and config.tie_word_embeddings)
                items.append(Item(name, shape, _ggml_type(shape, kind, head), _loader(path, key, heads)))
    if rope(config)[1]["rope_type"] == "llama3":
        factors = llama3_rope_factors(config)
        items.append(Item("rope_freqs.weight", factors.shape, _ggml_type(factors.shape, kind), lambda: factors))
    return items


def _loader(path: Path, key: str, heads: int | None) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from safetensors import safe_open

        with safe_open(path, framework="pt") as st:
            w = st.get_tensor(key).float().numpy()
        return np.ascontiguousarray(rope_to_ggml(w, heads) if heads else w)

    return load


def _encode(data: np.ndarray, qtype) -> np.ndarray:
    import gguf

    if qtype == gguf.GGMLQuantizationType.F32:
        return data
    if qtype == gguf.GGMLQuantizationType.F16:
        return data.astype(np.float16)
    return gguf.quants.quantize(data, qtype)


def _nbytes(shape: tuple, qtype) -> int:
    import gguf

    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return math.prod(shape) // block * size


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def write_gguf(folder: str | Path, out: str | Path, kind: str, vocab: Vocab, name: str) -> dict:
    """Write `folder` (a Llama safetensors folder) as GGUF file `out` of type `kind` (a key of TYPES);
    returns its type, file, bytes, sha256, tensor types and seconds. Written to a temporary name first:
    a killed job never leaves a GGUF that looks whole."""
    import gguf

    t0 = time.perf_counter()
    folder, out = Path(folder), Path(out)
    config = llama_config(folder)
    items = plan(folder, config, kind)
    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    write_hparams(w, config, kind, name)
    write_vocab(w, vocab)
    for it in items:  # shapes in the HF (row-major) order; the writer reverses them for GGML
        w.add_tensor_info(it.name, it.shape, np.dtype(np.float32), _nbytes(it.shape, it.qtype), raw_dtype=it.qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for it in items:
        w.write_tensor_data(_encode(it.load(), it.qtype))
    w.close()
    os.replace(tmp, out)
    types = Counter(it.qtype.name for it in items)
    params = sum(math.prod(it.shape) for it in items)
    info = {"type": kind, "file": out.name, "bytes": out.stat().st_size, "sha256": sha256(out),
            "tensors": len(items), "tensor_types": dict(types),
            "bits_per_weight": round(8 * out.stat().st_size / params, 3), "seconds": round(time.perf_counter() - t0, 2)}
    if kind not in UNQUANTIZED and types.get("F16"):
        info["note"] = f"{types['F16']} tensor(s) with rows not a multiple of the {kind} block written F16"
    log.info("wrote %s: %.1f MiB, %s, %.1f bits/weight, %.1f s", out, info["bytes"] / 2**20, dict(types),
             info["bits_per_weight"], info["seconds"])
    return info
