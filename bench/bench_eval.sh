#!/usr/bin/env bash
# Compare ftune-eval's scoring throughput with PyTorch's forward, in one run.
# usage: bench/bench_eval.sh [-h] [BUILD_DIR] [ROWS] [BATCH]
#   BUILD_DIR: a build holding ftune-eval and tests/eval_fixture (default build)
#   ROWS: test examples scored by ftune-eval (default 192), BATCH (default 64)
# Exports a random-init BERT-base classifier (2 labels) and a test split of
# ROWS texts that fill 128 tokens (cached in BUILD_DIR/bench-eval), then runs
# ftune-eval on one rank with 2 OpenMP threads (default and
# OMP_WAIT_POLICY=PASSIVE) at BATCH x 128, and PyTorch (/usr/bin/python3,
# torch.set_num_threads(2), default and PASSIVE: shared/BENCHMARKS.md's best
# configurations) on the same shapes, and prints examples/s and the ratio of
# the best of each. FTUNE_BENCH_BATCHES: PyTorch batches timed (default 3).
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
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

best_ours=0
for policy in default PASSIVE; do
  out="$cache/out-$policy"
  env_args=(OMP_NUM_THREADS=2 FTUNE_LOG_LEVEL=warn)
  [[ "$policy" = PASSIVE ]] && env_args+=(OMP_WAIT_POLICY=PASSIVE)
  env "${env_args[@]}" "$build/ftune-eval" --model "$model" --data "$data" --output "$out" \
    --batch-size "$batch" --force >/dev/null
  eps="$(json_eps "$out/report.json")"
  echo "impl=ftune batch=$batch seq=128 rows=$rows omp=$policy examples_per_s=$(printf '%.2f' "$eps")"
  best_ours="$(printf '%s\n%s\n' "$best_ours" "$eps" | sort -g | tail -1)"
done
best_torch=0
for policy in default PASSIVE; do
  env_args=(FTUNE_BENCH_THREADS=2)
  [[ "$policy" = PASSIVE ]] && env_args+=(OMP_WAIT_POLICY=PASSIVE)
  line="$(env "${env_args[@]}" /usr/bin/python3 "$here/bench_eval.py" "$batch" 128 \
    "${FTUNE_BENCH_BATCHES:-3}" 1)"
  echo "$line omp=$policy"
  best_torch="$(printf '%s\n%s\n' "$best_torch" "$(field "$line" examples_per_s)" | sort -g | tail -1)"
done
awk -v o="$best_ours" -v t="$best_torch" -v b="$batch" \
  'BEGIN { printf "BERT-base eval %dx128: ftune %.2f examples/s, pytorch %.2f examples/s, ratio %.2fx (target >= 1.5x)\n", b, o, t, o / t }'
