"""One rank of the parallel stage (started by torchrun through climatune.parallel).

The loop, per optimizer step: every data-parallel replica takes its share of the step's global batch
(tensor-parallel ranks of one replica take the same rows; pipeline stages get them through the
PipelineEngine), DeepSpeed runs forward, backward and the step, and the step's loss is averaged over
all ranks. Every `checkpoint_every` steps the whole training state is saved (checkpoint.py); a
restarted job resumes from the newest complete checkpoint with its history. At the end the model is
written in Hugging Face format (export.py) and rank 0 writes metrics.json (throughput after the first
step, epoch time, every rank's peak memory, the loss curve) and train_log.csv.
"""

from __future__ import annotations

import csv
import gc
import logging
import os
import time
from pathlib import Path

from .._util import GIB, UserError, environment, peak_memory_bytes, reset_peak_memory, write_json
from . import checkpoint as C
from .build import build, ds_config, lr_lambda
from .layout import Layout, check_batch, check_master_weights
from .settings import ParallelSettings

log = logging.getLogger(__name__)

LOG_FIELDS = ["step", "loss", "lr", "tokens_per_s", "peak_gib", "elapsed_s"]


def _devices():
    """(device, dtype, on_cuda) of this rank; refuses a rank without a GPU of its own."""
    import torch

    on_cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", 0))
    if on_cuda:
        if local >= torch.cuda.device_count():
            raise UserError(f"rank with LOCAL_RANK={local} has no GPU: only {torch.cuda.device_count()} visible")
        torch.cuda.set_device(local)
        return torch.device("cuda", local), on_cuda
    return torch.device("cpu"), on_cuda


def train(layout: Layout, model_dir, train_npy, out_dir, s: ParallelSettings, run: str | None = None,
          bench: bool = False, stop_after: int = 0) -> dict | None:
    """Train one layout in this rank (every rank of the launch calls it with the same arguments).
    `bench`: no checkpoints and no model, only metrics.json. `stop_after` > 0: leave after that many
    steps of this run (a test's stand-in for a kill after a checkpoint). A GPU out-of-memory is
    recorded in oom-rank<r>.json (the allocator's reading) before the rank fails."""
    import torch

    try:
        return _train(layout, model_dir, train_npy, out_dir, s, run, bench, stop_after)
    except torch.OutOfMemoryError as e:
        _record_oom(Path(out_dir), layout, s, e)
        raise UserError(f"{layout.name}: out of GPU memory ({str(e).splitlines()[0]})") from None
    finally:
        gc.collect()  # the engine and model of _train are gone with its frame: free them for the next run
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _record_oom(out: Path, layout: Layout, s: ParallelSettings, e: Exception) -> None:
    import torch

    rank = int(os.environ.get("RANK", 0))
    free, total = torch.cuda.mem_get_info()
    write_json(out / f"oom-rank{rank}.json", {
        "oom": True, "layout": layout.name, "rank": rank, "message": str(e).splitlines()[0],
        "peak_gib": round(torch.cuda.max_memory_allocated() / GIB, 3),
        "peak_reserved_gib": round(torch.cuda.max_memory_reserved() / GIB, 3),
        "total_gib": round(total / GIB, 3), "free_gib_at_failure": round(free / GIB, 3),
        "settings": s.to_dict(), "gpu": torch.cuda.get_device_name()})


