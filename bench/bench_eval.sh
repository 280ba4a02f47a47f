#!/usr/bin/env bash
# Compare ftune-eval's scoring throughput with PyTorch's forward, in one run.
# usage: bench/bench_eval.sh [-h] [BUILD_DIR] [ROWS] [BATCH]
#   BUILD_DIR: a build holding ftune-eval and tests/eval_fixture (default build)
#   ROWS: test examples scored by ftune-eval (default 192), BATCH (default 64)
# Exports a random-init BERT-base classifier (2 labels) and a test split of
# ROWS texts that fill 128 tokens (cached in BUILD_DIR/bench-eval), then runs
# on one rank with 2 OpenMP threads, each in its two OpenMP configurations
# (default and OMP_WAIT_POLICY=PASSIVE; shared/BENCHMARKS.md's best ones):
#   ftune-eval in float32 and with --bf16, at BATCH x 128;
#   PyTorch (/usr/bin/python3, torch.set_num_threads(2)) on the same shapes in
#   float32, under torch.autocast(bfloat16) and with the model cast to bf16;
# and prints examples/s and the ratios of the best of each: float32 against
# float32, ftune bf16 against PyTorch float32 and against PyTorch's best bf16.
# FTUNE_BENCH_BATCHES: PyTorch batches timed (default 3).
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
rows="${2:-192}"
batch="${3:-64}"
for exe in "$build/ftune-eval" "$build/tests/eval_fixture"; do
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
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
json_eps() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughput"]["examples_per_s"])' "$1"; }
max() { printf '%s\n%s\n' "$1" "$2" | sort -g | tail -1; }

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
    echo "impl=ftune precision=$prec batch=$batch seq=128 rows=$rows omp=$policy examples_per_s=$(printf '%.2f' "$eps")"
    best[ftune-$prec]="$(max "${best[ftune-$prec]}" "$eps")"
  done
done
for policy in default PASSIVE; do
  env_args=(FTUNE_BENCH_THREADS=2)
  [[ "$policy" = PASSIVE ]] && env_args+=(OMP_WAIT_POLICY=PASSIVE)
  for prec in fp32 autocast bf16; do
    line="$(env "${env_args[@]}" /usr/bin/python3 "$here/bench_eval.py" "$batch" 128 \
      "${FTUNE_BENCH_BATCHES:-3}" 1 "$prec")"
    echo "$line omp=$policy"
    key=torch-bf16
    [[ "$prec" = fp32 ]] && key=torch-fp32
    best[$key]="$(max "${best[$key]}" "$(field "$line" examples_per_s)")"
  done
done
awk -v o="${best[ftune-fp32]}" -v t="${best[torch-fp32]}" -v o16="${best[ftune-bf16]}" \
    -v t16="${best[torch-bf16]}" -v b="$batch" 'BEGIN {
  printf "BERT-base eval %dx128 float32: ftune %.2f examples/s, pytorch %.2f, ratio %.2fx\n", b, o, t, o / t
  printf "BERT-base eval %dx128 bf16: ftune %.2f examples/s; against pytorch float32 %.2fx (target >= 1.5x), against pytorch best bf16 (%.2f) %.2fx\n", b, o16, o16 / t, t16, o16 / t16
}'
