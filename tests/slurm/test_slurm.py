"""profiles/slurm on a real SLURM: a single-node cluster from Debian packages with fake a100 GPUs.

tests/slurm/setup.sh installs slurmctld/slurmd/munge (apt), starts them with partitions `cpu` (default)
and `a100` (GRES gpu:a100:4, devices backed by /dev/null) and tests/slurm/stop.sh stops them again; the
module fixture does both, teardown included. The workflow runs through `snakemake --profile
profiles/slurm` with a site file (account, partitions, GPU model, small CPU counts); the jobs are then
read back from `scontrol show job` (finished jobs stay visible: MinJobAge=3600, no slurmdbd needed).
snakemake is started through tests/slurm/snakemake_fastpoll.py, which only keeps the plugin's status
polling at 2 s (its back-off would double the test's time). About 3 minutes on 2 cores, apt included.

Skipped (with the reason) when not root, without apt-get, when apt cannot install the packages, when a
SLURM config that is not the test's exists, or with CLIMATUNE_SLURM_TEST=0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from ..conftest import ENGLISH, REPO, make_pdf, write_config

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
BASE = os.environ.get("CLIMATUNE_SLURM_BASE", "/tmp/climatune-slurm")
PROFILE = REPO / "profiles" / "slurm"
GPU_RULES = ("probe", "finetune", "perplexity")
CPU_RULES = ("extract_extract_text", "manifest", "split", "prepare_model", "tokenize")  # group "extract"
FINETUNE_STEPS = 60
DOCS = ["ocean heat", "glacier mass", "carbon sinks", "heat waves"]
# The site file of the test: what a user puts in profiles/site.yaml, plus polling suited to a cluster
# without slurmdbd that answers in milliseconds.
SITE = {
    "account": "climatune-test",
    "cpu_partition": "cpu",
    "gpu_partition": "a100",
    "gpu_model": "a100",
    "gpus": 1,
    "cpus_per_gpu": 1,
    "mem_mb_per_gpu": 8000,
    "max_cpus": 2,
    "profile": {
        "jobs": 4,
        "latency-wait": 5,
        "slurm-status-command": "squeue",
        "slurm-init-seconds-before-status-checks": 2,
        "seconds-between-status-checks": 2,
    },
}
# threads = --cpus-per-task expected per rule with that site file (max_cpus 2 caps the profile's values)
EXPECTED_CPUS = {"extract_extract_text": 2, "manifest": 1, "split": 1, "prepare_model": 2, "tokenize": 2,
                 "probe": 1, "finetune": 1, "perplexity": 1}


# --- the cluster ------------------------------------------------------------------------------------


def _sh(*cmd: str, timeout: int = 30) -> str:
    """A SLURM client command against the test cluster."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SQUEUE_", "SCONTROL_"))}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True,
                          env={**env, "SLURM_CONF": f"{BASE}/etc/slurm.conf"}).stdout


@pytest.fixture(scope="module")
def slurm_cluster():
    """Start the test SLURM (idempotent: setup.sh first stops leftovers) and always stop it again."""
    if os.environ.get("CLIMATUNE_SLURM_TEST", "1") == "0":
        pytest.skip("CLIMATUNE_SLURM_TEST=0")
    if os.geteuid() != 0:
        pytest.skip("needs root: installs slurmctld/slurmd/munge with apt-get and starts them")
    env = {**os.environ, "CLIMATUNE_SLURM_BASE": BASE}
    try:
        t0 = time.time()
        try:
            res = subprocess.run([str(HERE / "setup.sh")], capture_output=True, text=True, timeout=280,
                                 env=env)
        except subprocess.TimeoutExpired:
            pytest.skip("tests/slurm/setup.sh took over 280 s (apt too slow?)")
        print((res.stdout + res.stderr).strip())
        if res.returncode in (2, 3):
            reason = [ln for ln in res.stderr.splitlines() if ln.startswith("SKIP:")]
            pytest.skip((reason[-1] if reason else res.stderr.strip()[-300:]).removeprefix("SKIP: "))
        assert res.returncode == 0, f"tests/slurm/setup.sh failed:\n{res.stdout}\n{res.stderr}"
        print(f"test SLURM up in {time.time() - t0:.0f}s")
        yield
    finally:
        subprocess.run([str(HERE / "stop.sh")], capture_output=True, text=True, timeout=90, env=env)


