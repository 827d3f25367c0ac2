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


# Hyper-parameter search: successive halving, one job per trial (wildcards rung and slot). Rung r+1's
# trials continue the trials rung r's selection kept, so the DAG shows the rungs one after the other.
rule hpo_split:
    input:
        train="results/tokens/train.npy",
        train_docs="results/tokens/train_docs.npz",
        meta="results/tokens/meta.json",
    output:
        fit="results/hpo/data/fit.npy",
        fit_docs="results/hpo/data/fit_docs.npz",
        val="results/hpo/data/val.npy",
        val_docs="results/hpo/data/val_docs.npz",
        summary="results/hpo/data/split.json",
    log:
        "logs/hpo/hpo_split.log",
    conda:
        "../../envs/model.yaml"
    params:
        hpo=HPO_FOR_SPLIT,
    script:
        "../scripts/hpo_split.py"


rule hpo_trial:
    input:
        unpack(get_hpo_trial_inputs),
    # the trial's checkpoints (run/) are not an output: Snakemake would delete them before a rerun, and
    # a preempted trial resumes from them
    output:
        result="results/hpo/rung{rung}/{slot}/result.json",
    log:
        "logs/hpo/rung{rung}/{slot}.log",
    benchmark:
        "benchmarks/hpo/rung{rung}/{slot}.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=64000,
        runtime=24 * 60,
    params:
        train=TRAIN_FOR_TRIALS,
        hpo=HPO_FOR_TRIALS,
    script:
        "../scripts/hpo_trial.py"


rule hpo_select:
    input:
        get_hpo_rung_results,
    output:
        "results/hpo/rung{rung}/selection.json",
    log:
        "logs/hpo/rung{rung}/hpo_select.log",
    conda:
        "../../envs/model.yaml"
    params:
        hpo=HPO_FOR_TRIALS,
    script:
        "../scripts/hpo_select.py"


rule hpo:
    input:
        results=get_hpo_all_results,
        split="results/hpo/data/split.json",
    output:
        json="results/hpo/hpo.json",
        plot=report(
            "results/hpo/hpo.png",
            caption="../report/hpo.rst",
            category="Hyper-parameter search",
        ),
    log:
        "logs/hpo/hpo.log",
    conda:
        "../../envs/model.yaml"
    params:
        hpo=config["hpo"],
    script:
        "../scripts/hpo.py"


rule finetune:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
        train_docs="results/tokens/train_docs.npz",  # document boundaries, for train.document_masking
        probe=get_probe_result,
        hpo=get_hpo_winner,  # results/hpo/hpo.json when hpo.apply: the winner's settings over train:'s
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


# The headline tables as HTML pages for `snakemake --report` (the plots are reported by their own rules).
rule report_tables:
    input:
        manifest="results/corpus/manifest.tsv",
        probe=get_probe_result,
        perplexity="results/eval/perplexity.json",
        parallel="results/parallel/metrics.json",
        export="results/export/export.json",
        precision="results/precision/precision.json",
        hpo="results/hpo/hpo.json",
    output:
        corpus=report(
            "results/report/corpus.html",
            caption="../report/tables_corpus.rst",
            category="Corpus",
        ),
        probe=report(
            "results/report/probe.html",
            caption="../report/tables_probe.rst",
            category="Fine-tuning",
        ),
        perplexity=report(
            "results/report/perplexity.html",
            caption="../report/tables_perplexity.rst",
            category="Evaluation",
        ),
        perplexity_plot=report(
            "results/report/perplexity.png",
            caption="../report/tables_perplexity.rst",
            category="Evaluation",
        ),
        parallel=report(
            "results/report/parallel.html",
            caption="../report/tables_parallel.rst",
            category="Parallel",
        ),
        export=report(
            "results/report/export.html",
            caption="../report/tables_export.rst",
            category="Export",
        ),
        hpo=report(
            "results/report/hpo.html",
            caption="../report/tables_hpo.rst",
            category="Hyper-parameter search",
        ),
        precision=report(
            "results/report/precision.html",
            caption="../report/tables_precision.rst",
            category="Precision",
        ),
        environment=report(
            "results/report/environment.html",
            caption="../report/tables_environment.rst",
            category="Environment",
        ),
    log:
        "logs/report_tables/report_tables.log",
    conda:
        "../../envs/model.yaml"
    script:
        "../scripts/report_tables.py"


# The same short fine-tune in fp32, fp16 (loss scaling) and bf16: speed, memory, loss, perplexity, answers.
rule precision:
    input:
        model="results/model/base",
        train="results/tokens/train.npy",
        train_docs="results/tokens/train_docs.npz",
        test="results/tokens/test.npy",
        test_docs="results/tokens/test_docs.npz",
        questions="results/rag/questions.jsonl",
    output:
        json=report(
            "results/precision/precision.json",
            caption="../report/precision.rst",
            category="Precision",
        ),
        plot=report(
            "results/precision/precision.png",
            caption="../report/precision.rst",
            category="Precision",
        ),
    log:
        "logs/precision/precision.log",
    benchmark:
        "benchmarks/precision/precision.tsv"
    conda:
        "../../envs/model.yaml"
    threads: CORES
    resources:
        mem_mb=32000,
        runtime=120,
    params:
        train=TRAIN_FOR_FINETUNE,
        precision=config["precision"],
    script:
        "../scripts/precision.py"


# The merged model for serving: 16-bit safetensors and GGUF (llama.cpp), each GGUF loaded by
# llama-cpp-python in the same job and compared with transformers (results/export/export.json).
rule export:
    input:
        merged="results/finetune/merged",
    output:
        json=report(
            "results/export/export.json",
            caption="../report/export.rst",
            category="Export",
        ),
        safetensors=directory("results/export/model-16bit"),
        gguf=expand(
            "results/export/model-{type}.gguf", type=config["export"]["gguf_types"]
        ),
    log:
        "logs/export/export.log",
    benchmark:
        "benchmarks/export/export.tsv"
    conda:
        "../../envs/export.yaml"
    threads: CORES
    resources:
        mem_mb=32000,  # the 16-bit model, then transformers' float32 reference of the check
        runtime=60,
    params:
        cfg=config["export"],
    script:
        "../scripts/export.py"
