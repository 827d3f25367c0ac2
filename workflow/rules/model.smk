# Model stages: prepare the base model, probe the micro-batch, fine-tune (QLoRA), perplexity.


rule prepare_model:
    output:
        directory("results/model/base"),
    log:
        "logs/prepare_model/prepare_model.log",
    benchmark:
        "benchmarks/prepare_model/prepare_model.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        source=config["model"]["source"],
        tokenizer=config["model"]["tokenizer"],
        save_dtype=config["model"]["save_dtype"],
    script:
        "../scripts/prepare_model.py"


rule probe:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
        train_docs="results/tokens/train_docs.npz",  # document boundaries, for train.document_masking
    output:
        json="results/probe/probe.json",
        plot=report(
            "results/probe/probe.png",
            caption="../report/probe.rst",
            category="Fine-tuning",
        ),
    log:
        "logs/probe/probe.log",
    benchmark:
        "benchmarks/probe/probe.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        train=TRAIN_FOR_PROBE,
        probe=config["probe"],
    script:
        "../scripts/probe.py"


rule finetune:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
        train_docs="results/tokens/train_docs.npz",  # document boundaries, for train.document_masking
        probe=get_probe_result,
    output:
        adapter=directory("results/finetune/adapter"),
        merged=directory("results/finetune/merged"),
        log_csv="results/finetune/train_log.csv",
        summary="results/finetune/summary.json",
        plot=report(
            "results/finetune/loss.png",
            caption="../report/finetune.rst",
            category="Fine-tuning",
        ),
    log:
        "logs/finetune/finetune.log",
    benchmark:
        "benchmarks/finetune/finetune.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=64000,
        runtime=24 * 60,
    params:
        train=TRAIN_FOR_FINETUNE,
        merged_dtype=config["finetune"]["merged_dtype"],
    script:
        "../scripts/finetune.py"


rule perplexity:
    input:
        test="results/tokens/test.npy",
        test_docs="results/tokens/test_docs.npz",
        meta="results/tokens/meta.json",
        base="results/model/base",
        tuned="results/finetune/merged",
        # the model as trained: its base rebuilt with the run's settings (summary) + the unmerged adapter
        adapter="results/finetune/adapter",
        summary="results/finetune/summary.json",
        leakage=(
            "results/corpus/leakage.json"
            if config["perplexity"]["drop_leaky_above"] is not None
            else []
        ),
    output:
        "results/eval/perplexity.json",
    log:
        "logs/perplexity/perplexity.log",
    benchmark:
        "benchmarks/perplexity/perplexity.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        cfg=config["perplexity"],
        seed=config["train"]["seed"],
        document_masking=config["train"]["document_masking"],
    script:
        "../scripts/perplexity.py"
