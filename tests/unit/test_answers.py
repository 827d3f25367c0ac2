"""Answers: the answer metrics on hand-worked cases (SQuAD normalisation, exact match, token F1,
contains-key, ROUGE-L, BLEU, chrF), prompts (chat template with passages labelled by document and
page for questions; plain continuation for cloze), and the per-system, per-task and per-question
reports."""

from __future__ import annotations

import json
import math

import pytest

from climatune.rag import answers_table, benchmark, generate, prompting, scoring

# --- metrics ------------------------------------------------------------------------------------------


def test_squad_normalisation_and_exact_match():
    assert scoring.normalize("  The Eiffel-Tower, in  PARIS! ") == "eiffeltower in paris"
    assert scoring.exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert scoring.exact_match("Eiffel Tower in Paris", "Eiffel Tower") == 0.0
    assert scoring.exact_match("an apple", "Apple.") == 1.0


def test_token_f1_as_squad_computes_it():
    # normalised: [cat, sat, on, mat] vs [cat, is, on, mat]: 3 shared, precision = recall = 3/4
    assert scoring.token_f1("the cat sat on the mat", "the cat is on the mat") == pytest.approx(0.75)
    # [denver, broncos] vs [broncos]: precision 1/2, recall 1 -> 2/3
    assert scoring.token_f1("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    assert scoring.token_f1("", "") == 1.0 and scoring.token_f1("a", "x") == 0.0  # "a" is an article: empty
    assert scoring.token_f1("sea", "ocean") == 0.0


def test_contains_key_matches_whole_numbers_and_terms_only():
    assert scoring.contains_key("About 410 ppm [1].", "410") == 1.0
    assert scoring.contains_key("Roughly 4100 ppm", "410") == 0.0  # not inside a longer number
    assert scoring.contains_key("It rose by 1.09°C", "1.09") == 1.0
    assert scoring.contains_key("the colorado river basin", "Colorado River") == 1.0
    assert scoring.contains_key("anything", None) is None and scoring.contains_key("anything", "") is None


def test_citations_are_removed_before_scoring():
    assert scoring.strip_citations("About 1.1 °C [1]. See also [2, 3] (passage 4)") == "About 1.1 °C. See also"
    s = scoring.score_answer("Eiffel Tower [1]", "Eiffel Tower", "Eiffel")
    assert s["exact_match"] == 1.0 and s["contains_key"] == 1.0 and s["token_f1"] == 1.0


def test_rouge_l_stems_and_bleu_chrf_on_known_cases():
    # LCS of [the, cat(s), sat, on, the|a, mat] = 5 of 6 words each way, with "cats" stemmed to "cat"
    assert scoring.rouge_l("the cat sat on the mat", "the cats sat on a mat") == pytest.approx(5 / 6)
    assert scoring.rouge_l("", "the sea") == 0.0
    assert scoring.bleu(["the cat sat on the mat"], ["the cat sat on the mat"]) == pytest.approx(100.0)
    # unigram and bigram precision 1 (effective order), brevity penalty exp(1 - 6/2)
    assert scoring.bleu(["the cat"], ["the cat sat on the mat"]) == pytest.approx(100 * math.exp(-2), abs=1e-6)
    assert scoring.bleu([""], ["the cat"]) == 0.0 and scoring.bleu([], []) is None
    assert scoring.chrf(["the cat sat"], ["the cat sat"]) == pytest.approx(100.0)
    assert 0 < scoring.chrf(["the cat"], ["the cat sat on the mat"]) < 50
    assert scoring.chrf(["xyz"], ["abc"]) == 0.0 and scoring.chrf([], []) is None


def _row(task, answer, reference, key=None, nll=2.0, n=2, **kw):
    return {"id": f"{task}:{reference}", "task": task, "question": "Q?", "answer": answer, "reference": reference,
            "key": key, **scoring.score_answer(answer, reference, key), "answer_nll": nll, "answer_tokens": n,
            "retrieval_s": 0.0, "generation_s": 0.1, "total_s": 0.1, "sources": [], "doc_hit": None, **kw}


def test_groups_per_task_never_nan():
    rows = [_row("question", "410 ppm", "About 410 ppm", "410"), _row("question", "300 ppm", "About 410 ppm", "410"),
            _row("cloze", "warms the ocean.", "warms the ocean.", None)]
    tasks = scoring.by_task(rows)
    assert tasks["question"]["contains_key"] == 0.5 and tasks["question"]["exact_match"] == 0.0
    assert tasks["cloze"]["exact_match"] == 1.0 and tasks["cloze"]["contains_key"] is None
    assert tasks["cloze"]["key_questions"] == 0 and tasks["question"]["answer_ppl"] == pytest.approx(math.e, abs=1e-4)
    empty = scoring.by_task(rows[:2])["cloze"]
    assert empty["questions"] == 0 and all(empty[k] is None for k in scoring.ANSWER_KEYS)
    overall = scoring.group(rows)
    assert overall["exact_match"] == pytest.approx(1 / 3, abs=1e-4) and overall["contains_key"] == 0.5


# --- prompts ------------------------------------------------------------------------------------------

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
CHUNKS = [{"doc": "ipcc_ar6_syr_spm", "page": 12, "page_end": 12, "text": "Warming reached 1.1 °C.\n in 2011-2020."},
          {"doc": "srocc_spm", "page": 3, "page_end": 4, "text": "Sea level rose 0.20 m."}]


@pytest.fixture
def chat_tok(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir))
    tok.chat_template = CHATML  # its markers stay plain text: the tiny model's 512 embeddings hold no more
    return tok


