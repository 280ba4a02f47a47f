#!/usr/bin/env bash
# Compare ftune-eval's scoring throughput with the machine's GEMM ceiling and
# with PyTorch's forward, in one run, in the user's environment.
# usage: bench/bench_eval.sh [-h] [BUILD_DIR] [ROWS] [BATCH]
#   BUILD_DIR: a build holding ftune-eval, tests/eval_fixture and
#   bench/bench_sgemm (default build)
#   ROWS: test examples scored by ftune-eval (default 192), BATCH (default 64)
# Exports a random-init BERT-base classifier (2 labels) and a test split of
# ROWS texts that fill 128 tokens (cached in BUILD_DIR/bench-eval), then runs
# on one rank with 2 OpenMP threads, each in its two OpenMP configurations
# (default and OMP_WAIT_POLICY=PASSIVE; shared/BENCHMARKS.md's best ones):
#   ftune-eval in float32 and with --bf16, at BATCH x 128 (with --bf16 it
#   runs float32, with a warning, where this CPU's bf16 products are slower);
#   PyTorch (FTUNE_BENCH_PYTHON, else env/reference.sh's python with PyTorch
#   2 and transformers' class, else Debian's /usr/bin/python3 where it
#   has transformers; torch.set_num_threads(2)) on the same shapes in
#   float32, under torch.autocast(bfloat16) and with the model cast to bf16
#   (skipped with a line saying so where no python has torch and
#   transformers);
# and prints examples/s, ftune's GFLOP/s against bench_sgemm's best float32
# GEMM (and bf16 product) at M = BATCH x 128, and the ratios of the best of
# each: float32 against float32, ftune bf16 against PyTorch float32 and
# against PyTorch's best bf16.
# The user's environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset
# unless FTUNE_BENCH_KEEP_OPENBLAS_ENV=1.
# FTUNE_BENCH_BATCHES: PyTorch batches timed (default 3).
# PyTorch's settings: FTUNE_BENCH_TORCH_SETTINGS, a settings string or per
# case "eval-fp32:...;eval-bf16:..." (bench/bench_torch_settings.py -h:
# threads, OpenMP policy, mkldnn, attention, flush-denormal, torch.compile,
# no_grad or inference_mode, bf16 cast or autocast), or "auto": its sweep
# picks them first on a small shape (FTUNE_BENCH_SWEEP_ARGS: its options).
# With settings, PyTorch runs once per precision with them (bf16: the cast
# or autocast they name) instead of the two OpenMP policies and both bf16
# forms above; the settings that ran are printed with every PyTorch line.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
rows="${2:-192}"
batch="${3:-64}"
for exe in "$build/ftune-eval" "$build/tests/eval_fixture" "$build/bench/bench_sgemm"; do
  [[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
done
cache="$build/bench-eval"
model="$cache/bert-base"
data="$cache/data-$rows"
if [[ ! -f "$model/model.safetensors" ]]; then
  mkdir -p "$cache"
  "$build/tests/eval_fixture" model "$model" bert-base 2 5
fi
if [[ ! -f "$data/manifest.json" ]]; then
  "$build/tests/eval_fixture" data "$model" "$data" "$rows" 128 1 test 200
fi
if [[ "${FTUNE_BENCH_KEEP_OPENBLAS_ENV:-0}" != 1 ]]; then
  [[ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]] &&
    echo "# user environment: unsetting OPENBLAS_CORETYPE='${OPENBLAS_CORETYPE:-}' OPENBLAS_L2_SIZE='${OPENBLAS_L2_SIZE:-}'"
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
source "$here/bench_lib.sh"
py="$(bench_torch_python)"
echo "# CPU: $(bench_cpu)"
have_torch=1
bench_say_torch "$py" || have_torch=0
if [[ "$have_torch" = 1 ]]; then
  bench_resolve_torch_settings eval-fp32,eval-bf16 env FTUNE_BENCH_THREADS=2 "$py" || exit 1
fi
json_eps() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughput"]["examples_per_s"])' "$1"; }
json_precision() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["precision"])' "$1"; }
max() { printf '%s\n%s\n' "$1" "$2" | sort -g | tail -1; }

sgemm_lines="$(OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE "$build/bench/bench_sgemm" $((batch * 128)) 5)"
echo "$sgemm_lines"
peak32="$(field "$(grep '^sgemm_peak_gflops=' <<<"$sgemm_lines")" sgemm_peak_gflops)"
peak16="$(field "$(grep '^bf16_peak_gflops=' <<<"$sgemm_lines")" bf16_peak_gflops)"
declare -A best=([ftune-fp32]=0 [ftune-bf16]=0 [torch-fp32]=0 [torch-bf16]=0)
for policy in default PASSIVE; do
  env_args=(OMP_NUM_THREADS=2 FTUNE_LOG_LEVEL=warn)
  [[ "$policy" = PASSIVE ]] && env_args+=(OMP_WAIT_POLICY=PASSIVE)
  for prec in fp32 bf16; do
    out="$cache/out-$policy-$prec"
    flags=()
    [[ "$prec" = bf16 ]] && flags+=(--bf16)
    env "${env_args[@]}" "$build/ftune-eval" --model "$model" --data "$data" --output "$out" \
      --batch-size "$batch" --force "${flags[@]}" >/dev/null
    eps="$(json_eps "$out/report.json")"
    echo "impl=ftune precision=$prec batch=$batch seq=128 rows=$rows omp=$policy ran=$(json_precision "$out/report.json") examples_per_s=$(printf '%.2f' "$eps")"
    best[ftune-$prec]="$(max "${best[ftune-$prec]}" "$eps")"
  done
done
torch_runs=("default fp32" "default autocast" "default bf16" "PASSIVE fp32" "PASSIVE autocast" "PASSIVE bf16")
[[ -n "${FTUNE_BENCH_TORCH_SETTINGS:-}" ]] && torch_runs=("settings fp32" "settings bf16")
for run in "${torch_runs[@]}"; do
  [[ "$have_torch" = 1 ]] || break
  read -r policy prec <<<"$run"
  env_args=(FTUNE_BENCH_THREADS=2)
  [[ "$policy" = PASSIVE ]] && env_args+=(OMP_WAIT_POLICY=PASSIVE)
  line="$(env "${env_args[@]}" "$py" "$here/bench_eval.py" "$batch" 128 \
    "${FTUNE_BENCH_BATCHES:-3}" 1 "$prec")"
  echo "$line omp=$policy"
  key=torch-bf16
  [[ "$prec" = fp32 ]] && key=torch-fp32
  best[$key]="$(max "${best[$key]}" "$(field "$line" examples_per_s)")"
done
# Forward FLOPs of one BERT-base example at 128 tokens: the block products
# 2·T·12·L·C² (qkv 3C², output C², MLP 8C²) and attention 4·L·T²·C.
gflop_ex="$(awk 'BEGIN {T = 128; L = 12; C = 768; print (2 * T * 12 * L * C * C + 4 * L * T * T * C) / 1e9}')"
awk -v o="${best[ftune-fp32]}" -v o16="${best[ftune-bf16]}" -v g="$gflop_ex" -v p32="$peak32" \
    -v p16="$peak16" -v b="$batch" 'BEGIN {
  c16 = p16 > p32 ? p16 : p32
  printf "BERT-base eval %dx128 float32: ftune %.2f examples/s = %.1f GFLOP/s = %.0f%% of the best float32 GEMM (%.1f)\n", b, o, o * g, 100 * o * g / p32, p32
  printf "BERT-base eval %dx128 bf16: ftune %.2f examples/s = %.1f GFLOP/s = %.0f%% of the better of the bf16 and float32 ceilings (%.1f); bf16/float32 %.2fx\n", b, o16, o16 * g, 100 * o16 * g / c16, c16, o16 / o
}'
if [[ "$have_torch" = 1 ]]; then
  awk -v o="${best[ftune-fp32]}" -v t="${best[torch-fp32]}" -v o16="${best[ftune-bf16]}" \
      -v t16="${best[torch-bf16]}" -v b="$batch" 'BEGIN {
    printf "against pytorch, float32: %.2f examples/s, ratio %.2fx\n", t, o / t
    printf "against pytorch, ftune bf16: %.2fx pytorch float32 (target >= 1.5x), %.2fx pytorch best bf16 (%.2f)\n", o16 / t, o16 / t16, t16
  }'
fi
