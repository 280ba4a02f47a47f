#!/usr/bin/env bash
# Compare ftune's CPU training step with the machine's GEMM ceiling and with
# PyTorch's, in one run, in the user's environment.
# usage: bench/bench_train_step.sh [-h] [BUILD_DIR] [STEPS] [WARMUP] [ROUNDS]
#   BUILD_DIR: a build of ftune holding bench/bench_train_step and bench_sgemm
#   (default build); STEPS timed steps after WARMUP (5, 2) per process;
#   ROUNDS (1) alternations of ftune and PyTorch per case, so slow spells
#   of a shared machine hit both.
# Cases: BERT-base 16x128 and GPT-2 small 8x128, dropout 0.1, 2 threads
# (qwen2, the SFT step of a decoder: bench_sft_step.sh).
# The user's environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset
# for both sides (some development machines set them; a user's does not),
# unless FTUNE_BENCH_KEEP_OPENBLAS_ENV=1. ftune chooses its float32 GEMM as
# every ftune program does (FTUNE_GEMM, auto by default: docs/PERFORMANCE.md "CPU matrix
# products").
# The ceiling is bench_sgemm's best candidate (OpenBLAS as loaded, oneDNN)
# on BERT-base training shapes, measured before each case; all candidates
# are printed. ftune runs with OMP_WAIT_POLICY=PASSIVE (no spinning on a
# shared machine). PyTorch: FTUNE_BENCH_PYTHON, else the reference
# environment's python (env/reference.sh: PyTorch 2 with transformers'
# classes, sdpa attention unless FTUNE_BENCH_ATTN=eager), else Debian's
# /usr/bin/python3 where it has transformers; with
# torch.set_num_threads(2) and OMP_WAIT_POLICY=PASSIVE; without torch and
# transformers the PyTorch side is skipped with a line saying so.
# Env: FTUNE_BENCH_DROPOUT (0.1), FTUNE_BENCH_FTUNE_ENV / FTUNE_BENCH_TORCH_ENV
# (extra VAR=value words for either side, e.g. OMP_WAIT_POLICY=ACTIVE),
# FTUNE_BENCH_CASES ("bert 16 128;gpt2 8 128"), FTUNE_BENCH_PRECISION (fp32;
# bf16: ftune as ftune-train runs a bf16 config here (float32, with a
# warning, where this CPU's bf16 products are slower) against
# torch.autocast(bfloat16), and the ceiling is the better of the bf16 and
# float32 lines).
# PyTorch's settings: FTUNE_BENCH_TORCH_SETTINGS, a settings string
# ("threads=2,omp=PASSIVE,mkldnn=1,attn=sdpa,denormal=0,compile=none", or
# per case "train-fp32:...;train-bf16:...": bench/bench_torch_settings.py -h)
# or "auto": bench_torch_settings.py's sweep picks them for this precision
# first, on a small shape (FTUNE_BENCH_SWEEP_ARGS: its options). Unset: the
# defaults above. The settings that ran are printed with every PyTorch line.
# Trainer: FTUNE_BENCH_TRAINER=1 (the default where the reference
# environment exists) adds bench_trainer_step.py, the same step through
# transformers.Trainer with the same settings, as one more column and ratio.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
steps="${2:-5}"
warm="${3:-2}"
rounds="${4:-1}"
p="${FTUNE_BENCH_DROPOUT:-0.1}"
prec="${FTUNE_BENCH_PRECISION:-fp32}"
[[ "$prec" = fp32 || "$prec" = bf16 ]] || { echo "FTUNE_BENCH_PRECISION: fp32 or bf16, got $prec" >&2; exit 2; }
exe="$build/bench/bench_train_step"
sgemm="$build/bench/bench_sgemm"
for x in "$exe" "$sgemm"; do
  [[ -x "$x" ]] || { echo "no $x: build the project first" >&2; exit 2; }
done

if [[ "${FTUNE_BENCH_KEEP_OPENBLAS_ENV:-0}" != 1 ]]; then
  [[ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]] &&
    echo "# user environment: unsetting OPENBLAS_CORETYPE='${OPENBLAS_CORETYPE:-}' OPENBLAS_L2_SIZE='${OPENBLAS_L2_SIZE:-}'"
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
source "$here/bench_lib.sh"
py="$(bench_torch_python)"
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
read -r -a ftune_env <<<"OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ${FTUNE_BENCH_FTUNE_ENV:-}"
read -r -a torch_env <<<"OMP_WAIT_POLICY=PASSIVE FTUNE_BENCH_THREADS=2 ${FTUNE_BENCH_TORCH_ENV:-}"

echo "# CPU: $(bench_cpu)"
have_torch=1
bench_say_torch "$py" || have_torch=0
trainer="${FTUNE_BENCH_TRAINER:-}"
if [[ -z "$trainer" ]]; then
  trainer=0
  [[ -x "${FTUNE_REF_VENV:-$HOME/.cache/ftune-ref}/bin/python" ]] && trainer=1
fi
[[ "$have_torch" = 1 ]] || trainer=0
if [[ "$have_torch" = 1 ]]; then
  bench_resolve_torch_settings "train-$prec" env "${torch_env[@]}" "$py" || exit 1
  threads="$(bench_settings_key "$(bench_settings_for "$FTUNE_BENCH_TORCH_SETTINGS" "train-$prec")" threads 2)"
  [[ "$threads" = 2 ]] || echo "# note: threads: pytorch $threads, ftune 2"
  [[ "$trainer" = 1 ]] && echo "# trainer: transformers.Trainer column (bench/bench_trainer_step.py)"
