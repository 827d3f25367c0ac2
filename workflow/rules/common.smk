# Plumbing only: config validation, the document list, and input functions.
import os
import sys
from pathlib import Path

from snakemake.logging import logger

# The package lives in src/ (scripts add it to their own path, so conda envs need no install).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from climatune import parallel  # noqa: E402
from climatune._settings import check_config  # noqa: E402
from climatune._util import (
    UserError,
    check_writable,
    claim_workflow,
    clear_stale_lock,
    release_workflow,
)  # noqa: E402
from climatune.corpus import extract_text  # noqa: E402
from climatune.model import hpo, prepare_model, training  # noqa: E402
from climatune.rag.checks import check_rag_settings, read_user_file  # noqa: E402
from climatune.rag.embedder import embedding_dimension  # noqa: E402
from climatune.rag.search import DENSE, parts  # noqa: E402

# Everything that can be known before a job runs is checked here, so a bad setting or input stops the
# run at once with one clear message: types and keys (strings from --config coerced), the corpus folder,
# that results/ can be written, and the model source (once, before it is prepared).
try:
    check_config(config, Path(workflow.basedir) / "config" / "schema.yaml")
    DOC_PDFS = extract_text.documents(config["corpus"])
    if workflow.is_main_process:
        check_writable("results")
        if not Path("results/model/base/config.json").exists():
            prepare_model.check_source(
                config["model"]["source"], config["model"]["tokenizer"]
            )
except UserError as e:
    raise WorkflowError(str(e)) from None
PDF_DIR = config["corpus"]["pdf_dir"].rstrip("/")
try:  # the threads of the rules that use every core; runs without --cores (--report) still parse
    CORES = workflow.cores
except WorkflowError:
    CORES = 1
DOCS = sorted(DOC_PDFS)

# A run killed with kill -9 leaves Snakemake's lock behind: lift it when its holder is provably gone.
_stale = clear_stale_lock()
if _stale:
    logger.warning(_stale)


onstart:
    claim_workflow()


onsuccess:
    release_workflow()


onerror:
    release_workflow()


# What a `parallel` job trains with: only these are params (a change reruns the job); the layout list,
# the node count and how often checkpoints are written do not change a layout's model, and its script
# reads them from the config.
PARALLEL_RUNTIME_KEYS = ("layouts", "nodes", "checkpoint_every", "keep_checkpoints")
PARALLEL_SETTINGS = {
    k: v for k, v in config["parallel"].items() if k not in PARALLEL_RUNTIME_KEYS
}
for _name in config["parallel"][
    "layouts"
]:  # unsupported layouts fail here, before any job starts
    try:
        _layout = parallel.parse_layout(_name)
        _s = config["parallel"]
        parallel.check_supported(_layout, _s["mode"], _s["zero_stage"], _s["precision"])
        parallel.check_batch(_layout, _s["global_batch"], _s["micro_batch"])
        if _layout.world > 1:
            parallel.processes_per_node(_layout, config["parallel"]["nodes"])
    except parallel.UnsupportedLayout as e:
        raise WorkflowError(f"parallel.layouts: {e}") from None

# What the probe and finetune jobs are given as params: only the `train:` keys that change what they
# compute (a change reruns them); checkpointing and logging cadence are read by the scripts from the config.
TRAIN_FOR_PROBE = {
    k: v for k, v in config["train"].items() if k not in training.NOT_PROBED
}
TRAIN_FOR_FINETUNE = {
    k: v for k, v in config["train"].items() if k not in training.RUNTIME_KEYS
}

# The search's settings: its trials depend on the grid and the rung arithmetic, not on `apply`; the split
# only on the validation documents' choice. Bad grids fail here, before any job starts.
HPO = hpo.HpoSettings.from_dict(config["hpo"])
_problems = hpo.check(HPO, TRAIN_FOR_FINETUNE)
if _problems:
    raise WorkflowError("\n".join(_problems))
HPO_FOR_SPLIT = {k: config["hpo"][k] for k in ("val_ratio", "seed")}
HPO_FOR_TRIALS = {k: v for k, v in config["hpo"].items() if k != "apply"}
# a trial's train settings: those the grid does not set (changing train.lr reruns no trial of an lr grid)
TRAIN_FOR_TRIALS = {k: v for k, v in TRAIN_FOR_FINETUNE.items() if k not in HPO.grid}
HPO_SLOTS = hpo.rung_sizes(len(hpo.grid_points(HPO.grid)), HPO.eta, HPO.rungs)

RAG = config["rag"]
# A relative question file missing from the working directory is read from the workflow's own folder
# (the shipped set, resources/questions/reference.jsonl, when running with --directory elsewhere).
_qfile = RAG["questions"]["file"]
_shipped = Path(workflow.basedir) / str(_qfile)
if (
    _qfile
    and not os.path.isabs(_qfile)
    and not os.path.exists(_qfile)
    and _shipped.is_file()
):
    RAG["questions"]["file"] = str(_shipped)
try:  # rag settings that would fail deep in a job, and a user question file, checked at start
    _problems = check_rag_settings(RAG, embedding_dimension(RAG["embedder"]))
    if RAG["questions"]["file"]:
        _absent = read_user_file(
            RAG["questions"]["file"], {d: p.name for d, p in DOC_PDFS.items()}
        )[1]
        if _absent and workflow.is_main_process:
            logger.warning(
                f"rag.questions.file: {len(_absent)} question(s) name documents absent from "
                "this corpus; they are skipped (counted in results/rag/questions.json)"
            )
except UserError as e:
    raise WorkflowError(str(e)) from None
