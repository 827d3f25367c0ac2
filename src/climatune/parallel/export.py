"""Write a layout's trained model in Hugging Face format (safetensors), consolidated from its shards.

- ZeRO 0-2 without TP or PP: every rank holds the whole model; rank 0 writes it.
- ZeRO-3 and AutoTP: DeepSpeed's consolidation gathers the partitions / tensor shards on rank 0.
- PipelineModule: each stage's first data-parallel rank writes its own layers as one shard
  (model-0000k-of-0000n.safetensors); rank 0 writes the index.
- LoRA / QLoRA: the adapter is merged into the 16-bit base, as the fine-tune stage does.
The weights written are the training weights (bf16 on GPUs, fp32 on CPU) cast to `save_dtype`; the fp32
master copy of a bf16 run is not what is written (float32 here means bf16 values in fp32).
The folder is written as <out>.tmp and renamed, so a killed job never leaves a half model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

_COPY = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "chat_template.jinja", "tokenizer.model", "vocab.json", "merges.txt")


def _dtype(name: str):
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def _write_shard(path: Path, tensors: dict, dtype) -> int:
    from safetensors.torch import save_file

    cpu = {k: v.detach().to("cpu", dtype).contiguous() for k, v in tensors.items()}
    save_file(cpu, str(path), metadata={"format": "pt"})
    return sum(t.numel() * t.element_size() for t in cpu.values())


def _finish(tmp: Path, out: Path, base_dir: Path, save_dtype: str, shards: dict[str, list[str]]) -> None:
    """Config, tokenizer and (for sharded weights) the index next to the weights; then the rename."""
    for name in _COPY:
        if (base_dir / name).exists():
            shutil.copy2(base_dir / name, tmp / name)
    cfg = json.loads((tmp / "config.json").read_text())
    cfg["dtype"] = save_dtype
    cfg.pop("torch_dtype", None)
    (tmp / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    if list(shards) != ["model.safetensors"]:
        weight_map = {k: f for f, keys in shards.items() for k in keys}
        if len(weight_map) != sum(map(len, shards.values())):
            raise RuntimeError(f"{out}: a tensor is in two shards ({sorted(shards)})")
        total = sum((tmp / f).stat().st_size for f in shards)
        (tmp / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)


def _strip(sd: dict, prefix: str = "model.") -> dict:
    """Keys of CausalLMLoss(model) -> keys of the Hugging Face model."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in sd.items()}


def _hf_weights(sd: dict, base_dir: Path) -> dict:
    cfg = json.loads((base_dir / "config.json").read_text())
    sd = {k: v for k, v in sd.items() if "rotary_emb" not in k}
    if cfg.get("tie_word_embeddings", False):
        sd.pop("lm_head.weight", None)  # the embedding is the head
    return sd


def export(engine, layout, mode: str, zero_stage: int, base_dir, out_dir, save_dtype: str) -> None:
    """All ranks call this; the model lands in `out_dir` (rank 0 renames it into place)."""
    import torch.distributed as dist

    base_dir, out = Path(base_dir), Path(out_dir)
    tmp = out.with_name(out.name + ".tmp")
    rank = dist.get_rank()
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    if save_dtype == "auto":  # the training weights' own dtype
        save_dtype = str(next(engine.module.parameters()).dtype).replace("torch.", "")
        save_dtype = save_dtype if save_dtype in ("bfloat16", "float16") else "float32"
    dtype = _dtype(save_dtype)
    if layout.pp > 1:
        _export_pipeline(engine, tmp, out, base_dir, save_dtype, dtype)
    elif mode != "full":
        if rank == 0:
            _export_merged_adapter(engine.module.model, tmp, out, base_dir, save_dtype)
    else:
        if zero_stage == 3 or layout.tp > 1:
            sd = engine._consolidated_16bit_state_dict()  # collective: every rank takes part
        else:
            sd = engine.module.state_dict() if rank == 0 else None
        if rank == 0:
            wrapped = type(engine.module).__name__ == "CausalLMLoss"  # tensor-parallel runs train the HF model
            weights = _hf_weights(_strip(sd) if wrapped else sd, base_dir)
            nbytes = _write_shard(tmp / "model.safetensors", weights, dtype)
            _finish(tmp, out, base_dir, save_dtype, {"model.safetensors": list(weights)})
            log.info("model written: %s (%.2f GiB, %d tensors, %s)", out, nbytes / 1024**3, len(weights), save_dtype)
    dist.barrier()


def _export_pipeline(engine, tmp: Path, out: Path, base_dir: Path, save_dtype: str, dtype) -> None:
    import torch.distributed as dist

    from .pipe import local_hf_state_dict

    grid = engine.grid
    stage, stages = grid.get_stage_id(), grid.get_pipe_parallel_world_size()
    name = f"model-{stage + 1:05d}-of-{stages:05d}.safetensors"
    keys: list[str] = []
    if grid.get_data_parallel_id() == 0:
        weights = _hf_weights(local_hf_state_dict(engine.module), base_dir)
        if weights:
            _write_shard(tmp / name, weights, dtype)
            keys = list(weights)
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, (name, keys))
    if dist.get_rank() == 0:
        shards: dict[str, list[str]] = {}
        for f, k in gathered:
            if k:
                shards[f] = k
        _finish(tmp, out, base_dir, save_dtype, shards)
        log.info("model written: %s (%d pipeline stages as shards)", out, len(shards))


def _export_merged_adapter(peft_model, tmp: Path, out: Path, base_dir: Path, save_dtype: str) -> None:
    from ..model.finetune import merge

    adapter = tmp.with_name(tmp.name + "-adapter")
    shutil.rmtree(adapter, ignore_errors=True)
    peft_model.save_pretrained(str(adapter), safe_serialization=True)
    shutil.rmtree(tmp, ignore_errors=True)
    merge(base_dir, adapter, tmp, save_dtype)
    shutil.rmtree(adapter, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    log.info("adapter merged into the %s base: %s", save_dtype, out)
