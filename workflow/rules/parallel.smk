# Parallel training with DeepSpeed: one job per layout (it launches torchrun itself, one process
# per rank, srun across nodes), then one comparison of all layouts.


rule parallel:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
    output:
        "results/parallel/{layout}/metrics.json",
    log:
        "logs/parallel/{layout}.log",
    benchmark:
        "benchmarks/parallel/{layout}.tsv"
    params:
        cfg=PARALLEL_CFG,
    threads: lambda wildcards: layout_world(wildcards.layout)
    resources:
        gpu=lambda wildcards: layout_world(wildcards.layout),
        nodes=config["parallel"]["nodes"],
        mem_mb=64000,
        runtime=240,
    conda:
        "../../envs/parallel.yaml"
    script:
        "../scripts/parallel.py"


rule parallel_report:
    input:
        expand("results/parallel/{layout}/metrics.json", layout=config["parallel"]["layouts"]),
    output:
        metrics="results/parallel/metrics.json",
        plot=report("results/parallel/parallel.png", caption="../report/parallel.rst", category="Parallel"),
    log:
        "logs/parallel_report/parallel_report.log",
    benchmark:
        "benchmarks/parallel_report/parallel_report.tsv"
    conda:
        "../../envs/parallel.yaml"
    script:
        "../scripts/parallel_report.py"
