"""The workflow itself: config validation, the full DAG, corpus stages end to end, partial reruns."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ..conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ENGLISH,
    REPO,
    keep_artifact,
    make_pdf,
    needs_chromium,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.slow  # real Snakemake runs

# Every rule of the pipeline: the dry run must resolve all of them.
ALL_RULES = {"demo_corpus", "extract_text", "manifest", "split", "prepare_model", "tokenize", "probe", "finetune",
             "perplexity", "rag_chunk", "rag_embed", "rag_index", "rag_questions", "rag_retrieve", "rag_generate",
             "rag_benchmark", "parallel", "parallel_perplexity", "parallel_report", "hpo_split", "hpo_trial",
             "hpo_select", "hpo", "report_tables"}


def _jobs(stdout: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: {rule: count}."""
    jobs, on = {}, False
    for line in stdout.splitlines():
        if line.startswith("job ") and "count" in line:
            on = True
            continue
        if on:
            parts = line.split()
            if not parts or parts[0] == "total":
                break
            if parts[0].startswith("-"):
                continue
            jobs[parts[0]] = int(parts[1])
    return jobs


def test_dry_run_resolves_full_dag(tmp_path):
    res = snakemake(tmp_path, "-n", "--cores", "2")  # the default config: the demo in resources/demo_corpus
    assert res.returncode == 0, res.stderr
    jobs = _jobs(res.stdout)
    assert ALL_RULES <= set(jobs), jobs
    assert jobs["extract_text"] == 11  # 10 demo documents + the broken one
    assert jobs["hpo_trial"] == 6 + 2 and jobs["hpo_select"] == 1  # the demo's 3 x 2 grid, eta 3, 2 rungs


def test_the_dry_run_shows_the_search_rung_after_rung(tmp_path):
    """--dag: every rung-1 trial hangs on rung 0's selection, which hangs on every rung-0 trial."""
    import re

    res = snakemake(tmp_path, "-n", "--dag")
    assert res.returncode == 0, res.stderr
    label = {n: lab for n, lab in re.findall(r'^\s*(\d+)\[label = "([^"]*)"', res.stdout, re.M)}
    edges = re.findall(r"^\s*(\d+) -> (\d+)", res.stdout, re.M)
    trials = {r: {n for n, lab in label.items() if lab.startswith("hpo_trial") and f"rung: {r}" in lab}
              for r in (0, 1)}
    select = [n for n, lab in label.items() if lab.startswith("hpo_select")]
    assert len(trials[0]) == 6 and len(trials[1]) == 2 and len(select) == 1
    assert {a for a, b in edges if b == select[0]} >= trials[0]
    for t in trials[1]:
        assert (select[0], t) in edges and {a for a, b in edges if b == t} >= trials[0]  # continues one of them


def test_default_config_dry_run_in_repo():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--quiet", "rules"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("override, message", [
    ({"corpus": {"pdf_dir": "x", "max_pagez": 3}}, "max_pagez"),
    ({"split": {"test_ratio": 1.5}}, "test_ratio"),
    ({"model": {"save_dtype": "int3"}}, "int3"),
])
def test_invalid_config_fails_before_any_job(tmp_path, override, message):
    cfg = write_config(tmp_path / "c.yaml", override)
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    assert message in res.stdout + res.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()


