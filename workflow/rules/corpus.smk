# Corpus stages: demo corpus -> extract (one job per document) -> manifest -> split -> tokenize
# -> leakage (held-out text found in the training text).


if config["corpus"]["demo"]:

    rule demo_corpus:
        output:
            [str(p) for p in DOC_PDFS.values()],
        log:
            "logs/demo_corpus/demo_corpus.log",
        benchmark:
            "benchmarks/demo_corpus/demo_corpus.tsv"
        conda:
            "../../envs/corpus.yaml"
        params:
            out_dir=lambda w, output: os.path.dirname(output[0]),
        script:
            "../scripts/demo_corpus.py"


rule extract_text:
    input:
        pdf=get_pdf,  # none for a broken link or loop: the job records why, with no input to wait for
    output:
        text="results/corpus/text/{doc}.txt",
        meta="results/corpus/text/{doc}.json",
    log:
        "logs/extract_text/{doc}.log",
    benchmark:
        "benchmarks/extract_text/{doc}.tsv"
    group:
        "extract"
    conda:
        "../../envs/corpus.yaml"
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        path=lambda wildcards: str(DOC_PDFS[wildcards.doc]),
        # size and mtime of a user's file: a PDF replaced by another, even an older one, is read again
        stamp=lambda wildcards: (
            ""
            if config["corpus"]["demo"]
            else extract_text.stamp(DOC_PDFS[wildcards.doc])
        ),
        max_pages=config["corpus"]["max_pages"],
        drop_references=config["corpus"]["drop_references"],
        languages=config["corpus"]["languages"],
        min_chars_per_page=config["corpus"]["min_chars_per_page"],
    script:
        "../scripts/extract_text.py"


rule manifest:
    input:
        expand("results/corpus/text/{doc}.json", doc=DOCS),
    output:
        report(
            "results/corpus/manifest.tsv",
            caption="../report/manifest.rst",
            category="Corpus",
        ),
    log:
        "logs/manifest/manifest.log",
    benchmark:
        "benchmarks/manifest/manifest.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        pdf_dir=PDF_DIR,
    script:
        "../scripts/manifest.py"


rule split:
    input:
        "results/corpus/manifest.tsv",
    output:
        "results/corpus/split.json",
    log:
        "logs/split/split.log",
    benchmark:
        "benchmarks/split/split.tsv"
    conda:
        "../../envs/corpus.yaml"
    params:
        seed=config["split"]["seed"],
        test_ratio=config["split"]["test_ratio"],
        pdf_dir=PDF_DIR,
    script:
        "../scripts/split.py"


rule tokenize:
    input:
        split="results/corpus/split.json",
        texts=expand("results/corpus/text/{doc}.txt", doc=DOCS),
        model="results/model/base",
    output:
        train="results/tokens/train.npy",
        test="results/tokens/test.npy",
        # per block, where each document starts and which one it is (document masking, perplexity)
        train_docs="results/tokens/train_docs.npz",
        test_docs="results/tokens/test_docs.npz",
        meta="results/tokens/meta.json",
    log:
        "logs/tokenize/tokenize.log",
    benchmark:
        "benchmarks/tokenize/tokenize.tsv"
    conda:
        "../../envs/corpus.yaml"
    threads: CORES
    resources:
        # peak RSS at 10x the reference corpus (12.5 M tokens): 534 MiB, 1007 MiB at 16 threads (bench/results/tokenize_memory.json)
        mem_mb=2000,
        runtime=60,
    params:
        seq_len=config["train"]["seq_len"],
    script:
        "../scripts/tokenize.py"


rule leakage:
    input:
        split="results/corpus/split.json",
        texts=expand("results/corpus/text/{doc}.txt", doc=DOCS),
        # the held-out blocks, decoded with the tokenizer that packed them, for the per-block shares
        tokens="results/tokens/test.npy",
        meta="results/tokens/meta.json",
        model="results/model/base",
    output:
        json="results/corpus/leakage.json",
        plot=report(
            "results/corpus/leakage.png",
            caption="../report/leakage.rst",
            category="Corpus",
        ),
    log:
        "logs/leakage/leakage.log",
    benchmark:
        "benchmarks/leakage/leakage.tsv"
    conda:
        "../../envs/corpus.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        leakage=config["leakage"],
    script:
        "../scripts/leakage.py"
