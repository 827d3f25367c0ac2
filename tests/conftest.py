"""Shared fixtures: PDFs made with pymupdf in tmp dirs, a tiny tokenizer and a tiny random Llama."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_PDFS = SHARED / "corpus" / "pdfs"
SHARED_AWKWARD = SHARED / "corpus" / "awkward"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser); screenshots are kept
# under CLIMATUNE_ARTIFACTS (default artifacts/, ignored by git) for a person to look at after the run.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]  # containers' /dev/shm is often 64 MB
needs_chromium = pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is absent (/usr/bin/chromium): "
                                    "apt-get install chromium (.ci/run does); browser tests never download one")


def keep_artifact(path: Path) -> Path:
    """Copy a screenshot (or any file a person should see) to the artifacts folder; returns the copy."""
    import shutil

    folder = Path(os.environ.get("CLIMATUNE_ARTIFACTS") or REPO / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


needs_shared_corpus = pytest.mark.skipif(not SHARED_PDFS.is_dir(), reason="../shared/corpus/pdfs is absent")
needs_awkward = pytest.mark.skipif(not SHARED_AWKWARD.is_dir(), reason="../shared/corpus/awkward is absent")

ENGLISH = (
    "The ocean has absorbed most of the extra heat trapped by greenhouse gases since the middle of the "
    "twentieth century. Warmer water expands, and together with melting glaciers and ice sheets this "
    "thermal expansion raises the global mean sea level by a few millimetres every year. Coastal cities "
    "therefore plan defences, wetlands and retreat where the rise cannot be held back. "
)
SPANISH = (
    "El océano ha absorbido la mayor parte del calor adicional que retienen los gases de efecto "
    "invernadero desde mediados del siglo pasado. El agua más cálida se expande y, junto con el "
    "deshielo de los glaciares, eleva el nivel del mar cada año. Las ciudades de la costa planifican "
    "defensas y también humedales para los que no se puede contener el aumento. "
)


def make_pdf(path: Path, pages: list[str], header: str | None = None, page_numbers: bool = False,
             image_only: bool = False) -> Path:
    """A real PDF: each string becomes one page of wrapped text (or an image-only page)."""
    import pymupdf

    doc = pymupdf.open()
    for i, text in enumerate(pages):
        page = doc.new_page(width=595, height=842)
        if image_only:
            pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 200, 100), False)
            pix.clear_with(200)
            page.insert_image(pymupdf.Rect(72, 72, 472, 272), pixmap=pix)
            continue
        if header:
            page.insert_text((72, 40), header, fontsize=8)
        if page_numbers:
            page.insert_text((290, 815), str(i + 1), fontsize=8)
        page.insert_textbox(pymupdf.Rect(72, 90, 523, 770), text, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    doc.close()
    return path


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    """A byte-level BPE (vocab 512) trained on the demo corpus text: offline, built in a second."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from climatune.corpus.demo_corpus import documents

    texts = [p for d in documents() for _, ps in d["sections"] for p in ps] + [ENGLISH]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(texts, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    out = tmp_path_factory.mktemp("tiny_tokenizer")
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer_dir, tmp_path_factory) -> Path:
    """A prepared tiny random Llama (2 layers, hidden 64) with the tiny tokenizer, in float32."""
    from climatune.model import prepare_model

    out = tmp_path_factory.mktemp("tiny_model")
    prepare_model.run("random:tiny", out, tokenizer=str(tiny_tokenizer_dir), save_dtype="float32", seed=0)
    return out


def snakemake(workdir: Path, *args: str, targets: tuple = (), timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the real workflow (this checkout's Snakefile) in `workdir`. Targets go first: after
    --configfile, which takes several values, they would be read as config files."""
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def write_config(path: Path, overrides: dict) -> Path:
    """The default config with nested overrides, written as YAML."""
    import yaml

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for section, values in overrides.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    path.write_text(yaml.safe_dump(cfg))
    return path
