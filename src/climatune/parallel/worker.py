"""One rank of the parallel stage (started by torchrun through climatune.parallel).

The loop, per optimizer step: every data-parallel replica takes its share of the step's global batch
(tensor-parallel ranks of one replica take the same rows; pipeline stages get them through the
PipelineEngine), DeepSpeed runs forward, backward and the step, and the step's loss is averaged over
all ranks. Every `checkpoint_every` steps the whole training state is saved (checkpoint.py); a
restarted job resumes from the newest complete checkpoint with its history. At the end the model is
written in Hugging Face format (export.py) and rank 0 writes metrics.json (throughput after the first
step of the process, epoch time, every rank's allocator peak, the loss curve) and train_log.csv.
"""

from __future__ import annotations

import csv
import gc
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .._util import GIB, UserError, environment, write_json
from ..model.memory import peak_memory_bytes, reset_peak_memory
from . import checkpoint as C
from .build import build, ds_config, lr_lambda
from .layout import Layout, check_batch, check_master_weights
from .settings import ParallelSettings

log = logging.getLogger(__name__)

LOG_FIELDS = ["step", "loss", "lr", "tokens_per_s", "step_s", "peak_gib", "elapsed_s"]


@dataclass
class Run:
    """What one rank knows about the run while it trains."""

    layout: Layout
    s: ParallelSettings
    out: Path
    rank: int
    world: int
    device: object
    dtype: object
    accum: int
    steps: int = 0
    seq: int = 0
    n_blocks: int = 0
    step: int = 0
    first_step: int = 0
    rows: list = field(default_factory=list)
    timed: list = field(default_factory=list)
    elapsed_before: float = 0.0
    build_s: float = 0.0

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"


def train(layout: Layout, model_dir, train_npy, out_dir, s: ParallelSettings, run: str | None = None,
          bench: bool = False, stop_after: int = 0) -> dict | None:
    """Train one layout in this rank (every rank of the launch calls it with the same arguments).
    `bench`: no checkpoints and no model, only metrics.json. `stop_after` > 0: leave after that many
    steps of this run (a test's stand-in for a kill after a checkpoint). A GPU out-of-memory is
    recorded in oom-rank<r>.json (the allocator's reading) before the rank fails."""
    import torch

    try:
        return _train(layout, model_dir, train_npy, Path(out_dir), s, run, bench, stop_after)
    except torch.OutOfMemoryError as e:
        _record_oom(Path(out_dir), layout, s, e)
        raise UserError(f"{layout.name}: out of GPU memory ({str(e).splitlines()[0]})") from None
    finally:
        gc.collect()  # the engine and model of _train are gone with its frame: free them for the next run
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _train(layout: Layout, model_dir, train_npy, out: Path, s: ParallelSettings, run_id: str | None, bench: bool,
           stop_after: int) -> dict | None:
    """Setup, resume, the loop, results: each its own function below."""
    import torch.distributed as dist

    from ..model import training as T

    r = _setup_rank(layout, s, out)
    data = T.BlockStream(train_npy, s.micro_batch, s.seed)  # the fine-tune stage's data order
    r.seq, r.n_blocks, r.steps = int(data.blocks.shape[1]), data.n, s.total_steps(data.n)
    engine = _build_engine(r, model_dir)
    checkpointing = s.checkpoint_every > 0 and not bench
    if checkpointing:
        _resume(r, engine, run_id)
    stop_at = min(r.steps, r.step + stop_after) if stop_after else r.steps
    _loop(r, engine, data, stop_at, run_id if checkpointing else None)
    if r.step < r.steps:
        if r.rank == 0:
            log.info("%s: stopped after step %d of %d as asked; rerun to continue", layout.name, r.step, r.steps)
        dist.barrier()
        engine.destroy()
        return None
    result = _finish(r, engine, model_dir, bench)
    if checkpointing and r.rank == 0:
        C.remove(out / "checkpoints")  # the written model replaces them
    dist.barrier()
    engine.destroy()
    return result


