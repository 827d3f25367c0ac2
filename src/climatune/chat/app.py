"""The chat UI: a Gradio page over the base and the fine-tuned model, each with or without retrieval.

The page has the model choice (base / tuned), a retrieval switch, how many passages to retrieve, the
conversation, and under it the passages the answer was given, each with its document and page. The
answer streams in token by token; a status line then gives tokens, seconds and retrieval time. An
input the workflow has not built yet (say the fine-tuned model) is reported on the page with the
snakemake target that builds it; the rest keeps working.

Offline by construction: no telemetry or version check (analytics off), no share link, the default
theme's fonts are served by the app itself; it listens on 127.0.0.1 unless told otherwise.

Run: python -m climatune.chat [--results results] [--port 7860]   or   snakemake chat --cores 1
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import logging
import os
import re
from pathlib import Path

from .._settings import cli_defaults
from .._util import UserError, rule_log
from ..rag.prompting import passage_label
from ..rag.search import KINDS
from .engine import MODELS, Engine, Inputs

log = logging.getLogger(__name__)

CSS = """
#sources ol { padding-left: 1.4em; margin: 0.3em 0; }
#sources li { margin-bottom: 0.6em; }
#sources .src-label { font-weight: 600; display: block; }
#sources .src-text { display: block; margin: 0.15em 0 0; font-size: 0.92em; opacity: 0.85; }
#status { min-height: 1.5em; }
"""
PASSAGE_CHARS = 320  # of each passage's text shown under the answer


def sources_html(chunks: list[dict], rag: bool, kind: str) -> str:
    """The passages an answer was given, numbered as in the prompt, each with document and page."""
    if not rag:
        return "<p><b>Sources</b>: retrieval is off, the model answers from its weights alone.</p>"
    if not chunks:
        return f"<p><b>Sources</b>: the {html.escape(kind)} index found no passage for this question.</p>"
    items = []
    for c in chunks:
        text = " ".join(c["text"].split())
        text = text if len(text) <= PASSAGE_CHARS else text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
        items.append(f'<li><span class="src-label">{html.escape(passage_label(c)[1:-1])}</span>'
                     f'<span class="src-text">{html.escape(text)}</span></li>')
    return (f"<div><b>Sources</b> ({len(chunks)} passage{'s' * (len(chunks) != 1)}, "
            f"{html.escape(kind)} index)<ol>{''.join(items)}</ol></div>")


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def md_message(text: str) -> str:
    """A message for the page: escaped, and the snakemake command it names set as code."""
    head, sep, command = text.partition("build it with: ")
    return _md_escape(head) + (f"{sep}`{command}`" if sep else "")


def system_label(name: str, rag: bool, kind: str) -> str:
    return f"{name} + RAG ({kind})" if rag else f"{name}, no retrieval"


def final_message(text: str, chunks: list[dict], system: str) -> str:
    """The assistant's message once done: the answer, then which system gave it and the passages'
    labels (kept in the chat history, while the panel below shows only the latest passages)."""
    answer = _md_escape(text) if text else "(no answer: the model ended its turn at once)"
    labels = " · ".join(f"[{i}] {_md_escape(passage_label(c)[1:-1])}" for i, c in enumerate(chunks, 1))
    return f"{answer}\n\n*{_md_escape(system)}" + (f" · Sources: {labels}*" if chunks else "*")


def status_line(system: str, rag: bool, r) -> str:
    rate = r.tokens / r.generation_s if r.generation_s > 0 else 0.0
    ret = f" · retrieval {1e3 * r.retrieval_s:.0f} ms" if rag else ""
    return f"{system} · {r.tokens} tokens in {r.generation_s:.1f} s ({rate:.1f} tokens/s){ret}"


def respond(engine: Engine, question: str, history: list | None, name: str, rag: bool, k: float):
    """The event handler of a question: yields (chat, sources, status, question box) while the answer
    streams. A missing input or a failure becomes a message in the chat, never a traceback."""
    import gradio as gr

    question, history, kind = (question or "").strip(), list(history or []), engine.inputs.index_kind
    system = system_label(name, rag, kind)
    if not question:
        yield history, gr.skip(), "Type a question first.", ""
        return
    history += [{"role": "user", "content": question}, {"role": "assistant", "content": "…"}]
    yield history, "<p><b>Sources</b>: retrieving …</p>" if rag else "", f"{name}: answering …", ""
    try:
        for r in engine.stream(question, name, bool(rag), int(k)):
            if r.done:
                history[-1] = {"role": "assistant", "content": final_message(r.text, r.sources, system)}
                yield history, sources_html(r.sources, rag, kind), status_line(system, rag, r), gr.skip()
            elif not r.text:  # retrieval done, generation starting
                yield history, sources_html(r.sources, rag, kind), gr.skip(), gr.skip()
            else:
                history[-1] = {"role": "assistant", "content": _md_escape(r.text)}
                yield history, gr.skip(), gr.skip(), gr.skip()
    except UserError as e:
        history[-1] = {"role": "assistant", "content": f"⚠️ {md_message(str(e))}"}
        yield history, "", f"Not answered: {e}", gr.skip()
    except Exception as e:
        log.exception("answering %r with %s failed", question, name)
        history[-1] = {"role": "assistant", "content": f"⚠️ Error: {type(e).__name__}: {_md_escape(str(e))}"}
        yield history, "", f"Failed: {type(e).__name__}: {e} (the log has the traceback)", gr.skip()


def overview(inputs: Inputs, md: bool = True) -> list[str]:
    """What the page can use, and the target that builds what it cannot: Markdown list items, or
    plain lines for the log."""
    code, bold, warn = (lambda s: f"`{s}`", lambda s: f"**{s}**", lambda s: f"⚠️ {md_message(s)}") if md else (
        str, str, lambda s: f"MISSING: {s}")
    lines = []
    for name in MODELS:
        why = inputs.missing_model(name)
        path = inputs.base if name == "base" else inputs.tuned
        lines.append(f"{bold(name)} model: " + (code(path) if not why else warn(why)))
    why = inputs.missing_rag()
    where = ", ".join(code(p) for p in inputs.index)
    lines.append(f"{bold('retrieval')}: {inputs.index_kind} index {where}" if not why else warn(why))
    return [f"- {line}" for line in lines] if md else lines


def build(engine: Engine, passages: int):
    """The page (a gr.Blocks); its elements carry ids (#model, #rag, #k, #chat, #question, #ask,
    #sources, #status) that the browser test drives."""
    import gradio as gr

    inputs = engine.inputs
    tuned_ok, rag_ok = inputs.missing_model("tuned") is None, inputs.missing_rag() is None
    with gr.Blocks(title="climatune chat", analytics_enabled=False) as demo:
        gr.Markdown("## climatune chat\nAsk about the corpus; compare the base and the fine-tuned model, with "
                    "and without retrieved passages. Each question is answered on its own, with the prompt "
                    "the RAG benchmark uses.")
        with gr.Accordion("Inputs", open=not (tuned_ok and rag_ok)):
            gr.Markdown("\n".join(overview(inputs)), elem_id="inputs")
        with gr.Row():
            model = gr.Radio(list(MODELS), value="tuned" if tuned_ok else "base", label="Model", elem_id="model")
            rag = gr.Checkbox(value=rag_ok, label=f"Retrieval (RAG, {inputs.index_kind} index)", elem_id="rag")
            k = gr.Slider(1, 10, value=passages, step=1, label="Passages", elem_id="k")
        chat = gr.Chatbot(label="Conversation", elem_id="chat", height=360, buttons=["copy"],
                          placeholder="Ask a question below. With retrieval on, the passages the answer was "
                                      "given appear under it, with their document and page.")
        with gr.Row():
            question = gr.Textbox(placeholder="e.g. How much has the sea level risen?", show_label=False,
                                  elem_id="question", scale=5, submit_btn=False)
            ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
        status = gr.Markdown(elem_id="status")
        sources = gr.HTML(elem_id="sources")
        clear = gr.Button("Clear", size="sm", elem_id="clear")

        def handler(q, h, m, r, n):
            yield from respond(engine, q, h, m, r, n)

        outputs = [chat, sources, status, question]
        for event in (ask.click, question.submit):
            event(handler, [question, chat, model, rag, k], outputs, show_progress="hidden")
        clear.click(lambda: ([], "", "", ""), None, outputs)
    return demo


def serve(inputs: Inputs, host: str, port: int, passages: int, index_params: dict | None = None,
          embedder: str | None = None, max_new_tokens: int | None = None, temperature: float | None = None,
          device: str = "auto") -> None:
    """Build the page and serve it in the foreground until interrupted."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # also before gradio is imported: no call home
    for var in ("NO_PROXY", "no_proxy"):  # Gradio checks its own URL at launch: never through a proxy
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1", "localhost"]))
    import gradio as gr

    engine = Engine(inputs, index_params, embedder, max_new_tokens, temperature, device=device)
    for line in overview(inputs, md=False):
        log.info("%s", line)
    demo = build(engine, passages)
    try:  # one question at a time: a CPU has no room for two generations
        demo.queue(default_concurrency_limit=1).launch(
            server_name=host, server_port=port, share=False, show_error=True, ssr_mode=False, pwa=False,
            mcp_server=False, enable_monitoring=False, footer_links=[], quiet=True, prevent_thread_lock=True,
            theme=gr.themes.Default(), css=CSS)
    except OSError as e:
        raise UserError(f"cannot serve on {host}:{port} ({e}); choose another with --port or chat.port") from None
    log.info("chat UI on http://%s:%d (Ctrl-C stops it)", host, port)
    demo.block_thread()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.chat", description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results", help="the workflow's results folder; default: %(default)s")
    ap.add_argument("--base", help="base model folder; default: RESULTS/model/base")
    ap.add_argument("--tuned", help="fine-tuned model folder; default: RESULTS/finetune/merged")
    ap.add_argument("--chunks", help="chunks.jsonl; default: RESULTS/rag/chunks.jsonl")
    ap.add_argument("--index", nargs="+", help="index folder(s), for hybrid bm25's then the dense one; "
                    "default: RESULTS/rag/index/<kind>")
    ap.add_argument("--index-type", choices=KINDS)
    ap.add_argument("--index-params", help="JSON object over config.yaml's rag.<kind>")
    ap.add_argument("--embedder", help="default: config.yaml rag.embedder")
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    ap.add_argument("--max-new-tokens", type=int)
    ap.add_argument("--passages", type=int, help="passages retrieved at first (the page has a slider)")
    ap.add_argument("--temperature", type=float, help="0: greedy")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda; default: %(default)s")
    cli_defaults(ap, "rag", {"index_type": "generate.index"})
    cli_defaults(ap, "chat", {"host": "host", "port": "port", "max_new_tokens": "max_new_tokens",
                              "passages": "passages", "temperature": "temperature"})
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    with rule_log(a.log):
        params = json.loads(a.index_params) if a.index_params else None
        inputs = Inputs.under(a.results, a.index_type, params)
        given = {"base": a.base, "tuned": a.tuned, "chunks": a.chunks}
        inputs = dataclasses.replace(inputs, **{k: Path(v) for k, v in given.items() if v})
        if a.index:
            inputs = dataclasses.replace(inputs, index=tuple(Path(p) for p in a.index))
        serve(inputs, a.host, a.port, a.passages, params, a.embedder, a.max_new_tokens, a.temperature, a.device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
