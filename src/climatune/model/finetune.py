"""finetune: QLoRA fine-tuning of the prepared model on the packed training blocks.

One loop, read top to bottom (nanoGPT style). Checkpoints every `checkpoint_every` steps keep the
adapter, optimizer, scheduler, RNG states and the data position; a restarted job resumes from the
newest complete checkpoint and ends where an uninterrupted run would. Outputs: the adapter
(safetensors), train_log.csv (step, loss, lr, tokens/s, peak memory), a loss plot, summary.json, and
a merged 16-bit model for the later stages.

Run alone: python -m climatune.model.finetune results/model/base results/tokens/train.npy --out-dir results/finetune
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import time
from pathlib import Path

import numpy as np

from .._settings import read_overrides
from .._util import GIB, figure, read_json, setup_logging, write_json, writer_lock
from . import checkpoint as C
from . import training as T
from .masking import masking_on
from .memory import peak_memory_bytes, reset_peak_memory

log = logging.getLogger(__name__)

LOG_FIELDS = ["step", "loss", "lr", "tokens_per_s", "peak_gib", "elapsed_s"]


def resolve_batch(cfg: T.TrainConfig, probe: dict | None) -> tuple[int, int, bool]:
    """(micro_batch, grad_accum, gradient_checkpointing) from config, or from the probe's choice."""
    gc = cfg.gradient_checkpointing
    if cfg.micro_batch == "auto":
        if not probe:
            raise ValueError("train.micro_batch is 'auto' but no probe result was given")
        ch = probe["chosen"]
        mb, accum = ch["micro_batch"], ch["grad_accum"]
        if gc == "auto":
            gc = ch["gradient_checkpointing"]
    else:
        mb = int(cfg.micro_batch)
        accum = max(1, -(-cfg.effective_batch // mb))
    if gc == "auto":
        gc = True
    if mb * accum != cfg.effective_batch:
        log.warning("effective batch is %d x %d = %d, not train.effective_batch=%d (never smaller)", mb, accum,
                    mb * accum, cfg.effective_batch)
    return mb, accum, bool(gc)


# --- the loop -----------------------------------------------------------------------------------


def train(model_dir: str | Path, train_npy: str | Path, out_dir: str | Path, cfg: T.TrainConfig,
          probe: dict | None = None, max_steps_this_run: int = 0) -> dict:
    """Fine-tune and write adapter/, train_log.csv, summary.json into out_dir (resuming if possible).

    `max_steps_this_run` > 0 stops early after that many steps (used to test resume). Another live process
    training into the same folder is refused (writer_lock)."""
    out = Path(out_dir)
    with writer_lock(out, "a fine-tune"):
        r = _setup(model_dir, train_npy, cfg, probe)
        r["ckpt_dir"] = out / "checkpoints"
        step, micro_step, rows = _resume(r)
        stop_at = min(r["steps"], step + max_steps_this_run) if max_steps_this_run else r["steps"]
        step = _loop(r, out, rows, step, micro_step, stop_at)
        _write_log(out / "train_log.csv", rows)
        if step < r["steps"]:
            log.info("stopped after step %d of %d as asked; rerun to continue", step, r["steps"])
            return {"step": step, "steps": r["steps"]}
        r["model"].save_pretrained(out / "adapter", safe_serialization=True)
        return _summary(r, rows, out)


def _setup(model_dir, train_npy, cfg: T.TrainConfig, probe: dict | None) -> dict:
    """Device, precision, batch geometry, model, optimizer, schedule and data of the run; logged."""
    device = T.resolve_device(cfg.device)
    if device.type == "cuda":
        T.configure_cuda_allocator()
    dtype = T.resolve_dtype(cfg.precision, device)
    mb, accum, gc = resolve_batch(cfg, probe)
    cfg = cfg.replace(gradient_checkpointing=gc, micro_batch=mb)
    loss_mode = T.resolve_loss(cfg.loss, device)
    T.set_seed(cfg.seed)
    model = T.build_model(model_dir, cfg, device)
    optimizer = T.build_optimizer(model, cfg)
    masking = masking_on(cfg.document_masking, cfg.seq_len)
    data = T.BlockStream(train_npy, mb, cfg.seed, masking=masking)
    steps = T.total_steps(cfg, data.n, mb * accum)
    r = dict(cfg=cfg, device=device, dtype=dtype, mb=mb, accum=accum, gc=gc, loss_mode=loss_mode, model=model,
             masking=masking,
             optimizer=optimizer, data=data, steps=steps, scheduler=T.build_scheduler(optimizer, cfg, steps),
             run_id=C.run_id(cfg, mb, accum, model_dir, train_npy), tokens_per_step=mb * accum * cfg.seq_len,
             n_train=sum(p.numel() for p in T.trainable_parameters(model)))
    log.info("device %s, compute %s, loss %s, micro-batch %d x accumulation %d = %d sequences = %d tokens/step",
             device, str(dtype).replace("torch.", ""), loss_mode, mb, accum, mb * accum, r["tokens_per_step"])
    log.info("%d steps (%.2f epochs of %d blocks), %.2fM trainable parameters, gradient checkpointing %s, "
             "document masking %s", steps, steps * mb * accum / data.n, data.n, r["n_train"] / 1e6,
             "on" if gc else "off", "on" if masking else "off")
    for note in T.differences_from_gpu_recipe(cfg, device, dtype):
        log.info("differs from the GPU recipe: %s", note)
    return r


def _resume(r: dict) -> tuple[int, int, list]:
    """(step, micro_step, log rows so far) to continue from: the newest whole checkpoint of this run that
    loads (a damaged one is skipped for the one before it, saying so), else the start."""
    for ckpt, manifest in C.candidates(r["ckpt_dir"], r["run_id"]):
        try:
            C.load(ckpt, r["model"], r["optimizer"], r["scheduler"])
        except Exception as e:  # a file that verified but does not load: try the previous checkpoint
            log.warning("checkpoint %s does not load (%s: %s); trying the one before it", ckpt, type(e).__name__, e)
            continue
        log.info("resumed from %s (step %d of %d)", ckpt, manifest["step"], r["steps"])
        return manifest["step"], manifest["micro_step"], manifest["rows"]
    return 0, 0, []


def _loop(r: dict, out: Path, rows: list, step: int, micro_step: int, stop_at: int) -> int:
    """Optimizer steps up to `stop_at`; appends to `rows`; checkpoints as configured. Returns the step."""
    import torch

    cfg, model, device, accum = r["cfg"], r["model"], r["device"], r["accum"]
    scaler = r.get("scaler")  # fp16 loss scaling (torch.amp.GradScaler, model/precision.py); None otherwise
    t_start = time.perf_counter()
    elapsed_before = rows[-1]["elapsed_s"] if rows else 0.0
    reset_peak_memory(device)
    while step < stop_at:
        t0 = time.perf_counter()
        loss_sum = 0.0
        # forward / backward over the micro-batches of one optimizer step
        for _ in range(accum):
            batch = r["data"].inputs(micro_step, device)
            micro_step += 1
            loss = T.causal_lm_loss(model, mode=r["loss_mode"], chunk_tokens=cfg.loss_chunk_tokens, **batch) / accum
            (scaler.scale(loss) if scaler else loss).backward()
            loss_sum += float(loss.detach())
        # update: clip, step, schedule
        if scaler:  # gradients back to their true scale before clipping
            scaler.unscale_(r["optimizer"])
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(T.trainable_parameters(model), cfg.max_grad_norm)
        lr = r["scheduler"].get_last_lr()[0]
        if scaler:  # skips the step when a gradient overflowed, then adapts the scale
            scaler.step(r["optimizer"])
            scaler.update()
        else:
            r["optimizer"].step()
        r["scheduler"].step()
        r["optimizer"].zero_grad(set_to_none=True)
        step += 1
        # timing and logging
        if device.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        rows.append({"step": step, "loss": round(loss_sum, 6), "lr": lr,
                     "tokens_per_s": round(r["tokens_per_step"] / dt, 1),
                     "peak_gib": round(peak_memory_bytes(device) / GIB, 3),
                     "elapsed_s": round(elapsed_before + time.perf_counter() - t_start, 2)})
        if step % cfg.log_every == 0 or step == r["steps"]:
            log.info("step %d/%d loss %.4f lr %.2e %.0f tokens/s peak %.2f GiB", step, r["steps"], loss_sum, lr,
                     r["tokens_per_step"] / dt, rows[-1]["peak_gib"])
        # checkpoint (and the log up to it)
        if step % cfg.checkpoint_every == 0 or step == r["steps"]:
            _write_log(out / "train_log.csv", rows)
            C.save(r["ckpt_dir"], step, micro_step, model, r["optimizer"], r["scheduler"], r["run_id"],
                   cfg.keep_checkpoints, {"rows": rows, "elapsed_s": rows[-1]["elapsed_s"]})
    return step


def _summary(r: dict, rows: list, out: Path) -> dict:
    tail = [x["loss"] for x in rows[-max(1, len(rows) // 10):]]
    summary = {"steps": r["steps"], "micro_batch": r["mb"], "grad_accum": r["accum"],
               "effective_batch": r["mb"] * r["accum"], "gradient_checkpointing": r["gc"],
               "seq_len": r["cfg"].seq_len, "document_masking": r["masking"], "device": str(r["device"]),
               "compute_dtype": str(r["dtype"]).replace("torch.", ""), "loss": r["loss_mode"],
               "first_loss": rows[0]["loss"], "final_loss": rows[-1]["loss"], "final_loss_mean_last_10pct":
               float(np.mean(tail)), "tokens_per_s_median": float(np.median([x["tokens_per_s"] for x in rows])),
               "peak_gib": max(x["peak_gib"] for x in rows), "trainable_parameters": r["n_train"],
               "elapsed_s": rows[-1]["elapsed_s"], "config": r["cfg"].to_dict(), "run_id": r["run_id"]}
    write_json(out / "summary.json", summary)
    log.info("done: loss %.4f -> %.4f in %.0fs", summary["first_loss"], summary["final_loss"], summary["elapsed_s"])
    return summary


def _write_log(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


# --- after training -----------------------------------------------------------------------------


def merge(model_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path, dtype: str = "bfloat16") -> None:
    """Fold the adapter into the 16-bit base weights (not the 4-bit ones) and save a plain model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    td = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[dtype]
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.to(td).save_pretrained(out_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(str(model_dir)).save_pretrained(out_dir)
    log.info("merged adapter into %s weights: %s", dtype, out_dir)


def plot_loss(log_csv: str | Path, out_png: str | Path, title: str = "") -> None:
    with open(log_csv) as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows]
    with figure(out_png, 2, (10, 3.6)) as (_, ax):
        ax[0].plot(steps, [float(r["loss"]) for r in rows], marker="." if len(rows) < 60 else None)
        ax[0].set(xlabel="optimizer step", ylabel="training loss (nats/token)", title=title or "fine-tuning loss")
        ax[1].plot(steps, [float(r["tokens_per_s"]) for r in rows], color="tab:green")
        ax[1].set(xlabel="optimizer step", ylabel="tokens/s", title="throughput")
        for a in ax:
            a.grid(alpha=0.3)


def run(model_dir, train_npy, out_dir, train_cfg: dict, probe_json=None, merged_dir=None,
        merge_dtype: str = "bfloat16", loss_png=None) -> dict:
    """The stage: train (resuming), then plot, then merge."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    cfg = T.TrainConfig.from_dict(train_cfg)
    probe = read_json(probe_json) if probe_json else None
    summary = train(model_dir, train_npy, out_dir, cfg, probe)
    plot_loss(Path(out_dir) / "train_log.csv", loss_png or Path(out_dir) / "loss.png")
    if merged_dir:
        merge(model_dir, Path(out_dir) / "adapter", merged_dir, merge_dtype)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.finetune", description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("train_npy")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--config", help="train settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--probe", help="probe.json (for micro_batch: auto)")
    ap.add_argument("--merged-dir", help="also write the merged 16-bit model here")
    ap.add_argument("--max-steps-this-run", type=int, default=0, help="stop after N steps (resume test)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    cfg = T.TrainConfig.from_dict(read_overrides(a.config))
    if a.max_steps_this_run:
        train(a.model_dir, a.train_npy, a.out_dir, cfg, read_json(a.probe) if a.probe else None,
              a.max_steps_this_run)
        return 0
    run(a.model_dir, a.train_npy, a.out_dir, cfg.to_dict(), a.probe, a.merged_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