def scontrol_jobs() -> dict[str, dict[str, str]]:
    """{job id: {field: value}} of every job slurmctld still knows (`scontrol -d -o show job`)."""
    jobs = {}
    for line in _sh("scontrol", "-d", "-o", "show", "job").splitlines():
        if not line.startswith("JobId="):
            continue
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        fields["_line"] = line
        jobs[fields["JobId"]] = fields
    return jobs


def run_jobs(output: str) -> dict[str, list[dict[str, str]]]:
    """{rule (or group job name, e.g. extract_extract_text): [scontrol fields]} of one snakemake run's
    SLURM jobs (the plugin names them by run ID and puts rule_<name>[_wildcards_...] in the comment)."""
    m = re.search(r"SLURM run ID: (\S+)", output)
    assert m, output[-3000:]
    by_rule: dict[str, list] = {}
    for job in scontrol_jobs().values():
        if job.get("JobName") == m.group(1):
            name = job.get("Comment", "").removeprefix("rule_").split("_wildcards_")[0]
            by_rule.setdefault(name, []).append(job)
    return by_rule


def summary_line(job: dict[str, str]) -> str:
    keys = ("JobId", "Comment", "JobState", "Partition", "Account", "NumNodes", "NumCPUs", "TresPerJob",
            "TresPerNode", "JOB_GRES", "TRES", "StartTime", "EndTime")
    return " ".join(f"{k}={job[k]}" for k in keys if k in job)


# --- running the workflow ---------------------------------------------------------------------------


