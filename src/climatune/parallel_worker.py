"""One rank of the parallel stage (started by torchrun through climatune.parallel).

The loop, per optimizer step: every data-parallel replica takes its share of the step's global
batch (tensor-parallel ranks of one replica take the same rows; pipeline stages get them through the
PipelineEngine), DeepSpeed runs forward, backward and the step, and the step's loss is averaged over
all ranks. The first step is a warm-up (allocation, DeepSpeed's first-run work); the rest are timed.
Rank 0 writes metrics.json with throughput, an epoch-time estimate, every rank's peak memory and the
loss curve.
"""

from __future__ import annotations

import logging
import os
import time

from ._util import GIB, environment, peak_memory_bytes, reset_peak_memory, write_json
from .parallel import Layout, check_batch, zero_stage

log = logging.getLogger(__name__)


def ds_config(layout: Layout, cfg: dict, accum: int, on_cuda: bool) -> dict:
    ds = {
        "train_micro_batch_size_per_gpu": cfg.get("micro_batch", 2),
        "gradient_accumulation_steps": accum,
        # torch's AdamW: no JIT build of DeepSpeed's FusedAdam on a fresh machine, same math
        "optimizer": {"type": "AdamW", "params": {"lr": cfg.get("lr", 1e-5), "weight_decay": 0.0,
                                                  "torch_adam": True}},
        "zero_optimization": {"stage": zero_stage(layout, cfg)},
        "bf16": {"enabled": bool(on_cuda and cfg.get("precision", "auto") in ("auto", "bf16"))},
        "gradient_clipping": cfg.get("max_grad_norm", 1.0),
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if layout.tp > 1:
        ds["tensor_parallel"] = {"autotp_size": layout.tp}
    return ds


def _load_hf(model_dir, mode: str, cfg: dict, dtype, device):
    import torch
    from transformers import AutoModelForCausalLM

    from . import training as T

    if mode == "full":
        m = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype, attn_implementation="sdpa")
        m.config.use_cache = False
        m.train()
        return m
    tcfg = T.TrainConfig(quantization="nf4" if mode == "qlora" else "none", lora_r=cfg.get("lora_r", 8),
                         lora_alpha=cfg.get("lora_alpha", 32), lora_dropout=cfg.get("lora_dropout", 0.0),
                         precision="bf16" if dtype == torch.bfloat16 else "fp32", gradient_checkpointing=False,
                         fused_kernels=False)
    return T.build_model(model_dir, tcfg, device)


def train(layout: Layout, model_dir, train_npy, out, cfg: dict) -> dict:
    import torch

    on_cuda = torch.cuda.is_available()
    if not on_cuda:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    import deepspeed
    import torch.distributed as dist

    deepspeed.init_distributed(dist_backend="nccl" if on_cuda else "gloo")
    rank, world, local = dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0))
    if on_cuda:
        torch.cuda.set_device(local)
    device = torch.device("cuda", local) if on_cuda else torch.device("cpu")
    dtype = torch.bfloat16 if on_cuda and cfg.get("precision", "auto") in ("auto", "bf16") else torch.float32
    mode, seed = cfg.get("mode", "full"), cfg.get("seed", 1234)
    mb, gb = cfg.get("micro_batch", 2), cfg.get("global_batch", 8)
    accum = check_batch(layout, gb, mb)
    ds = ds_config(layout, cfg, accum, on_cuda)
    from . import training as T

    T.set_seed(seed)
    reset_peak_memory(device)
    t_build = time.perf_counter()
    if layout.pp > 1:
        from deepspeed.runtime.pipe.topology import PipeDataParallelTopology

        from .parallel_pipe import build_pipeline

        model = build_pipeline(model_dir, layout.pp, dtype, PipeDataParallelTopology(num_pp=layout.pp, num_dp=layout.dp))
    else:
        keep = None
        if ds["zero_optimization"]["stage"] == 3:
            from transformers.integrations import HfDeepSpeedConfig

            keep = HfDeepSpeedConfig(ds)  # must exist before from_pretrained so weights load sharded  # noqa: F841
        model = _load_hf(model_dir, mode, cfg, dtype, device)
    params = [p for p in model.parameters() if p.requires_grad]
    engine, _, _, _ = deepspeed.initialize(model=model, model_parameters=params, config=ds)
    build_s = time.perf_counter() - t_build
    dp_rank, dp_world = _dp_coordinates(layout, engine, rank)

    data = T.BlockStream(train_npy, mb, seed)  # the fine-tune stage's data order
    seq = data.blocks.shape[1]
    steps = cfg.get("steps", 4)
    losses, times = [], []
    for step in range(steps):
        # this step's global batch (identical for every layout): this replica's micro-batches of it
        first = step * accum * dp_world + dp_rank
        batches = [data.batch(first + i * dp_world, device) for i in range(accum)]
        if on_cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        if layout.pp > 1:
            loss = engine.train_batch(data_iter=iter([(b, b) for b in batches]))
        else:
            total = 0.0
            for b in batches:
                out_ = engine(input_ids=b, labels=b)
                engine.backward(out_.loss)
                engine.step()
                total += float(out_.loss.detach()) / accum
            loss = torch.tensor(total, device=device)
        if on_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        loss = loss.detach().float().to(device).reshape(())
        dist.all_reduce(loss)  # every rank holds its replica's (or its stage's broadcast) mean loss
        losses.append(float(loss) / world)
        if rank == 0:
            log.info("%s step %d/%d loss %.5f (%.2fs)", layout.name, step + 1, steps, losses[-1], times[-1])

    peaks = [None] * world
    dist.all_gather_object(peaks, round(peak_memory_bytes(device) / GIB, 3))
    timed = times[1:] if len(times) > 1 else times
    tokens_per_s = gb * seq * len(timed) / sum(timed)
    result = {
        "layout": layout.name, "dp": layout.dp, "tp": layout.tp, "pp": layout.pp, "world_size": world,
        "mode": mode, "zero_stage": ds["zero_optimization"]["stage"], "device": device.type,
        "dtype": str(dtype).replace("torch.", ""), "global_batch": gb, "micro_batch": mb, "grad_accum": accum,
        "seq_len": int(seq), "steps": steps, "losses": [round(x, 6) for x in losses], "final_loss": round(losses[-1], 6),
        "step_s": [round(t, 4) for t in times], "tokens_per_s": round(tokens_per_s, 1),
        "epoch_time_s": round(data.n * seq / tokens_per_s, 1), "peak_gib_per_rank": peaks,
        "peak_gib_max": max(peaks), "build_s": round(build_s, 2), "trainable_parameters":
        int(sum(p.numel() for p in params)), "environment": environment() if rank == 0 else None,
    }
    if rank == 0:
        write_json(out, result)
        log.info("%s: %.0f tokens/s, epoch ~%.0fs, peak GiB per rank %s, final loss %.5f", layout.name,
                 tokens_per_s, result["epoch_time_s"], peaks, losses[-1])
    dist.barrier()
    engine.destroy()  # a suite builds the next engine in this process
    del engine, model
    import gc

    gc.collect()
    return result


def _dp_coordinates(layout: Layout, engine, rank: int) -> tuple[int, int]:
    if layout.pp > 1:
        return engine.grid.get_data_parallel_id(), engine.grid.get_data_parallel_world_size()
    if layout.tp > 1:
        from deepspeed.utils import groups

        return groups.get_data_parallel_rank(), groups.get_data_parallel_world_size()
    return rank, layout.dp
