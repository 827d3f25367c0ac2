"""The tokenizer of a Hugging Face folder as GGUF `tokenizer.*` metadata (for the export stage).

Supported: fast (tokenizer.json) byte-level BPE tokenizers, i.e. GGUF's "gpt2" tokenizer model, with
one of three pre-tokenizers whose llama.cpp equivalent is known:
  ByteLevel alone (GPT-2 regex)                       -> "gpt-2"
  Digits(individual) then ByteLevel (SmolLM, StarCoder) -> "smollm"
  Split(Llama 3 regex) then ByteLevel without regex    -> "llama-bpe"
Anything else (SentencePiece, BPE with byte fallback as in Llama 2, a normalizer, another split)
is refused with a message naming it: a wrong pre-tokenizer would silently tokenize differently.
The export's check (gguf_check) compares llama.cpp's tokenization of its prompt with transformers'.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .._util import UserError

CONVERTER = "convert it with llama.cpp's convert_hf_to_gguf.py instead"

# Llama 3's pre-tokenizer split (tokenizer.json of meta-llama/Llama-3.x)
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# gguf.TokenType values (kept here so the module reads without the gguf package)
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


class ExportError(UserError):
    """A model or tokenizer the export cannot write as GGUF; the message names what is unsupported."""


@dataclass
class Vocab:
    """What GGUF's tokenizer.* keys hold."""

    pre: str
    tokens: list[str]
    types: list[int]
    merges: list[str]
    special: dict = field(default_factory=dict)  # bos/eos/unk/pad -> id
    add_bos: bool = False
    add_eos: bool = False
    add_space_prefix: bool = False
    chat_template: str | None = None

    def summary(self) -> dict:
        return {"model": "gpt2", "pre": self.pre, "tokens": len(self.tokens), "merges": len(self.merges),
                "control_tokens": self.types.count(CONTROL), "special_ids": self.special,
                "add_bos": self.add_bos, "add_eos": self.add_eos, "chat_template": self.chat_template is not None}


def _steps(pre: dict | None) -> list[dict]:
    if not pre:
        return []
    return pre.get("pretokenizers", []) if pre.get("type") == "Sequence" else [pre]


def pre_tokenizer_name(pre: dict | None) -> str:
    """llama.cpp's name (tokenizer.ggml.pre) of a tokenizer.json pre_tokenizer, or ExportError."""
    steps = _steps(pre)
    kinds = [s.get("type") for s in steps]
    if kinds == ["ByteLevel"] and steps[0].get("use_regex", True):
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and steps[0].get("individual_digits") and steps[1].get("use_regex", True):
        return "smollm"
    if (kinds == ["Split", "ByteLevel"] and steps[0].get("pattern", {}).get("Regex") == LLAMA3_SPLIT
            and not steps[1].get("use_regex", True)):
        return "llama-bpe"
    raise ExportError(f"the tokenizer's pre-tokenizer {json.dumps(pre)[:300]} has no llama.cpp equivalent known to "
                      "the export (known: ByteLevel as in GPT-2, Digits+ByteLevel as in SmolLM, the Llama 3 split); "
                      + CONVERTER)


def _check_model(spec: dict, folder: Path) -> None:
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise ExportError(f"{folder}/tokenizer.json is a {model.get('type')} tokenizer: the export writes byte-level "
                          f"BPE tokenizers only; {CONVERTER}")
    if model.get("byte_fallback"):
        raise ExportError(f"{folder}/tokenizer.json is a BPE with byte fallback (SentencePiece style, as Llama 2): "
                          f"the export writes byte-level BPE tokenizers only; {CONVERTER}")
    if spec.get("normalizer") is not None:
        raise ExportError(f"{folder}/tokenizer.json has a normalizer ({spec['normalizer'].get('type')}) that GGUF's "
                          f"gpt2 tokenizer does not apply; {CONVERTER}")
    if (spec.get("decoder") or {}).get("type") != "ByteLevel":
        raise ExportError(f"{folder}/tokenizer.json decodes with {(spec.get('decoder') or {}).get('type')}, not "
                          f"ByteLevel: not a byte-level BPE; {CONVERTER}")


def read_vocab(folder: str | Path, vocab_size: int) -> Vocab:
    """The tokenizer of `folder` (tokenizer.json + tokenizer_config.json) padded to the model's
    `vocab_size` (rows of the embedding without a token become "[PAD<id>]", type UNUSED)."""
    from transformers import AutoTokenizer

    folder = Path(folder)
    if not (folder / "tokenizer.json").is_file():
        raise ExportError(f"{folder} has no tokenizer.json: the export converts fast (tokenizers) BPE tokenizers "
                          f"only, not a SentencePiece tokenizer.model; {CONVERTER}")
    spec = json.loads((folder / "tokenizer.json").read_text())
    _check_model(spec, folder)
    pre = pre_tokenizer_name(spec.get("pre_tokenizer"))
    tok = AutoTokenizer.from_pretrained(folder)
    by_id = {i: t for t, i in tok.get_vocab().items()}
    if max(by_id) >= vocab_size:
        raise ExportError(f"the tokenizer of {folder} has token id {max(by_id)} but the model only {vocab_size} "
                          "embedding rows: tokenizer and model do not belong together")
    added = {a["id"]: a for a in spec.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
            continue
        tokens.append(by_id[i])
        types.append(NORMAL if i not in added else CONTROL if added[i].get("special") else USER_DEFINED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"].get("merges", [])]
    special = {k: getattr(tok, f"{k}_token_id") for k in ("bos", "eos", "unk", "pad")}
    probe = tok("a")["input_ids"]
    byte_level = next(s for s in _steps(spec.get("pre_tokenizer")) if s.get("type") == "ByteLevel")
    template = tok.chat_template if isinstance(tok.chat_template, str) else None
    return Vocab(pre=pre, tokens=tokens, types=types, merges=merges,
                 special={k: v for k, v in special.items() if v is not None},
                 add_bos=special["bos"] is not None and probe[0] == special["bos"],
                 add_eos=special["eos"] is not None and probe[-1] == special["eos"],
                 add_space_prefix=bool(byte_level.get("add_prefix_space")), chat_template=template)


def write_vocab(w, v: Vocab) -> None:
    """tokenizer.* keys of GGUFWriter `w` (add_bos/add_eos always written: llama.cpp's defaults differ
    per pre-tokenizer)."""
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(v.pre)
    w.add_token_list(v.tokens)
    w.add_token_types(v.types)
    w.add_token_merges(v.merges)
    adders = {"bos": w.add_bos_token_id, "eos": w.add_eos_token_id, "unk": w.add_unk_token_id,
              "pad": w.add_pad_token_id}
    for k, tid in v.special.items():
        adders[k](tid)
    w.add_add_bos_token(v.add_bos)
    w.add_add_eos_token(v.add_eos)
    w.add_add_space_prefix(v.add_space_prefix)
    if v.chat_template:
        w.add_chat_template(v.chat_template)