def _env(site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIMATUNE_SLURM_", "SLURM_", "SBATCH_"))}
    return {**env, "CLIMATUNE_SLURM_SITE": str(site), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def smk_cmd(work: Path, cfg: Path, *args: str, targets: tuple = ("results/eval/perplexity.json",)) -> list[str]:
    """snakemake (with the plugin's status polling kept at 2 s: tests/slurm/snakemake_fastpoll.py) on this
    checkout's Snakefile; the targets go before --configfile, which takes several values."""
    return [sys.executable, str(HERE / "snakemake_fastpoll.py"), *targets, "-s", str(REPO / "Snakefile"),
            "--directory", str(work), "--profile", str(PROFILE), *args, "--configfile", str(cfg)]


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory, tiny_tokenizer_dir):
    """The corpus and model stages up to perplexity, every job a SLURM job, with one interruption:
    run 1 is stopped by `scancel` of the finetune job once it wrote a checkpoint; run 2 (the same command
    with --rerun-incomplete, plus the dp2 layout of the parallel stage) resumes finetune from that
    checkpoint and finishes."""
    work = tmp_path_factory.mktemp("slurm_wf")
    for i, t in enumerate(DOCS):
        make_pdf(work / "pdfs" / f"report_{i}.pdf", [f"Report {i} on {t}. " + ENGLISH * 4] * 3,
                 header=f"Report {i}")
    (work / "site.yaml").write_text(yaml.safe_dump(SITE))
    cfg = write_config(work / "c.yaml", {
        "corpus": {"pdf_dir": "pdfs", "demo": False},
        "split": {"test_ratio": 0.2, "seed": 1},
        "model": {"source": "random:tiny", "tokenizer": str(tiny_tokenizer_dir), "save_dtype": "float32"},
        # ~0.1 s a step here: cancelled at its first checkpoint (step 5), the job had ~10 s left to run
        "train": {"seq_len": 64, "max_steps": FINETUNE_STEPS, "effective_batch": 4, "checkpoint_every": 5,
                  "lr": 0.01, "precision": "fp32", "gradient_checkpointing": False},
        "perplexity": {"precision": "fp32", "bootstrap": 100},
        "probe": {"max_micro_batch": 2},
        # run 2 also trains one 2-process DeepSpeed layout (gloo here): the parallel rule's own srun step
        "parallel": {"layouts": ["dp2"], "mode": "full", "zero_stage": 1, "global_batch": 2, "micro_batch": 1,
                     "max_steps": 2, "precision": "auto"},
    })
    env = _env(work / "site.yaml")
    ckpts = work / "results/finetune/checkpoints"
    t0 = time.time()
    out1 = work / "run1.out"
    with out1.open("w") as out:
        proc = subprocess.Popen(smk_cmd(work, cfg, "--retries", "0"), cwd=work, env=env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        try:
            while not list(ckpts.glob("step-*")):
                assert proc.poll() is None, f"run 1 ended before finetune wrote a checkpoint:\n" \
                                            f"{out1.read_text()[-4000:]}"
                assert time.time() - t0 < 420, "no finetune checkpoint after 420 s"
                time.sleep(0.2)
            running = [j for j in scontrol_jobs().values()
                       if j.get("Comment") == "rule_finetune" and j["JobState"] == "RUNNING"]
            assert len(running) == 1, running
            cancelled = running[0]["JobId"]
            _sh("scancel", cancelled)
            at = sorted(p.name for p in ckpts.glob("step-*"))
            rc1 = proc.wait(timeout=180)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    run1 = out1.read_text()
    t1 = time.time()
    summary_after_cancel = (work / "results/finetune/summary.json").exists()
    res = subprocess.run(smk_cmd(work, cfg, "--rerun-incomplete", targets=(
        "results/eval/perplexity.json", "results/parallel/dp2/metrics.json")), cwd=work, env=env,
        capture_output=True, text=True, timeout=300)
    run2 = res.stdout + res.stderr
    print(f"run 1 (finetune job {cancelled} cancelled at {at}): {t1 - t0:.0f}s, exit {rc1}; "
          f"run 2: {time.time() - t1:.0f}s, exit {res.returncode}")
    assert res.returncode == 0, run2[-6000:]
    jobs1, jobs2 = run_jobs(run1), run_jobs(run2)
    for name, jobs in (("run 1", jobs1), ("run 2", jobs2)):
        for rule, js in sorted(jobs.items()):
            for j in js:
                print(f"{name} {rule:20s} {summary_line(j)}")
    return SimpleNamespace(work=work, run1=run1, rc1=rc1, run2=run2, jobs1=jobs1, jobs2=jobs2,
                           cancelled=cancelled, summary_after_cancel=summary_after_cancel,
                           finetune_log=(work / "logs/finetune/finetune.log").read_text())


def all_jobs(run) -> dict[str, list[dict[str, str]]]:
    jobs: dict[str, list] = {}
    for part in (run.jobs1, run.jobs2):
        for rule, js in part.items():
            jobs.setdefault(rule, []).extend(js)
    return jobs


# --- tests ------------------------------------------------------------------------------------------


def test_dry_run_needs_no_slurm_and_shows_resources(tmp_path):
    """`snakemake --profile profiles/slurm -n` on the default DAG: no sbatch, the resources of every job.
    (The site file only adds entries for rules that do not exist: they must not matter.)"""
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"set_resources": {"no_such_rule": {"mem_mb": 1}},
                                    "set_threads": {"no_such_rule": 3}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMATUNE_SLURM_")}
    res = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                          str(tmp_path), "--profile", str(PROFILE), "-n"], cwd=tmp_path,
                         env={**env, "CLIMATUNE_SLURM_SITE": str(site)}, capture_output=True, text=True,
                         timeout=180)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    blocks, all_blocks = {}, re.findall(r"\n\s*rule (\w+):\n(.*?)\n\s*Shell command", out, re.S)
    for rule, block in all_blocks:
        blocks.setdefault(rule, block)
    for rule in GPU_RULES:
        res = dict(re.findall(r"(\w+)=([^,\s]+)", blocks[rule].split("resources:")[1]))
        assert (res["slurm_partition"], res["gpu"], res["gpu_model"]) == ("a100", "1", "a100"), blocks[rule]
        assert "threads: 8" in blocks[rule], blocks[rule]
    for rule in ("extract_text", "manifest", "split", "prepare_model", "tokenize"):
        assert "slurm_partition=cpu" in blocks[rule] and "gpu" not in blocks[rule], blocks[rule]
    assert "threads: 8" in blocks["tokenize"]
    assert out.count("Group job extract") == 1  # the 11 demo PDFs: one SLURM job
    for rule, block in all_blocks:  # one job per layout: its world size in GPUs (GRES per node), unwrapped
        if rule == "parallel":
            from climatune.parallel import parse_layout

            world = parse_layout(re.search(r"layout=(\w+)", block).group(1)).world
            res = dict(re.findall(r"(\w+)=([^,\s]+)", block.split("resources:")[1]))
            got = (res["slurm_partition"], res["gres"], res["gpu"], res["nodes"], res.get("mpi"), res["tasks_per_node"])
            want = ("a100", f"gpu:a100:{world}", "0", "1", "srun" if world > 1 else None, str(world if world > 1 else 0))
            assert got == want, block
            assert "threads: 8\n" in block, block  # per task = per GPU


