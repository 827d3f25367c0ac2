"""rag_generate: answer every question with one system and time each request.

Systems: base, base_rag, tuned, tuned_rag (the model, with or without retrieved context). A request
is served as a user would see it, one at a time: for *_rag, embed the question, search the index
(and rerank, if enabled), put the top `context_chunks` chunks, labelled with document and page, into
the prompt; then greedy generation. Questions (task `question`) go through the model's chat template
with a brief-answer instruction and end at the end of the turn or line; cloze items are continued
(prompting.py). Retrieval and generation time are recorded apart. Answer quality (scoring.py):
exact match, contains-key, token F1, ROUGE-L, corpus BLEU and chrF, and the perplexity of the
reference answer given the same prompt (teacher forcing: how likely the system finds the right
answer, independent of decoding), over all questions and per task. `context_hit_rate` is the share
of questions with a known source document whose document is among the retrieved chunks' (None for a
system without retrieval).

Run alone: python -m climatune.rag.generate questions.jsonl --system tuned_rag --model results/finetune/merged \
           --chunks chunks.jsonl --index hnsw.faiss --out tuned_rag.jsonl
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from .._settings import cli_defaults, default
from .._util import environment, setup_logging, write_json, write_jsonl
from ..model import training as T
from . import metrics as Mx
from . import prompting as P
from . import scoring as S
from .chunk import read_chunks
from .prompting import build_prompt as build_prompt  # the cloze prompt; bench/rag_bench.py uses it
from .prompting import first_sentence as first_sentence
from .questions import read_questions
from .search import KINDS, Searcher

log = logging.getLogger(__name__)

SYSTEMS = ("base", "base_rag", "tuned", "tuned_rag")


class Retriever:
    """The top `context_chunks` chunk ids for a question, through search.Searcher (what rag_retrieve
    measures): any index kind; `index_path` for hybrid is [bm25 folder, dense folder]."""

    def __init__(self, chunks_jsonl, index_path, kind: str, params: dict, embedder: str, context_chunks: int,
                 rerank_cfg: dict | None = None, lm_dir=None):
        self.chunks = {c["id"]: c for c in read_chunks(chunks_jsonl)}
        self.searcher = Searcher(kind, index_path, params, embedder)
        self.n = context_chunks
        self.reranker, self.candidates = None, 0
        if rerank_cfg and rerank_cfg.get("enabled"):
            from .rerank import build_reranker

            self.reranker = build_reranker(rerank_cfg.get("method", "lm"), rerank_cfg.get("model"), lm_dir)
            self.candidates = rerank_cfg.get("candidates", 20)

    def __call__(self, question: str) -> list[int]:
        ranked = self.searcher.search([question], max(self.n, self.candidates))[0]
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
    """One system answers every question; arguments left None come from config.yaml's `rag:`."""
    g = default("rag", "generate")
    index_kind = g["index"] if index_kind is None else index_kind
    embedder = default("rag", "embedder") if embedder is None else embedder
    context_chunks = g["context_chunks"] if context_chunks is None else context_chunks
    max_new_tokens = g["max_new_tokens"] if max_new_tokens is None else max_new_tokens
    max_prompt_tokens = g["max_prompt_tokens"] if max_prompt_tokens is None else max_prompt_tokens
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
    rows = []
    for q in read_questions(questions_jsonl):
        rows.append(r := answer(q, tok, model, dev, retriever, max_new_tokens, max_prompt_tokens))
        log.info("%s %s [%s]: %.0f ms (retrieval %.1f ms) F1 %.2f key %s | %s", system, r["id"], r["task"],
                 1e3 * r["total_s"], 1e3 * r["retrieval_s"], r["token_f1"], r["contains_key"], r["answer"][:80])
    write_jsonl(out_jsonl, rows)
    summary = summarize(rows)
    summary.update(system=system, model=str(model_dir), device=str(dev), max_new_tokens=max_new_tokens,
                   context_chunks=context_chunks if retriever else 0, index=index_kind if retriever else None,
                   chat_template=P.uses_template(tok, "question"), environment=environment())
    write_json(Path(out_jsonl).with_suffix(".json"), summary)
    log.info("%s: p50 %.0f ms; exact match %s, contains key %s, token F1 %s, ROUGE-L %s, answer perplexity %s",
             system, summary["p50_ms"], *(summary[k] for k in ("exact_match", "contains_key", "token_f1", "rougeL",
                                                               "answer_ppl")))
    return summary


