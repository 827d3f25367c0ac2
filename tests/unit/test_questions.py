"""Questions: masked-span questions from held-out sentences, their shared-run bound, and the user's
question file (sources by document id or PDF file name, a `page` field, documents absent from the
corpus skipped and counted)."""

from __future__ import annotations

import json

import pytest

from climatune.rag import chunk, masked, questions

SENTENCE = ("The Clausius-Clapeyron relation, a basic result of thermodynamics, implies that saturated air can "
            "hold about 7 percent more water vapour for each degree Celsius of warming.")


def test_masked_question_removes_the_span_and_rewords_the_rest():
    q = masked.masked_question(SENTENCE, '"Extreme Heat and the Water Cycle"', max_run=4)
    assert q["key"] == "7" and q["answer"] == "about 7 percent"
    assert q["question"].startswith('According to "Extreme Heat and the Water Cycle": ') and q["question"][-1] == "?"
    assert "what percentage" in q["question"] and "7" not in masked.words(q["question"])
    assert "percent" not in masked.words(q["question"]) and "about" not in masked.words(q["question"])
    assert q["shared_run"] == masked.shared_run(q["question"], SENTENCE) <= 4
    # the cloze item of the same sentence shares its whole first half
    first_half = " ".join(SENTENCE.split()[:13])
    assert masked.shared_run(first_half, SENTENCE) == 13


@pytest.mark.parametrize("sentence, key, phrase", [
    ("In 2019, approximately 79% of global emissions came from energy and industry.", "79", "what percentage"),
    ("Lytton in British Columbia reached 49.6 °C during the heat of June.", "49.6", "how many degrees"),
    ("The European summer heat caused around 70,000 excess deaths across the continent.", "70,000", "how many"),
    ("Historical net emissions were 2400±240 GtCO2 over that long period.", "2400", "how many tonnes"),
    ("The near term is defined in this report as the period until 2040.", "2040", "which year"),
    ("Reduced snowpack further depletes water supplies in basins such as the Colorado River.", "Colorado River",
     "what"),
])
def test_answer_spans_and_their_question_phrase(sentence, key, phrase):
    start, end, got_key, wh = masked.find_span(sentence)
    assert (got_key, wh) == (key, phrase)
    assert key.split("±")[0] in sentence[start:end]


def test_no_span_no_question_and_lists_of_names_are_skipped():
    assert masked.find_span("Warmer oceans expand and glaciers melt, so the sea rises along most coasts.") is None
    assert masked.masked_question("Storm categories 4 and 5 have become more frequent over the ocean basins.",
                                  "t", 4) is None  # a bare number asks nothing
    names = "Otto (United Kingdom), Minal Pathak (India), Anna Pirani (Italy), Hans-Otto Pörtner (Germany) wrote it."
    assert masked.masked_question(names, "t", 4) is None


def test_shared_run_counts_consecutive_words_without_case_or_punctuation():
    assert masked.shared_run("a b c d", "x b c d y") == 3
    assert masked.shared_run("The Sea, rises!", "the sea rises") == 3
    assert masked.shared_run("b a", "a b") == 1 and masked.shared_run("", "a b") == 0


def test_a_tighter_bound_is_kept():
    q = masked.masked_question(SENTENCE, '"T"', max_run=2)
    assert q is not None and q["shared_run"] <= 2 and q["key"] == "7"


def test_cloze_key_is_the_first_number_or_term_else_a_content_word():
    assert masked.cloze_key("hold about 7 percent more water vapour.") == "7"
    assert masked.cloze_key("in parts of South Asia and beyond.") == "South Asia"
    assert masked.cloze_key("is constrained by the ability to radiate heat.") == "constrained"


NUMBERS = ("Sea level rose by about 20 cm between 1901 and 2018 along most of the world's coasts today. "
           "The rate of rise has increased to roughly 3.7 mm per year in the period since the year 2006. "
           "Glaciers in the Andes lost mass in every decade of the record kept by the national services. ")


def _corpus(tmp_path, test_text=NUMBERS * 2):
    """A held-out 'coast' (two pages, from 'PDFs/Coast Report.pdf') and a training 'forest', chunked."""
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "coast.txt").write_text(test_text + "\n\n" + test_text)
    (text_dir / "coast.json").write_text(json.dumps({"file": "PDFs/Coast Report.pdf",
                                                     "page_starts": [0, len(test_text) + 2]}))
    (text_dir / "forest.txt").write_text("Forests store carbon in wood and soil for many decades. " * 10)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["forest"], "test": ["coast"]}))
    chunk.run(split, text_dir, tmp_path / "c.jsonl", chunk_tokens=60, overlap=20)
    return split, text_dir