def test_empty_folder_fails_naming_it(tmp_path):
    (tmp_path / "my_reports").mkdir()
    cfg = write_config(tmp_path / "c.yaml", {"corpus": {"pdf_dir": "my_reports", "demo": False}})
    res = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "corpus folder 'my_reports' holds no *.pdf file" in res.stdout + res.stderr


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, tiny_tokenizer_dir):
    """The corpus stages end to end on a small real corpus with bad files, tiny random model."""
    work = tmp_path_factory.mktemp("wf")
    pdfs = work / "pdfs"
    topics = ["ocean heat", "glacier mass", "carbon sinks", "heat waves", "sea ice", "river floods"]
    for i, t in enumerate(topics):
        make_pdf(pdfs / f"report_{i}.pdf", [f"Report {i} on {t}. " + ENGLISH * 4] * 3, header=f"Report {i}")
    shutil.copy(pdfs / "report_0.pdf", pdfs / "report_0_copy.pdf")
    (pdfs / "empty.pdf").write_bytes(b"")
    (pdfs / "download.pdf").write_text("<!doctype html><html></html>")
    cfg = write_config(work / "c.yaml", {
        "corpus": {"pdf_dir": "pdfs", "demo": False},
        "split": {"test_ratio": 0.2, "seed": 1},  # hash puts report_1 in test
        "model": {"source": "random:tiny", "tokenizer": str(tiny_tokenizer_dir), "save_dtype": "float32"},
        # fp32, not `auto` (a matmul timing at start that may pick bf16 in one run and fp32 in the next)
        "train": {"seq_len": 64, "max_steps": 4, "effective_batch": 4, "checkpoint_every": 2, "lr": 0.01,
                  "precision": "fp32"},
        "probe": {"max_micro_batch": 4},
        # two indexes and two systems cover every wiring (base / tuned model, with / without retrieval);
        # the demo runs all of them, tests/test_rag.py each one
        "rag": {"questions": {"per_doc": 3, "max": 3, "seed": 0, "file": None, "mode": "extend"}, "min_seconds": 0.05,
                "indexes": ["flat", "hnsw"],
                "generate": {"systems": ["base", "tuned_rag"], "index": "hnsw",
                             "context_chunks": 2, "max_new_tokens": 4, "max_prompt_tokens": 512}},
        "parallel": {"layouts": ["single", "dp2"], "global_batch": 2, "micro_batch": 1, "max_steps": 2},
        "hpo": {"grid": {"lr": [0.01, 0.003], "lora_r": [2, 4]}, "eta": 2, "rungs": 2, "budget": 2,
                "val_ratio": 0.3, "val_blocks": 4, "apply": True},
    })
    res = snakemake(work, "--cores", "2", "--configfile", str(cfg))  # the default target: the whole DAG
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return work, cfg


def test_corpus_stages_end_to_end(corpus_run):
    work, _ = corpus_run
    rows = {}
    for line in (work / "results/corpus/manifest.tsv").read_text().splitlines()[1:]:
        f = line.split("\t")
        rows[f[0]] = f
    assert len(rows) == 9
    assert rows["empty"][4] == "skipped" and rows["empty"][5] == "empty file (0 bytes)"
    assert rows["download"][5].startswith("not a PDF")
    assert rows["report_0_copy"][5] == "duplicate of report_0 (identical file)"
    split = json.loads((work / "results/corpus/split.json").read_text())
    assert len(split["train"]) + len(split["test"]) == 6 and split["test"]
    meta = json.loads((work / "results/tokens/meta.json").read_text())
    train = np.load(work / "results/tokens/train.npy")
    assert train.shape == (meta["splits"]["train"]["blocks"], 64)
    for rule in ("extract_text", "manifest", "split", "tokenize", "prepare_model", "probe", "finetune", "perplexity"):
        assert any((work / "logs" / rule).iterdir()), rule
        assert any((work / "benchmarks" / rule).iterdir()), rule
    log = (work / "logs/extract_text/empty.log").read_text()
    assert "skipped empty" in log and "empty file (0 bytes)" in log


def test_model_stages_end_to_end(corpus_run):
    work, _ = corpus_run
    probe = json.loads((work / "results/probe/probe.json").read_text())
    summary = json.loads((work / "results/finetune/summary.json").read_text())
    assert summary["micro_batch"] == probe["chosen"]["micro_batch"]
    assert summary["micro_batch"] * summary["grad_accum"] == 4
    assert summary["gradient_checkpointing"] == probe["chosen"]["gradient_checkpointing"]
    ppl = json.loads((work / "results/eval/perplexity.json").read_text())
    assert ppl["base"]["perplexity"] > 0 and ppl["tuned"]["perplexity"] > 0 and "drop_pct" in ppl
    hpo = json.loads((work / "results/hpo/hpo.json").read_text())
    assert len(hpo["trials"]) == 4 + 2 and [r["steps"] for r in hpo["rungs"]] == [2, 4] and hpo["eta"] == 2
    assert {t["rung"] for t in hpo["trials"]} == {0, 1} and all(t["val_loss"] > 0 for t in hpo["trials"])
    assert len({t["val_loss"] for t in hpo["trials"] if t["rung"] == 0}) == 4  # trained apart, ranked apart
    # hpo.apply: finetune trained with the winner's settings
    assert {k: summary["config"][k] for k in hpo["best"]["params"]} == hpo["best"]["params"]
    for f in ("results/probe/probe.png", "results/finetune/loss.png", "results/finetune/merged/config.json",
              "results/finetune/adapter/adapter_model.safetensors"):
        assert (work / f).exists(), f


