"""Answer metrics: how close a system's answers come to the references, per system and per task.

Per answer (then averaged):
  exact_match   1 if the answer equals the reference after SQuAD normalisation (lower case, no
                punctuation, no articles a/an/the, whitespace collapsed), else 0 (SQuAD v1.1).
  token_f1      F1 of the normalised answer's and reference's word bags (SQuAD v1.1).
  contains_key  1 if the normalised key occurs in the normalised answer as whole words (not inside
                a longer number or word: key "410" is not found in "4100"), else 0; averaged over the
                answers whose question has a key, None where none has one. Automatic questions always
                have one (masked.py: the removed span; cloze: the continuation's first number or term,
                else its first content word); user questions where the file gives `key`.
  rougeL        ROUGE-L F-measure (rouge-score's RougeScorer with the Porter stemmer).
Over all answers of a group:
  bleu, chrf    corpus BLEU (effective order, as short answers have no 4-grams) and chrF of sacrebleu,
                on its 0-100 scale.
  answer_ppl    exp(summed NLL of the reference answers' tokens / their count), from the generation
                stage (teacher forcing: how likely the system finds the right answer).
Citation marks such as "[1]" are removed from an answer before it is scored (prompting.py asks the
model to name its passage). A group without answers gives None for every metric, never NaN.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections import Counter

import numpy as np

ANSWER_KEYS = ("exact_match", "contains_key", "token_f1", "rougeL", "bleu", "chrf", "answer_ppl")
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION = re.compile(r"\s*\[(?:passage\s*)?\d+(?:\s*[,;]\s*\d+)*\]|\s*\((?:passage|source)\s*\d+\)", re.I)


def normalize(text: str) -> str:
    """SQuAD v1.1's normalize_answer: lower case, punctuation and articles removed, whitespace collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def strip_citations(answer: str) -> str:
    """The answer without citation marks "[1]", "[1, 2]", "(passage 2)"."""
    return " ".join(_CITATION.sub("", answer).split())


def exact_match(answer: str, reference: str) -> float:
    return float(normalize(answer) == normalize(reference))


def token_f1(answer: str, reference: str) -> float:
    """SQuAD v1.1 F1 over normalised words; 1.0 when both are empty, 0.0 when only one is."""
    a, r = normalize(answer).split(), normalize(reference).split()
    if not a or not r:
        return float(a == r)
    common = sum((Counter(a) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


def contains_key(answer: str, key: str | None) -> float | None:
    """1.0 if the normalised key occurs in the normalised answer as whole words, 0.0 if not, None
    without a key."""
    k = normalize(key or "")
    if not k:
        return None
    return float(re.search(rf"(?<![0-9a-z]){re.escape(k)}(?![0-9a-z])", normalize(answer)) is not None)


@functools.lru_cache(maxsize=1)
def _rouge():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F-measure (rouge-score, stemmed); 0.0 where either has no word."""
    return float(_rouge().score(reference, answer)["rougeL"].fmeasure)


def bleu(answers: list[str], references: list[str]) -> float | None:
    """Corpus BLEU (sacrebleu, effective order), 0-100; None for no answer."""
    import sacrebleu

    if not answers:
        return None
    return float(sacrebleu.corpus_bleu(answers, [references], use_effective_order=True).score)


def chrf(answers: list[str], references: list[str]) -> float | None:
    """Corpus chrF (sacrebleu), 0-100; None for no answer."""
    import sacrebleu

    if not answers:
        return None
    return float(sacrebleu.corpus_chrf(answers, [references]).score)


def score_answer(answer: str, reference: str, key: str | None) -> dict:
    """The per-answer metrics of one answer (citations removed first)."""
    a = strip_citations(answer)
    return {"exact_match": exact_match(a, reference), "contains_key": contains_key(a, key),
            "token_f1": round(token_f1(a, reference), 6), "rougeL": round(rouge_l(a, reference), 6)}


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return round(float(np.mean(v)), 4) if v else None


def group(rows: list[dict]) -> dict:
    """The answer metrics over `rows` (each with answer, reference, the score_answer fields,
    answer_nll and answer_tokens)."""
    answers = [strip_citations(r["answer"]) for r in rows]
    refs = [r["reference"] for r in rows]
    nll, n = sum(r["answer_nll"] for r in rows), sum(r["answer_tokens"] for r in rows)
    out = {"questions": len(rows), "key_questions": sum(r.get("contains_key") is not None for r in rows)}
    for k in ("exact_match", "contains_key", "token_f1", "rougeL"):
        out[k] = _mean(r.get(k) for r in rows)
    b, c = bleu(answers, refs), chrf(answers, refs)
    out["bleu"] = None if b is None else round(b, 3)
    out["chrf"] = None if c is None else round(c, 3)
    out["answer_ppl"] = round(math.exp(min(nll / n, 700.0)), 4) if n else None  # exp overflows past ~709
    return out


def by_task(rows: list[dict], tasks=("cloze", "question")) -> dict:
    """{task: group} for the given tasks and any other the rows name (an empty task: questions 0,
    every metric None)."""
    names = [*tasks, *sorted({r.get("task") for r in rows} - set(tasks) - {None})]
    return {t: group([r for r in rows if r.get("task") == t]) for t in names}