def test_run_writes_both_tasks_with_keys_pages_and_a_summary(tmp_path):
    split, text_dir = _corpus(tmp_path)
    qs = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", per_doc=2, max_questions=0,
                       seed=0, masked_per_doc=3, max_shared_run=4)
    cloze = [q for q in qs if q["task"] == "cloze"]
    asked = [q for q in qs if q["task"] == "question"]
    assert len(cloze) == 2 and len(asked) == 3 and all(q["form"] == "masked" for q in asked)
    for q in asked:
        assert q["shared_run"] <= 4 and q["key"] in q["answer"] and q["key"] not in masked.words(q["question"])
        assert q["relevant"] and q["source_doc"] == "coast" and q["page"] in (1, 2) and q["origin"] == "auto"
    summary = json.loads((tmp_path / "q.json").read_text())
    assert summary["tasks"] == {"cloze": 2, "question": 3} and summary["forms"]["masked"] == 3
    assert summary["shared_run"]["masked"]["max"] <= 4 < summary["shared_run"]["cloze"]["mean"]
    assert summary["user_skipped"] == 0 and summary["user_file"] is None


def _user(tmp_path, rows) -> str:
    path = tmp_path / "u.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_user_sources_by_id_or_file_name_with_page_field_and_absent_documents_skipped(tmp_path):
    split, text_dir = _corpus(tmp_path)
    user = _user(tmp_path, [
        {"id": "a", "question": "How fast?", "answer": "3.7 mm a year", "key": "3.7", "source": "coast"},
        {"id": "b", "question": "How much?", "answer": "About 20 cm", "key": "20", "source": "Coast Report.pdf",
         "page": 2},
        {"id": "c", "question": "What share?", "answer": "1.09", "source": "ipcc_ar6_syr_spm.pdf", "page": 4},
        {"id": "d", "question": "Which?", "answer": "x", "source": "coast.pdf#9"},
    ])
    qs = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user, mode="replace")
    assert [(q["id"], q["source_doc"], q.get("page"), q["task"], q["form"]) for q in qs] == [
        ("a", "coast", None, "question", "user"), ("b", "coast", 2, "question", "user")]
    assert qs[0]["key"] == "3.7" and qs[1]["relevant"] and qs[1]["source"] == "coast#2"
    summary = json.loads((tmp_path / "q.json").read_text())
    assert summary["user_questions"] == 2 and summary["user_skipped"] == 2
    assert summary["user_skipped_by_reason"] == {"unknown document": 1, "page without text": 1}
    assert summary["user_skipped_documents"] == ["coast.pdf#9", "ipcc_ar6_syr_spm.pdf"]


def test_every_source_unknown_fails_naming_the_known_documents(tmp_path):
    split, text_dir = _corpus(tmp_path)
    user = _user(tmp_path, [{"question": "Q?", "answer": "A", "source": "ipcc_ar6_syr_spm.pdf", "page": 4}])
    with pytest.raises(questions.QuestionFileError) as e:
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)
    msg = str(e.value)
    assert "no question left: all 1 name documents or pages absent" in msg
    assert "unknown source 'ipcc_ar6_syr_spm.pdf'" in msg and "known documents (2): coast (Coast Report.pdf)" in msg


def test_user_file_page_and_task_fields_are_checked(tmp_path):
    docs = {"coast": "Coast Report.pdf"}
    user = _user(tmp_path, [{"question": "Q", "answer": "A", "source": "coast#2", "page": 3},
                            {"question": "Q", "answer": "A", "source": "coast", "page": 0},
                            {"question": "Q", "answer": "A", "source": "coast", "task": "essay"},
                            {"question": "Q", "answer": "A", "source": "coast", "task": "cloze", "page": "2"}])
    with pytest.raises(questions.QuestionFileError) as e:
        questions.check_user_file(user, docs)
    msg = str(e.value)
    assert "3 problem(s)" in msg and "line 1: source 'coast#2' names page 2 but 'page' is 3" in msg
    assert "line 2: 'page' must be a positive integer" in msg and "line 3: 'task' must be one of" in msg
    user = _user(tmp_path, [{"question": "Q", "answer": "A", "source": "coast", "task": "cloze", "page": "2"}])
    assert questions.check_user_file(user, docs) == [
        {"question": "Q", "answer": "A", "source": "coast#2", "task": "cloze", "id": "user:1"}]
