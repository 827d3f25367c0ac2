"""The export's check: every GGUF file is loaded by llama.cpp (llama-cpp-python) and compared with
transformers running the 16-bit safetensors copy (upcast to float32) on the same prompt.

Per file: the text llama.cpp generates greedily (temperature 0) through its own tokenizer; whether it
tokenizes the prompt as transformers does (the tokenizer metadata); its greedy token ids beside
transformers' (`greedy_match_tokens`: the length of the common start); and, teacher-forced over the
prompt plus transformers' continuation, the share of positions where both pick the same top-1 token
and the largest logit difference. A wrong q/k RoPE permutation or tensor mapping shows as top-1
disagreement on most positions.

Passing: a 16-bit/32-bit file must tokenize the prompt identically and agree on the top-1 token at
every position, where a disagreement between two tokens whose transformers logits differ by less than
NEAR_TIE counts as agreement (16-bit rounding may swap near-equal candidates). A quantized file must
load, tokenize identically and generate; its agreement is recorded, not required (Q4 is lossy).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .gguf_file import UNQUANTIZED
from .gguf_vocab import ExportError

log = logging.getLogger(__name__)

NEAR_TIE = 0.05  # logits (nats): top-1 candidates this close in transformers count as a tie
# The least top-1 agreement (ties counted) with transformers a quantized file must reach: q8_0 is near
# lossless (SmolLM2-135M: 0.96); lower-bit files are recorded, not judged.
MIN_AGREEMENT = {"q8_0": 0.7}
# Strings where tokenizers differ (digits split or not, runs of spaces, newlines, accents, punctuation):
# llama.cpp must tokenize each as transformers does, beside the check prompt.
TOKENIZER_PROBES = ("In 2023, CO2 reached 419.3 ppm (+2.4 ppm/yr).", "  two  spaces\n\nand\ttabs",
                    "Niño-3.4 SST anomaly: −0.5 °C", "1,000,000 km² of sea-ice; 12345678901")


class CheckFailed(ExportError):
    """A GGUF file that llama.cpp cannot load, or whose outputs disagree with transformers'."""


def loader_version() -> str:
    """"llama-cpp-python <version>", or ExportError saying how to install it (asked before any work)."""
    try:
        import llama_cpp
    except ImportError as e:
        raise ExportError(f"the export checks its GGUF files with llama-cpp-python, which does not import here "
                          f"({e}): pip install llama-cpp-python==0.3.36 (requirements/requirements.in; it compiles "
                          "llama.cpp, a few minutes)") from None
    return f"llama-cpp-python {llama_cpp.__version__}"


@dataclass
class Reference:
    """transformers' side: prompt ids, greedy continuation ids and logits over prompt + continuation."""

    prompt_ids: list
    greedy: list
    logits: np.ndarray
    probe_ids: list  # transformers' ids of each TOKENIZER_PROBES string


def reference(folder: str | Path, prompt: str, n_tokens: int) -> Reference:
    """Greedy decoding in transformers (float32 compute): the yardstick every GGUF is measured against."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tok(prompt)["input_ids"]
    seq = list(ids)
    with torch.no_grad():
        out = model(torch.tensor([seq]), use_cache=True)
        for i in range(n_tokens):  # no early stop at EOS: both sides decode the same number of tokens
            seq.append(int(out.logits[0, -1].argmax()))
            if i < n_tokens - 1:
                out = model(torch.tensor([seq[-1:]]), past_key_values=out.past_key_values, use_cache=True)
        logits = model(torch.tensor([seq[:-1]])).logits[0].numpy()
    return Reference(ids, seq[len(ids):], logits, [tok(p)["input_ids"] for p in TOKENIZER_PROBES])


def _greedy(llm, ids: list, n_tokens: int) -> list:
    """llama.cpp's greedy ids after `ids` (argmax of its logits, no sampler in between)."""
    llm.reset()
    llm.eval(ids)
    out = []
    for _ in range(n_tokens):
        out.append(int(np.argmax(llm.scores[llm.n_tokens - 1])))
        if len(out) < n_tokens:
            llm.eval([out[-1]])
    return out


def _logits(llm, ids: list) -> np.ndarray:
    """llama.cpp's logits at every position of `ids` (teacher-forced)."""
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


def compare(ref_logits: np.ndarray, logits: np.ndarray) -> dict:
    """Top-1 agreement (exact, and with near-ties allowed) and the largest logit difference."""
    h, c = ref_logits.argmax(-1), logits.argmax(-1)
    rows = np.arange(len(h))
    tie = ref_logits[rows, h] - ref_logits[rows, c] < NEAR_TIE
    return {"positions": int(len(h)), "top1_agreement": round(float((h == c).mean()), 4),
            "top1_agreement_with_ties": round(float(((h == c) | tie).mean()), 4),
            "max_abs_logit_diff": round(float(np.abs(ref_logits - logits).max()), 5),
            "mean_abs_logit_diff": round(float(np.abs(ref_logits - logits).mean()), 5)}