def _parsed_profile(monkeypatch, **env):
    """The profile as snakemake's own argument parser reads it (the YTE template rendered)."""
    from snakemake.cli import get_argument_parser

    for k in [k for k in os.environ if k.startswith("CLIMATUNE_SLURM_")]:
        monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    args = get_argument_parser(profiles=[str(PROFILE)]).parse_args([])
    return ({k: str(r.raw) for k, r in args.default_resources.items()},
            {f"{rule}:{k}": str(r.raw) for rule, rs in args.set_resources.items() for k, r in rs.items()},
            {k: str(r.raw) for k, r in args.set_threads.items()}, args)


def test_profile_defaults_and_overrides(monkeypatch, tmp_path, capsys):
    """Defaults for an A100 site; a site file changes them; CLIMATUNE_SLURM_<KEY> wins over the file."""
    monkeypatch.chdir(tmp_path)  # no profiles/site.yaml here
    dr, sr, st, args = _parsed_profile(monkeypatch)
    assert dr["slurm_partition"] == "cpu" and dr["mem_mb"] == "4000" and dr["runtime"] == "60"
    assert "slurm_account" not in dr  # no account: no -A
    assert sr["finetune:slurm_partition"] == "a100" and sr["finetune:gpu"] == "1"
    assert sr["finetune:gpu_model"] == "a100" and sr["finetune:mem_mb"] == "64000"
    assert st["finetune"] == "8" and args.cores == 32 and args.group_components == {"extract": 100}
    assert sr["parallel:gpu"] == "0" and st["parallel"] == "8" and "extract_text:slurm_partition" not in sr
    par = {k.split(":")[1]: v for k, v in sr.items() if k.startswith("parallel:")}
    assert eval(par["mpi"], {"wildcards": SimpleNamespace(layout="dp4pp2")}) == "srun"
    assert eval(par["gres"], {"wildcards": SimpleNamespace(layout="dp4pp2")}) == "gpu:a100:8"
    assert eval(par["nodes"], {"wildcards": SimpleNamespace(layout="dp4pp2")}) == 1
    two = _parsed_profile(monkeypatch, CLIMATUNE_SLURM_PARALLEL_NODES="2")[1]  # 2 nodes: GPUs, CPUs, memory per node
    par2 = {k.split(":")[1]: v for k, v in two.items() if k.startswith("parallel:")}
    names = ("gres", "nodes", "mem_mb", "mpi", "tasks_per_node", "tasks")

    def ev(layout):
        return {name: eval(par2[name], {"wildcards": SimpleNamespace(layout=layout)}) for name in names}

    assert ev("dp4pp2") == {"gres": "gpu:a100:4", "nodes": 2, "mem_mb": 4 * 64000, "mpi": "srun",
                            "tasks_per_node": 4, "tasks": 0}, ev("dp4pp2")
    assert ev("dp2") == {"gres": "gpu:a100:1", "nodes": 2, "mem_mb": 64000, "mpi": "srun",  # one GPU a node
                         "tasks_per_node": 0, "tasks": 2}, ev("dp2")
    assert ev("single") == {"gres": "gpu:a100:1", "nodes": 1, "mem_mb": 64000, "mpi": "",  # one process
                            "tasks_per_node": 0, "tasks": 0}, ev("single")
    example = _parsed_profile(monkeypatch, CLIMATUNE_SLURM_SITE=str(REPO / "profiles/site.example.yaml"))
    assert example[:3] == (dr, sr, st)  # the example file shows the defaults

    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({
        "gpu_partition": "gpu_a100", "gpu_model": "", "account": "proj1", "gpus": 2, "profile": {"jobs": 7},
        "gpu_resources": {"qos": "gpu"}, "default_resources": {"constraint": "intel"},
        "set_resources": {"finetune": {"runtime": 2880}, "tokenize": {"mem_mb": 16000}},
        "set_threads": {"tokenize": 16}}))
    dr, sr, st, args = _parsed_profile(monkeypatch, CLIMATUNE_SLURM_SITE=str(site),
                                       CLIMATUNE_SLURM_ACCOUNT="proj2")
    assert dr["slurm_partition"] == "cpu" and dr["slurm_account"] == "proj2"
    assert sr["finetune:slurm_partition"] == "gpu_a100" and sr["finetune:gpu"] == "2"
    assert "finetune:gpu_model" not in sr  # "" = any model: --gpus=2
    assert sr["finetune:mem_mb"] == "128000" and st["finetune"] == "16" and args.jobs == 7
    assert sr["finetune:qos"] == sr["probe:qos"] == "gpu" and dr["constraint"] == "intel"
    assert sr["finetune:runtime"] == "2880" and sr["probe:runtime"] == "60"
    assert sr["tokenize:mem_mb"] == "16000" and st["tokenize"] == "16"

    site.write_text("gpu_partiton: a100\n")  # a typo fails, naming it
    with pytest.raises(SystemExit):
        _parsed_profile(monkeypatch, CLIMATUNE_SLURM_SITE=str(site))
    assert "unknown key(s) ['gpu_partiton']" in capsys.readouterr().err


