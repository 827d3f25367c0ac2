"""The chat UI's logic without a browser: where it finds the workflow's outputs, what it says when one
is missing, retrieval into the benchmark's prompt, and an answer that streams in pieces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from climatune.chat import app
from climatune.chat.engine import Engine, Inputs, MissingInput
from climatune.rag import index
from climatune.rag import prompting as P

QUESTION = "How fast does the global mean sea level rise?"
CHUNKS = [  # three documents; the sea-level passage sits on page 2 of its report
    ("heat_report", 1, "Heatwaves over land and sea have become more frequent and more intense since the 1950s."),
    ("sea_level_report", 2, "The global mean sea level rose by 3.7 millimetres per year between 2006 and 2018, "
                            "driven by thermal expansion and melting glaciers."),
    ("forest_report", 4, "Forests store carbon in biomass and soils; deforestation releases it as CO2."),
]


def write_chat_inputs(d: Path, model_dir: Path) -> Inputs:
    """chunks.jsonl (doc, page, text) and its BM25 index under `d`; both models are `model_dir`."""
    d.mkdir(parents=True, exist_ok=True)
    rows = [{"id": i, "doc": doc, "split": "test", "page": page, "page_end": page, "text": text}
            for i, (doc, page, text) in enumerate(CHUNKS)]
    (d / "chunks.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    index.run(d / "chunks.jsonl", "bm25", d / "index" / "bm25")
    return Inputs(model_dir, model_dir, d / "chunks.jsonl", (d / "index" / "bm25",), "bm25")


@pytest.fixture
def inputs(tmp_path, tiny_model_dir) -> Inputs:
    return write_chat_inputs(tmp_path / "results", tiny_model_dir)


def test_inputs_follow_the_workflows_layout():
    i = Inputs.under("results", "hybrid", {"dense": "flat"})
    assert (i.base, i.tuned, i.chunks) == (Path("results/model/base"), Path("results/finetune/merged"),
                                           Path("results/rag/chunks.jsonl"))
    assert i.index == (Path("results/rag/index/bm25"), Path("results/rag/index/flat"))


def test_stream_retrieves_then_yields_growing_text(inputs):
    """Sampled (a random model's greedy answer repeats one token, which streams as one piece), seeded: the
    streamed answer is what generate() samples from the benchmark's prompt with the same seed."""
    import torch

    e = Engine(inputs, max_new_tokens=24, temperature=1.0)
    tok, model, dev = e.model("tuned")  # loading draws random numbers (weights are initialised first)
    torch.manual_seed(0)
    replies = list(e.stream(QUESTION, "tuned", rag=True, k=2))
    first, last = replies[0], replies[-1]
    assert first.text == "" and [c["doc"] for c in first.sources] == ["sea_level_report", "heat_report"]
    assert all(r.sources == first.sources for r in replies)
    texts = [r.text for r in replies[1:-1]]
    assert len(texts) >= 3, f"the answer should arrive in several pieces, got {texts}"
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(texts, texts[1:]))
    assert last.done and 0 < last.tokens <= 24 and last.text == texts[-1].strip()
    ids = P.prompt_ids(tok, QUESTION, "question", first.sources, e.max_prompt_tokens)
    assert "[1] (sea_level_report, p. 2) The global mean sea level rose" in tok.decode(ids)
    torch.manual_seed(0)
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=True, temperature=1.0,
                             eos_token_id=P.stop_token_ids(tok), pad_token_id=tok.eos_token_id,
                             attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    assert tok.decode(out[0, len(ids):], skip_special_tokens=True).strip() == last.text
    assert e.model("tuned")[1] is model  # loaded once, then kept


def test_a_closed_answer_stops_generating(inputs):
    """The page closed mid-answer: the generation thread stops at its next token instead of running on to
    max_new_tokens (and holding the model against the next question)."""
    import threading

    e = Engine(inputs, max_new_tokens=400, temperature=1.0)
    e.model("tuned")
    stream = e.stream(QUESTION, "tuned", rag=False, k=2)
    next(stream), next(stream)  # the sources, then the first piece of the answer
    stream.close()
    assert not [t for t in threading.enumerate() if t.name == "chat-generate"]


def test_missing_inputs_name_the_target_and_the_base_model_alone_still_answers(inputs, tmp_path):
    bare = Inputs(inputs.base, tmp_path / "no_tuned", tmp_path / "no_chunks.jsonl", (tmp_path / "bm25",), "bm25")
    e = Engine(bare, max_new_tokens=4)
    with pytest.raises(MissingInput, match=r"snakemake results/finetune/merged --cores all"):
        next(e.stream(QUESTION, "tuned", rag=False, k=2))
    with pytest.raises(MissingInput, match=r"snakemake results/rag/chunks.jsonl results/rag/index/bm25"):
        next(e.stream(QUESTION, "base", rag=True, k=2))
    assert list(e.stream(QUESTION, "base", rag=False, k=2))[-1].done


def test_the_page_reports_a_missing_model_as_a_message(inputs, tmp_path):
    e = Engine(Inputs(inputs.base, tmp_path / "no_tuned", inputs.chunks, inputs.index, "bm25"), max_new_tokens=4)
    steps = list(app.respond(e, QUESTION, [], "tuned", True, 2))
    history, _, status, _ = steps[-1]
    assert history[0] == {"role": "user", "content": QUESTION}
    assert "fine-tuned model is not built yet" in history[-1]["content"]
    assert "snakemake results/finetune/merged" in status
    assert "build it with: `snakemake results/finetune/merged --cores all`" in history[-1]["content"]
    page, plain = "\n".join(app.overview(e.inputs)), app.overview(e.inputs, md=False)
    assert "not built yet" in page and "- **retrieval**: bm25 index `" in page
    assert plain[1].startswith("tuned model: MISSING: The fine-tuned model is not built yet")


def test_sources_show_document_and_page_escaped():
    chunks = [{"doc": "ar6<x>", "page": 3, "page_end": 4, "text": "CO2 <b>rose</b>  by\n 47 %"}]
    page = app.sources_html(chunks, True, "bm25")
    assert "ar6&lt;x&gt;, pp. 3-4" in page and "CO2 &lt;b&gt;rose&lt;/b&gt; by 47 %" in page
    assert "retrieval is off" in app.sources_html([], False, "bm25")
    assert (app.final_message("1.1 °C [1]", chunks, "tuned + RAG (bm25)")
            == "1.1 °C \\[1\\]\n\n*tuned + RAG (bm25) · Sources: [1] ar6\\<x\\>, pp. 3-4*")
    assert app.final_message("", [], "base, no retrieval").endswith("at once)\n\n*base, no retrieval*")