def test_a_question_goes_through_the_chat_template_with_labelled_passages(chat_tok):
    text = prompting.prompt_text(chat_tok, "How warm was 2011-2020?", "question", prompting.passages(CHUNKS))
    assert text.startswith("<|im_start|>system\n" + prompting.INSTRUCTION + "<|im_end|>")
    assert ("<|im_start|>user\nPassages:\n[1] (ipcc_ar6_syr_spm, p. 12) Warming reached 1.1 °C. in 2011-2020.\n\n"
            "[2] (srocc_spm, pp. 3-4) Sea level rose 0.20 m.\n\nQuestion: How warm was 2011-2020?<|im_end|>") in text
    assert text.endswith("<|im_start|>assistant\n")
    alone = prompting.prompt_text(chat_tok, "How warm?", "question", [])
    assert prompting.INSTRUCTION_NO_PASSAGES in alone and "Passages" not in alone and "Question: How warm?" in alone
    assert prompting.stop_token_ids(chat_tok) == [chat_tok.eos_token_id]
    chat_tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    assert prompting.stop_token_ids(chat_tok) == sorted([chat_tok.eos_token_id,
                                                         chat_tok.convert_tokens_to_ids("<|im_end|>")])


def test_cloze_stays_a_plain_continuation(chat_tok):
    text = prompting.prompt_text(chat_tok, "Warming reached", "cloze", prompting.passages(CHUNKS[:1]))
    assert text == "[1] (ipcc_ar6_syr_spm, p. 12) Warming reached 1.1 °C. in 2011-2020.\n\nWarming reached"
    assert prompting.prompt_text(chat_tok, "Warming reached", "cloze", []) == "Warming reached"


def test_without_a_template_the_same_instruction_in_plain_text(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir))
    assert not getattr(tok, "chat_template", None)
    text = prompting.prompt_text(tok, "How warm?", "question", prompting.passages(CHUNKS[:1]))
    assert text.startswith(prompting.INSTRUCTION + "\n\nPassages:\n[1] (ipcc_ar6_syr_spm, p. 12)")
    assert text.endswith("Question: How warm?\nAnswer:")


def test_long_passages_are_shortened_and_the_question_kept(chat_tok):
    long = [{**c, "text": c["text"] * 200} for c in CHUNKS]
    ids = prompting.prompt_ids(chat_tok, "How warm was it?", "question", long, 300)
    text = chat_tok.decode(ids)
    assert len(ids) <= 300 and text.startswith("<|im_start|>system") and "Question: How warm was it?" in text
    assert "[1] (ipcc_ar6_syr_spm, p. 12)" in text and "[2] (srocc_spm, pp. 3-4)" in text


def test_where_an_answer_ends():
    assert prompting.answer_text("\n  About 1.1 °C [1].\nQuestion: next", "question") == "About 1.1 °C [1]."
    assert prompting.answer_text(" rises by 3 mm. Then more\nx", "cloze") == "rises by 3 mm."
    # a lead-in line is no answer: the next line is, and the lead-in is dropped
    assert prompting.answer_text("The answer is:\n\n7 percent [2]\nmore", "question") == "7 percent [2]"
    assert prompting.answer_text("The answer is: 7%", "question") == "7%"


def test_generation_stops_where_the_answer_ends(chat_tok):
    import torch

    prompt = chat_tok("Q: 3.7", add_special_tokens=False)["input_ids"]

    def stops(task: str, text: str) -> bool:
        ids = torch.tensor([prompt + chat_tok(text, add_special_tokens=False)["input_ids"]])
        return bool(prompting.end_criterion(chat_tok, len(prompt), task)(ids, None)[0])

    assert stops("cloze", " rises by 3.7 mm. Then") and not stops("cloze", " rises by 3.7")
    assert stops("question", "\nAbout 3.7 mm\n") and not stops("question", "\nAbout 3.7 mm. Yes")
    assert not stops("question", "The answer is:\n\n") and stops("question", "The answer is:\n3.7 mm\n")


