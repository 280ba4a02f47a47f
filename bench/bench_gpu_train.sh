#!/usr/bin/env bash
# ftune's GPU training step against PyTorch + Hugging Face on the same GPU.
# usage: bench/bench_gpu_train.sh [-h] [BUILD_DIR] [STEPS] [WARMUP]
#   BUILD_DIR: a CUDA build of ftune holding bench/bench_train_step (default
#   build); STEPS timed steps after WARMUP (20, 5), per side.
# Case: BERT-base (BertConfig()), batch 32 x 128 tokens, 2 labels, random
# weights, dropout 0.1, bf16 (ftune's bf16 products with float32 master
# weights; torch.autocast(bfloat16) with float32 weights on the PyTorch
# side), clip 1.0, AdamW. PyTorch: bench/bench_gpu_train_torch.py, eager,
# sdpa attention, fused AdamW (its strongest eager configuration).
# Prints both lines, samples/s of each, the ratio and the MFU of each:
#   model FLOPs per sample = 6 x P x T + 12 x L x T^2 x C
#   (P = L x (4C^2 + 2 C I) matmul parameters of the encoder; the attention
#   term counts q k^T and p v, forward and backward; embeddings, pooler and
#   classifier are left out), MFU = samples/s x FLOPs per sample / peak,
#   peak = the GPU's dense bf16 rate: H100 SXM and H200 989 TFLOP/s, H100
#   PCIe 756, H100 NVL 835, A100 312, L40S 362, L40 181, L4 121 (by nvidia-smi's
#   name); FTUNE_BENCH_PEAK_TFLOPS overrides it.
# Env: FTUNE_BENCH_PYTHON (python3: the one with torch and transformers),
# FTUNE_BENCH_CASE ("32 128"), FTUNE_BENCH_DROPOUT (0.1),
# FTUNE_BENCH_LOG_DIR (also write each side's output there),
# CUDA_VISIBLE_DEVICES (both sides use the first GPU it shows).
# Exit: 0 both ran, 1 a side failed (the other still runs), 2 bad usage or
# set-up (no GPU, no build, no torch/transformers).
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
steps="${2:-20}"
warm="${3:-5}"
py="${FTUNE_BENCH_PYTHON:-python3}"
p="${FTUNE_BENCH_DROPOUT:-0.1}"
read -r b t <<<"${FTUNE_BENCH_CASE:-32 128}"
log_dir="${FTUNE_BENCH_LOG_DIR:-}"
exe="$build/bench/bench_train_step"

die() { echo "bench_gpu_train.sh: $*" >&2; exit 2; }
[[ "$steps" =~ ^[1-9][0-9]*$ && "$warm" =~ ^[0-9]+$ ]] || die "STEPS and WARMUP must be integers, got '$steps' '$warm'"
[[ "$b" =~ ^[1-9][0-9]*$ && "$t" =~ ^[1-9][0-9]*$ ]] || die "FTUNE_BENCH_CASE must be 'BATCH SEQ', got '${FTUNE_BENCH_CASE:-}'"
command -v nvidia-smi >/dev/null || die "no nvidia-smi: not a GPU machine"
[[ -x "$exe" ]] || die "no $exe: build ftune with -DFTUNE_CUDA=ON first"
"$py" -c 'import torch, transformers; assert torch.cuda.is_available()' 2>/dev/null ||
  die "$py lacks torch or transformers, or torch sees no GPU (set FTUNE_BENCH_PYTHON)"
[[ -z "$log_dir" ]] || mkdir -p "$log_dir"

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# The dense bf16 peak in TFLOP/s of a GPU by name, or "" when unknown.
peak_tflops() {
  case "$1" in
    *H200*) echo 989 ;;
    *H100*PCIe*) echo 756 ;;
    *H100*NVL*) echo 835 ;;
    *H100*) echo 989 ;;
    *A100*) echo 312 ;;
    *L40S*) echo 362 ;;
    *L40*) echo 181 ;;
    *L4*) echo 121 ;;
    *) echo "" ;;
  esac
}

gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)"
peak="${FTUNE_BENCH_PEAK_TFLOPS:-$(peak_tflops "$gpu_name")}"
[[ -z "$peak" || "$peak" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "FTUNE_BENCH_PEAK_TFLOPS must be a number, got '$peak'"
echo "# $(date -u +%FT%TZ) GPU '$gpu_name' (bf16 dense peak ${peak:-unknown} TFLOP/s)," \
     "BERT-base ${b}x${t}, steps $steps warm-up $warm, dropout $p"

# run_side NAME COMMAND...: its stdout's last line, or "" when it failed.
run_side() {
  local name="$1" out err rc=0
  shift
  if [[ -n "$log_dir" ]]; then err="$log_dir/bench_gpu_train.$name.err"; else err="$(mktemp)"; fi
  out="$("$@" 2>"$err")" || rc=$?
  [[ -z "$log_dir" ]] || printf '%s\n' "$out" >"$log_dir/bench_gpu_train.$name.out"
  if ((rc != 0)); then
    echo "bench_gpu_train.sh: $name failed (exit $rc):" >&2
    tail -n 20 "$err" >&2
  fi
  [[ -n "$log_dir" ]] || rm -f "$err"
  ((rc == 0)) && tail -n 1 <<<"$out"
  return 0
}

ours="$(run_side ftune env FTUNE_BENCH_DEVICE=cuda "$exe" bert "$b" "$t" "$steps" "$warm" "$p" bf16)"
theirs="$(run_side pytorch "$py" "$here/bench_gpu_train_torch.py" "$b" "$t" "$steps" "$warm" "$p")"
[[ -z "$ours" ]] || echo "$ours"
[[ -z "$theirs" ]] || echo "$theirs"

# FLOPs per sample = 6 P T + 12 L T^2 C for BERT-base (L 12, C 768, I 3072).
flop_per_sample="$(awk -v t="$t" 'BEGIN { L = 12; C = 768; I = 3072;
  printf "%.6e", 6 * L * (4 * C * C + 2 * C * I) * t + 12 * L * t * t * C }')"
summary() { # NAME LINE
  local sps
  sps="$(field "$2" samples_per_s)"
  awk -v n="$1" -v s="$sps" -v f="$flop_per_sample" -v pk="$peak" 'BEGIN {
    mfu = pk == "" ? "n/a (unknown GPU: set FTUNE_BENCH_PEAK_TFLOPS)" : sprintf("%.1f%%", 100 * s * f / (pk * 1e12))
    printf "%s %.1f samples/s, %.1f TFLOP/s, MFU %s", n, s, s * f / 1e12, mfu }'
}
if [[ -n "$ours" && -n "$theirs" ]]; then
  ratio="$(awk -v a="$(field "$ours" samples_per_s)" -v b="$(field "$theirs" samples_per_s)" \
    'BEGIN { printf "%.2f", a / b }')"
  echo "SUMMARY BERT-base bf16 ${b}x${t} on $gpu_name: $(summary ftune "$ours");" \
       "$(summary pytorch "$theirs"); ftune/pytorch ${ratio}x" \
       "(model FLOPs per sample $flop_per_sample = 6 P T + 12 L T^2 C)"
  exit 0
fi
[[ -z "$ours" ]] || echo "SUMMARY (pytorch failed) $(summary ftune "$ours")"
[[ -z "$theirs" ]] || echo "SUMMARY (ftune failed) $(summary pytorch "$theirs")"
exit 1