fi
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); steps $steps warm-up $warm rounds $rounds dropout $p precision $prec"
IFS=';' read -r -a cases <<<"${FTUNE_BENCH_CASES:-bert 16 128;gpt2 8 128}"
for case in "${cases[@]}"; do
  read -r arch b t <<<"$case"
  peak_lines="$(env "${ftune_env[@]}" "$sgemm" $((b * t)) 7)"
  echo "$peak_lines"
  peak="$(field "$(grep '^sgemm_peak_gflops=' <<<"$peak_lines")" sgemm_peak_gflops)"
  ceiling_name="best float32 GEMM"
  if [[ "$prec" = bf16 ]]; then
    bf="$(field "$(grep '^bf16_peak_gflops=' <<<"$peak_lines")" bf16_peak_gflops)"
    if awk -v a="$bf" -v b="$peak" 'BEGIN {exit !(a > b)}'; then
      peak="$bf" ceiling_name="bf16 product"
    fi
  fi
  ours=() theirs=() ratios=() trainers=() t_ratios=()
  for ((r = 1; r <= rounds; r++)); do
    o="$(env "${ftune_env[@]}" "$exe" "$arch" "$b" "$t" "$steps" "$warm" "$p" "$prec" 2>&1 | grep -v '^ftune warn')"
    echo "$o load=$(cut -d' ' -f1 /proc/loadavg)"
    ours+=("$(field "$o" step_s)")
    gflop="$(field "$o" gflop)" o_rss="$(field "$o" peak_rss_mib)"
    [[ "$have_torch" = 1 ]] || continue
    th="$(env "${torch_env[@]}" "$py" "$here/bench_train_step_torch.py" \
      "$arch" "$b" "$t" "$steps" "$warm" "$p" "$prec")"
    echo "$th load=$(cut -d' ' -f1 /proc/loadavg)"
    theirs+=("$(field "$th" step_s)")
    ratios+=("$(awk -v a="$(field "$th" step_s)" -v b="$(field "$o" step_s)" 'BEGIN {print a / b}')")
    t_rss="$(field "$th" peak_rss_mib)"
    [[ "$trainer" = 1 ]] || continue
    tr="$(env "${torch_env[@]}" "$py" "$here/bench_trainer_step.py" \
      "$arch" "$b" "$t" "$steps" "$warm" "$p" "$prec" | grep '^impl=')"
    echo "$tr load=$(cut -d' ' -f1 /proc/loadavg)"
    trainers+=("$(field "$tr" step_s)")
    t_ratios+=("$(awk -v a="$(field "$tr" step_s)" -v b="$(field "$o" step_s)" 'BEGIN {print a / b}')")
    tr_rss="$(field "$tr" peak_rss_mib)"
  done
  mo="$(printf '%s\n' "${ours[@]}" | med)"
  ran="$(field "$o" precision)"
  summary="$(awk -v a="$arch" -v b="$b" -v t="$t" -v o="$mo" -v g="$gflop" -v pk="$peak" \
      -v pr="$prec" -v ran="$ran" -v cn="$ceiling_name" -v orss="$o_rss" -v gemm="$(field "$o" gemm)" 'BEGIN {
    printf "SUMMARY %s %s %dx%d: ftune %.3f s (ran %s, gemm %s), %.1f GFLOP/s = %.0f%% of the %s ceiling %.1f; peak RSS %d MiB",
           a, pr, b, t, o, ran, gemm, g / o, 100 * g / o / pk, cn, pk, orss }')"
  if [[ "$have_torch" = 1 ]]; then
    mt="$(printf '%s\n' "${theirs[@]}" | med)" mr="$(printf '%s\n' "${ratios[@]}" | med)"
    spread="$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -)"
    summary+="$(awk -v th="$mt" -v r="$mr" -v s="$spread" -v g="$gflop" -v pk="$peak" -v trss="$t_rss" 'BEGIN {
      printf "; pytorch %.3f s (%.0f%% of the ceiling, peak RSS %d MiB), speed-up %.2fx (per-round %s)",
             th, 100 * g / th / pk, trss, r, s }')"
    summary+="$(awk -v b="$b" -v t="$t" -v o="$mo" -v th="$mt" -v orss="$o_rss" -v trss="$t_rss" 'BEGIN {
      printf "; tokens/s ftune %.1f pytorch %.1f; peak RSS ftune/pytorch %.2f", b * t / o, b * t / th, orss / trss }')"
  else
    summary+="; pytorch skipped"
  fi
  if [[ "$trainer" = 1 ]]; then
    mtr="$(printf '%s\n' "${trainers[@]}" | med)" mtrr="$(printf '%s\n' "${t_ratios[@]}" | med)"
    summary+="$(awk -v th="$mtr" -v r="$mtrr" -v g="$gflop" -v pk="$peak" -v trss="$tr_rss" 'BEGIN {
      printf "; trainer %.3f s (%.0f%% of the ceiling, peak RSS %d MiB), speed-up %.2fx",
             th, 100 * g / th / pk, trss, r }')"
  fi
  echo "$summary"
done
