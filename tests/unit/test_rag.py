"""RAG: chunk boundaries and offsets, index parameter validation, metric correctness on hand-made
cases, and the retrieval/generation stages on a small real corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from climatune._util import UserError
from climatune.rag import chunk, index, metrics, questions
from climatune.rag.embed import load_embedder

from ..conftest import ENGLISH


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


# --- chunking --------------------------------------------------------------------------------------


def test_chunks_cover_text_with_exact_offsets_and_overlap(embedder):
    tok = embedder.tokenizer
    text = (ENGLISH * 12).strip()
    spans = chunk.chunk_text(text, tok, chunk_tokens=60, overlap=15)
    assert len(spans) > 3
    assert spans[0][0] == 0 and spans[-1][1] == len(text)  # whole text covered
    for (s, e, n), nxt in zip(spans, spans[1:] + [None]):
        assert n <= 60
        piece = text[s:e]
        assert len(tok(piece, add_special_tokens=False)["input_ids"]) in range(n - 2, n + 3)
        if nxt:
            assert nxt[0] < e  # neighbours overlap
    assert all(n == 60 for _, _, n in spans)  # the last window is moved back, not left short


def test_short_text_is_one_chunk_and_bad_overlap_is_named(embedder):
    assert chunk.chunk_text("Sea level rises.", embedder.tokenizer, 200, 40) == [(0, 16, 4)]
    with pytest.raises(ValueError, match="chunk_overlap"):
        chunk.chunk_text("x", embedder.tokenizer, 50, 50)


def test_chunk_stage_carries_doc_page_and_offsets(tmp_path):
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    body = ENGLISH * 6
    text = body + "\n\n" + body
    (text_dir / "a.txt").write_text(text)
    (text_dir / "a.json").write_text(json.dumps({"page_starts": [0, len(body) + 2]}))
    (text_dir / "b.txt").write_text(body)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["a"], "test": ["b"]}))
    cs = chunk.run(split, text_dir, tmp_path / "chunks.jsonl", chunk_tokens=80, overlap=10)
    assert [c["id"] for c in cs] == list(range(len(cs)))
    for c in cs:
        src = (text_dir / f"{c['doc']}.txt").read_text()
        assert src[c["char_start"]:c["char_end"]] == c["text"]
    a = [c for c in cs if c["doc"] == "a"]
    assert a[0]["page"] == 1 and a[-1]["page"] == 2 and {c["split"] for c in a} == {"train"}
    assert chunk.read_chunks(tmp_path / "chunks.jsonl") == cs


# --- indexes -----------------------------------------------------------------------------------------


def _vectors(n=600, d=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)) @ rng.normal(size=(4, d)) + 0.1 * rng.normal(size=(n, d))  # low intrinsic dim
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_flat_search_is_exact_and_ann_indexes_agree(tmp_path):
    x = _vectors()
    q = x[:50]
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10]
    flat = index.build(x, "flat", {})
    _, got = flat.search(q, 10)
    assert np.mean([metrics.ann_recall_at_k(g.tolist(), e.tolist()) for g, e in zip(got, exact)]) == 1.0
    hnsw = index.build(x, "hnsw", {"M": 16, "ef_search": 128})
    _, h = hnsw.search(q, 10)
    assert np.mean([metrics.ann_recall_at_k(a.tolist(), e.tolist()) for a, e in zip(h, exact)]) > 0.95
    pq = index.build(x, "ivfpq", {"nlist": 8, "m": 8, "nbits": 4, "nprobe": 8, "refine_k_factor": 4})
    _, p = pq.search(q, 10)
    assert np.mean([metrics.ann_recall_at_k(a.tolist(), e.tolist()) for a, e in zip(p, exact)]) > 0.8


def test_index_stage_writes_file_and_reloads_search_params(tmp_path):
    x = _vectors()
    np.save(tmp_path / "e.npy", x)
    index.run(tmp_path / "e.npy", "hnsw", tmp_path / "h.faiss", {"M": 8, "ef_search": 7})
    info = json.loads((tmp_path / "h.json").read_text())
    assert info["vectors"] == 600 and info["bytes_per_vector"] > 32 * 4
    import faiss

    loaded = index.load(tmp_path / "h.faiss", "hnsw", {"ef_search": 33})
    assert faiss.downcast_index(loaded).hnsw.efSearch == 33


@pytest.mark.parametrize("kind, params, n, match", [
    ("ivfpq", {"nlist": 64, "nbits": 8, "m": 8}, 100, "at least max\\(nlist=64, 2\\^nbits=256\\) = 256"),
    ("ivfpq", {"m": 7, "nlist": 4, "nbits": 4}, 600, "must divide the embedding dimension 32"),
    ("ivfpq", {"nprobe": 9, "nlist": 8, "nbits": 4, "m": 8}, 600, "nprobe must be in 1..nlist=8"),
    ("hnsw", {"M": 1}, 600, "M must be >= 2"),
    ("hnsw", {"efSearch": 3}, 600, "unknown key"),
    ("annoy", {}, 600, "unknown index type"),
])
def test_bad_index_parameters_fail_before_building(kind, params, n, match):
    with pytest.raises(index.IndexParamError, match=match):
        index.check_params(kind, params, n, 32)


# --- metrics on hand-made cases -------------------------------------------------------------------------


def test_relevance_metrics_by_hand():
    ranked = [5, 3, 9, 1, 7]
    assert metrics.recall_at_k(ranked, {3}, 1) == 0 and metrics.recall_at_k(ranked, {3}, 5) == 1
    assert metrics.recall_at_k(ranked, {3, 8}, 5) == 0.5
    assert metrics.mrr_at_k(ranked, {9}) == pytest.approx(1 / 3)
    assert metrics.mrr_at_k(ranked, {42}) == 0
    assert metrics.ndcg_at_k([3, 5], {3}) == 1.0
    assert metrics.ndcg_at_k([5, 3], {3}) == pytest.approx(1 / np.log2(3))
    assert metrics.ndcg_at_k([5, 3], {3, 5}) == 1.0
    assert metrics.ann_recall_at_k([1, 2, 3], [3, 2, 1]) == 1.0
    assert metrics.ann_recall_at_k([1, 2, 4], [1, 2, 3]) == pytest.approx(2 / 3)
    s = metrics.retrieval_summary([[1, 2], [3, 4]], [{1}, {4}])
    assert s["recall@1"] == 0.5 and s["mrr@10"] == 0.75


def test_rouge_l_by_hand():
    assert metrics.rouge_l("the sea level rises", "the sea level rises") == 1.0
    assert metrics.rouge_l("", "x") == 0.0
    # LCS("a b c d", "a c d e") = 3 -> P = R = 3/4
    assert metrics.rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    p = metrics.percentiles_ms([0.001, 0.002, 0.003])
    assert p["p50_ms"] == pytest.approx(2.0)


# --- questions ----------------------------------------------------------------------------------------


def test_questions_come_from_held_out_documents_with_their_source_chunks(tmp_path):
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "train_doc.txt").write_text(ENGLISH * 4)
    (text_dir / "test_doc.txt").write_text(ENGLISH * 4)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["train_doc"], "test": ["test_doc"]}))
    chunk.run(split, text_dir, tmp_path / "c.jsonl", chunk_tokens=60, overlap=20)
    a = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", per_doc=5, seed=3)
    b = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q2.jsonl", per_doc=5, seed=3)
    assert a == b and 1 <= len(a) <= 5
    chunks = {c["id"]: c for c in chunk.read_chunks(tmp_path / "c.jsonl")}
    for q in a:
        assert q["source_doc"] == "test_doc" and q["relevant"]
        for cid in q["relevant"]:
            assert chunks[cid]["doc"] == "test_doc"
            assert q["question"].split()[0] in chunks[cid]["text"]
        assert len(q["question"].split()) >= 5 and q["answer"]


def test_user_question_file_extends_or_replaces(tmp_path):
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "d.txt").write_text(ENGLISH * 3)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "test": ["d"]}))
    chunk.run(split, text_dir, tmp_path / "c.jsonl", chunk_tokens=60, overlap=20)
    user = tmp_path / "u.jsonl"
    user.write_text(json.dumps({"question": "Why do seas rise?", "answer": "Thermal expansion.", "source": "d"}) + "\n")
    ext = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)
    rep = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user, mode="replace")
    assert len(rep) == 1 and rep[0]["relevant"] and len(ext) > 1
    user.write_text('{"question": "no answer", "source": "d"}\n')
    with pytest.raises(questions.QuestionsFileError, match="u.jsonl'.*\n  line 1: missing or empty 'answer'"):
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)


DOCS = {"report_0": "report_0.pdf", "annual_2021": "Annual Report 2021.PDF"}


def test_user_file_sources_by_id_or_file_name_are_normalised(tmp_path):
    user = tmp_path / "u.jsonl"
    rows = [{"question": "Q1", "answer": "A", "source": "report_0.pdf"},
            {"question": "Q2", "answer": 42, "source": "annual report 2021.pdf#2"},
            {"question": "Q3", "answer": 1.5, "source": "REPORT_0#3", "id": "mine"},
            {"question": "Q4", "answer": "A", "source": "Annual Report 2021"},
            {"question": "Q5", "answer": "A", "source": "pdfs/report_0.PDF#03"}]
    user.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    got = questions.check_user_file(user, DOCS)
    assert [q["source"] for q in got] == ["report_0", "annual_2021#2", "report_0#3", "annual_2021", "report_0#3"]
    assert [q["answer"] for q in got[:3]] == ["A", "42", "1.5"] and [q["id"] for q in got[1:3]] == ["user:2", "mine"]


def test_user_file_problems_are_all_listed_with_their_line(tmp_path):
    user = tmp_path / "u.jsonl"
    lines = ['{"question": "fine", "answer": "a", "source": "report_0"}',
             'not json',
             '[1, 2]',
             '{"question": "", "answer": "a", "source": "report_0"}',
             '{"question": "q", "answer": "a"}',
             '{"question": "q", "answer": "a", "source": "report.pdf"}',
             '{"question": "q", "answer": "a", "source": "report_0#abc"}',
             '{"question": "q", "answer": "a", "source": "#abc"}',
             '{"question": "q", "answer": ["a"], "source": "report_0#0"}']
    user.write_text("\n".join(lines) + "\n")
    with pytest.raises(questions.QuestionFileError) as e:
        questions.check_user_file(user, DOCS)
    msg = str(e.value)
    assert "8 problem(s)" in msg and "line 1:" not in msg  # line 6 names a document absent here: skipped, listed
    for expected in ("line 2: not JSON", "line 3: a JSON array, not an object", "line 4: missing or empty 'question'",
                     "line 5: missing or empty 'source'", "line 6: unknown source 'report.pdf' (skipped)",
                     "line 7: source 'report_0#abc': the page after '#' must be a positive integer, got 'abc'",
                     "line 8: source '#abc' has an empty document part", "line 9: 'answer' must be text or a number",
                     "line 9: source 'report_0#0': the page"):
        assert expected in msg, (expected, msg)
    assert msg.endswith("\nknown documents (2): annual_2021 (Annual Report 2021.PDF), report_0")
    assert isinstance(e.value, questions.QuestionsFileError) and issubclass(questions.QuestionFileError, UserError)


def test_user_file_unknown_sources_name_at_most_20_known_documents(tmp_path):
    user = tmp_path / "u.jsonl"
    user.write_text('{"question": "q", "answer": "a", "source": "x"}\n')
    docs = {f"doc_{i:02d}": f"doc_{i:02d}.pdf" for i in range(30)}
    with pytest.raises(questions.QuestionFileError, match="known documents \\(30\\): doc_00, doc_01, .*, doc_19 "
                       "\\.\\.\\. and 10 more$"):
        questions.check_user_file(user, docs)


def _paged_corpus(tmp_path):
    """One held-out document 'annual_report' from 'PDFs/Annual Report.pdf' with two pages, chunked."""
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    body = ENGLISH * 3
    (text_dir / "annual_report.txt").write_text(body + "\n\n" + body)
    (text_dir / "annual_report.json").write_text(json.dumps({"file": "PDFs/Annual Report.pdf",
                                                              "page_starts": [0, len(body) + 2]}))
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": [], "test": ["annual_report"]}))
    chunk.run(split, text_dir, tmp_path / "c.jsonl", chunk_tokens=60, overlap=20)
    return split, text_dir


def test_user_file_by_pdf_name_and_page_finds_its_chunks(tmp_path):
    split, text_dir = _paged_corpus(tmp_path)
    user = tmp_path / "u.jsonl"
    user.write_text(json.dumps({"question": "Why?", "answer": 3, "source": "Annual Report.pdf#2"}) + "\n" +
                    json.dumps({"question": "How?", "answer": "So.", "source": "annual report"}) + "\n")
    qs = questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user, mode="replace")
    cs = {c["id"]: c for c in chunk.read_chunks(tmp_path / "c.jsonl")}
    page2 = qs[0]["relevant"]
    assert page2 and qs[0]["answer"] == "3" and qs[0]["source"] == "annual_report#2"
    assert all(cs[c]["char_end"] > len(ENGLISH * 3) + 2 for c in page2)  # every one holds page-2 text
    assert sorted(qs[1]["relevant"]) == sorted(cs) and set(page2) < set(qs[1]["relevant"])


def test_bad_user_file_fails_the_stage_before_any_work(tmp_path):
    split, text_dir = _paged_corpus(tmp_path)
    user = tmp_path / "u.jsonl"
    user.write_text('{"question": "q", "answer": "a", "source": "annual_report#7"}\n[]\n')
    with pytest.raises(questions.QuestionFileError) as e:
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)
    assert "line 1: source 'annual_report#7': 'annual_report' has no text on page 7 (its chunks cover pages 1-2)" \
        in str(e.value) and "line 2: a JSON array" in str(e.value)
    assert not (tmp_path / "q.jsonl").exists()


def test_an_empty_question_set_fails_with_the_reason(tmp_path):
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "a.txt").write_text(ENGLISH)
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["a"], "test": []}))
    chunk.run(split, text_dir, tmp_path / "c.jsonl", chunk_tokens=60, overlap=20)
    with pytest.raises(questions.QuestionFileError, match="no question to evaluate: the split holds no held-out"):
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl")
    (text_dir / "b.txt").write_text("Too short.")
    split.write_text(json.dumps({"train": ["a"], "test": ["b"]}))
    with pytest.raises(questions.QuestionFileError, match="1 held-out document\\(s\\) gave no prose sentence"):
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl")
    user = tmp_path / "u.jsonl"
    user.write_text("\n\n")
    with pytest.raises(questions.QuestionFileError, match="no question: the file holds only blank lines"):
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)


# --- settings checked at the workflow's start ------------------------------------------------------------


def test_rag_settings_checks():
    from climatune._settings import default_section
    from climatune.rag.checks import check_rag_settings

    rag = default_section("rag")
    assert check_rag_settings(rag, 384) == []
    bad = {**rag, "top_k": 10, "rerank": {**rag["rerank"], "enabled": True, "candidates": 5}, "chunk_tokens": 100,
           "chunk_overlap": 100, "indexes": ["flat", "ivfpq"], "ivfpq": {**rag["ivfpq"], "m": 10},
           "generate": {**rag["generate"], "index": "hnsw"}}
    got = check_rag_settings(bad, 384)
    assert len(got) == 4, got
    assert "rag.rerank.candidates=5 is below rag.top_k=10: the reranker can only reorder the candidates it gets: " \
           "raise rag.rerank.candidates to >= top_k or lower rag.top_k" in got[0]
    assert "rag.chunk_overlap=100" in got[1] and "rag.chunk_tokens=100" in got[1]
    assert "rag.ivfpq.m=10 does not divide the embedding dimension 384" in got[2]
    assert "values that work: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 384" in got[2]
    assert "rag.generate.index 'hnsw' is not among rag.indexes ['flat', 'ivfpq']" in got[3]
    assert check_rag_settings({**bad, "rerank": {**bad["rerank"], "enabled": False}, "indexes": ["flat", "hnsw"],
                               "chunk_overlap": 99}, 384) == []


def test_embedding_dimension_is_read_without_loading_the_model(tmp_path, embedder):
    from climatune.rag.embedder import DEFAULT, embedding_dimension

    assert embedding_dimension(DEFAULT) == 384 == embedder.encode(["sea level"]).shape[-1]
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "config.json").write_text('{"hidden_size": 768}')
    assert embedding_dimension(str(tmp_path / "plain")) == 768
    st = tmp_path / "st"
    for sub, cfg in (("", {"hidden_size": 512}), ("1_Pooling", {"word_embedding_dimension": 512,
                     "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}),
                     ("2_Dense", {"in_features": 1024, "out_features": 256})):
        (st / sub).mkdir(parents=True, exist_ok=True)
        (st / sub / "config.json").write_text(json.dumps(cfg))
    modules = [{"path": p, "type": f"sentence_transformers.models.{t}"}
               for p, t in (("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Dense", "Dense"))]
    (st / "modules.json").write_text(json.dumps(modules))
    assert embedding_dimension(str(st)) == 256
    (st / "modules.json").write_text(json.dumps(modules[:2]))
    assert embedding_dimension(str(st)) == 1024  # two pooling modes, concatenated


# --- the stages together ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rag_dir(tmp_path_factory):
    """chunks, embeddings, flat + hnsw indexes and questions over three small documents."""
    from climatune.rag import embed

    d = tmp_path_factory.mktemp("rag")
    text_dir = d / "text"
    text_dir.mkdir()
    topics = {"ocean": ENGLISH, "ice": ENGLISH.replace("ocean", "ice sheet").replace("Coastal", "Polar"),
              "forest": "Forests store carbon in wood and soil. Fires and droughts release it again. " * 8}
    for name, t in topics.items():
        (text_dir / f"{name}.txt").write_text(t * 3)
    split = d / "split.json"
    split.write_text(json.dumps({"train": ["ice", "forest"], "test": ["ocean"]}))
    chunk.run(split, text_dir, d / "chunks.jsonl", chunk_tokens=60, overlap=20)
    embed.run(d / "chunks.jsonl", d / "emb.npy")
    for kind, params in (("flat", {}), ("hnsw", {"M": 8})):
        index.run(d / "emb.npy", kind, d / f"{kind}.faiss", params)
    questions.run(d / "chunks.jsonl", split, text_dir, d / "q.jsonl", per_doc=4, seed=0)
    return d


def test_retrieve_flat_is_exact_and_finds_sources(rag_dir):
    from climatune.rag import retrieve

    r = retrieve.run(rag_dir / "q.jsonl", rag_dir / "chunks.jsonl", rag_dir / "emb.npy", rag_dir / "flat.faiss",
                     "flat", rag_dir / "flat.json", min_seconds=0.05)
    assert r["ann_recall@10"] == 1.0
    c = r["cloze"]
    assert c["recall@10"] > 0.5 and 0 < c["mrr@10"] <= 1 and 0 < c["ndcg@10"] <= 1 and c["doc_recall@10"] == 1.0
    assert r["p50_ms"] > 0 and r["p95_ms"] >= r["p50_ms"] and r["faiss_threads"] >= 1
    assert set(r["rankings"]) == {q["id"] for q in questions.read_questions(rag_dir / "q.jsonl")}


class _Scorer:
    """A reranker that scores a passage by a fixed table (text -> score); it records what it was shown."""

    def __init__(self, table: dict[str, float]):
        self.table, self.shown = table, []

    def scores(self, query, passages):
        self.shown.append(list(passages))
        return np.asarray([self.table.get(p, 0.0) for p in passages])


def test_rerank_orders_candidates_by_the_scorers_scores():
    from climatune.rag.rerank import rerank

    texts = {4: "coal plants", 7: "sea level rise of 3 mm a year", 2: "wind farms", 9: "sea ice"}
    scorer = _Scorer({"coal plants": 0.1, "sea level rise of 3 mm a year": 0.9, "wind farms": 0.5, "sea ice": 0.5})
    # the first stage ranks the relevant chunk 7 below the irrelevant 4; -1 is FAISS's "no result"
    assert rerank(scorer, "how fast does the sea rise?", [4, 7, -1, 2, 9], texts) == [7, 2, 9, 4]
    assert scorer.shown == [[texts[i] for i in (4, 7, 2, 9)]]


def test_retrieve_reranks_all_candidates_and_keeps_top_k(rag_dir, tmp_path, monkeypatch):
    """rerank.candidates deeper than top_k are all searched and reordered; the top k are scored."""
    from climatune.rag import rerank, retrieve

    files = (rag_dir / "chunks.jsonl", rag_dir / "emb.npy", rag_dir / "flat.faiss", "flat")
    first = retrieve.run(rag_dir / "q.jsonl", *files, tmp_path / "a.json", k=10, min_seconds=0.01)
    texts = [c["text"] for c in chunk.read_chunks(rag_dir / "chunks.jsonl")]
    q = questions.read_questions(rag_dir / "q.jsonl")[0]
    target = next(c for c in first["rankings"][q["id"]][3:] if texts.count(texts[c]) == 1)  # ranked 4th or lower
    (tmp_path / "q.jsonl").write_text(json.dumps({**q, "relevant": [target]}) + "\n")
    scorer = _Scorer({texts[target]: 1.0})
    monkeypatch.setattr(rerank, "build_reranker", lambda *a, **kw: scorer)
    r = retrieve.run(tmp_path / "q.jsonl", *files, tmp_path / "b.json", k=2, min_seconds=0.01,
                     rerank_cfg={"enabled": True, "method": "lm", "candidates": 10})
    assert len(scorer.shown) == 1 and len(scorer.shown[0]) == 10  # ten candidates though top_k is 2
    assert r["all"]["recall@1"] == 0 and r["all"]["mrr@10"] == 0 and r["reranked"]["all"]["recall@1"] == 1.0
    assert r["reranked"]["all"]["mrr@10"] == 1.0 and r["reranked"]["candidates"] == 10


def test_lm_reranker_reorders_the_same_candidates_and_is_measured(rag_dir, tiny_model_dir):
    from climatune.rag import retrieve

    r = retrieve.run(rag_dir / "q.jsonl", rag_dir / "chunks.jsonl", rag_dir / "emb.npy", rag_dir / "hnsw.faiss",
                     "hnsw", rag_dir / "hnsw.json", min_seconds=0.05,
                     rerank_cfg={"enabled": True, "method": "lm", "candidates": 10}, lm_dir=tiny_model_dir)
    rr = r["reranked"]
    assert rr["method"] == "lm" and rr["rerank_p50_ms"] > 0 and rr["candidates"] == r["k"] == 10
    assert rr["all"]["recall@10"] == r["all"]["recall@10"]  # same ten candidates, another order: nothing lost or added


def test_no_known_source_reads_n_a_never_nan(rag_dir, tmp_path):
    from climatune.rag import benchmark, retrieve

    unjudged = [{**q, "relevant": [], "source_doc": None} for q in questions.read_questions(rag_dir / "q.jsonl")]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in unjudged))
    r = retrieve.run(tmp_path / "q.jsonl", rag_dir / "chunks.jsonl", rag_dir / "emb.npy", rag_dir / "flat.faiss",
                     "flat", tmp_path / "flat.json", min_seconds=0.01)
    assert r["cloze"]["recall@10"] is None and r["cloze"]["doc_recall@5"] is None and r["judged_questions"] == 0
    assert r["cloze"]["doc_note"] == "n/a (no question with a known source document)"
    old = {**r, "index": "hnsw", "cloze": None, "ann_recall@10": float("nan")}  # as earlier runs wrote
    (tmp_path / "hnsw.json").write_text(json.dumps(old))
    system = {"system": "base", "p50_ms": 10.0, "p95_ms": 12.0, "retrieval_p50_ms": 0.0, "generation_p50_ms": 10.0,
              "retrieval_share": 0.0, "rougeL": float("nan"), "answer_ppl": 3.0, "context_hit_rate": 0.0,
              "questions": 4}
    (tmp_path / "base.json").write_text(json.dumps(system))
    m = benchmark.run([tmp_path / "flat.json", tmp_path / "hnsw.json"], [tmp_path / "base.json"],
                      tmp_path / "metrics.json", tmp_path / "comparison.md", tmp_path / "rag.png")
    text, md = (tmp_path / "metrics.json").read_text(), (tmp_path / "comparison.md").read_text()
    assert "NaN" not in text and "Infinity" not in text and "nan" not in md.lower()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert m["retrieval"]["hnsw"]["ann_recall@10"] is None and m["systems"]["base"]["rougeL"] is None
    assert m["retrieval"]["hnsw"]["cloze"]["recall@1"] is None and "predates" in m["retrieval"]["hnsw"]["cloze"]["doc_note"]
    assert "- doc level: n/a (no question with a known source document)" in md
    assert "| flat | dense | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |" in md and "| base | n/a |" in md
    assert "source in context: n/a (0 questions with a known source)" in md


def test_generate_and_report_all_four_systems(rag_dir, tiny_model_dir):
    from climatune.rag import benchmark, generate

    sums = []
    for system in generate.SYSTEMS:
        s = generate.run(rag_dir / "q.jsonl", system, tiny_model_dir, rag_dir / f"{system}.jsonl",
                         rag_dir / "chunks.jsonl", rag_dir / "hnsw.faiss", "hnsw", {"M": 8}, context_chunks=2,
                         max_new_tokens=4)
        sums.append(rag_dir / f"{system}.json")
        rows = [json.loads(x) for x in (rag_dir / f"{system}.jsonl").read_text().splitlines()]
        if system.endswith("_rag"):
            assert s["retrieval_p50_ms"] > 0 and all(len(r["contexts"]) == 2 for r in rows)
        else:
            assert s["retrieval_p50_ms"] == 0 and all(not r["contexts"] for r in rows)
        assert s["p50_ms"] >= s["generation_p50_ms"] > 0 and s["answer_ppl"] > 1
    m = benchmark.run([rag_dir / "flat.json"], sums, rag_dir / "metrics.json", rag_dir / "comparison.md",
                   rag_dir / "rag.png")
    assert set(m["systems"]) == set(generate.SYSTEMS)
    for key in ("p50_ms", "p95_ms", "cloze", "question", "all"):
        assert key in m["retrieval"]["flat"]
    for key in ("p50_ms", "p95_ms", "rougeL", "answer_ppl"):
        assert key in m["systems"]["tuned_rag"]
    md = (rag_dir / "comparison.md").read_text()
    assert "| tuned_rag |" in md and "| flat |" in md


def test_rag_prompt_puts_context_first():
    from climatune.rag.generate import build_prompt, first_sentence

    assert build_prompt("The sea", ["A.", "B."]) == "A.\n\nB.\n\nThe sea"
    assert build_prompt("The sea", []) == "The sea"
    assert first_sentence(" rises by 3 mm. Then more\nx") == "rises by 3 mm."
