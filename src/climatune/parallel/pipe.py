"""A Llama causal LM as a DeepSpeed PipelineModule: embedding, decoder layers, final norm, head.

Each stage builds only its own layers (LayerSpec) and loads only their tensors from the prepared
safetensors folder, so a rank never holds the whole model. Tied input/output embeddings (SmolLM2,
Llama-3.2 1B/3B) become one TiedLayerSpec at both ends, whose gradients DeepSpeed all-reduces
between the first and the last stage. Stages are balanced by counting decoder layers
(partition_method "type:DecoderPipe"): the default "parameters" counts only trainable parameters,
which is wrong as soon as anything is frozen.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def _load(module: nn.Module, model_dir, prefix: str) -> None:
    """Copy the tensors named prefix.* from the safetensors files of model_dir into `module`."""
    from safetensors import safe_open

    want = {f"{prefix}.{k}": k for k in module.state_dict()}
    found = {}
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for name in st.keys():
                if name in want:
                    found[want[name]] = st.get_tensor(name)
    missing = set(want.values()) - set(found)
    if missing:
        raise KeyError(f"{model_dir}: tensors {sorted(missing)[:3]} of {prefix} not found")
    module.load_state_dict({k: v.to(module.state_dict()[k].dtype) for k, v in found.items()})


class EmbeddingPipe(nn.Module):
    """input_ids -> hidden states; also the tied output head (see head_forward)."""

    def __init__(self, config, model_dir, dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(config.vocab_size, config.hidden_size, dtype=dtype))
        _load(_Named(self, "weight"), model_dir, "model.embed_tokens")

    def forward(self, input_ids):
        return F.embedding(input_ids, self.weight)


class _Named(nn.Module):
    """Exposes one parameter of `owner` under the name `name` for loading."""

    def __init__(self, owner, name):
        super().__init__()
        self.register_parameter(name, getattr(owner, name))


def head_forward(embedding: EmbeddingPipe, hidden):
    return F.linear(hidden, embedding.weight)


class DecoderPipe(nn.Module):
    def __init__(self, config, index: int, model_dir, dtype):
        super().__init__()
        from transformers.models.llama.modeling_llama import LlamaDecoderLayer, LlamaRotaryEmbedding

        self.layer = LlamaDecoderLayer(config, index).to(dtype)
        self.rotary = LlamaRotaryEmbedding(config)
        _load(self.layer, model_dir, f"model.layers.{index}")

    def forward(self, hidden):
        pos = torch.arange(hidden.shape[1], device=hidden.device)[None]
        # attention_mask None -> causal attention (SDPA's is_causal), as in the single-process model
        return self.layer(hidden, attention_mask=None, position_ids=pos, position_embeddings=self.rotary(hidden, pos))


class NormPipe(nn.Module):
    def __init__(self, config, model_dir, dtype):
        super().__init__()
        from transformers.models.llama.modeling_llama import LlamaRMSNorm

        self.norm = LlamaRMSNorm(config.hidden_size, eps=config.rms_norm_eps).to(dtype)
        _load(self.norm, model_dir, "model.norm")

    def forward(self, hidden):
        return self.norm(hidden)


class HeadPipe(nn.Module):
    def __init__(self, config, model_dir, dtype):
        super().__init__()
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False, dtype=dtype)
        _load(self.lm_head, model_dir, "lm_head")

    def forward(self, hidden):
        return self.lm_head(hidden)


def causal_loss(logits, labels):
    """Mean next-token cross-entropy, in fp32, as the HF model computes it."""
    return F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


def _checkpoint(function, *args):
    from torch.utils.checkpoint import checkpoint

    return checkpoint(function, *args, use_reentrant=False)


def build_pipeline(model_dir, num_stages: int, dtype, topology=None, activation_checkpointing: bool = False):
    """The PipelineModule; with activation checkpointing every decoder layer is recomputed in backward
    (torch's non-reentrant checkpoint; the embedding and the head are not)."""
    from deepspeed.pipe import LayerSpec, PipelineModule, TiedLayerSpec
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_dir))
    config._attn_implementation = "sdpa"
    tied = bool(getattr(config, "tie_word_embeddings", False))
    layers = [TiedLayerSpec("embed", EmbeddingPipe, config, model_dir, dtype) if tied
              else LayerSpec(EmbeddingPipe, config, model_dir, dtype)]
    layers += [LayerSpec(DecoderPipe, config, i, model_dir, dtype) for i in range(config.num_hidden_layers)]
    layers.append(LayerSpec(NormPipe, config, model_dir, dtype))
    if tied:
        layers.append(TiedLayerSpec("embed", EmbeddingPipe, config, model_dir, dtype, forward_fn=head_forward))
    else:
        layers.append(LayerSpec(HeadPipe, config, model_dir, dtype))
    kw = {"topology": topology} if topology is not None else {"num_stages": num_stages}
    if activation_checkpointing:
        kw.update(activation_checkpoint_interval=1, activation_checkpoint_func=_checkpoint,
                  checkpointable_layers=["DecoderPipe"])
    return PipelineModule(layers=layers, loss_fn=causal_loss, partition_method="type:DecoderPipe", **kw)


def local_hf_state_dict(pipe) -> dict:
    """This stage's weights under their Hugging Face names (model.embed_tokens.weight,
    model.layers.<i>.*, model.norm.weight, lm_head.weight). A tied output head is the input
    embedding: only the stage that holds layer 0 names it."""
    from deepspeed.pipe import TiedLayerSpec

    n_layers = len(pipe._layer_specs) - 3  # embedding, decoder layers, norm, head
    out = {}
    for idx in range(pipe._local_start, pipe._local_stop):
        spec = pipe._layer_specs[idx]
        module = pipe.tied_modules[spec.key] if isinstance(spec, TiedLayerSpec) else getattr(pipe, str(idx))
        if idx == 0:
            out["model.embed_tokens.weight"] = module.weight
        elif idx <= n_layers:
            out.update({f"model.layers.{idx - 1}.{k}": v for k, v in module.layer.state_dict().items()})
        elif idx == n_layers + 1:
            out["model.norm.weight"] = module.norm.weight
        elif not isinstance(spec, TiedLayerSpec):
            out["lm_head.weight"] = module.lm_head.weight
    return {k: v.detach() for k, v in out.items()}