def test_rag_and_parallel_stages_end_to_end(corpus_run):
    work, _ = corpus_run
    m = json.loads((work / "results/rag/metrics.json").read_text())
    assert set(m["retrieval"]) == {"flat", "hnsw"}
    assert set(m["systems"]) == {"base", "tuned_rag"}
    assert m["systems"]["tuned_rag"]["retrieval_p50_ms"] > 0 == m["systems"]["base"]["retrieval_p50_ms"]
    assert m["retrieval"]["flat"]["ann_recall@10"] == 1.0
    assert "| tuned_rag |" in (work / "results/rag/comparison.md").read_text()
    p = json.loads((work / "results/parallel/metrics.json").read_text())
    assert set(p["layouts"]) == {"single", "dp2"} and p["layouts"]["dp2"]["max_loss_diff"] < 1e-3
    for lay in ("single", "dp2"):  # each layout trained a model and measured it on the held-out blocks
        assert (work / f"results/parallel/{lay}/model/config.json").exists()
        ppl = json.loads((work / f"results/eval/parallel/{lay}.json").read_text())
        assert ppl[lay]["perplexity"] == p["layouts"][lay]["perplexity"] > 0
    assert abs(p["layouts"]["single"]["perplexity"] / p["layouts"]["dp2"]["perplexity"] - 1) < 1e-3
    assert (work / "results/parallel/parallel.png").exists() and (work / "results/rag/rag.png").exists()


def test_forcerun_tokenize_reruns_only_tokenize(corpus_run):
    work, cfg = corpus_run
    res = snakemake(work, "-n", "--cores", "2", "--forcerun", "tokenize", "--configfile", str(cfg),
                    targets=("results/tokens/train.npy",))
    assert res.returncode == 0, res.stderr
    assert _jobs(res.stdout) == {"tokenize": 1}
    res = snakemake(work, "-n", "--cores", "2", "--configfile", str(cfg), targets=("results/tokens/meta.json",))
    assert "Nothing to be done" in res.stdout + res.stderr


