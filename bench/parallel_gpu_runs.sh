#!/usr/bin/env bash
# The GPU runs of the parallel stage (bench/GPU.md), in calls that each fit the lent machine's 10-minute
# limit: no run starts after the deadline, and runs done by an earlier call on the same machine are
# reused from .bench-work/ (so the `single` baseline of the 4-GPU table is measured on the same machine).
#   bash bench/parallel_gpu_runs.sh 3b [seconds]   # Llama-3.2-3B: 2-GPU and 4-GPU layouts, ZeRO-2/3, checkpointing
#   bash bench/parallel_gpu_runs.sh 1b [seconds]   # Llama-3.2-1B: 2-GPU and 4-GPU layouts
#   bash bench/parallel_gpu_runs.sh 2gpu [seconds] # both shapes' 2-GPU table on a 2-GPU machine
#   bash bench/parallel_gpu_runs.sh 8b [seconds]   # Llama-3.1-8B on 4 GPUs (single: out of memory)
# Writes $OUT/parallel_gpu.json, $OUT/parallel_gpu4.json, $OUT/parallel_gpu4_8b.json; copy them to bench/results/.
set -uo pipefail
WITH_DEEPSPEED=1 WHEELS=${WHEELS:-.whlds} source bench/gpu_env.sh
OUT=${OUT:-bench/out}; mkdir -p "$OUT"
for f in parallel_gpu.json parallel_gpu4.json parallel_gpu4_8b.json; do  # earlier calls' results travel back in
  [ -f "$OUT/$f" ] || [ ! -f ".bench-work/$f" ] || cp ".bench-work/$f" "$OUT/$f"
done
deadline=$(( $(date +%s) + ${2:-480} ))
b=(python3 bench/parallel_gpu.py --train .gpu/train.npy --tokenizer .gpu/tokenizer --run-timeout 300 --deadline "$deadline")
case "${1:?3b, 1b or 8b}" in
  3b)
    "${b[@]}" --shapes llama-3.2-3b --runs single dp2 tp2 pp2 --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-3b --runs single dp4 dp2pp2 dp2tp2 --out "$OUT/parallel_gpu4.json"
    "${b[@]}" --shapes llama-3.2-3b --runs single dp2 tp2 pp2 dp2:zero2 dp2:zero3 dp2:ac single:ac \
      --out "$OUT/parallel_gpu.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu.json" "$OUT/parallel_gpu4.json" ;;
  2gpu)  # both shapes on a 2-GPU machine: the main layouts first, then ZeRO-2/3 and checkpointing
    "${b[@]}" --shapes llama-3.2-3b llama-3.2-1b --runs single dp2 tp2 pp2 --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-3b --runs single dp2 tp2 pp2 dp2:zero2 dp2:ac dp2:zero3 --out "$OUT/parallel_gpu.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu.json" ;;
  1b)
    "${b[@]}" --shapes llama-3.2-1b --runs single dp2 tp2 pp2 --out "$OUT/parallel_gpu.json"
    "${b[@]}" --shapes llama-3.2-1b --runs single dp4 dp2pp2 dp2tp2 --out "$OUT/parallel_gpu4.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu.json" "$OUT/parallel_gpu4.json" ;;
  8b)
    "${b[@]}" --shapes llama-3.1-8b --global-batch 32 --micro-batch 4 --steps 5 --run-timeout 240 \
      --runs dp2pp2 pp4 tp4 dp4:zero3 dp2tp2 single --out "$OUT/parallel_gpu4_8b.json"
    python3 bench/parallel_loss_check.py "$OUT/parallel_gpu4_8b.json" ;;
esac
cp "$OUT"/parallel_gpu*.json .bench-work/ 2>/dev/null