def answer(q: dict, tok, model, dev, retriever, max_new_tokens: int, max_prompt_tokens: int) -> dict:
    """One timed request: retrieve (for *_rag), prompt, generate; the answer scored against the
    reference. The row holds everything the per-question table shows."""
    import torch

    task = q.get("task") or ("cloze" if q.get("origin", "auto") == "auto" else "question")
    t0 = time.perf_counter()
    ctx_ids = retriever(q["question"]) if retriever else []
    t1 = time.perf_counter() if retriever else t0
    chunks = [retriever.chunks[i] for i in ctx_ids] if retriever else []
    ids = torch.tensor([P.prompt_ids(tok, q["question"], task, chunks, max_prompt_tokens)], device=dev)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    stop = {"stopping_criteria": [P.end_criterion(tok, ids.shape[1], task)]}
    if task != "cloze":
        stop["eos_token_id"] = P.stop_token_ids(tok)  # the end of the assistant's turn
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad,
                             attention_mask=torch.ones_like(ids), **stop)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t2 = time.perf_counter()
    text = P.answer_text(tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True), task)
    ref_ids = tok((" " if task == "cloze" else "") + q["answer"], add_special_tokens=False)["input_ids"]
    nll, n = answer_nll(model, ids[0].tolist(), ref_ids, dev)
    docs = [c["doc"] for c in chunks]
    return {"id": q["id"], "task": task, "form": q.get("form"), "question": q["question"], "reference": q["answer"],
            "key": q.get("key"), "answer": text, "contexts": ctx_ids,
            "sources": [[c["doc"], c.get("page"), c.get("page_end", c.get("page"))] for c in chunks],
            "source_doc": q.get("source_doc"), "page": q.get("page"),
            "doc_hit": (q["source_doc"] in docs) if retriever and q.get("source_doc") else None,
            "context_hit": bool(set(ctx_ids) & set(q.get("relevant") or [])),
            "retrieval_s": t1 - t0, "generation_s": t2 - t1, "total_s": t2 - t0,
            **S.score_answer(text, q["answer"], q.get("key")), "answer_nll": nll, "answer_tokens": n}


def summarize(rows: list[dict]) -> dict:
    """Latency percentiles, the answer metrics over all questions and per task (scoring.py), and the
    share of questions whose source document was retrieved."""
    total = Mx.percentiles_ms([r["total_s"] for r in rows])
    ret = Mx.percentiles_ms([r["retrieval_s"] for r in rows])
    gen = Mx.percentiles_ms([r["generation_s"] for r in rows])
    hits = [r["doc_hit"] for r in rows if r.get("doc_hit") is not None]
    out = {"questions": len(rows), "p50_ms": total["p50_ms"], "p95_ms": total["p95_ms"],
           "retrieval_p50_ms": ret["p50_ms"], "retrieval_p95_ms": ret["p95_ms"],
           "generation_p50_ms": gen["p50_ms"], "generation_p95_ms": gen["p95_ms"],
           "retrieval_share": round(sum(r["retrieval_s"] for r in rows) / sum(r["total_s"] for r in rows), 5),
           "context_hit_rate": round(float(np.mean(hits)), 4) if hits else None, "context_hit_questions": len(hits)}
    overall = S.group(rows)
    out.update({k: overall[k] for k in (*S.ANSWER_KEYS, "key_questions")})
    out["tasks"] = S.by_task(rows)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.rag.generate", description=__doc__.splitlines()[0])
    ap.add_argument("questions")
    ap.add_argument("--system", required=True, choices=SYSTEMS)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chunks")
    ap.add_argument("--index", nargs="+", help="the index folder(s): for hybrid the bm25 one, then the dense one")
    ap.add_argument("--index-type", choices=KINDS)
    ap.add_argument("--max-new-tokens", type=int)
    ap.add_argument("--context-chunks", type=int)
    ap.add_argument("--max-prompt-tokens", type=int)
    cli_defaults(ap, "rag", {"index_type": "generate.index", "max_new_tokens": "generate.max_new_tokens",
                             "context_chunks": "generate.context_chunks",
                             "max_prompt_tokens": "generate.max_prompt_tokens"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.questions, a.system, a.model, a.out, a.chunks, a.index, a.index_type, context_chunks=a.context_chunks,
        max_new_tokens=a.max_new_tokens, max_prompt_tokens=a.max_prompt_tokens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
