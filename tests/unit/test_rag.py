"""RAG: chunk boundaries and offsets, index parameter validation, metric correctness on hand-made
cases, and the retrieval/generation stages on a small real corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

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
    user.write_text('{"question": "no answer"}\n')
    with pytest.raises(questions.QuestionsFileError, match="u.jsonl:1: missing \\['answer'\\]"):
        questions.run(tmp_path / "c.jsonl", split, text_dir, tmp_path / "q.jsonl", user_file=user)


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
    assert r["recall@10"] > 0.5 and 0 < r["mrr@10"] <= 1 and 0 < r["ndcg@10"] <= 1
    assert r["p50_ms"] > 0 and r["p95_ms"] >= r["p50_ms"] and r["faiss_threads"] >= 1
    assert set(r["rankings"]) == {q["id"] for q in questions.read_questions(rag_dir / "q.jsonl")}


def test_lm_reranker_runs_and_is_measured(rag_dir, tiny_model_dir):
    from climatune.rag import retrieve

    r = retrieve.run(rag_dir / "q.jsonl", rag_dir / "chunks.jsonl", rag_dir / "emb.npy", rag_dir / "hnsw.faiss",
                     "hnsw", rag_dir / "hnsw.json", min_seconds=0.05,
                     rerank_cfg={"enabled": True, "method": "lm", "candidates": 5}, lm_dir=tiny_model_dir)
    rr = r["reranked"]
    assert rr["method"] == "lm" and rr["rerank_p50_ms"] > 0 and 0 <= rr["recall@10"] <= 1


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
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10", "p50_ms", "p95_ms"):
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
