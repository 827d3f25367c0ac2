"""report_tables: the run's headline tables as small HTML pages for `snakemake --report`, where a table
reads better than a JSON file: the corpus (documents kept and skipped, and why), the probe's tries and
choice, held-out perplexity with its 95% intervals (and a plot), the parallel layouts, the hyper-parameter search, the precision
study, the export's files and their llama.cpp check, and the run's
environment (the resolved configuration and the versions of the packages that computed it).

Run alone: python -m climatune.model.report_tables --manifest results/corpus/manifest.tsv \\
    --probe results/probe/probe.json --perplexity results/eval/perplexity.json \\
    --parallel results/parallel/metrics.json --config config/config.yaml --out-dir results/report
"""

from __future__ import annotations

import argparse
import csv
import html
import logging
import platform
from importlib import metadata
from pathlib import Path

from .._util import figure, read_json, setup_logging

log = logging.getLogger(__name__)

PACKAGES = ("torch", "transformers", "peft", "accelerate", "bitsandbytes", "deepspeed", "sentence-transformers",
            "faiss-cpu", "bm25s", "pymupdf", "snakemake", "gguf", "llama_cpp_python", "gradio", "numpy")
STYLE = ("body{font-family:system-ui,sans-serif;margin:1em;color:#222}table{border-collapse:collapse;"
         "margin:.5em 0 1.2em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
         "th{background:#f1f3f5}td.n{text-align:right}caption{text-align:left;"
         "font-weight:600;padding:4px 0}pre{background:#f8f9fa;padding:8px;font-size:12px}")


