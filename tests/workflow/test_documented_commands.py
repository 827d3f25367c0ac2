"""The commands the README, docs/cluster.md and config.yaml tell users to type work as written (dry runs
where the command would start a full run; paths of the user's own replaced by a small folder)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from ..conftest import ENGLISH, REPO, make_pdf, snakemake

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    work = tmp_path_factory.mktemp("docs")
    for i in range(4):
        make_pdf(work / "ipcc_ar6" / f"report_{i}.pdf", [f"Report {i}. " + ENGLISH * 3] * 2)
    return work


@pytest.mark.parametrize("args", [
    # README "Your own PDFs": a folder and demo false on the command line (strings Snakemake 9 hands over)
    ("--cores", "8", "--config", 'corpus={"pdf_dir": "ipcc_ar6", "demo": false}', "-n"),
    # config.yaml's header: override any key on the command line
    ("--cores", "2", "--config", 'corpus={"pdf_dir": "ipcc_ar6", "demo": false}', 'train={"max_steps": 10}', "-n"),
    # README table: rebuild one target
    ("results/tokens/train.npy", "--cores", "2", "--forcerun", "tokenize", "--config",
     'corpus={"pdf_dir": "ipcc_ar6", "demo": false}', "-n"),
    # README "Chat with the models": builds what the chat needs (dry run: the server itself would block)
    ("chat", "--cores", "1", "--config", 'corpus={"pdf_dir": "ipcc_ar6", "demo": false}', "-n"),
], ids=["own-pdfs", "override-a-key", "rebuild-one-target", "chat"])
def test_readme_commands(reports, args):
    targets = tuple(a for a in args if a.startswith("results/") or a == "chat")
    res = snakemake(reports, *[a for a in args if a not in targets], targets=targets)
    assert res.returncode == 0, (res.stdout + res.stderr)[-2000:]


def test_the_dag_command(reports):
    res = snakemake(reports, "--dag", "--config", 'corpus={"pdf_dir": "ipcc_ar6", "demo": false}')
    assert res.returncode == 0 and "digraph" in res.stdout, res.stderr[-1500:]
    if shutil.which("dot"):
        svg = subprocess.run(["dot", "-Tsvg"], input=res.stdout, capture_output=True, text=True)
        assert svg.returncode == 0 and "<svg" in svg.stdout


def test_check_config_and_every_stage_help():
    res = subprocess.run([sys.executable, "-m", "climatune", "check-config", str(REPO / "config" / "ipcc-a100.yaml")],
                         capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("ok"), res.stderr
    for module in ("corpus.extract_text", "corpus.tokenize", "model.prepare_model", "model.finetune", "rag.chunk",
                   "parallel", "parallel.report", "model.hpo", "model.hpo_trial", "model.export", "model.precision",
                   "model.report_tables", "chat"):
        res = subprocess.run([sys.executable, "-m", f"climatune.{module}", "--help"], capture_output=True, text=True)
        assert res.returncode == 0 and "usage" in res.stdout, (module, res.stderr[-500:])