def _train(layout: Layout, model_dir, train_npy, out_dir, s: ParallelSettings, run: str | None, bench: bool,
           stop_after: int) -> dict | None:
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import deepspeed
    import torch.distributed as dist

    from .. import training as T

    deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
    device, on_cuda = _devices()
    rank, world = dist.get_rank(), dist.get_world_size()
    bf16 = on_cuda and s.precision in ("auto", "bf16")
    dtype = torch.bfloat16 if bf16 else torch.float32
    check_master_weights(layout, s.mode, s.zero_stage, bf16)
    accum = check_batch(layout, s.global_batch, s.micro_batch)
    ds = ds_config(layout, s, accum, bf16)
    out = Path(out_dir)
    ckpt_root = out / "checkpoints"
    checkpointing = s.checkpoint_every > 0 and not bench

    # --- setup: model, engine, schedule, data
    data = T.BlockStream(train_npy, s.micro_batch, s.seed)  # the fine-tune stage's data order
    seq = int(data.blocks.shape[1])
    steps = s.total_steps(data.n)
    T.set_seed(s.seed)
    if on_cuda:
        log.info("rank %d: %.2f GiB allocated before building (leftovers of an earlier run in this process?)",
                 rank, torch.cuda.memory_allocated(device) / GIB)
    reset_peak_memory(device)
    t_build = time.perf_counter()
    model, params = build(layout, model_dir, s, ds, dtype, device)
    engine, _, _, _ = deepspeed.initialize(
        model=model, model_parameters=params, config=ds,
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(s, steps)))
    build_s = time.perf_counter() - t_build
    trainable = int(sum(p.numel() for p in engine.module.parameters() if p.requires_grad))
    dp_rank, dp_world = _dp_coordinates(layout, engine, rank)
    if rank == 0:
        log.info("%s: %s, ZeRO-%d, %s, optimizer %s, %d steps of %d sequences (%d x %d micro-batches x dp %d), "
                 "%.1fM trainable parameters on rank 0, built in %.1fs", layout.name, s.mode, s.zero_stage,
                 str(dtype).replace("torch.", ""), type(engine.optimizer).__name__, steps, s.global_batch,
                 s.micro_batch, accum, dp_world, trainable / 1e6, build_s)

    # --- resume
    step, rows, elapsed_before = 0, [], 0.0
    if checkpointing:
        found = [C.latest(ckpt_root, run) if rank == 0 else (None, {})]
        dist.broadcast_object_list(found, src=0)
        folder, manifest = found[0]
        if folder is not None:
            C.load(engine, folder)
            step, rows, elapsed_before = manifest["step"], manifest["rows"], manifest["elapsed_s"]
            if rank == 0:
                log.info("resumed from %s (step %d of %d)", folder, step, steps)

    # --- train
    t_start = time.perf_counter()
    timed: list[float] = []
    first_step = step
    stop_at = min(steps, step + stop_after) if stop_after else steps
    while step < stop_at:
        # this step's global batch (identical for every layout): this replica's micro-batches of it
        first = step * accum * dp_world + dp_rank
        batches = [data.batch(first + i * dp_world, device) for i in range(accum)]
        lr = engine.get_lr()[0]
        if on_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = _step(engine, layout, batches, accum)
        if on_cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        dist.all_reduce(loss)  # every rank holds its replica's (or its stage's broadcast) mean loss
        step += 1
        if step > first_step + 1 or steps == 1:
            timed.append(dt)  # the first step of a process is warm-up (allocation, first-run work)
        rows.append({"step": step, "loss": round(float(loss) / world, 6), "lr": lr,
                     "tokens_per_s": round(s.global_batch * seq / dt, 1),
                     "peak_gib": round(peak_memory_bytes(device) / GIB, 3),
                     "elapsed_s": round(elapsed_before + time.perf_counter() - t_start, 2)})
        if rank == 0:
            log.info("%s step %d/%d loss %.5f lr %.2e %.0f tokens/s (%.2fs)", layout.name, step, steps,
                     rows[-1]["loss"], lr, rows[-1]["tokens_per_s"], dt)
        if checkpointing and step % s.checkpoint_every == 0 and step < steps:
            C.save(engine, ckpt_root, step, {"rows": rows, "elapsed_s": rows[-1]["elapsed_s"]}, run,
                   s.keep_checkpoints)

    if step < steps:
        if rank == 0:
            log.info("%s: stopped after step %d of %d as asked; rerun to continue", layout.name, step, steps)
        dist.barrier()
        engine.destroy()
        return None

    # --- results: the model, the metrics, the log
    peaks = [None] * world
    dist.all_gather_object(peaks, round(peak_memory_bytes(device) / GIB, 3))
    if not bench:
        from .export import export

        export(engine, layout, s.mode, s.zero_stage, model_dir, out / "model", s.save_dtype)
    timed = timed or [rows[-1]["elapsed_s"]]
    tokens_per_s = s.global_batch * seq * len(timed) / sum(timed)
    result = {
        "layout": layout.name, "dp": layout.dp, "tp": layout.tp, "pp": layout.pp, "world_size": world,
        "mode": s.mode, "zero_stage": s.zero_stage, "device": device.type,
        "gpu": torch.cuda.get_device_name(device) if on_cuda else None, "dtype": str(dtype).replace("torch.", ""),
        "optimizer": type(engine.optimizer).__name__, "activation_checkpointing": s.activation_checkpointing,
        "global_batch": s.global_batch, "micro_batch": s.micro_batch, "grad_accum": accum, "seq_len": seq,
        "steps": steps, "resumed_at_step": first_step, "losses": [r["loss"] for r in rows],
        "final_loss": rows[-1]["loss"], "step_s": [round(t, 4) for t in timed], "tokens_per_s": round(tokens_per_s, 1),
        "epoch_time_s": round(data.n * seq / tokens_per_s, 1), "train_blocks": data.n,
        "elapsed_s": rows[-1]["elapsed_s"], "peak_gib_per_rank": peaks, "peak_gib_max": max(peaks),
        "build_s": round(build_s, 2), "trainable_parameters": trainable, "settings": s.to_dict(),
        "model": None if bench else str(out / "model"), "environment": environment() if rank == 0 else None,
    }
    if rank == 0:
        write_json(out / "metrics.json", result)
        if not bench:
            _write_log(out / "train_log.csv", rows)
        log.info("%s: %.0f tokens/s, epoch ~%.0fs, peak GiB per rank %s, final loss %.5f", layout.name,
                 tokens_per_s, result["epoch_time_s"], peaks, rows[-1]["loss"])
    dist.barrier()
    if checkpointing and rank == 0:
        C.remove(ckpt_root)  # the written model replaces them
    dist.barrier()
    engine.destroy()
    return result


def _step(engine, layout: Layout, batches: list, accum: int):
    """Forward, backward and update of one global batch; the replica's mean loss (a 0-d fp32 tensor)."""
    if layout.pp > 1:
        loss = engine.train_batch(data_iter=iter([(b, b) for b in batches]))
        return loss.detach().float().reshape(()).to(batches[0].device if batches else engine.device)
    total = None
    for b in batches:
        loss = engine(input_ids=b, labels=b).loss if layout.tp > 1 else engine(b)
        engine.backward(loss)
        engine.step()
        total = loss.detach().float() if total is None else total + loss.detach().float()
    return (total / accum).reshape(())


def _dp_coordinates(layout: Layout, engine, rank: int) -> tuple[int, int]:
    if layout.pp > 1:
        return engine.grid.get_data_parallel_id(), engine.grid.get_data_parallel_world_size()
    if layout.tp > 1:
        from deepspeed.utils import groups

        return groups.get_data_parallel_rank(), groups.get_data_parallel_world_size()
    return rank, layout.dp


def _write_log(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
