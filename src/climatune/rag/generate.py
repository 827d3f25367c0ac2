"""rag_generate: answer every question with one system and time each request.

Systems: base, base_rag, tuned, tuned_rag (the model, with or without retrieved context). A request
is served as a user would see it, one at a time: for *_rag, embed the question, search the index
(and rerank, if enabled), put the top `context_chunks` chunks before the question; then greedy
generation. Retrieval and generation time are recorded apart. Answer quality: ROUGE-L of the answer
against the reference, and the perplexity of the reference answer given the same prompt (teacher
forcing: how likely the system finds the right answer, independent of decoding).

Run alone: python -m climatune.rag.generate questions.jsonl --system tuned_rag --model results/finetune/merged \
           --chunks chunks.jsonl --index hnsw.faiss --out tuned_rag.jsonl
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import time
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import environment, setup_logging, write_json, write_jsonl
from ..model import training as T
from . import index as I
from . import metrics as Mx
from .chunk import read_chunks
from .embed import embed_texts, load_embedder
from .questions import read_questions

log = logging.getLogger(__name__)

SYSTEMS = ("base", "base_rag", "tuned", "tuned_rag")


def build_prompt(question: str, contexts: list[str]) -> str:
    """Retrieved passages first, then the statement to complete (the model continues it)."""
    if not contexts:
        return question
    return "\n\n".join(contexts) + "\n\n" + question


def first_sentence(text: str) -> str:
    text = text.strip().split("\n")[0]
    m = re.search(r"[.!?](\s|$)", text)
    return text[: m.end()].strip() if m else text


class Retriever:
    def __init__(self, chunks_jsonl, index_path, kind: str, params: dict, embedder: str, context_chunks: int,
                 rerank_cfg: dict | None = None, lm_dir=None):
        self.chunks = {c["id"]: c for c in read_chunks(chunks_jsonl)}
        self.index = I.load(index_path, kind, params)
        self.embedder = load_embedder(embedder)
        self.n = context_chunks
        self.reranker, self.candidates = None, 0
        if rerank_cfg and rerank_cfg.get("enabled"):
            from .rerank import build_reranker

            self.reranker = build_reranker(rerank_cfg.get("method", "lm"), rerank_cfg.get("model"), lm_dir)
            self.candidates = rerank_cfg.get("candidates", 20)

    def __call__(self, question: str) -> list[int]:
        q = embed_texts(self.embedder, [question])
        _, ids = self.index.search(q, max(self.n, self.candidates))
        ranked = [int(i) for i in ids[0] if i >= 0]
        if self.reranker:
            from .rerank import rerank

            ranked = rerank(self.reranker, question, ranked, {i: self.chunks[i]["text"] for i in ranked})
        return ranked[: self.n]


def answer_nll(model, prompt_ids: list[int], answer_ids: list[int], device) -> tuple[float, int]:
    """Summed NLL of the reference answer's tokens after the prompt, and their count."""
    import torch

    p, a = prompt_ids, answer_ids
    ids = torch.tensor([p + a], device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(p) - 1 : -1].float()
    nll = torch.nn.functional.cross_entropy(logits, ids[0, len(p):], reduction="sum")
    return float(nll), len(a)


