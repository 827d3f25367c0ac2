#!/usr/bin/env bash
# The GPU runs of the parallel stage (bench/GPU.md), in calls that each fit the lent machine's 10-minute
# limit: no run starts after the deadline, and runs done by an earlier call on the same machine are
# reused from .bench-work/ (so the `single` baseline of the 4-GPU table is measured on the same machine).
#   bash bench/parallel_gpu_runs.sh small [seconds]  # 3B then 1B: 2-GPU layouts, 4-GPU layouts, ZeRO-2/3, checkpointing
#   bash bench/parallel_gpu_runs.sh big [seconds]    # the 8B shape on 4 GPUs (single: out of memory)
# Writes $OUT/parallel_gpu.json, $OUT/parallel_gpu4.json, $OUT/parallel_gpu4_8b.json; copy them to bench/results/.
set -uo pipefail
WITH_DEEPSPEED=1 WHEELS=${WHEELS:-.whlds} source bench/gpu_env.sh
OUT=${OUT:-bench/out}; mkdir -p "$OUT"
deadline=$(( $(date +%s) + ${2:-480} ))
b=(python3 bench/parallel_gpu.py --train .gpu/train.npy --tokenizer .gpu/tokenizer --run-timeout 300 --deadline "$deadline")
case "${1:?small or big}" in
  small)
    "${b[@]}" --shapes llama-3.2-3b --runs single dp2 tp2 pp2 --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-3b --runs single dp4 dp2pp2 dp2tp2 --out "$OUT/parallel_gpu4.json"
    "${b[@]}" --shapes llama-3.2-3b --runs single dp2 tp2 pp2 dp2:zero2 dp2:zero3 dp2:ac --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-1b --runs single dp2 tp2 pp2 --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-1b --runs single dp4 dp2pp2 dp2tp2 --out "$OUT/parallel_gpu4.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu.json" "$OUT/parallel_gpu4.json" ;;
  big)
    "${b[@]}" --shapes llama-3.1-8b --global-batch 32 --micro-batch 4 --steps 5 --run-timeout 240 \
      --runs dp2pp2 pp4 tp4 dp4:zero3 dp2tp2 single --out "$OUT/parallel_gpu4_8b.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu4_8b.json" ;;
esac