def table(caption: str, header: list, rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, float):
            v = f"{v:.4g}"
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{cell(h)}</th>" for h in header)
    def td(v):
        return f"<td class='n'>{cell(v)}</td>" if isinstance(v, (int, float)) else f"<td>{cell(v)}</td>"

    body = "".join("<tr>" + "".join(td(v) for v in r) + "</tr>" for r in rows)
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def page(title: str, *parts: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h2>{html.escape(title)}</h2>{''.join(parts)}</body></html>")


def corpus_page(manifest_tsv) -> str:
    with open(manifest_tsv) as f:
        docs = list(csv.DictReader(f, delimiter="\t"))
    kept = [d for d in docs if d["status"] == "ok"]
    skipped = [d for d in docs if d["status"] != "ok"]
    summary = table("Summary", ["documents", "kept", "skipped", "pages used", "characters"],
                    [[len(docs), len(kept), len(skipped), sum(int(d["pages_used"] or 0) for d in kept),
                      sum(int(d["chars"] or 0) for d in kept)]])
    skip = table("Skipped documents and why", ["file", "status", "reason"],
                 [[d["file"], d["status"], d["reason"]] for d in skipped]) if skipped else "<p>No document skipped.</p>"
    docs_t = table("Documents kept", ["document", "pages", "pages used", "characters", "language"],
                   [[d["doc"], d["pages"], d["pages_used"], d["chars"], d["language"]] for d in kept])
    return page("Corpus", summary, skip, docs_t)


def probe_page(probe_json) -> str:
    p = read_json(probe_json)
    ch = p["chosen"]
    tries = sorted(p["tries"], key=lambda t: (t["gradient_checkpointing"], t["micro_batch"]))
    rows = [["on" if t["gradient_checkpointing"] else "off", t["micro_batch"], "yes" if t["fits"] else "no",
             t.get("tokens_per_s"), t.get("peak_gib")] for t in tries]
    return page("Probe: micro-batch and checkpointing",
                f"<p>Device {html.escape(p['device'])}, budget {p['budget_gib']} GiB, seq_len {p['seq_len']}. "
                f"<b>Chosen: micro-batch {ch['micro_batch']} x accumulation {ch['grad_accum']}, checkpointing "
                f"{'on' if ch['gradient_checkpointing'] else 'off'}</b> &mdash; {html.escape(ch['why'])}</p>",
                table("Every try", ["checkpointing", "micro-batch", "fits", "tokens/s", "peak GiB"], rows))


MODELS = ("base", "base_as_trained", "tuned_as_trained", "tuned_merged")
DROPS = (("drop_pct", "tuned as trained vs base"), ("drop_pct_merged", "tuned merged (16-bit) vs base"),
         ("drop_pct_quantized", "tuned as trained vs base as trained (both NF4)"))


def perplexity_page(ppl_json, out_png) -> str:
    r = read_json(ppl_json)
    rows = [[m, r[m]["perplexity"], f"{r[m]['ci95'][0]:.3f} – {r[m]['ci95'][1]:.3f}", r[m].get("evaluated", {})
             .get("weights") if isinstance(r[m].get("evaluated"), dict) else None] for m in MODELS if m in r]
    drops = [[label, r[k], f"{r[k + '_ci95'][0]:.2f} – {r[k + '_ci95'][1]:.2f}"] for k, label in DROPS if k in r]
    plot_perplexity(r, out_png)
    note = f"<p>{html.escape(r['interval_note'])}</p>" if r.get("interval_note") else ""
    return page("Held-out perplexity",
                f"<p>{r['tokens']} tokens in {r['blocks']} blocks of {r['seq_len']} held-out tokens"
                f" ({r.get('documents') or '?'} documents); {html.escape(r['interval_method'])}.</p>", note,
                table("Perplexity (95% interval)", ["model", "perplexity", "95% interval", "weights"], rows),
                table("Perplexity drop from base, % (95% interval)", ["comparison", "drop %", "95% interval"], drops))


def plot_perplexity(r: dict, out_png) -> None:
    names = [m for m in MODELS if m in r]
    with figure(out_png, 1, (7, 3.6)) as (_, ax):
        ax = ax[0] if hasattr(ax, "__len__") else ax
        vals = [r[m]["perplexity"] for m in names]
        err = [[v - r[m]["ci95"][0] for m, v in zip(names, vals)], [r[m]["ci95"][1] - v for m, v in zip(names, vals)]]
        ax.bar(names, vals, yerr=err, capsize=6, color=["tab:gray", "tab:gray", "tab:blue", "tab:blue"][:len(names)])
        ax.set(ylabel="perplexity (lower is better)", title="held-out perplexity, 95% document bootstrap")
        ax.grid(axis="y", alpha=0.3)


def parallel_page(metrics_json) -> str:
    m = read_json(metrics_json)["layouts"]
    keys = ("world_size", "mode", "zero_stage", "tokens_per_s", "speedup", "peak_gib_max", "mem_ratio", "final_loss",
            "max_loss_diff", "perplexity", "device", "dtype")
    return page("Parallel layouts (DeepSpeed)",
                table("One row per layout; speedup and memory against `single`", ["layout", *keys],
                      [[name, *(row.get(k) for k in keys)] for name, row in m.items()]))


def export_page(export_json) -> str:
    e = read_json(export_json)
    c = e["gguf_check"]
    files = [["model-16bit (safetensors)", e["dtype"], e["safetensors_bytes"] / 2**20, None, None, None, "–"]]
    by_file = {f["file"]: f for f in c.get("files", [])}
    for g in e["gguf"]:
        f = by_file.get(g["file"], {})
        files.append([g["file"], g["type"], g["bytes"] / 2**20, g.get("bits_per_weight"), f.get("top1_agreement"),
                      f.get("greedy_match_tokens"), g["sha256"][:16] + "…"])
    verdict = "passed" if c.get("passed") else "FAILED: " + "; ".join(map(str, c.get("failures", [])))
    return page("Export: 16-bit safetensors and GGUF",
                f"<p>{html.escape(e['source'])} exported; the GGUF files checked with {html.escape(c['loader'])}: "
                f"<b>{html.escape(verdict)}</b>. Greedy continuation of “{html.escape(c['prompt'])}” by "
                f"{html.escape(c.get('generated_by', ''))}: “{html.escape(c['generated'])}”.</p>",
                table("Files (top-1 agreement and matching greedy tokens against transformers on the 16-bit model)",
                      ["file", "type", "MiB", "bits/weight", "top-1 agreement", "greedy tokens matching", "sha256"],
                      files))


def precision_page(precision_json) -> str:
    d = read_json(precision_json)
    rows = []
    for name, m in d["precisions"].items():
        ls, a, ppl = m.get("loss_scaling") or {}, m.get("answers") or {}, m.get("perplexity") or {}
        rows.append([name, m["tokens_per_s"], m["peak_gib"], m["first_loss"], m["final_loss"],
                     m.get("perplexity_before_training"), ppl.get("perplexity"), a.get("bleu"), a.get("rougeL"),
                     a.get("chrf"), f"{ls['init_scale']:g} → {ls['final_scale']:g}, skipped {ls['skipped_steps']}"
                     if ls else "–"])
    skipped = table("Skipped, and why", ["precision", "reason"], [[k, v] for k, v in d["skipped"].items()]) \
        if d.get("skipped") else "<p>No precision skipped.</p>"
    return page("Precision study: the same short fine-tune in each compute precision",
                f"<p>Device: {html.escape(str(d['device']))}.</p>",
                table("Per precision (same data, seed and LoRA settings; fp32 LoRA master weights in all)",
                      ["precision", "tokens/s", "peak GiB", "first loss", "final loss", "ppl before", "ppl after",
                       "BLEU", "ROUGE-L", "chrF", "fp16 loss scale"], rows), skipped)


def hpo_page(hpo_json) -> str:
    h = read_json(hpo_json)
    best = h["best"]
    def label(params):
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())

    rows = [[t["rung"], t["slot"], label(t["params"]), t["steps"], t["val_loss"],
             t.get("train_loss"), t.get("seconds"), f"rung {t['parent']['rung']} {t['parent']['slot']}"
             if t.get("parent") else "–"] for t in h["trials"]]
    rungs = ", ".join(f"rung {r['rung']}: {r['trials']} trials to {r['steps']} steps" for r in h["rungs"])
    return page("Hyper-parameter search (successive halving)",
                f"<p>eta {h['eta']}; {html.escape(rungs)}. <b>Winner: {html.escape(label(best['params']))}</b>, "
                f"validation loss {best['val_loss']:.4f} after {best['steps']} steps"
                f"{' (finetune trains with it: hpo.apply)' if h.get('apply') else ''}.</p>",
                table("Every trial, best first within each rung (validation loss in nats/token)",
                      ["rung", "slot", "settings", "steps", "val loss", "train loss", "seconds", "continues"], rows))


