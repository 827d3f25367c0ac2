"""Scoring held-out blocks for perplexity: load a model (a plain folder, or the fine-tune as trained: its
base built the way finetune built it plus the unmerged adapter), and sum its next-token NLL per document
piece of every block (the tokens of one document inside one block), with or without document masking."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._util import read_json
from . import training as T
from .adapters import configure_adapters
from .masking import IGNORE, batch_inputs

log = logging.getLogger(__name__)

HEAD_CHUNK_TOKENS = 2048  # tokens per lm_head + cross-entropy chunk: full-vocabulary logits of one chunk at a time


@dataclass(frozen=True)
class AsTrained:
    """The fine-tuned model as finetune trained it: `base` (results/model/base) built by
    training.build_model with the run's own train settings (finetune's summary.json "config": NF4 with
    double quantization when it trained QLoRA, its compute dtype), and the LoRA adapter on top, unmerged;
    with `adapter` None the base alone, as the training saw it (NF4: the quantized base)."""

    base: str
    adapter: str | None
    summary: str


@dataclass
class Pieces:
    """Summed NLL and scored tokens of each (block, document) piece, in block order."""

    block: np.ndarray
    doc: np.ndarray
    nll: np.ndarray
    tokens: np.ndarray


def load(spec, precision: str, device: str = "auto"):
    """(model in eval mode, what was evaluated) for a folder path or an AsTrained."""
    from transformers import AutoModelForCausalLM

    dev = T.resolve_device(device)
    if isinstance(spec, AsTrained):
        return _load_as_trained(spec, dev)
    dtype = T.resolve_dtype(precision, dev)
    model = AutoModelForCausalLM.from_pretrained(str(spec), dtype=dtype, attn_implementation="sdpa",
                                                 device_map={"": dev})
    conf = read_json(Path(spec) / "config.json")
    stored = conf.get("dtype") or conf.get("torch_dtype") or "?"
    return model.eval(), {"weights": f"{stored} checkpoint {spec}", "compute_dtype": str(dtype).replace("torch.", "")}


def _load_as_trained(spec: AsTrained, dev):
    from peft import PeftModel

    summary = read_json(spec.summary)
    cfg = T.TrainConfig.from_dict(summary["config"])
    # the compute dtype the run used (precision "auto" measured on its machine), unless this device lacks it
    trained = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32"}.get(summary.get("compute_dtype"))
    if trained and (dev.type == str(summary.get("device", "")).split(":")[0]):
        cfg = cfg.replace(precision=trained)
    cfg = cfg.replace(device=dev.type, gradient_checkpointing=False, compile=False, attention="sdpa")
    dtype = T.resolve_dtype(cfg.precision, dev)
    base = T.build_model(spec.base, cfg, dev, lora=False)
    if cfg.quantization == "nf4" and cfg.upcast_non_quantized:  # as training._add_lora prepared it
        from peft import prepare_model_for_kbit_training

        base = prepare_model_for_kbit_training(base, use_gradient_checkpointing=False)
    kind = (f"NF4{' double-quantized' if cfg.double_quant else ''} base" if cfg.quantization == "nf4"
            else f"{str(dtype).replace('torch.', '')} base")
    what = {"weights": f"{kind} {spec.base}, as the fine-tune saw it, no adapter",
            "compute_dtype": str(dtype).replace("torch.", "")}
    if spec.adapter is None:
        return base.eval(), what
    model = PeftModel.from_pretrained(base, spec.adapter, is_trainable=False)
    configure_adapters(model, cfg, dtype, T.decoder_layers(model))  # the adapters compute as in training
    what["weights"] = f"{kind} {spec.base} + unmerged LoRA adapter {spec.adapter} (r={cfg.lora_r})"
    return model.eval(), what


def token_nll(model, inputs: dict, chunk_tokens: int = HEAD_CHUNK_TOKENS):
    """[B, T] float64 NLL of predicting each token from the ones before (0 at position 0 and where the
    label is ignored), without full-vocabulary logits of the whole batch at once."""
    import torch
    import torch.nn.functional as F

    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    ids = inputs["input_ids"]
    labels = inputs.get("labels", ids)[:, 1:].reshape(-1)
    # no KV cache: with one, transformers would not derive the document mask from the position ids
    hidden = lm.model(input_ids=ids, position_ids=inputs.get("position_ids"), use_cache=False).last_hidden_state
    h = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    out = torch.zeros(ids.shape, dtype=torch.float64, device=ids.device)
    flat = torch.empty(h.shape[0], dtype=torch.float64, device=ids.device)
    for i in range(0, h.shape[0], chunk_tokens):
        logits = lm.lm_head(h[i : i + chunk_tokens]).float()
        flat[i : i + chunk_tokens] = F.cross_entropy(logits, labels[i : i + chunk_tokens], reduction="none",
                                                     ignore_index=IGNORE).double()
    out[:, 1:] = flat.view(ids.shape[0], -1)
    return out


def piece_nll(model, blocks, rows: np.ndarray, seg: dict | None, masking: bool, batch_size: int) -> Pieces:
    """NLL of blocks `rows` summed per document piece (one piece per block when `seg` is None: the block's
    own index stands for its document). With `masking`, documents do not attend to each other and each
    document start inside a block is not scored (as in training)."""
    import torch

    dev = next(model.parameters()).device
    seq_len = blocks.shape[1]
    if seg is None:  # one piece per block
        seg = {"block_ptr": np.arange(len(blocks) + 1), "seg_start": np.zeros(len(blocks), np.int32),
               "seg_doc": np.arange(len(blocks), dtype=np.int32)}
    out = {k: [] for k in ("block", "doc", "nll", "tokens")}
    ptr, st, dc = seg["block_ptr"], seg["seg_start"], seg["seg_doc"]
    with torch.inference_mode():
        for i in range(0, len(rows), batch_size):
            chunk = rows[i : i + batch_size]
            inputs = batch_inputs(blocks, chunk, seg if masking else None, dev)
            nll = token_nll(model, inputs).cpu().numpy()
            masked = "labels" in inputs
            for r, b in enumerate(chunk):
                s = st[ptr[b] : ptr[b + 1]].astype(np.int64)
                tokens = np.diff(np.append(s, seq_len)) - (s == 0) - (masked & (s > 0))
                out["block"].append(np.full(len(s), b))
                out["doc"].append(dc[ptr[b] : ptr[b + 1]])
                out["nll"].append(np.add.reduceat(nll[r], s))
                out["tokens"].append(tokens)
    p = Pieces(**{k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()})
    keep = p.tokens > 0  # a one-token piece at a block's start predicts nothing
    return Pieces(p.block[keep], p.doc[keep].astype(np.int64), p.nll[keep], p.tokens[keep].astype(np.int64))


def mean_nll(model, blocks_npy, rows: np.ndarray, masking: bool, batch_size: int) -> tuple[float, int]:
    """(nats per token, tokens scored) of a model being trained, over blocks `rows` of
    `blocks_npy`: dropout off while scoring, the model's mode restored after."""
    from .masking import segments_for

    blocks = np.load(blocks_npy, mmap_mode="r")
    was_training = model.training
    model.eval()
    p = piece_nll(model, blocks, rows, segments_for(blocks_npy, required=masking), masking, batch_size)
    model.train(was_training)
    return float(p.nll.sum() / p.tokens.sum()), int(p.tokens.sum())
