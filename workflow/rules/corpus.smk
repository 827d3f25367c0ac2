# Corpus stages: demo corpus -> extract (one job per document) -> manifest -> split -> tokenize.


if config["corpus"]["demo"]:

    rule demo_corpus:
        output:
            [str(p) for p in DOC_PDFS.values()],
        log:
            "logs/demo_corpus/demo_corpus.log",
        benchmark:
            "benchmarks/demo_corpus/demo_corpus.tsv"
        params:
            out_dir=lambda w, output: os.path.dirname(output[0]),
        conda:
            "../../envs/corpus.yaml"
        script:
            "../scripts/demo_corpus.py"


rule extract_text:
    input:
        pdf=get_pdf,
    output:
        text="results/corpus/text/{doc}.txt",
        meta="results/corpus/text/{doc}.json",
    log:
        "logs/extract_text/{doc}.log",
    benchmark:
        "benchmarks/extract_text/{doc}.tsv"
    params:
        max_pages=config["corpus"]["max_pages"],
        drop_references=config["corpus"]["drop_references"],
        languages=config["corpus"]["languages"],
        min_chars_per_page=config["corpus"]["min_chars_per_page"],
    group:
        "extract"
    resources:
        mem_mb=2000,
        runtime=15,
    conda:
        "../../envs/corpus.yaml"
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
    params:
        pdf_dir=PDF_DIR,
    conda:
        "../../envs/corpus.yaml"
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
    params:
        seed=config["split"]["seed"],
        test_ratio=config["split"]["test_ratio"],
        pdf_dir=PDF_DIR,
    conda:
        "../../envs/corpus.yaml"
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
        meta="results/tokens/meta.json",
    log:
        "logs/tokenize/tokenize.log",
    benchmark:
        "benchmarks/tokenize/tokenize.tsv"
    params:
        seq_len=config["train"]["seq_len"],
    threads: workflow.cores
    resources:
        mem_mb=8000,
        runtime=60,
    conda:
        "../../envs/corpus.yaml"
    script:
        "../scripts/tokenize.py"
