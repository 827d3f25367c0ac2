"""precision: the same short fine-tune in fp32, fp16 (dynamic loss scaling) and bf16, side by side.

Each precision trains `precision.steps` optimizer steps with train:'s data order, seed, quantization and
LoRA settings (the fine-tune stage's own loop, finetune._loop) into results/precision/<p>/:
  fp32  plain: base and adapters compute in fp32, no autocast, no scaling.
  bf16  base in bf16 (NF4 with bf16 compute for QLoRA), adapters fp32 master weights computing under
        bf16 autocast (train.lora_compute: auto).
  fp16  as bf16 in fp16, plus dynamic loss scaling (torch.amp.GradScaler): the loss is multiplied by the
        scale before backward, gradients are unscaled before clipping, a step whose gradients overflowed
        is skipped and the scale halved. The scale after every step and the skipped steps are recorded.
"Supported" is decided by trying, never assumed: a precision whose model cannot be built or whose
forward+backward fails here is skipped with the error; one that runs but would take longer than
`max_seconds` for its steps is skipped with the measured time (first a `probe_tokens`-token
forward+backward, extrapolated to a step; then the first real step). Measured per precision: tokens/s
(median over steps), peak memory (CUDA's allocated peak; on CPU this process's peak RSS, runtime
included), the loss curve, the held-out perplexity of the adapter as trained (the first `ppl_blocks`
blocks of test.npy, scored as the perplexity stage scores them; also before training, i.e. the base in
that precision, timed with the setup) and greedy answers to the first
`questions` questions scored with the RAG stage's metrics (BLEU, ROUGE-L, chrF, token F1).

Run alone: python -m climatune.model.precision results/model/base results/tokens/train.npy \
           results/tokens/test.npy results/rag/questions.jsonl --out-dir results/precision
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._settings import Section, read_overrides
from .._util import environment, setup_logging, write_json, write_jsonl, writer_lock
from . import finetune as F
from . import training as T
from .memory import release_free_memory
from .precision_eval import describe_device, evaluate, held_out_perplexity, matmul_ms, plot

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class PrecisionSettings(Section):
    """`precision:` of config/config.yaml (every key explained there)."""

    SECTION = "precision"
    precisions: tuple
    steps: int
    micro_batch: int
    effective_batch: int | None
    gradient_checkpointing: bool
    max_seconds: float
    probe_tokens: int
    fp16_init_scale: float
    ppl_blocks: int
    questions: int
    max_new_tokens: int


class Skipped(RuntimeError):
    """This precision does not run here, or not within the time budget; the message says why."""


def study_config(train_cfg: dict | None, s: PrecisionSettings, precision: str) -> T.TrainConfig:
    """train:'s settings for one precision of the study: its steps and batch, checkpoints only at the end."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision.precisions: {precision!r} is none of {PRECISIONS}")
    cfg = T.TrainConfig.from_dict(train_cfg)
    return cfg.replace(precision=precision, max_steps=s.steps, micro_batch=s.micro_batch,
                       effective_batch=s.effective_batch or cfg.effective_batch,
                       gradient_checkpointing=s.gradient_checkpointing, checkpoint_every=s.steps, log_every=1)


# --- one precision -----------------------------------------------------------------------------


def fp32_masters(model) -> int:
    """Trainable (LoRA) weights in fp32 (peft already keeps them so); returns how many had to be cast."""
    import torch

    cast = 0
    for p in T.trainable_parameters(model):
        if p.dtype != torch.float32:
            p.data, cast = p.data.float(), cast + 1
    return cast


def probe(r: dict, tokens: int) -> float:
    """Seconds of one forward+backward of `tokens` tokens, the second of two (the first of a new shape pays
    one-off costs: kernel selection, JIT, allocation), with RNG and gradients left as they were: what it
    costs does not change the run that follows."""
    import torch

    model, dev = r["model"], r["device"]
    ids = torch.as_tensor(np.asarray(r["data"].blocks[0][:tokens], dtype=np.int64), device=dev)[None]
    scaler = r.get("scaler")
    if scaler:  # a throwaway scaler of the same scale: its state must not reach the run
        scaler = torch.amp.GradScaler(dev.type, init_scale=scaler.get_scale())
    with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
        for _ in range(2):
            t0 = time.perf_counter()
            loss = T.causal_lm_loss(model, ids, mode=r["loss_mode"], chunk_tokens=r["cfg"].loss_chunk_tokens)
            (scaler.scale(loss) if scaler else loss).backward()
            if scaler:
                scaler.unscale_(r["optimizer"])
                scaler.update()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            r["optimizer"].zero_grad(set_to_none=True)
    return dt


