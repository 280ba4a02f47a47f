#!/usr/bin/env bash
# Compare ftune's CPU training step with PyTorch's in one run.
# usage: bench/bench_train_step.sh [-h] [BUILD_DIR] [STEPS] [WARMUP] [ROUNDS]
#   BUILD_DIR: a build of ftune holding bench/bench_train_step and bench_sgemm
#   (default build); STEPS timed steps after WARMUP (5, 2) per process;
#   ROUNDS (1) alternations of ftune and PyTorch per case, so slow spells
#   of a shared machine hit both.
# Cases: BERT-base 16x128 and GPT-2 small 8x128, fp32, dropout 0.1, 2 threads.
# ftune runs with OMP_WAIT_POLICY=PASSIVE (no spinning on a shared machine);
# PyTorch is Debian's /usr/bin/python3 torch 1.13 with torch.set_num_threads(2),
# the OpenMP build of OpenBLAS and OMP_WAIT_POLICY=PASSIVE, its best fp32
# configuration in shared/BENCHMARKS.md. The ceiling is bench_sgemm's best
# median on BERT-base training shapes, measured before each case.
# Env: FTUNE_BENCH_DROPOUT (0.1), FTUNE_BENCH_FTUNE_ENV / FTUNE_BENCH_TORCH_ENV
# (extra VAR=value words for either side, e.g. OMP_WAIT_POLICY=ACTIVE),
# FTUNE_BENCH_CASES ("bert 16 128;gpt2 8 128"), FTUNE_BENCH_PRECISION (fp32;
# bf16: ftune's bf16 products against torch.autocast(bfloat16) on the
# PyTorch side, and the ceiling is bench_sgemm's bf16 line).
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
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
if ! { [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import torch' 2>/dev/null; }; then
  echo "no torch for /usr/bin/python3: apt-get install python3-torch" >&2
  exit 2
fi

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
read -r -a ftune_env <<<"OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ${FTUNE_BENCH_FTUNE_ENV:-}"
read -r -a torch_env <<<"OMP_WAIT_POLICY=PASSIVE FTUNE_BENCH_THREADS=2 ${FTUNE_BENCH_TORCH_ENV:-}"

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); steps $steps warm-up $warm rounds $rounds dropout $p precision $prec"
IFS=';' read -r -a cases <<<"${FTUNE_BENCH_CASES:-bert 16 128;gpt2 8 128}"
for case in "${cases[@]}"; do
  read -r arch b t <<<"$case"
  peak_line="$(env "${ftune_env[@]}" "$sgemm" $((b * t)) 7)"
  echo "$peak_line"
  peak_key=sgemm_peak_gflops
  [[ "$prec" = bf16 ]] && peak_key=bf16_peak_gflops
  peak="$(field "$(grep "^$peak_key=" <<<"$peak_line")" "$peak_key")"
  ours=() theirs=() ratios=()
  for ((r = 1; r <= rounds; r++)); do
    o="$(env "${ftune_env[@]}" "$exe" "$arch" "$b" "$t" "$steps" "$warm" "$p" "$prec")"
    echo "$o load=$(cut -d' ' -f1 /proc/loadavg)"
    th="$(env "${torch_env[@]}" /usr/bin/python3 "$here/bench_train_step_torch.py" \
      "$arch" "$b" "$t" "$steps" "$warm" "$p" "$prec")"
    echo "$th load=$(cut -d' ' -f1 /proc/loadavg)"
    ours+=("$(field "$o" step_s)") theirs+=("$(field "$th" step_s)")
    ratios+=("$(awk -v a="$(field "$th" step_s)" -v b="$(field "$o" step_s)" 'BEGIN {print a / b}')")
    o_rss="$(field "$o" peak_rss_mib)" t_rss="$(field "$th" peak_rss_mib)" gflop="$(field "$o" gflop)"
  done
  mo="$(printf '%s\n' "${ours[@]}" | med)" mt="$(printf '%s\n' "${theirs[@]}" | med)"
  mr="$(printf '%s\n' "${ratios[@]}" | med)"
  spread="$(printf '%s\n' "${ratios[@]}" | sort -g | sed -n '1p;$p' | paste -sd- -)"
  awk -v a="$arch" -v b="$b" -v t="$t" -v o="$mo" -v th="$mt" -v r="$mr" -v s="$spread" \
      -v g="$gflop" -v pk="$peak" -v pr="$prec" -v orss="$o_rss" -v trss="$t_rss" 'BEGIN {
    printf "SUMMARY %s %s %dx%d: ftune %.3f s, pytorch %.3f s, speed-up %.2fx (per-round %s); " \
           "ftune %.1f GFLOP/s = %.0f%% of the %s ceiling %.1f (pytorch %.0f%%); peak RSS ftune %d MiB, pytorch %d MiB\n",
           a, pr, b, t, o, th, r, s, g / o, 100 * g / o / pk, pr, pk, 100 * g / th / pk, orss, trss }'
done
