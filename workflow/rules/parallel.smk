# Parallel training with DeepSpeed: one job per layout (it launches torchrun itself, one process per
# rank, srun across nodes) that trains and writes a model, the held-out perplexity of each layout's
# model, then one comparison of all layouts.


rule parallel:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
    output:
        metrics="results/parallel/{layout}/metrics.json",
        model=directory("results/parallel/{layout}/model"),
        log_csv="results/parallel/{layout}/train_log.csv",
    log:
        "logs/parallel/{layout}.log",
    benchmark:
        "benchmarks/parallel/{layout}.tsv"
    conda:
        "../../envs/parallel.yaml"
    threads: lambda wildcards: layout_world(wildcards.layout)
    resources:
        gpu=lambda wildcards: layout_world(wildcards.layout),
        nodes=config["parallel"]["nodes"],
        mem_mb=64000,
        runtime=24 * 60,
    params:
        settings=PARALLEL_SETTINGS,
    script:
        "../scripts/parallel.py"


rule parallel_perplexity:
    input:
        test="results/tokens/test.npy",
        test_docs="results/tokens/test_docs.npz",
        model="results/parallel/{layout}/model",
        leakage=(
            "results/corpus/leakage.json"
            if config["perplexity"]["drop_leaky_above"] is not None
            else []
        ),
    output:
        "results/eval/parallel/{layout}.json",
    log:
        "logs/parallel_perplexity/{layout}.log",
    benchmark:
        "benchmarks/parallel_perplexity/{layout}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        cfg=config["perplexity"],
        seed=config["train"]["seed"],
    script:
        "../scripts/parallel_perplexity.py"


rule parallel_report:
    input:
        metrics=expand(
            "results/parallel/{layout}/metrics.json",
            layout=config["parallel"]["layouts"],
        ),
        perplexity=expand(
            "results/eval/parallel/{layout}.json", layout=config["parallel"]["layouts"]
        ),
    output:
        metrics="results/parallel/metrics.json",
        plot=report(
            "results/parallel/parallel.png",
            caption="../report/parallel.rst",
            category="Parallel",
        ),
    log:
        "logs/parallel_report/parallel_report.log",
    benchmark:
        "benchmarks/parallel_report/parallel_report.tsv"
    conda:
        "../../envs/parallel.yaml"
    script:
        "../scripts/parallel_report.py"