if _problems:
    raise WorkflowError("rag settings:\n  " + "\n  ".join(_problems))


wildcard_constraints:
    doc="[a-z0-9_-]+",
    index="flat|hnsw|ivfpq|bm25|hybrid",
    system="base|base_rag|tuned|tuned_rag",
    layout="single|((dp|tp|pp)[0-9]+)+",
    rung="[0-9]+",
    slot="t[0-9]+",


def get_pdf(wildcards):
    """The PDF of a document (the demo corpus's are made by a rule), or nothing when the entry is a broken
    link, a loop or a folder: its job records why."""
    path = DOC_PDFS[wildcards.doc]
    return (
        [] if os.path.lexists(path) and extract_text.entry_problem(path) else str(path)
    )


def get_probe_result(wildcards):
    """The probe runs only when the micro-batch is left to it."""
    return (
        "results/probe/probe.json" if config["train"]["micro_batch"] == "auto" else []
    )


def get_hpo_winner(wildcards):
    """finetune takes the search's winner only when hpo.apply is on."""
    return "results/hpo/hpo.json" if config["hpo"]["apply"] else []


def hpo_results(rung):
    return [f"results/hpo/rung{rung}/t{k}/result.json" for k in range(HPO_SLOTS[rung])]


def get_hpo_trial_inputs(wildcards):
    """Base model and fit/val blocks; from rung 1 on, the rung before's selection and its trials (which of
    them this slot continues is known only once that rung is scored)."""
    rung = int(wildcards.rung)
    if rung >= HPO.rungs or int(wildcards.slot[1:]) >= HPO_SLOTS[rung]:
        raise WorkflowError(
            f"hpo: rung {rung} slot {wildcards.slot} is not part of the search (slots per rung: {HPO_SLOTS})"
        )
    inputs = {
        "model": "results/model/base",
        "fit": "results/hpo/data/fit.npy",
        "val": "results/hpo/data/val.npy",
        "docs": ["results/hpo/data/fit_docs.npz", "results/hpo/data/val_docs.npz"],
    }
    if config["train"]["micro_batch"] == "auto":
        inputs["probe"] = "results/probe/probe.json"
    if rung > 0:
        inputs["selection"] = f"results/hpo/rung{rung - 1}/selection.json"
        inputs["parents"] = hpo_results(rung - 1)
    return inputs


def get_hpo_rung_results(wildcards):
    return hpo_results(int(wildcards.rung))


def get_hpo_all_results(wildcards):
    return [p for r in range(HPO.rungs) for p in hpo_results(r)]


def layout_world(name):
    """Processes (GPUs) a parallel layout needs."""
    return parallel.parse_layout(name).world


def get_questions_inputs(wildcards):
    inputs = {
        "chunks": "results/rag/chunks.jsonl",
        "split": "results/corpus/split.json",
        "texts": expand("results/corpus/text/{doc}.txt", doc=DOCS),
    }
    if RAG["questions"]["file"]:
        inputs["user"] = RAG["questions"]["file"]
    return inputs


def _reranks_with_lm():
    r = RAG["rerank"]
    return r["enabled"] and r["method"] == "lm" and not r["model"]


def index_paths(kind):
    """The index folders a search of `kind` reads: one, or for hybrid bm25's and its dense index's."""
    return [f"results/rag/index/{p}" for p in parts(kind, RAG["hybrid"])]


def index_params(kind):
    """What a search of `kind` is given: rag.<kind>; for hybrid also its dense index's settings."""
    if kind == "hybrid":
        return {**RAG["hybrid"], "dense_params": RAG.get(RAG["hybrid"]["dense"], {})}
    return RAG.get(kind, {})


def get_index_input(wildcards):
    """A FAISS index is built from the embeddings, bm25 from the chunk texts."""
    if wildcards.index == "bm25":
        return "results/rag/chunks.jsonl"
    return "results/rag/embeddings.npy"


def get_retrieve_inputs(wildcards):
    """The questions, chunks and index folder(s); the embeddings for a FAISS index's ANN recall."""
    inputs = {
        "questions": "results/rag/questions.jsonl",
        "chunks": "results/rag/chunks.jsonl",
        "index": index_paths(wildcards.index),
    }
    if wildcards.index in DENSE:
        inputs["embeddings"] = "results/rag/embeddings.npy"
    if _reranks_with_lm():
        inputs["lm"] = "results/model/base"
    return inputs


def get_generate_inputs(wildcards):
    """The base or the fine-tuned model; the *_rag systems also need the chunks and their index."""
    s = wildcards.system
    inputs = {
        "questions": "results/rag/questions.jsonl",
        "model": (
            "results/finetune/merged" if s.startswith("tuned") else "results/model/base"
        ),
    }
    if s.endswith("_rag"):
        inputs["chunks"] = "results/rag/chunks.jsonl"
        paths = index_paths(RAG["generate"]["index"])
        inputs["index"] = paths[0] if len(paths) == 1 else paths
    return inputs


def get_final_output():
    """What `rule all` builds; grows with each stage of the pipeline."""
    return [
        "results/corpus/manifest.tsv",
        "results/corpus/split.json",
        "results/corpus/leakage.json",
        "results/tokens/meta.json",
        "results/eval/perplexity.json",
        "results/hpo/hpo.json",
        "results/report/environment.html",
        "results/export/export.json",
        "results/precision/precision.json",
        *expand("results/export/model-{t}.gguf", t=config["export"]["gguf_types"]),
        "results/rag/metrics.json",
        "results/parallel/metrics.json",
    ]