@pytest.mark.slurm
def test_gpu_rules_on_a100_cpu_rules_off(slurm_run):
    """Every GPU job ran in partition a100 with one a100 GPU; every CPU job in cpu without a GPU."""
    assert (slurm_run.work / "results/eval/perplexity.json").exists()
    jobs = all_jobs(slurm_run)
    lines = []
    for rule in GPU_RULES + CPU_RULES:
        assert jobs.get(rule), (rule, sorted(jobs))
        for j in jobs[rule]:
            lines.append(f"{rule}: {summary_line(j)}")
            state = "CANCELLED" if j["JobId"] == slurm_run.cancelled else "COMPLETED"
            assert j["JobState"] == state, j["_line"]
            assert j["Account"] == "climatune-test", j["_line"]  # the site file's account: sbatch -A
            assert j["NumCPUs"] == str(EXPECTED_CPUS[rule]), j["_line"]  # threads -> --cpus-per-task
            if rule in GPU_RULES:
                assert j["Partition"] == "a100", j["_line"]
                assert j.get("TresPerJob") == "gres:gpu:a100:1", j["_line"]  # sbatch --gpus=a100:1
                assert j.get("JOB_GRES") == "gpu:a100:1", j["_line"]  # what the job was given
            else:
                assert j["Partition"] == "cpu", j["_line"]
                assert "TresPerJob" not in j and "gpu" not in j.get("JOB_GRES", ""), j["_line"]
    print("\n".join(lines))
    print("scontrol show job of the GPU jobs:")
    print("\n".join(j["_line"] for rule in GPU_RULES for j in jobs[rule]))
    assert not set(jobs) - set(GPU_RULES + CPU_RULES + ("parallel",)), sorted(jobs)  # parallel: its own test


