"""What the chat UI does besides drawing: find the workflow's outputs, load a model and the index on
first use (then keep them), retrieve passages and stream an answer as it is generated.

The prompt is the benchmark's (rag/prompting.py, task `question`): the chat template's system
instruction, the passages labelled "[i] (doc, p. N)", the question. Retrieval goes through
rag/search.py's Searcher, the one rag_retrieve measures and the *_rag systems answer with. Generation
runs in a thread and hands its text over through transformers' TextIteratorStreamer; it ends at the
end of the assistant's turn or after max_new_tokens.

    e = Engine(Inputs.under("results", "bm25"))
    for r in e.stream("How fast does the sea rise?", "tuned", rag=True, k=3):
        print(r.text)          # grows token by token; r.sources are the passages (doc, page, text)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .._settings import default
from .._util import UserError
from ..rag import prompting as P
from ..rag.search import KINDS, Searcher, parts

log = logging.getLogger(__name__)

MODELS = ("base", "tuned")
# What the workflow builds each input with (the target to name when one is missing).
TARGETS = {"base": "results/model/base", "tuned": "results/finetune/merged", "chunks": "results/rag/chunks.jsonl"}


class MissingInput(UserError):
    """A model, the chunks or an index the workflow has not built yet; the message names the target."""


def build_hint(target: str) -> str:
    return f"build it with: snakemake {target} --cores all"


@dataclass(frozen=True)
class Inputs:
    """Where the workflow's outputs are: the two models, the chunks and the index folder(s) of
    `index_kind` (hybrid: bm25's, then its dense index's)."""

    base: Path
    tuned: Path
    chunks: Path
    index: tuple[Path, ...]
    index_kind: str

    def __post_init__(self):  # paths given as strings (a Snakemake script's input) become Paths
        for f in ("base", "tuned", "chunks"):
            object.__setattr__(self, f, Path(getattr(self, f)))
        object.__setattr__(self, "index", tuple(Path(x) for x in self.index))

    @classmethod
    def under(cls, results: str | Path = "results", index_kind: str | None = None, index_params: dict | None = None):
        """The default layout of the workflow's results folder (results/model/base, ...)."""
        r = Path(results)
        kind = default("rag", "generate.index") if index_kind is None else index_kind
        return cls(r / "model" / "base", r / "finetune" / "merged", r / "rag" / "chunks.jsonl",
                   tuple(r / "rag" / "index" / p for p in parts(kind, index_params)), kind)

    def missing_model(self, name: str) -> str | None:
        """Why model `name` cannot be used, naming the snakemake target that builds it; None if it can."""
        path = self.base if name == "base" else self.tuned
        if (path / "config.json").is_file():
            return None
        what = "base model" if name == "base" else "fine-tuned model"
        return f"The {what} is not built yet ({path} has no config.json): {build_hint(TARGETS[name])}"

    def missing_rag(self) -> str | None:
        """Why retrieval cannot be used (chunks or index missing), naming the targets; None if it can."""
        gaps = [] if self.chunks.is_file() else [(self.chunks, TARGETS["chunks"])]
        gaps += [(p, f"results/rag/index/{p.name}") for p in self.index if not p.exists()]
        if not gaps:
            return None
        paths = ", ".join(str(p) for p, _ in gaps)
        return (f"Retrieval ({self.index_kind} index) is not available yet, {paths} missing: "
                f"{build_hint(' '.join(t for _, t in gaps))}")


@dataclass
class Reply:
    """One step of a streamed answer: the text so far, the passages it was given, and once `done`
    the number of generated tokens and the seconds retrieval and generation took."""

    text: str
    sources: list[dict] = field(default_factory=list)
    done: bool = False
    tokens: int = 0
    retrieval_s: float = 0.0
    generation_s: float = 0.0


