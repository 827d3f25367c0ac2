# RAG stages: chunk -> embed -> index (one per type: flat, hnsw, ivfpq, bm25) -> questions
# -> retrieve (per index; hybrid fuses bm25 and a dense index) -> generate (per system) -> benchmark.


rule rag_chunk:
    input:
        split="results/corpus/split.json",
        texts=expand("results/corpus/text/{doc}.txt", doc=DOCS),
        metas=expand("results/corpus/text/{doc}.json", doc=DOCS),
    output:
        "results/rag/chunks.jsonl",
    log:
        "logs/rag_chunk/rag_chunk.log",
    benchmark:
        "benchmarks/rag_chunk/rag_chunk.tsv"
    conda:
        "../../envs/rag.yaml"
    params:
        embedder=RAG["embedder"],
        chunk_tokens=RAG["chunk_tokens"],
        overlap=RAG["chunk_overlap"],
    script:
        "../scripts/rag_chunk.py"


rule rag_embed:
    input:
        "results/rag/chunks.jsonl",
    output:
        vectors="results/rag/embeddings.npy",
        info="results/rag/embeddings.json",
    log:
        "logs/rag_embed/rag_embed.log",
    benchmark:
        "benchmarks/rag_embed/rag_embed.tsv"
    conda:
        "../../envs/rag.yaml"
    threads: CORES
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        embedder=RAG["embedder"],
        batch=RAG["embed_batch"],
    script:
        "../scripts/rag_embed.py"


rule rag_index:
    input:
        get_index_input,  # the embeddings; the chunk texts for bm25
    output:
        index=directory("results/rag/index/{index}"),
        info="results/rag/index/{index}.json",
    log:
        "logs/rag_index/{index}.log",
    benchmark:
        "benchmarks/rag_index/{index}.tsv"
    wildcard_constraints:
        index="flat|hnsw|ivfpq|bm25",  # hybrid fuses two of these at search time
    conda:
        "../../envs/rag.yaml"
    threads: CORES
    params:
        params=lambda w: RAG.get(w.index, {}),
        seed=config["train"]["seed"],
    script:
        "../scripts/rag_index.py"


rule rag_questions:
    input:
        unpack(get_questions_inputs),
    output:
        "results/rag/questions.jsonl",
        summary="results/rag/questions.json",  # counts per task and form, shared runs, skipped
    log:
        "logs/rag_questions/rag_questions.log",
    benchmark:
        "benchmarks/rag_questions/rag_questions.tsv"
    conda:
        "../../envs/rag.yaml"
    params:
        q=RAG["questions"],
    script:
        "../scripts/rag_questions.py"


rule rag_retrieve:
    input:
        unpack(get_retrieve_inputs),
    output:
        "results/rag/retrieval/{index}.json",
    log:
        "logs/rag_retrieve/{index}.log",
    benchmark:
        "benchmarks/rag_retrieve/{index}.tsv"
    conda:
        "../../envs/rag.yaml"
    threads: CORES
    params:
        params=lambda w: index_params(w.index),
        embedder=RAG["embedder"],
        k=RAG["top_k"],
        min_seconds=RAG["min_seconds"],
        faiss_threads=RAG["threads"],
        rerank=RAG["rerank"],
    script:
        "../scripts/rag_retrieve.py"


rule rag_generate:
    input:
        unpack(get_generate_inputs),
    output:
        answers="results/rag/answers/{system}.jsonl",
        summary="results/rag/answers/{system}.json",
    log:
        "logs/rag_generate/{system}.log",
    benchmark:
        "benchmarks/rag_generate/{system}.tsv"
    conda:
        "../../envs/rag.yaml"
    threads: CORES
    resources:
        mem_mb=32000,
        runtime=120,
    params:
        g={k: v for k, v in RAG["generate"].items() if k != "systems"},  # the list of systems is not a setting of one
        index_params=index_params(RAG["generate"]["index"]),
        embedder=RAG["embedder"],
        rerank=RAG["rerank"],
    script:
        "../scripts/rag_generate.py"


rule rag_benchmark:
    input:
        retrieval=expand("results/rag/retrieval/{index}.json", index=RAG["indexes"]),
        systems=expand(
            "results/rag/answers/{system}.json", system=RAG["generate"]["systems"]
        ),
        answers=expand(
            "results/rag/answers/{system}.jsonl", system=RAG["generate"]["systems"]
        ),
        questions="results/rag/questions.json",
    output:
        metrics="results/rag/metrics.json",
        table=report(
            "results/rag/comparison.md", caption="../report/rag.rst", category="RAG"
        ),
        plot=report("results/rag/rag.png", caption="../report/rag.rst", category="RAG"),
        answers=report(
            "results/rag/answers.md", caption="../report/answers.rst", category="RAG"
        ),
    log:
        "logs/rag_benchmark/rag_benchmark.log",
    benchmark:
        "benchmarks/rag_benchmark/rag_benchmark.tsv"
    conda:
        "../../envs/rag.yaml"
    script:
        "../scripts/rag_benchmark.py"


# The chat UI over what the stages above built, never part of `all`: `snakemake chat --cores 1` builds
# what is missing, then serves the page in the foreground until Ctrl-C (the URL is printed and logged;
# chat: in config.yaml). A rule without output runs whenever it is named as a target. The log gets
# what the server logs (startup, model loads, failures) while it also goes to the terminal. Local: the
# page is for the person at this terminal, also when a cluster profile sends other jobs to nodes.
rule chat:
    input:
        base="results/model/base",
        tuned="results/finetune/merged",
        chunks="results/rag/chunks.jsonl",
        index=index_paths(RAG["generate"]["index"]),
    log:
        "logs/chat/chat.log",
    localrule: True
    conda:
        "../../envs/chat.yaml"
    threads: CORES
    params:
        index=RAG["generate"]["index"],
        index_params=index_params(RAG["generate"]["index"]),
        embedder=RAG["embedder"],
        chat=config.get("chat", {}),
    script:
        "../scripts/chat.py"