def _faults():
    import importlib.util
    import sys

    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("faults", REPO / "bench" / "faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Every category of the report, and one page of each to open and read (a headline it must carry).
REPORT = {"Corpus": ("corpus.html", "Skipped documents and why"), "Fine-tuning": ("probe.html", "Chosen: micro-batch"),
          "Hyper-parameter search": ("hpo.png", None), "Evaluation": ("perplexity.html", "tuned_merged"),
          "Parallel": ("parallel.html", "dp2"), "RAG": ("comparison.md", None),
          "Precision": ("precision.html", "tokens/s"), "Export": ("export.html", "gguf"),
          "Environment": ("environment.html", "Resolved configuration")}


@needs_chromium
def test_the_report_command_printed_by_make_demo_works_and_reads_in_a_browser(corpus_run, tmp_path):
    """`snakemake --report report.html` (no --cores) after a run: one HTML page that Chromium opens offline,
    with every category in its menu and the pages behind them readable; a screenshot is kept."""
    from playwright.sync_api import expect, sync_playwright

    work, cfg = corpus_run
    res = snakemake(work, "--report", "report.html", "--configfile", str(cfg))
    assert res.returncode == 0, (res.stdout + res.stderr)[-2000:]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto((work / "report.html").as_uri(), wait_until="load")
        for category, (item, headline) in REPORT.items():
            page.get_by_text(category, exact=True).first.click()
            row = page.locator("tr", has_text=item)
            expect(row.first).to_be_visible(timeout=20_000)
            row.first.locator("a[iconname=eye]").click()
            if headline:  # an HTML page: shown in a frame
                frame = page.frame_locator("iframe").first
                expect(frame.locator("body")).to_contain_text(headline, timeout=20_000)
            if category == "Evaluation":
                page.screenshot(path=str(tmp_path / "report_evaluation.png"))
            page.goto((work / "report.html").as_uri(), wait_until="load")  # back to the menu
        menu = page.locator("body").inner_text()
        browser.close()
    assert all(c in menu for c in REPORT), menu
    assert (tmp_path / "report_evaluation.png").stat().st_size > 20_000
    keep_artifact(tmp_path / "report_evaluation.png")


def test_settings_that_change_no_result_rerun_nothing(corpus_run, tmp_path):
    """train.log_every, checkpoint cadence and the parallel node count are not params of any job."""
    import yaml

    work, cfg = corpus_run
    c = yaml.safe_load(cfg.read_text())
    c["train"].update(log_every=3, checkpoint_every=1, keep_checkpoints=5)
    c["parallel"].update(checkpoint_every=1, keep_checkpoints=3)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(c))
    res = snakemake(work, "-n", "--cores", "2", "--configfile", str(tmp_path / "c.yaml"))
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr, res.stdout[-2000:]


def test_kill_9_during_finetune_then_the_same_command_ends_identical(corpus_run, tmp_path):
    """Snakemake and all its jobs SIGKILLed while finetune trains (a checkpoint written); the same command
    (the local profile: --rerun-incomplete) finishes, with the lock of the killed run lifted, and every
    final file equals the uninterrupted run's (bench/faults.py does this at five points of the DAG)."""
    import yaml

    faults = _faults()
    ref, cfg = corpus_run
    work = tmp_path / "killed"
    shutil.copytree(ref / "pdfs", work / "pdfs")
    # the probe's choice rests on timings, which differ between two runs on a busy machine: this run takes
    # the reference run's choice, so both train with the same batch geometry (hpo trials and finetune)
    chosen = json.loads((ref / "results/probe/probe.json").read_text())["chosen"]
    c = yaml.safe_load(cfg.read_text())
    c["train"].update(micro_batch=chosen["micro_batch"], gradient_checkpointing=chosen["gradient_checkpointing"])
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(c))
    outcome = faults.kill_and_rerun(work, tmp_path / "c.yaml", "finetune", timeout=600)
    assert outcome["reached"] and outcome["rerun_rc"] == 0, outcome
    assert faults.compare(faults.digest(ref), faults.digest(work)) == []


def test_adding_a_document_keeps_the_split(corpus_run, tmp_path):
    work, cfg = corpus_run
    before = json.loads((work / "results/corpus/split.json").read_text())
    make_pdf(work / "pdfs" / "report_new.pdf", ["A new report on permafrost. " + ENGLISH * 4] * 2)
    res = snakemake(work, "--cores", "2", "--configfile", str(cfg), targets=("results/corpus/split.json",))
    assert res.returncode == 0, res.stderr[-2000:]
    after = json.loads((work / "results/corpus/split.json").read_text())
    assert set(before["test"]) <= set(after["test"]) and set(before["train"]) <= set(after["train"])
    (work / "pdfs" / "report_new.pdf").unlink()


def test_all_skipped_corpus_fails_naming_the_folder(tmp_path):
    pdfs = tmp_path / "bad_reports"
    pdfs.mkdir()
    (pdfs / "a.pdf").write_bytes(b"")
    (pdfs / "b.pdf").write_text("<html>")
    cfg = write_config(tmp_path / "c.yaml", {"corpus": {"pdf_dir": "bad_reports", "demo": False}})
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg), targets=("results/corpus/split.json",))
    assert res.returncode != 0
    assert (tmp_path / "results/corpus/manifest.tsv").exists()
    log = (tmp_path / "logs/split/split.log").read_text()
    assert "no usable document in corpus folder 'bad_reports'" in log