def run(questions_jsonl, system: str, model_dir, out_jsonl, chunks_jsonl=None, index_path=None,
        index_kind: str | None = None, index_params: dict | None = None, embedder: str | None = None,
        context_chunks: int | None = None, max_new_tokens: int | None = None, max_prompt_tokens: int | None = None,
        rerank_cfg: dict | None = None, device: str = "auto") -> dict:
    """One system answers every question; arguments left None come from config.yaml's `rag:`.
    Why this is long: the setup of the four systems (with/without retrieval, reranking) feeds one timed loop."""
    g = default("rag", "generate")
    index_kind = g["index"] if index_kind is None else index_kind
    embedder = default("rag", "embedder") if embedder is None else embedder
    context_chunks = g["context_chunks"] if context_chunks is None else context_chunks
    max_new_tokens = g["max_new_tokens"] if max_new_tokens is None else max_new_tokens
    max_prompt_tokens = g["max_prompt_tokens"] if max_prompt_tokens is None else max_prompt_tokens
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {SYSTEMS}, got {system!r}")
    hf_logging.disable_progress_bar()
    dev = T.resolve_device(device)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=T.resolve_dtype("auto", dev),
                                                 device_map={"": dev}).eval()
    retriever = None
    if system.endswith("_rag"):
        retriever = Retriever(chunks_jsonl, index_path, index_kind, index_params or {}, embedder, context_chunks,
                              rerank_cfg, model_dir)
    qs = read_questions(questions_jsonl)
    rows = []
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    for q in qs:
        t0 = time.perf_counter()
        ctx_ids = retriever(q["question"]) if retriever else []
        t1 = time.perf_counter() if retriever else t0
        contexts = [retriever.chunks[i]["text"] for i in ctx_ids] if retriever else []
        prompt = build_prompt(q["question"], contexts)
        ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"][:, -max_prompt_tokens:].to(dev)
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                                 attention_mask=torch.ones_like(ids))
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        text = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        ans = first_sentence(text)
        ref_ids = tok(" " + q["answer"], add_special_tokens=False)["input_ids"]
        nll, n = answer_nll(model, ids[0].tolist(), ref_ids, dev)
        rows.append({"id": q["id"], "question": q["question"], "reference": q["answer"], "answer": ans,
                     "contexts": ctx_ids, "context_hit": bool(set(ctx_ids) & set(q["relevant"])),
                     "retrieval_s": t1 - t0, "generation_s": t2 - t1, "total_s": t2 - t0,
                     "rougeL": Mx.rouge_l(ans, q["answer"]), "answer_nll": nll, "answer_tokens": n})
        log.info("%s %s: %.0f ms (retrieval %.1f ms) rougeL %.2f | %s", system, q["id"], 1e3 * (t2 - t0),
                 1e3 * (t1 - t0), rows[-1]["rougeL"], ans[:80])
    write_jsonl(out_jsonl, rows)
    summary = summarize(rows)
    summary.update(system=system, model=str(model_dir), device=str(dev), max_new_tokens=max_new_tokens,
                   context_chunks=context_chunks if retriever else 0, index=index_kind if retriever else None,
                   environment=environment())
    write_json(Path(out_jsonl).with_suffix(".json"), summary)
    log.info("%s: p50 %.0f ms, ROUGE-L %.3f, answer perplexity %.2f", system, summary["p50_ms"], summary["rougeL"],
             summary["answer_ppl"])
    return summary


def summarize(rows: list[dict]) -> dict:
    total = Mx.percentiles_ms([r["total_s"] for r in rows])
    ret = Mx.percentiles_ms([r["retrieval_s"] for r in rows])
    gen = Mx.percentiles_ms([r["generation_s"] for r in rows])
    nll, n = sum(r["answer_nll"] for r in rows), sum(r["answer_tokens"] for r in rows)
    return {"questions": len(rows), "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"],
            "retrieval_p50_ms": ret["p50_ms"], "retrieval_p95_ms": ret["p95_ms"],
            "generation_p50_ms": gen["p50_ms"], "generation_p95_ms": gen["p95_ms"],
            "retrieval_share": round(sum(r["retrieval_s"] for r in rows) / sum(r["total_s"] for r in rows), 5),
            "rougeL": round(float(np.mean([r["rougeL"] for r in rows])), 4),
            "answer_ppl": round(math.exp(nll / max(1, n)), 4),
            "context_hit_rate": round(float(np.mean([r["context_hit"] for r in rows])), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.generate", description=__doc__.splitlines()[0])
    ap.add_argument("questions")
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunks")
    ap.add_argument("--index")
    ap.add_argument("--index-type", choices=I.TYPES)
    ap.add_argument("--max-new-tokens", type=int)
    ap.add_argument("--context-chunks", type=int)
    cli_defaults(ap, "rag", {"index_type": "generate.index", "max_new_tokens": "generate.max_new_tokens",
                             "context_chunks": "generate.context_chunks"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.questions, a.system, a.model, a.out, a.chunks, a.index, a.index_type, context_chunks=a.context_chunks,
        max_new_tokens=a.max_new_tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