def versions() -> list[list]:
    rows = [["python", platform.python_version()], ["platform", platform.platform()]]
    for name in PACKAGES:
        try:
            rows.append([name, metadata.version(name)])
        except metadata.PackageNotFoundError:
            rows.append([name, "not installed"])
    return rows


def environment_page(config: dict) -> str:
    import yaml

    return page("Environment: resolved configuration and package versions",
                table("Package versions of this run", ["package", "version"], versions()),
                "<h3>Resolved configuration (config.yaml with every --configfile / --config applied)</h3>",
                f"<pre>{html.escape(yaml.safe_dump(config, sort_keys=False))}</pre>")


def run(out_dir, manifest=None, probe=None, perplexity=None, parallel=None, config: dict | None = None,
        export=None, precision=None, hpo=None) -> list:
    """Write each page whose input is given; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pages = {"corpus.html": (corpus_page, manifest), "probe.html": (probe_page, probe),
             "parallel.html": (parallel_page, parallel), "environment.html": (environment_page, config),
             "export.html": (export_page, export), "precision.html": (precision_page, precision),
             "hpo.html": (hpo_page, hpo)}
    written = []
    for name, (make, arg) in pages.items():
        if arg is not None:
            (out / name).write_text(make(arg))
            written.append(out / name)
    if perplexity is not None:
        (out / "perplexity.html").write_text(perplexity_page(perplexity, out / "perplexity.png"))
        written += [out / "perplexity.html", out / "perplexity.png"]
    log.info("wrote %s", ", ".join(p.name for p in written))
    return written


def main(argv: list[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(prog="python -m climatune.model.report_tables", description=__doc__.splitlines()[0])
    ap.add_argument("--manifest")
    ap.add_argument("--probe")
    ap.add_argument("--perplexity")
    ap.add_argument("--parallel")
    ap.add_argument("--export")
    ap.add_argument("--precision")
    ap.add_argument("--hpo")
    ap.add_argument("--config", help="the resolved configuration (YAML) for the environment page")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    cfg = yaml.safe_load(Path(a.config).read_text()) if a.config else None
    run(a.out_dir, a.manifest, a.probe, a.perplexity, a.parallel, cfg, a.export, a.precision, a.hpo)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