@pytest.mark.slurm
def test_extract_jobs_are_bundled(slurm_run):
    """The per-PDF extract_text jobs (group "extract") are one SLURM job, not one per PDF."""
    jobs = all_jobs(slurm_run)
    assert len(list((slurm_run.work / "results/corpus/text").glob("*.json"))) == len(DOCS)
    assert "extract_text" not in jobs
    assert len(jobs["extract_extract_text"]) == 1, jobs["extract_extract_text"]
    (log,) = (slurm_run.work / ".snakemake/slurm_logs/group_extract_extract_text").rglob("*.log")
    assert len(set(re.findall(r"wildcards: doc=(\S+)", log.read_text()))) == len(DOCS)


@pytest.mark.slurm
def test_threads_reach_the_job_and_logs_are_kept(slurm_run):
    """{threads} inside the job equals the CPUs SLURM granted; SLURM logs of successful jobs stay."""
    work = slurm_run.work
    for rule, n in (("tokenize", 2), ("prepare_model", 2)):
        (job,) = slurm_run.jobs1[rule]
        (log,) = (work / ".snakemake/slurm_logs" / f"rule_{rule}").rglob(f"{job['JobId']}.log")
        text = log.read_text()
        assert job["NumCPUs"] == str(n) and f"threads: {n}" in text, text[-2000:]
    for rule in ("extract_text", "tokenize", "probe", "finetune", "perplexity"):
        assert any((work / "logs" / rule).iterdir()), rule


@pytest.mark.slurm
def test_cancelled_finetune_resumes_from_checkpoint(slurm_run):
    """scancel of the running finetune job fails run 1; run 2 resumes from the last checkpoint."""
    assert slurm_run.rc1 != 0
    assert "CANCELLED" in slurm_run.run1, slurm_run.run1[-4000:]
    assert not slurm_run.summary_after_cancel
    (cancelled,) = slurm_run.jobs1["finetune"]
    assert cancelled["JobId"] == slurm_run.cancelled and cancelled["JobState"] == "CANCELLED"
    (rerun,) = slurm_run.jobs2["finetune"]
    assert rerun["JobState"] == "COMPLETED" and rerun["Partition"] == "a100", rerun["_line"]
    # snakemake removed the log of run 1 before run 2's job: this is run 2's
    resumed = re.findall(r"resumed from \S+/checkpoints/step-\d+ \(step (\d+)", slurm_run.finetune_log)
    print(f"logs/finetune/finetune.log of the rerun: resumed from step {resumed}")
    assert len(resumed) == 1 and 0 < int(resumed[0]) < FINETUNE_STEPS, slurm_run.finetune_log[-3000:]
    summary = json.loads((slurm_run.work / "results/finetune/summary.json").read_text())
    assert summary["steps"] == FINETUNE_STEPS
    assert set(slurm_run.jobs2) == {"finetune", "perplexity", "parallel"}  # nothing else was redone


@pytest.mark.slurm
def test_parallel_job_starts_its_own_srun_step(slurm_run):
    """The dp2 layout: one a100 job with 2 GPUs as GRES on its node, run without the plugin's srun wrapper;
    its launcher started one srun step with torchrun (2 ranks) and the layout trained."""
    (job,) = slurm_run.jobs2["parallel"]
    print(summary_line(job))
    assert job["JobState"] == "COMPLETED" and job["Partition"] == "a100", job["_line"]
    assert job.get("JOB_GRES") == "gpu:a100:2" and job.get("NumNodes") == "1", job["_line"]
    assert "gpu:a100:2" in job.get("TresPerNode", ""), job["_line"]  # sbatch --gres=gpu:a100:2 (per node)
    log = (slurm_run.work / "logs/parallel/dp2.log").read_text()
    launch = re.search(r"launching 2 processes: (.*)", log)
    assert launch and launch.group(1).startswith("srun --nodes=1 --ntasks=1 --ntasks-per-node=1 --mem=0 "
                                                 "--kill-on-bad-exit=1 --cpus-per-task=2 "), log[-3000:]
    assert job["NumCPUs"] == "2", job["_line"]  # 2 tasks (one per GPU) x cpus_per_gpu 1
    assert "--nproc_per_node=2 --standalone" in launch.group(1)
    metrics = json.loads((slurm_run.work / "results/parallel/dp2/metrics.json").read_text())
    assert metrics["world_size"] == 2 and len(metrics["losses"]) == 2, metrics
