#!/usr/bin/env bash
# Compare ftune's CPU training step with PyTorch's in one run.
# usage: bench/bench_train_step.sh [-h] [BUILD_DIR] [STEPS] [WARMUP]
#   BUILD_DIR: a build of ftune holding bench_train_step (default build)
# Runs BERT-base 16x128 and GPT-2 small 8x128, dropout 0.1 and 0, ftune with
# default OpenMP settings and with OMP_WAIT_POLICY=PASSIVE, PyTorch (Debian's
# /usr/bin/python3, 2 threads) with OMP_WAIT_POLICY=PASSIVE (its best
# configuration in shared/BENCHMARKS.md), and prints the ratio per case.
# FTUNE_BENCH_DROPOUTS="0.1" limits the dropout rates tried.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
steps="${2:-5}"
warm="${3:-2}"
exe="$build/bench/bench_train_step"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }

field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

for case in "bert 16 128" "gpt2 8 128"; do
  for p in ${FTUNE_BENCH_DROPOUTS:-0.1 0}; do
    read -r arch b t <<<"$case"
    ours_default="$(OMP_NUM_THREADS=2 "$exe" "$arch" "$b" "$t" "$steps" "$warm" "$p")"
    ours_passive="$(OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE "$exe" "$arch" "$b" "$t" "$steps" "$warm" "$p")"
    theirs="$(OMP_WAIT_POLICY=PASSIVE FTUNE_BENCH_THREADS=2 /usr/bin/python3 \
      "$here/bench_train_step_torch.py" "$arch" "$b" "$t" "$steps" "$warm" "$p")"
    echo "$ours_default omp=default"
    echo "$ours_passive omp=passive"
    echo "$theirs omp=passive"
    best="$(printf '%s\n%s\n' "$(field "$ours_default" step_s)" "$(field "$ours_passive" step_s)" | sort -g | head -1)"
    awk -v a="$arch" -v p="$p" -v o="$best" -v t="$(field "$theirs" step_s)" \
      'BEGIN { printf "%s dropout %s: ftune %.3f s, pytorch %.3f s, speed-up %.2fx\n", a, p, o, t, t / o }'
  done
done
