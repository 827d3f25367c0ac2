"""Rerankers that work offline: query likelihood under the pipeline's own causal LM, or a
sentence-transformers cross-encoder given by path. Both reorder the candidates of a first-stage
search; their cost is part of the measured retrieval time."""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


class LMQueryLikelihood:
    """score(query, passage) = mean log P(query tokens | passage) under a causal LM (Zhuang & Zuccon's
    query-likelihood reranking with an LLM): no training, no extra model."""

    def __init__(self, model_dir, device: str = "cpu", max_passage_tokens: int = 256):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..model.training import resolve_device, resolve_dtype

        dev = resolve_device(device)
        self.tok = AutoTokenizer.from_pretrained(str(model_dir))
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=resolve_dtype("auto", dev),
                                                          device_map={"": dev}).eval()
        self.dev, self.max_passage = dev, max_passage_tokens
        self.torch = torch

    def scores(self, query: str, passages: list[str]) -> np.ndarray:
        torch = self.torch
        q = self.tok(" " + query, add_special_tokens=False)["input_ids"]
        rows, starts = [], []
        for p in passages:
            ctx = self.tok(p, add_special_tokens=False)["input_ids"][: self.max_passage]
            ctx = ctx + self.tok("\n\nIn short:", add_special_tokens=False)["input_ids"]
            rows.append(ctx + q)
            starts.append(len(ctx))
        width = max(len(r) for r in rows)
        pad = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        with torch.inference_mode():
            logp = torch.log_softmax(self.model(input_ids=ids.to(self.dev), attention_mask=mask.to(self.dev)).logits.float(), -1)
        out = []
        for i, (r, s) in enumerate(zip(rows, starts)):
            tgt = torch.tensor(r[s:], device=self.dev)
            lp = logp[i, s - 1 : len(r) - 1].gather(1, tgt[:, None]).squeeze(1)
            out.append(float(lp.mean()))
        return np.asarray(out)


class CrossEncoderReranker:
    def __init__(self, path, device: str = "cpu"):
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(str(path), device=device)

    def scores(self, query: str, passages: list[str]) -> np.ndarray:
        return np.asarray(self.model.predict([(query, p) for p in passages]))


def build_reranker(method: str, model: str | None, lm_dir=None, device: str = "cpu"):
    if method == "lm":
        return LMQueryLikelihood(model or lm_dir, device)
    if method == "cross-encoder":
        if not model:
            raise ValueError("rag.rerank.method is cross-encoder but rag.rerank.model (a local folder) is not set")
        return CrossEncoderReranker(model, device)
    raise ValueError(f"rag.rerank.method must be lm or cross-encoder, got {method!r}")


def rerank(reranker, query: str, candidates: list[int], texts: dict[int, str]) -> list[int]:
    cands = [c for c in candidates if c >= 0]
    s = reranker.scores(query, [texts[c] for c in cands])
    return [cands[i] for i in np.argsort(-s, kind="stable")]