def _text(llm, prompt: str, n_tokens: int) -> str:
    """What a user of the file sees: llama.cpp's own tokenizer, greedy sampling, detokenized."""
    out = llm.create_completion(prompt, max_tokens=n_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0)
    return out["choices"][0]["text"]


def check_file(path: Path, kind: str, ref: Reference, prompt: str, n_tokens: int, threads: int) -> dict:
    """Load one GGUF with llama.cpp, generate and compare; `passed` and, if not, `failure` say the verdict."""
    import llama_cpp

    t0 = time.perf_counter()
    n_ctx = max(len(ref.prompt_ids), len(prompt.encode())) + n_tokens + 16  # a BPE token holds at least a byte
    try:
        llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                              logits_all=True, verbose=False, seed=0)
    except Exception as e:  # llama.cpp says only "Failed to load model from file"
        return {"type": kind, "file": path.name, "passed": False,
                "failure": f"llama.cpp cannot load {path} ({type(e).__name__}: {e}); rerun with verbose=True to see why"}
    cpp_ids = llm.tokenize(prompt.encode(), add_bos=True, special=False)
    probes_differ = [p for p, want in zip(TOKENIZER_PROBES, ref.probe_ids)
                     if llm.tokenize(p.encode(), add_bos=True, special=False) != want]
    greedy = _greedy(llm, ref.prompt_ids, n_tokens)
    logits = _logits(llm, ref.prompt_ids + ref.greedy[:-1])
    same = next((i for i, (a, b) in enumerate(zip(greedy, ref.greedy)) if a != b), len(ref.greedy))
    res = {"type": kind, "file": path.name, "generated": _text(llm, prompt, n_tokens),
           "prompt_tokens_match": cpp_ids == ref.prompt_ids, "tokenizer_probes_differ": probes_differ,
           "greedy_ids": greedy, "greedy_match_tokens": same,
           **compare(ref.logits, logits)}
    llm.close()
    res["seconds"] = round(time.perf_counter() - t0, 2)
    res["failure"] = _verdict(res, kind, cpp_ids, ref)
    res["passed"] = res["failure"] is None
    return res


def _verdict(res: dict, kind: str, cpp_ids: list, ref: Reference) -> str | None:
    if not res["prompt_tokens_match"]:
        return (f"llama.cpp tokenizes the check prompt as {cpp_ids[:20]} but transformers as {ref.prompt_ids[:20]}: "
                "the GGUF's tokenizer metadata (tokenizer.ggml.*) does not reproduce the model's tokenizer")
    if res["tokenizer_probes_differ"]:
        return (f"llama.cpp tokenizes {res['tokenizer_probes_differ'][0]!r} differently from transformers: the "
                "GGUF's pre-tokenizer (tokenizer.ggml.pre) does not match the model's")
    floor = MIN_AGREEMENT.get(kind)
    if floor is not None and res["top1_agreement_with_ties"] < floor:
        return (f"the {kind} GGUF agrees with transformers' next token at only {res['top1_agreement_with_ties']:.2f} "
                f"of positions (at least {floor} expected of {kind}): its quantized weights do not match the model")
    if kind in UNQUANTIZED and res["top1_agreement_with_ties"] < 1.0:
        return (f"the {kind} GGUF and transformers pick different next tokens at "
                f"{round((1 - res['top1_agreement_with_ties']) * res['positions'])} of {res['positions']} positions "
                f"(largest logit difference {res['max_abs_logit_diff']}): the GGUF's weights, tensor names or q/k "
                "RoPE layout do not match the model")
    return None


def run(folder: str | Path, files: list[tuple[str, Path]], prompt: str, n_tokens: int, threads: int) -> dict:
    """Check every (type, path); the JSON's `gguf_check` ({loader, generated, reference, files, passed})."""
    ref = reference(folder, prompt, n_tokens)
    results = [check_file(Path(p), kind, ref, prompt, n_tokens, threads) for kind, p in files]
    for r in results:
        log.info("llama.cpp %s: %s; greedy ids match transformers for %s of %d tokens, top-1 agreement %s, "
                 "max |logit diff| %s: %r", r["type"], "passed" if r["passed"] else "FAILED",
                 r.get("greedy_match_tokens"), n_tokens, r.get("top1_agreement"), r.get("max_abs_logit_diff"),
                 r.get("generated"))
    first = next((r for r in results if r["type"] in UNQUANTIZED), results[0])
    failed = [f"{r['file']}: {r['failure']}" for r in results if not r["passed"]]
    return {"loader": loader_version(), "prompt": prompt, "max_new_tokens": n_tokens,
            "generated": first.get("generated"), "generated_by": first["file"],
            "reference": {"by": "transformers on model-16bit, float32 compute", "prompt_ids": ref.prompt_ids,
                          "greedy_ids": ref.greedy},
            "near_tie_logits": NEAR_TIE, "files": results, "passed": not failed, "failures": failed}