def _setup_rank(layout: Layout, s: ParallelSettings, out: Path) -> Run:
    """Process group, this rank's device and dtype, and the checks that need to know them."""
    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import deepspeed
    import torch.distributed as dist

    deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
    device = _device()
    bf16 = device.type == "cuda" and s.precision in ("auto", "bf16")
    check_master_weights(layout, s.mode, s.zero_stage, bf16)
    return Run(layout, s, out, dist.get_rank(), dist.get_world_size(), device,
               torch.bfloat16 if bf16 else torch.float32, check_batch(layout, s.global_batch, s.micro_batch))


def _device():
    """This rank's device; refuses a rank without a GPU of its own."""
    import torch

    if not torch.cuda.is_available():
        return torch.device("cpu")
    local = int(os.environ.get("LOCAL_RANK", 0))
    if local >= torch.cuda.device_count():
        raise UserError(f"rank with LOCAL_RANK={local} has no GPU: only {torch.cuda.device_count()} visible")
    torch.cuda.set_device(local)
    return torch.device("cuda", local)


def _build_engine(r: Run, model_dir):
    import deepspeed
    import torch

    from ..model import training as T

    T.set_seed(r.s.seed)
    if r.on_cuda:
        log.info("rank %d: %.2f GiB allocated before building (leftovers of an earlier run in this process?)",
                 r.rank, torch.cuda.memory_allocated(r.device) / GIB)
    reset_peak_memory(r.device)
    t0 = time.perf_counter()
    ds = ds_config(r.layout, r.s, r.accum, r.dtype == torch.bfloat16)
    model, params = build(r.layout, model_dir, r.s, ds, r.dtype, r.device)
    engine, _, _, _ = deepspeed.initialize(
        model=model, model_parameters=params, config=ds,
        lr_scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(r.s, r.steps)))
    r.build_s = time.perf_counter() - t0
    if r.rank == 0:
        s = r.s
        log.info("%s: %s, ZeRO-%d, %s, optimizer %s, %d steps of %d sequences (%d x %d micro-batches x dp %d), "
                 "%.1fM trainable parameters on rank 0, built in %.1fs", r.layout.name, s.mode, s.zero_stage,
                 str(r.dtype).replace("torch.", ""), type(engine.optimizer).__name__, r.steps, s.global_batch,
                 s.micro_batch, r.accum, _dp_coordinates(r.layout, engine, r.rank)[1],
                 _trainable(engine) / 1e6, r.build_s)
    return engine


def _resume(r: Run, engine, run_id: str) -> None:
    """Continue from the newest complete checkpoint of this run, if any (rank 0 decides, all load)."""
    import torch.distributed as dist

    found = [C.latest(r.out / "checkpoints", run_id) if r.rank == 0 else (None, {})]
    dist.broadcast_object_list(found, src=0)
    folder, manifest = found[0]
    if folder is None:
        return
    C.load(engine, folder, r.rank, r.s.mode != "full")
    r.step = r.first_step = manifest["step"]
    r.rows, r.elapsed_before = manifest["rows"], manifest["elapsed_s"]
    if r.rank == 0:
        log.info("resumed from %s (step %d of %d)", folder, r.step, r.steps)


def _loop(r: Run, engine, data, stop_at: int, run_id: str | None) -> None:
    """Train up to step `stop_at`, logging every step and checkpointing every `checkpoint_every`."""
    import torch
    import torch.distributed as dist

    t_start = time.perf_counter()
    dp_rank, dp_world = _dp_coordinates(r.layout, engine, r.rank)
    while r.step < stop_at:
        # this step's global batch (identical for every layout): this replica's micro-batches of it
        first = r.step * r.accum * dp_world + dp_rank
        batches = [data.batch(first + i * dp_world, r.device) for i in range(r.accum)]
        lr = engine.get_lr()[0]
        if r.on_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = _step(engine, r.layout, batches, r.accum)
        if r.on_cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        dist.all_reduce(loss)  # every rank holds its replica's (or its stage's broadcast) mean loss
        r.step += 1
        if r.step > r.first_step + 1:
            r.timed.append(dt)  # the first step of a process is warm-up (allocation, first-run work)
        r.rows.append({"step": r.step, "loss": round(float(loss) / r.world, 6), "lr": lr,
                       "tokens_per_s": round(r.s.global_batch * r.seq / dt, 1), "step_s": round(dt, 4),
                       "peak_gib": round(peak_memory_bytes(r.device) / GIB, 3),
                       "elapsed_s": round(r.elapsed_before + time.perf_counter() - t_start, 2)})
        if r.rank == 0:
            log.info("%s step %d/%d loss %.5f lr %.2e %.0f tokens/s (%.2fs)", r.layout.name, r.step, r.steps,
                     r.rows[-1]["loss"], lr, r.rows[-1]["tokens_per_s"], dt)
        if run_id and r.step % r.s.checkpoint_every == 0 and r.step < r.steps:
            C.save(engine, r.out / "checkpoints", r.step, {"rows": r.rows, "elapsed_s": r.rows[-1]["elapsed_s"]},
                   run_id, r.s.keep_checkpoints, r.rank, r.s.mode != "full")