def test_generate_answers_questions_in_chat_and_cloze_in_continuation(tmp_path, tiny_model_dir, chat_tok):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    chat_tok.save_pretrained(model)
    qs = [{"id": "c1", "task": "cloze", "question": "The sea", "answer": "rises.", "key": "rises", "relevant": []},
          {"id": "q1", "task": "question", "question": "How fast?", "answer": "3 mm a year", "key": "3",
           "source_doc": "coast", "relevant": []}]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    s = generate.run(tmp_path / "q.jsonl", "base", model, tmp_path / "base.jsonl", max_new_tokens=6)
    rows = [json.loads(x) for x in (tmp_path / "base.jsonl").read_text().splitlines()]
    assert [r["task"] for r in rows] == ["cloze", "question"] and s["chat_template"] is True
    assert "\n" not in rows[1]["answer"] and rows[1]["doc_hit"] is None and s["context_hit_rate"] is None
    assert set(s["tasks"]) == {"cloze", "question"} and s["tasks"]["question"]["questions"] == 1
    for key in scoring.ANSWER_KEYS:
        assert s[key] is None or math.isfinite(s[key])


# --- reports ------------------------------------------------------------------------------------------


def test_metrics_json_per_system_and_task_and_answers_md(tmp_path):
    hit = {"sources": [["ipcc_ar6_syr_spm", 4, 5], ["srocc_spm", 2, 2]], "doc_hit": True}
    answers = {"base": [_row("question", "It was | 300 ppm " + "x" * 200, "About 410 ppm", "410"),
                        _row("cloze", "warms.", "warms.")],
               "base_rag": [_row("question", "410 ppm [1]", "About 410 ppm", "410", **hit),
                            _row("cloze", "cools.", "warms.", retrieval_s=0.01, total_s=0.11,
                                 sources=[["srocc_spm", 2, 2]], doc_hit=False)]}
    paths = []
    for name, rows in answers.items():
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (tmp_path / f"{name}.json").write_text(json.dumps({"system": name, **generate.summarize(rows)}))
        paths.append(tmp_path / name)
    (tmp_path / "r.json").write_text(json.dumps({"index": "flat", "all": {"doc_questions": 2}}))
    (tmp_path / "q.json").write_text(json.dumps({
        "questions": 2, "tasks": {"cloze": 1, "question": 1}, "forms": {"cloze": 1, "masked": 0, "user": 1},
        "shared_run": {"cloze": {"questions": 1, "mean": 9.0, "max": 9}, "masked": {"questions": 0, "mean": None,
                                                                                    "max": None}},
        "user_file": "ref.jsonl", "user_questions": 1, "user_skipped": 3,
        "user_skipped_by_reason": {"unknown document": 3}, "user_skipped_documents": ["a.pdf"], "skipped": []}))
    m = benchmark.run([tmp_path / "r.json"], [p.with_suffix(".json") for p in paths], tmp_path / "metrics.json",
                      tmp_path / "comparison.md", None, [p.with_suffix(".jsonl") for p in paths], tmp_path / "q.json",
                      tmp_path / "answers.md")
    rag = m["systems"]["base_rag"]
    for key in ("exact_match", "contains_key", "token_f1", "rougeL", "bleu", "chrf", "answer_ppl"):
        assert key in rag and key in rag["tasks"]["question"] and key in rag["tasks"]["cloze"]
    assert rag["tasks"]["question"]["contains_key"] == 1.0 and m["systems"]["base"]["tasks"]["cloze"]["exact_match"] == 1
    assert rag["context_hit_rate"] == 0.5 and m["systems"]["base"]["context_hit_rate"] is None
    assert m["questions"]["user_skipped"] == 3 and "skipped" not in m["questions"]
    text = (tmp_path / "metrics.json").read_text() + (tmp_path / "comparison.md").read_text()
    md = (tmp_path / "answers.md").read_text()
    assert "nan" not in (text + md).lower() and "3 skipped (absent from this corpus: unknown document 3)" in text
    assert "### Task `question`: 1 questions" in text and "| masked | 0 | n/a | n/a |" in text
    assert "It was \\| 300 ppm xxx" in md and "…" in md and "410 ppm [1] ✓" in md  # escaped, cut, marked
    assert "ipcc_ar6_syr_spm pp.4-5; srocc_spm p.2 | yes |" in md and "srocc_spm p.2 | no |" in md
    assert answers_table._cell("a\nb | c", 4) == "a b…"