class Engine:
    """The models and the index behind the UI, each loaded on first use and then kept (a model stays
    loaded once chosen, so switching back is instant). Thread-safe: loads happen under a lock."""

    def __init__(self, inputs: Inputs, index_params: dict | None = None, embedder: str | None = None,
                 max_new_tokens: int | None = None, temperature: float | None = None,
                 max_prompt_tokens: int | None = None, device: str = "auto"):
        if inputs.index_kind not in KINDS:
            raise UserError(f"unknown index kind '{inputs.index_kind}'; known: {', '.join(KINDS)}")
        self.inputs, self.index_params, self.embedder = inputs, index_params, embedder
        self.max_new_tokens = default("chat", "max_new_tokens") if max_new_tokens is None else max_new_tokens
        self.temperature = default("chat", "temperature") if temperature is None else temperature
        self.max_prompt_tokens = (default("rag", "generate.max_prompt_tokens") if max_prompt_tokens is None
                                  else max_prompt_tokens)
        self.device = device
        self._models: dict[str, tuple] = {}
        self._search: tuple[Searcher, dict[int, dict]] | None = None
        self._lock = threading.Lock()

    def model(self, name: str):
        """(tokenizer, model, device) of `name` (base or tuned), loaded on first use."""
        if name not in MODELS:
            raise UserError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
        with self._lock:
            if name not in self._models:
                why = self.inputs.missing_model(name)
                if why:
                    raise MissingInput(why)
                self._models[name] = self._load(self.inputs.base if name == "base" else self.inputs.tuned)
            return self._models[name]

    def _load(self, path: Path):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..model import training as T

        t0 = time.perf_counter()
        dev = T.resolve_device(self.device)
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=T.resolve_dtype("auto", dev),
                                                     device_map={"": dev}).eval()
        log.info("loaded %s on %s in %.1f s", path, dev, time.perf_counter() - t0)
        return tok, model, dev

    def index(self) -> tuple[Searcher, dict[int, dict]]:
        """The searcher of the index and the chunks by id, loaded on first use."""
        with self._lock:
            if self._search is None:
                why = self.inputs.missing_rag()
                if why:
                    raise MissingInput(why)
                from ..rag.chunk import read_chunks

                paths = [str(p) for p in self.inputs.index]
                searcher = Searcher(self.inputs.index_kind, paths if len(paths) > 1 else paths[0],
                                    self.index_params, self.embedder)
                self._search = searcher, {c["id"]: c for c in read_chunks(self.inputs.chunks)}
            return self._search

    def retrieve(self, question: str, k: int) -> list[dict]:
        """The top k chunks for `question` (dicts of chunks.jsonl: doc, page, page_end, text)."""
        searcher, chunks = self.index()
        return [chunks[i] for i in searcher.search([question], k)[0]]

    def stream(self, question: str, name: str, rag: bool, k: int) -> Iterator[Reply]:
        """The answer of model `name` to `question` (with the top k passages when `rag`), as a Reply
        whose text grows while tokens arrive; the first Reply (empty text) already carries the sources
        and the last one has done=True with the timings."""
        tok, model, dev = self.model(name)
        if rag:
            self.index()  # loaded before the clock starts: retrieval_s is the search alone
        t0 = time.perf_counter()
        chunks = self.retrieve(question, k) if rag else []
        retrieval_s = time.perf_counter() - t0
        yield Reply("", chunks, retrieval_s=retrieval_s)
        ids = P.prompt_ids(tok, question, "question", chunks, self.max_prompt_tokens)
        text, result = "", {}
        for piece in self._generate(tok, model, dev, ids, result):
            text += piece
            yield Reply(text, chunks, retrieval_s=retrieval_s)
        yield Reply(text.strip(), chunks, True, result["tokens"], retrieval_s, time.perf_counter() - t0 - retrieval_s)

    def _generate(self, tok, model, dev, ids: list[int], result: dict) -> Iterator[str]:
        """Pieces of text as generate() produces them in a thread; result["tokens"] once it ends. An
        error in the thread is raised here, after the streamer has been closed. When the consumer stops
        early (the page closed, the generator dropped), generation stops at its next token."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop = threading.Event()

        class Stopped(StoppingCriteria):
            def __call__(self, input_ids, scores, **kw):
                return stop.is_set()

        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
        x = torch.tensor([ids], device=dev)
        sample = {"do_sample": True, "temperature": self.temperature} if self.temperature > 0 else {"do_sample": False}
        kwargs = dict(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=self.max_new_tokens,
                      eos_token_id=P.stop_token_ids(tok), streamer=streamer,
                      stopping_criteria=StoppingCriteriaList([Stopped()]),
                      pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id, **sample)

        def work():
            try:
                with torch.inference_mode():
                    result["tokens"] = int(model.generate(**kwargs).shape[1] - x.shape[1])
            except BaseException as e:  # handed to the caller's thread
                result["error"] = e
                streamer.end()

        thread = threading.Thread(target=work, name="chat-generate", daemon=True)
        thread.start()
        try:
            yield from (piece for piece in streamer if piece)  # the streamer also hands over empty pieces
        finally:
            stop.set()  # a no-op after a normal end; after an early close it frees the model for the next
            thread.join()
        if "error" in result:
            raise result["error"]
