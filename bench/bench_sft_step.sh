#!/usr/bin/env bash
# One SFT training step of a Qwen2.5-0.5B-shaped decoder (random weights from
# its config), ftune against transformers' Qwen2ForCausalLM, same machine,
# same run, fp32 then bf16; prints tokens/s, peak RSS and their ratios, and
# GFLOP/s against bench_sgemm's GEMM ceiling.
# usage: bench/bench_sft_step.sh [-h] [BUILD_DIR] [STEPS] [WARMUP] [ROUNDS]
#   BUILD_DIR: a build holding bench/bench_train_step and bench_sgemm
#   (default build); STEPS timed steps after WARMUP (3, 1) per process;
#   ROUNDS (1) alternations of ftune and PyTorch per precision.
# The step (bench_train_step qwen2, bench_train_step_torch.py qwen2):
# forward, the masked next-token loss (labels -100 on each row's first
# half, the prompt), backward, clip_grad_norm 1.0, AdamW; 2 threads each;
# the comparison itself is bench_train_step.sh's (its settings and
# environment variables apply: FTUNE_BENCH_TORCH_SETTINGS, ..._FTUNE_ENV).
# FLOPs per step: 6 x (block products' parameters + lm_head vocab x hidden)
# x tokens + 12 x layers x B x T^2 x heads x head_dim (attention forward and
# backward, the full T^2).
# Env: FTUNE_BENCH_SFT_SHAPE ("4 512": batch and sequence length),
# FTUNE_BENCH_LLM_SHAPE ("896,4864,24,14,2,151936": hidden, intermediate,
# layers, heads, kv_heads, vocab), FTUNE_BENCH_SFT_PRECISIONS ("fp32 bf16"),
# FTUNE_BENCH_GC=1 (gradient checkpointing on both sides).
# Memory: before each precision, both sides' plans (ftune's reserved address
# space, PyTorch's estimate: bench_train_step_torch.py plan_mib) are checked
# against MemAvailable; too big is refused (exit 3) unless FTUNE_BENCH_FORCE=1.
# Smoke test: FTUNE_BENCH_SFT_SHAPE="2 32" FTUNE_BENCH_LLM_SHAPE=64,128,2,4,2,1000
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
read -r b t <<<"${FTUNE_BENCH_SFT_SHAPE:-4 512}"
exe="$build/bench/bench_train_step"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
source "$here/bench_lib.sh"
py="$(bench_torch_python)"
export FTUNE_BENCH_LLM_SHAPE="${FTUNE_BENCH_LLM_SHAPE:-896,4864,24,14,2,151936}"
echo "# SFT step: qwen2 ${b}x${t}, shape $FTUNE_BENCH_LLM_SHAPE, gradient checkpointing ${FTUNE_BENCH_GC:-0}"

# fits PRECISION: status 0 when the larger plan of the two sides fits in
# MemAvailable (with 5% to spare), else a line saying why and status 1.
fits() {
  local o ours theirs=0 avail need
  o="$(FTUNE_BENCH_PLAN_ONLY=1 "$exe" qwen2 "$b" "$t" 1 0 0 "$1" 2>&1)" || true
  ours="$(field "$(grep '^impl=' <<<"$o")" plan_mib)"
  if [[ -z "$ours" ]]; then
    echo "bench_sft_step: $1: ftune cannot plan ${b}x${t} here: $(grep -v '^ftune info' <<<"$o")" >&2
    return 1
  fi
  if "$py" -c 'import torch, transformers' 2>/dev/null; then
    theirs="$(field "$(cd "$here" && FTUNE_BENCH_PLAN_ONLY=1 "$py" bench_train_step_torch.py \
      qwen2 "$b" "$t" 1 0 0 "$1")" plan_mib)"
  fi
  avail="$(awk '/^MemAvailable:/ {printf "%d", $2 / 1024}' /proc/meminfo)"
  need="$(awk -v a="$ours" -v c="$theirs" 'BEGIN {printf "%d", (a > c ? a : c) * 1.05}')"
  echo "# memory $1: ftune plan $ours MiB, pytorch estimate $theirs MiB (0: skipped); need $need of $avail MiB available"
  if ((need > avail)); then
    echo "bench_sft_step: $1 needs about $need MiB, only $avail MiB available: try FTUNE_BENCH_GC=1 or a smaller FTUNE_BENCH_SFT_SHAPE (FTUNE_BENCH_FORCE=1 runs anyway)" >&2
    return 1
  fi
}

for prec in ${FTUNE_BENCH_SFT_PRECISIONS:-fp32 bf16}; do
  if ! fits "$prec" && [[ "${FTUNE_BENCH_FORCE:-0}" != 1 ]]; then
    exit 3
  fi
  FTUNE_BENCH_CASES="qwen2 $b $t" FTUNE_BENCH_DROPOUT=0 FTUNE_BENCH_TRAINER=0 \
    FTUNE_BENCH_PRECISION="$prec" bash "$here/bench_train_step.sh" "$build" "${2:-3}" "${3:-1}" "${4:-1}"
done