def setup(model_dir, train_npy, cfg: T.TrainConfig, s: PrecisionSettings) -> dict:
    """The fine-tune stage's model, optimizer, schedule and data in this precision (plus a GradScaler for
    fp16), probed; Skipped when it fails here or the probe says it would run past max_seconds."""
    import torch

    p = cfg.precision
    dev = T.resolve_device(cfg.device)
    if p == "bf16" and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise Skipped("this GPU has no bf16 (torch.cuda.is_bf16_supported() is False)")
    try:
        r = F._setup(model_dir, train_npy, cfg, None)
        r["cast_to_fp32"] = fp32_masters(r["model"])
        r["scaler"] = torch.amp.GradScaler(dev.type, init_scale=s.fp16_init_scale) if p == "fp16" else None
        probe_s = probe(r, min(s.probe_tokens, cfg.seq_len))
    except Exception as e:  # the precision does not work here: the error is the reason
        log.warning("%s does not run here: %s: %s", p, type(e).__name__, e)
        raise Skipped(f"fails on {dev.type}: {type(e).__name__}: {e}") from None
    n = min(s.probe_tokens, cfg.seq_len)
    est = probe_s * r["tokens_per_step"] / n
    r["probe"] = {"tokens": n, "seconds": round(probe_s, 4), "estimated_step_s": round(est, 2)}
    log.info("%s: a %d-token forward+backward took %.2f s: about %.1f s per %d-token step", p, n, probe_s, est,
             r["tokens_per_step"])
    if est * cfg.max_steps > s.max_seconds:
        raise Skipped(f"too slow here: a {n}-token forward+backward took {probe_s:.2f} s, about {est:.1f} s per "
                      f"{r['tokens_per_step']}-token step and {est * cfg.max_steps:.0f} s for {cfg.max_steps} "
                      f"steps, over precision.max_seconds = {s.max_seconds:g}")
    return r


def train_steps(r: dict, out: Path, s: PrecisionSettings) -> tuple[list, dict | None]:
    """The steps of the run, one _loop call each (to read the loss scale after every step); log rows and
    the loss-scaling record. Skipped when the second step's time (the first pays one-off costs) says the
    run would pass max_seconds."""
    rows: list = []
    scaler, scales, skipped_steps = r["scaler"], [], []
    r["ckpt_dir"] = out / "checkpoints"
    step = 0
    while step < r["steps"]:
        before = scaler.get_scale() if scaler else None
        step = F._loop(r, out, rows, step, step * r["accum"], step + 1)
        if scaler:
            scales.append(scaler.get_scale())
            if scales[-1] < before:  # an overflow: GradScaler skipped this optimizer step and backed off
                skipped_steps.append(step)
        if step == 2 < r["steps"]:
            dt = rows[1]["elapsed_s"] - rows[0]["elapsed_s"]
            projected = rows[1]["elapsed_s"] + (r["steps"] - 2) * dt
            if projected > s.max_seconds:
                F._write_log(out / "train_log.csv", rows)
                raise Skipped(f"too slow here: step 2 took {dt:.1f} s, about {projected:.0f} s for {r['steps']} "
                              f"steps, over precision.max_seconds = {s.max_seconds:g}")
    shutil.rmtree(r["ckpt_dir"], ignore_errors=True)  # the study does not resume; the adapter is kept
    F._write_log(out / "train_log.csv", rows)
    scaling = None
    if scaler:
        scaling = {"init_scale": s.fp16_init_scale, "final_scale": scales[-1], "scale_after_step": scales,
                   "skipped_steps": skipped_steps, "growth_factor": scaler.get_growth_factor(),
                   "backoff_factor": scaler.get_backoff_factor(), "growth_interval": scaler.get_growth_interval()}
    return rows, scaling


