"""The training loss: mean next-token cross-entropy of packed blocks, in one of three forms
(the model's own, chunked in PyTorch, or Liger's fused Triton kernel), and which one a device gets."""

from __future__ import annotations


def _liger_available() -> bool:
    try:
        import liger_kernel  # noqa: F401

        return True
    except ImportError:
        return False


def resolve_loss(loss: str, device) -> str:
    if loss != "auto":
        return loss
    return "liger" if device.type == "cuda" and _liger_available() else "chunked"


def causal_lm_loss(model, input_ids, mode: str = "chunked", chunk_tokens: int = 4096, position_ids=None,
                   labels=None):
    """Mean next-token cross-entropy of a batch of packed blocks, over the tokens whose label is not -100.

    With document masking (model/masking.py: `batch_inputs`) `position_ids` restart at each document,
    which also keeps attention inside documents, and `labels` (default: input_ids) carry -100 at each
    document start inside a block, so the token predicted across a boundary is not scored. use_cache is
    off: transformers derives the document mask from position ids only when no KV cache is passed.

    "hf": the model's own forward with labels (full [B, T, vocab] logits, upcast to fp32).
    "chunked": hidden states once, then lm_head + cross-entropy over chunks of tokens, each chunk
        recomputed in backward (torch.utils.checkpoint), so full-vocabulary logits never exist at once.
    "liger": Liger-Kernel's fused linear + cross-entropy (Triton, CUDA only).
    """
    import torch
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint

    labels = input_ids if labels is None else labels
    if mode == "hf":
        return model(input_ids=input_ids, labels=labels, position_ids=position_ids, use_cache=False).loss
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = lm.model(input_ids=input_ids, position_ids=position_ids, use_cache=False).last_hidden_state
    h = hidden[:, :-1].reshape(-1, hidden.shape[-1])
    y = labels[:, 1:].reshape(-1)
    head = lm.lm_head
    if mode == "liger":
        from liger_kernel.transformers.functional import liger_fused_linear_cross_entropy

        return liger_fused_linear_cross_entropy(h.to(head.weight.dtype), head.weight, y, ignore_index=-100)
    if mode != "chunked":
        raise ValueError(f"train.loss must be auto, hf, chunked or liger, got {mode!r}")

    def chunk_loss(hc, yc):
        return F.cross_entropy(head(hc).float(), yc, reduction="sum", ignore_index=-100)

    total = h.new_zeros((), dtype=torch.float32)
    for i in range(0, h.shape[0], chunk_tokens):
        total = total + checkpoint(chunk_loss, h[i : i + chunk_tokens], y[i : i + chunk_tokens], use_reentrant=False)
    return total / (y.numel() if labels is input_ids else (y != -100).sum())
