# Model stages: prepare the base model (later: probe, finetune, perplexity).


rule prepare_model:
    output:
        directory("results/model/base"),
    log:
        "logs/prepare_model/prepare_model.log",
    benchmark:
        "benchmarks/prepare_model/prepare_model.tsv"
    params:
        source=config["model"]["source"],
        tokenizer=config["model"]["tokenizer"],
        save_dtype=config["model"]["save_dtype"],
    threads: workflow.cores
    resources:
        mem_mb=16000,
        runtime=60,
    conda:
        "../../envs/model.yaml"
    script:
        "../scripts/prepare_model.py"