def one(model_dir, train_npy, test_npy, questions: list, tok, out: Path, cfg: T.TrainConfig,
        s: PrecisionSettings) -> dict:
    """Set up, train, evaluate one precision into `out`; its metrics (Skipped when it does not run)."""
    t0 = time.perf_counter()
    r = setup(model_dir, train_npy, cfg, s)
    before = held_out_perplexity(r, test_npy, s.ppl_blocks)  # the base in this precision (LoRA B is 0)
    t1 = time.perf_counter()
    rows, scaling = train_steps(r, out, s)
    t2 = time.perf_counter()
    r["model"].save_pretrained(out / "adapter", safe_serialization=True)
    ev = evaluate(r, test_npy, questions, tok, s)
    write_jsonl(out / "answers.jsonl", ev.pop("_rows"))
    losses = [x["loss"] for x in rows]
    autocast = cfg.precision != "fp32" and cfg.lora_compute == "auto"  # adapters.compute_in_dtype
    m = {"compute_dtype": str(r["dtype"]).replace("torch.", ""), "autocast": autocast, "loss_scaling": scaling,
         "steps": len(rows),
         "tokens_per_s": float(np.median([x["tokens_per_s"] for x in rows])),
         "step_s_median": round(float(np.median(np.diff([0.0] + [x["elapsed_s"] for x in rows]))), 3),
         "peak_gib": max(x["peak_gib"] for x in rows), "first_loss": losses[0], "final_loss": losses[-1],
         "losses_finite": bool(np.isfinite(losses).all()), "loss_curve": losses, **ev,
         "perplexity_before_training": before["perplexity"], "probe": r["probe"],
         "lora_weights_cast_to_fp32": r["cast_to_fp32"], "setup_s": round(t1 - t0, 2),
         "train_s": round(t2 - t1, 2), "eval_s": round(time.perf_counter() - t2, 2), "out_dir": str(out)}
    write_json(out / "metrics.json", m)
    return m


# --- the stage ---------------------------------------------------------------------------------


def settings_of(s: PrecisionSettings, cfg: T.TrainConfig) -> dict:
    mb = cfg.micro_batch
    accum = max(1, -(-cfg.effective_batch // mb))
    return {**s.to_dict(), "micro_batch": mb, "grad_accum": accum, "effective_batch": mb * accum,
            "seq_len": cfg.seq_len, "tokens_per_step": mb * accum * cfg.seq_len, "quantization": cfg.quantization,
            "double_quant": cfg.double_quant, "lora": {"r": cfg.lora_r, "alpha": cfg.lora_alpha,
                                                       "dropout": cfg.lora_dropout, "targets": list(cfg.lora_targets),
                                                       "compute": cfg.lora_compute},
            "optimizer": cfg.optimizer, "lr": cfg.lr, "schedule": cfg.schedule, "seed": cfg.seed,
            "loss": cfg.loss, "peak_memory": "CUDA max allocated on a GPU; on CPU the peak RSS of the whole "
            "process (Python, torch and the model), reset before each step"}


def run(model_dir, train_npy, test_npy, questions_jsonl, out_dir, s: PrecisionSettings | None = None,
        train_cfg: dict | None = None, out_png=None) -> dict:
    """Every precision of `s` in turn (this process), then precision.json and precision.png in out_dir."""
    import torch
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    from ..rag.questions import read_questions

    hf_logging.disable_progress_bar()
    s = s or PrecisionSettings.from_dict()
    out = Path(out_dir)
    cfg0 = study_config(train_cfg, s, "fp32")
    dev = T.resolve_device(cfg0.device)
    questions = read_questions(questions_jsonl)[: s.questions]
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    result = {"device": describe_device(dev), "precisions": {}, "skipped": {}, "settings": settings_of(s, cfg0),
              "matmul_ms_512": matmul_ms(dev), "environment": environment()}
    with writer_lock(out, "the precision study"):
        for p in s.precisions:
            shutil.rmtree(out / p, ignore_errors=True)
            try:
                result["precisions"][p] = one(model_dir, train_npy, test_npy, questions, tok, out / p,
                                              study_config(train_cfg, s, p), s)
            except Skipped as e:
                result["skipped"][p] = str(e)
                log.warning("%s skipped: %s", p, e)
            gc.collect()
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            release_free_memory()
            T.undo_fused_kernels()
    write_json(out / "precision.json", result)
    plot(result, out_png or out / "precision.png")
    for p, m in result["precisions"].items():
        log.info("%s: %.0f tokens/s, peak %.2f GiB, loss %.4f -> %.4f, perplexity %.3f, BLEU %s, ROUGE-L %s", p,
                 m["tokens_per_s"], m["peak_gib"], m["first_loss"], m["final_loss"], m["perplexity"]["perplexity"],
                 m["answers"]["bleu"], m["answers"]["rougeL"])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m climatune.model.precision", description=__doc__.splitlines()[0])
    for name in ("model_dir", "train_npy", "test_npy", "questions"):
        ap.add_argument(name)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--config", help="precision settings over config.yaml's: a JSON object or a .json/.yaml file")
    ap.add_argument("--train-config", help="train settings over config.yaml's (JSON or file)")
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    setup_logging(a.log)
    run(a.model_dir, a.train_npy, a.test_npy, a.questions, a.out_dir,
        PrecisionSettings.from_dict(read_overrides(a.config)), read_overrides(a.train_config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
