"""How a question is put to a model (rag_generate), and where its answer ends.

- task `question`: through the model's chat template when its tokenizer has one (tokenizer.
  chat_template; SmolLM2-Instruct and Llama-3 Instruct do): a system instruction to answer briefly (a few
  words or one sentence) from the passages and to name the passage used, then the passages and the
  question as the user turn. Without retrieval the same instruction without passages. A tokenizer
  without a template gets the same text as plain "instruction, passages, Question: ..., Answer:".
  The answer ends at the end of the turn or of its first line (past a lead-in line such as "The
  answer is:"; the lead-in itself is dropped from the answer).
- task `cloze`: a plain continuation as before: the passages, then the statement to complete; the
  answer is the continuation's first sentence, and generation stops there.

Passages carry their document and page so an answer can cite them: "[1] (ipcc_ar6_syr_spm, p. 12) text",
"pp. 12-13" for a chunk spanning two pages. Passages too long for `max_prompt_tokens` are shortened
each to an equal share of what the instruction and question leave; only a prompt still too long is
cut from the left.
"""

from __future__ import annotations

import re

INSTRUCTION = ("You answer questions about climate reports. Answer briefly, in a few words or one sentence. "
               "Use the numbered passages and say which passage you used, e.g. [1].")
INSTRUCTION_NO_PASSAGES = ("You answer questions about climate reports. Answer briefly, in a few words or one "
                           "sentence.")
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")  # ChatML, Llama 3, Gemma, Phi


def passage_label(chunk: dict) -> str:
    """'(doc, p. 3)', '(doc, pp. 3-4)', or '(doc)' for a chunk without pages."""
    first = chunk.get("page")
    last = chunk.get("page_end", first)
    where = "" if first is None else f", p. {first}" if last in (None, first) else f", pp. {first}-{last}"
    return f"({chunk['doc']}{where})"


def passages(chunks: list[dict], texts: list[str] | None = None) -> list[str]:
    """'[i] (doc, p. N) text' for each chunk (its own text, or `texts` in its place)."""
    texts = [c["text"] for c in chunks] if texts is None else texts
    return [f"[{i}] {passage_label(c)} {' '.join(t.split())}" for i, (c, t) in enumerate(zip(chunks, texts), 1)]


def build_prompt(question: str, contexts: list[str]) -> str:
    """A cloze prompt: the passages first, then the statement to complete (the model continues it)."""
    return "\n\n".join([*contexts, question]) if contexts else question


def messages(question: str, labelled: list[str]) -> list[dict]:
    """The chat of a question: system instruction, then passages and question as the user turn."""
    if labelled:
        return [{"role": "system", "content": INSTRUCTION},
                {"role": "user", "content": "Passages:\n" + "\n\n".join(labelled) + f"\n\nQuestion: {question}"}]
    return [{"role": "system", "content": INSTRUCTION_NO_PASSAGES}, {"role": "user", "content": f"Question: {question}"}]


def uses_template(tok, task: str) -> bool:
    return task != "cloze" and bool(getattr(tok, "chat_template", None))


def prompt_text(tok, question: str, task: str, labelled: list[str]) -> str:
    """The prompt as text (special tokens of the chat template included)."""
    if task == "cloze":
        return build_prompt(question, labelled)
    msgs = messages(question, labelled)
    if uses_template(tok, task):
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in msgs) + "\nAnswer:"


def prompt_ids(tok, question: str, task: str, chunks: list[dict], max_prompt_tokens: int) -> list[int]:
    """The prompt's token ids, passages shortened to fit `max_prompt_tokens` (see the module)."""
    def encode(text: str) -> list[int]:
        return tok(text, add_special_tokens=False)["input_ids"]

    ids = encode(prompt_text(tok, question, task, passages(chunks)))
    if len(ids) > max_prompt_tokens and chunks:
        bare = len(encode(prompt_text(tok, question, task, passages(chunks, [""] * len(chunks)))))
        budget = max(8, (max_prompt_tokens - bare) // len(chunks))
        texts = [tok.decode(encode(c["text"])[:budget]) for c in chunks]
        ids = encode(prompt_text(tok, question, task, passages(chunks, texts)))
    return ids[-max_prompt_tokens:]  # the statement of a cloze item is what must stay


def stop_token_ids(tok) -> list[int]:
    """The tokens that end a turn: eos and the chat formats' end-of-turn tokens the vocabulary has."""
    vocab = tok.get_vocab()
    ids = {tok.eos_token_id} | {vocab[t] for t in END_OF_TURN if t in vocab}
    return sorted(i for i in ids if i is not None)


_LEAD_IN = re.compile(r"^(?:(?:the\s+)?(?:short\s+|brief\s+)?answer(?:\s+is)?|answer)\s*[:\-]\s*", re.I)


def _answer_lines(generated: str) -> list[str] | None:
    """A question's answer lines once complete: the first non-empty line, and the next one where the
    first is only a lead-in ending in ':' ("The answer is:"); None while the answer is still open."""
    lines = generated.split("\n")
    done = [line.strip() for line in lines[:-1] if line.strip()]  # lines ended by a newline
    for i, line in enumerate(done):
        if not line.endswith(":"):
            return done[: i + 1][-2:] if i and done[i - 1].endswith(":") else [line]
    return None


def answer_text(generated: str, task: str) -> str:
    """The answer in a generation: a question's first line (joined with the next where the first is a
    lead-in such as "The answer is:", which is then dropped: it is no content); a cloze item's first
    sentence."""
    if task == "cloze":
        return first_sentence(generated)
    lines = _answer_lines(generated + "\n") or []
    text = " ".join(lines)
    return _LEAD_IN.sub("", text).strip() or text


def first_sentence(text: str) -> str:
    text = text.strip().split("\n")[0]
    m = re.search(r"[.!?](\s|$)", text)
    return text[: m.end()].strip() if m else text


def end_criterion(tok, prompt_len: int, task: str):
    """A transformers StoppingCriteria that ends generation where answer_text would cut it: a
    question's answer at the end of its first line (past a lead-in line), a cloze continuation at
    the end of its first sentence."""
    import torch
    from transformers import StoppingCriteria

    def complete(text: str) -> bool:
        if task == "cloze":
            return re.search(r"\n|[.!?]\s", text.lstrip()) is not None
        return _answer_lines(text) is not None

    class AnswerEnd(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = complete(tok.decode(input_ids[0, prompt_len:], skip_special_tokens=True))
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    return AnswerEnd()