def _step(engine, layout: Layout, batches: list, accum: int):
    """Forward, backward and update of one global batch; the replica's mean loss (a 0-d fp32 tensor)."""
    if layout.pp > 1:
        loss = engine.train_batch(data_iter=iter([(b, b) for b in batches]))
        return loss.detach().float().reshape(()).to(batches[0].device)
    total = None
    for b in batches:
        loss = engine(input_ids=b, labels=b).loss if layout.tp > 1 else engine(b)
        engine.backward(loss)
        engine.step()
        total = loss.detach().float() if total is None else total + loss.detach().float()
    return (total / accum).reshape(())


def _finish(r: Run, engine, model_dir, bench: bool) -> dict:
    """Write the model (every rank takes part), then rank 0 writes metrics.json and train_log.csv."""
    import torch
    import torch.distributed as dist

    peaks = [None] * r.world
    dist.all_gather_object(peaks, round(peak_memory_bytes(r.device) / GIB, 3))
    if not bench:
        from .export import export

        export(engine, r.layout, r.s.mode, r.s.zero_stage, model_dir, r.out / "model", r.s.save_dtype)
    # steady-state throughput; a resumed run with a single step left has only that (warm-up) step
    timed = r.timed or [r.rows[-1]["step_s"]]
    tokens_per_s = r.s.global_batch * r.seq * len(timed) / sum(timed)
    s = r.s
    result = {
        "layout": r.layout.name, "dp": r.layout.dp, "tp": r.layout.tp, "pp": r.layout.pp, "world_size": r.world,
        "mode": s.mode, "zero_stage": s.zero_stage, "device": r.device.type,
        "gpu": torch.cuda.get_device_name(r.device) if r.on_cuda else None, "dtype": str(r.dtype).replace("torch.", ""),
        "optimizer": type(engine.optimizer).__name__, "activation_checkpointing": s.activation_checkpointing,
        "global_batch": s.global_batch, "micro_batch": s.micro_batch, "grad_accum": r.accum, "seq_len": r.seq,
        "steps": r.steps, "resumed_at_step": r.first_step, "losses": [x["loss"] for x in r.rows],
        "final_loss": r.rows[-1]["loss"], "step_s": [round(t, 4) for t in timed], "tokens_per_s": round(tokens_per_s, 1),
        "epoch_time_s": round(r.n_blocks * r.seq / tokens_per_s, 1), "train_blocks": r.n_blocks,
        "elapsed_s": r.rows[-1]["elapsed_s"],
        # torch's allocator peak per rank (CUDA context and NCCL buffers not included), since this process began
        "peak_gib_per_rank": peaks, "peak_gib_max": max(peaks), "build_s": round(r.build_s, 2),
        "trainable_parameters": _trainable(engine), "settings": s.to_dict(),
        "model": None if bench else str(r.out / "model"), "environment": environment() if r.rank == 0 else None,
    }
    if r.rank == 0:
        write_json(r.out / "metrics.json", result)
        if not bench:
            _write_log(r.out / "train_log.csv", r.rows)
        log.info("%s: %.0f tokens/s, epoch ~%.0fs, peak GiB per rank %s, final loss %.5f", r.layout.name,
                 tokens_per_s, result["epoch_time_s"], peaks, r.rows[-1]["loss"])
    return result


def _trainable(engine) -> int:
    return int(sum(p.numel() for p in engine.module.parameters() if p.requires_grad))


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
        w = csv.DictWriter(f, fieldnames=LOG_FIELDS, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
