"""Retrieval: the BM25 baseline, reciprocal-rank fusion (hybrid), one search for every index kind, and
relevance at document and chunk level per task, through to metrics.json and comparison.md."""

from __future__ import annotations

import json

import pytest

from climatune._util import UserError
from climatune.rag import bm25, chunk, index, relevance, search
from climatune.rag.relevance import doc_mrr_at_k, doc_recall_at_k, page_recall_at_k

TOPICS = {
    "ocean": "The ocean has absorbed most of the extra heat trapped by greenhouse gases since the middle of the "
             "last century. Thermal expansion of warmer water raises the global mean sea level by a few "
             "millimetres every single year. ",
    "permafrost": "Permafrost thaw releases methane and carbon dioxide from frozen soils in the Arctic tundra "
                  "regions every summer season. ",
    "forest": "Forests store carbon in wood and soil for many decades. Fires and droughts release that carbon "
              "again into the air. ",
}


def _chunks(texts: list[str], doc="d") -> list[dict]:
    return [{"id": i, "doc": doc, "page": 1, "text": t} for i, t in enumerate(texts)]


def test_bm25_ranks_the_exact_keyword_chunk_first(tmp_path):
    texts = ["Arctic sea ice shrinks in the Arctic summer; the Arctic warms fastest.",
             "Snow and ice thaw earlier each spring in the Alps.",
             "Permafrost thaw releases methane from frozen Arctic soils.",
             "Global mean sea level rose by 3.7 mm per year between 2006 and 2018.",
             "Coal plants emit 3 percent more than gas plants per 7 units of power."]
    (tmp_path / "chunks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in _chunks(texts)))
    info = index.run(tmp_path / "chunks.jsonl", "bm25", tmp_path / "bm25")  # the rag_index stage, type bm25
    assert info["chunks"] == 5 and json.loads((tmp_path / "bm25.json").read_text())["type"] == "bm25"
    s = search.Searcher("bm25", tmp_path / "bm25")
    got = s.search(["permafrost thaw in the Arctic", "How warm does it get?", "3.7", "xyzzy"], 5)
    assert got[0][0] == 2  # the only chunk with the rare "permafrost", though chunk 0 says Arctic three times
    assert got[1] == [0]  # "warm" finds "warms" through the Snowball stem, and nothing else matches
    assert got[2] == [3]  # "3.7" is one token: "3" and "7" alone (chunk 4) do not match it
    assert got[3] == []  # no shared term: nothing, rather than five arbitrary chunks
    plain = bm25.build(texts, {"stemmer": "none"})
    assert "warm" not in plain.vocab_dict and "warms" in plain.vocab_dict


def test_rrf_fuses_rankings_by_reciprocal_rank():
    # 1: 1/61 + 1/62, 3: 1/63 + 1/61, 2: 1/62, 4: 1/63
    assert search.rrf([[1, 2, 3], [3, 1, 4]], 60) == [1, 3, 2, 4]
    # equal sums: the better single rank first, then the smaller id
    assert search.rrf([[10, 20, 30], [30, 40, 10]], 60) == [10, 30, 20, 40]
    # k decides: with k=60 two middling ranks (2: 1/62 + 1/64) beat one first place (1: 1/61); with k=0 not
    assert search.rrf([[1, 2, 3, 4], [4, 5, 6, 2]], 60) == [4, 2, 1, 5, 3, 6]
    assert search.rrf([[1, 2, 3, 4], [4, 5, 6, 2]], 0) == [4, 1, 2, 5, 3, 6]
    assert search.rrf([[], [7]], 60) == [7] and search.rrf([], 60) == []


CHUNKS = [{"id": 0, "doc": "a", "page": 1, "page_end": 1}, {"id": 1, "doc": "a", "page": 1, "page_end": 2},
          {"id": 2, "doc": "b", "page": 1, "page_end": 1}, {"id": 3, "doc": "c", "page": 1, "page_end": 2},
          {"id": 4, "doc": "b", "page": 2, "page_end": 2}, {"id": 5, "doc": "c", "page": 3, "page_end": 3}]
DOC = {c["id"]: c["doc"] for c in CHUNKS}


def test_document_level_metrics_by_hand():
    assert doc_recall_at_k([3, 5, 2, 4, 0, 1], DOC, "a", 1) == 0 and doc_recall_at_k([3, 5, 2, 4, 0], DOC, "a", 5) == 1
    assert doc_mrr_at_k([3, 5, 2, 4, 0, 1], DOC, "a") == 1 / 5 and doc_mrr_at_k([3, 5], DOC, "a") == 0
    by_id = {c["id"]: c for c in CHUNKS}
    assert page_recall_at_k([0, 1], by_id, "a", 2, 5) == 1  # chunk 1 runs from page 1 onto page 2
    assert page_recall_at_k([0, 3], by_id, "a", 2, 5) == 0  # chunk 3 spans page 2, of another document
    qs = [{"id": "q1", "source_doc": "b", "relevant": [4], "origin": "auto"},
          {"id": "q2", "source_doc": "a", "relevant": [1], "origin": "auto", "task": "cloze"},
          {"id": "q3", "source_doc": "c", "relevant": [3], "origin": "auto"}]
    ranked = {"q1": [2, 0, 4], "q2": [3, 5, 2, 4, 0, 1], "q3": [0, 1, 2, 4]}
    m = relevance.score(ranked, qs, CHUNKS)
    c = m["cloze"]
    assert (c["questions"], c["doc_questions"], c["chunk_questions"]) == (3, 3, 3)
    # source documents at ranks 1, 5 and never
    assert (c["doc_recall@1"], c["doc_recall@5"], c["doc_recall@10"], c["doc_mrr@10"]) == (0.3333, 0.6667, 0.6667, 0.4)
    # relevant chunks at ranks 3, 6 and never
    assert (c["recall@1"], c["recall@5"], c["recall@10"], c["mrr@10"]) == (0, 0.3333, 0.6667, 0.1667)
    assert m["all"] == c and m["question"]["questions"] == 0 and m["question"]["doc_recall@5"] is None


def test_whole_document_source_is_chunk_level_n_a_and_doc_level_scored():
    qs = [{"id": "u1", "source_doc": "b", "source": "b", "relevant": [2, 4], "origin": "user"},  # every chunk of b
          {"id": "u2", "source_doc": "c", "source": "c#3", "relevant": [5], "origin": "user"},
          {"id": "u3", "source_doc": "c", "source_page": 3, "relevant": [5], "origin": "user", "task": "question"},
          {"id": "a1", "source_doc": "a", "relevant": [1], "origin": "auto"}]
    ranked = [[4, 0], [3, 0, 5], [3, 0], [1]]
    m = relevance.score(ranked, qs, CHUNKS)
    q = m["question"]
    assert q["questions"] == 3 and q["chunk_questions"] == 0
    assert all(q[k] is None for k in relevance.CHUNK_KEYS) and q["chunk_note"] == relevance.NOTES["chunk"]
    assert (q["doc_recall@1"], q["doc_mrr@10"]) == (1.0, 1.0)
    assert (q["page_questions"], q["page_recall@5"]) == (2, 0.5)  # page 3 of c: chunk 5 is in u2's top 5, not u3's
    assert m["cloze"]["recall@1"] == 1.0 and m["all"]["chunk_questions"] == 1 and m["all"]["questions"] == 4
    assert relevance.task_of({"origin": "user"}) == "question" and relevance.task_of({}) == "cloze"


@pytest.fixture(scope="module")
def ret_dir(tmp_path_factory):
    """Chunks (one document of two pages), embeddings, flat and bm25 index folders, automatic questions."""
    from climatune.rag import embed, questions

    d = tmp_path_factory.mktemp("retrieval")
    text_dir = d / "text"
    text_dir.mkdir()
    for name, t in TOPICS.items():
        (text_dir / f"{name}.txt").write_text(t * 6)
    (text_dir / "ocean.json").write_text(json.dumps({"page_starts": [0, len(TOPICS["ocean"]) * 3]}))
    (d / "split.json").write_text(json.dumps({"train": ["forest", "permafrost"], "test": ["ocean"]}))
    chunk.run(d / "split.json", text_dir, d / "chunks.jsonl", chunk_tokens=40, overlap=10)
    embed.run(d / "chunks.jsonl", d / "emb.npy")
    index.run(d / "emb.npy", "flat", d / "index" / "flat")
    index.run(d / "chunks.jsonl", "bm25", d / "index" / "bm25")
    questions.run(d / "chunks.jsonl", d / "split.json", text_dir, d / "q.jsonl", per_doc=3, seed=0)
    return d


def test_index_folders_chunk_pages_and_bad_settings(ret_dir):
    assert (ret_dir / "index" / "flat" / "index.faiss").is_file() and (ret_dir / "index" / "flat.json").is_file()
    assert index.load(ret_dir / "index" / "flat", "flat", {}).ntotal == len(chunk.read_chunks(ret_dir / "chunks.jsonl"))
    ocean = [c for c in chunk.read_chunks(ret_dir / "chunks.jsonl") if c["doc"] == "ocean"]
    assert any(c["page"] == 1 and c["page_end"] == 2 for c in ocean)  # a chunk across the page break
    assert ocean[-1]["page"] == ocean[-1]["page_end"] == 2
    with pytest.raises(UserError, match="reads 2 index"):
        search.Searcher("hybrid", ret_dir / "index" / "bm25")
    with pytest.raises(UserError, match="unknown index kind 'bm26'"):
        search.parts("bm26")
    with pytest.raises(UserError, match="method must be one of.*stemmer must be one of"):
        bm25.check_params({"method": "okapi", "stemmer": "porter"})


def test_every_kind_is_measured_and_an_empty_task_reads_n_a_never_nan(ret_dir, tmp_path):
    from climatune.rag import benchmark, retrieve

    idx = ret_dir / "index"
    files = {"flat": ([idx / "flat"], ret_dir / "emb.npy"), "bm25": ([idx / "bm25"], None),
             "hybrid": ([idx / "bm25", idx / "flat"], None)}
    res = {}
    for kind, (paths, emb) in files.items():
        res[kind] = retrieve.run(ret_dir / "q.jsonl", ret_dir / "chunks.jsonl", emb, paths, kind,
                                 tmp_path / f"{kind}.json", min_seconds=0.02)
        r = res[kind]
        assert r["p50_ms"] > 0 and r["p95_ms"] >= r["p50_ms"] and r["batched_ms_per_query"] > 0
        assert r["cloze"]["questions"] == 3 and r["cloze"]["doc_recall@10"] == 1.0  # 3 documents, top 10
        assert r["question"] == {**r["question"], "questions": 0, "doc_recall@5": None, "recall@10": None}
    assert res["flat"]["ann_recall@10"] == 1.0 and res["bm25"]["ann_recall@10"] is None
    assert "approximates none" in res["hybrid"]["ann_note"]
    depth = max(10, res["hybrid"]["params"]["candidates"])  # hybrid is RRF of the other two, 100 deep
    deep = {k: search.Searcher(k, files[k][0]).search([q["question"]], depth)
            for q in [json.loads((ret_dir / "q.jsonl").read_text().splitlines()[0])] for k in ("bm25", "flat")}
    qid = next(iter(res["hybrid"]["rankings"]))
    assert res["hybrid"]["rankings"][qid] == search.rrf([deep["bm25"][0], deep["flat"][0]], 60)[:10]
    (tmp_path / "base.json").write_text(json.dumps({"system": "base", "p50_ms": 1.0, "rougeL": float("nan")}))
    m = benchmark.run([tmp_path / f"{k}.json" for k in files], [tmp_path / "base.json"], tmp_path / "metrics.json",
                      tmp_path / "comparison.md", tmp_path / "rag.png")
    text, md = (tmp_path / "metrics.json").read_text(), (tmp_path / "comparison.md").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in metrics.json"))
    assert "nan" not in md.lower() and (tmp_path / "rag.png").stat().st_size > 0
    for kind in files:
        e = m["retrieval"][kind]
        assert set(relevance.METRIC_KEYS) <= set(e["cloze"]) and e["all"]["questions"] == 3
        assert e["question"]["questions"] == 0 and e["question"]["doc_recall@5"] is None
    assert "### Task `question`: 0 questions" in md and "| bm25 | lexical | 1.000 |" in md
    assert md.index("| bm25 | lexical") < md.index("| flat | dense") < md.index("| hybrid | hybrid")
    assert "- bm25: ANN recall n/a" in md
