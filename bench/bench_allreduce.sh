#!/usr/bin/env bash
# The gradient all-reduce's share of a training step at 1, 2 and 4 ranks.
# usage: bench/bench_allreduce.sh [-h] [BUILD_DIR] [HIDDEN LAYERS BATCH SEQ STEPS WARMUP BUCKET_MB]
#   BUILD_DIR: a build of ftune holding bench/bench_allreduce (default build);
#   the rest go to bench_allreduce (defaults 256 4 8 64 6 2 25: a BERT of
#   hidden 256 x 4 layers, 11.2M parameters = 44.7 MB of gradients, 8 rows
#   of 64 tokens per rank per step, 6 timed steps after 2, 25 MB buckets).
# Each rank count is one mpirun (--oversubscribe --bind-to none,
# OMP_NUM_THREADS=1 and OMP_WAIT_POLICY=PASSIVE per rank); FTUNE_BENCH_RANKS
# ("1 2 4") changes the list. Per rank count: the median step time, the
# exposed all-reduce time (comm's time inside comm_grads_*: what overlap did
# not hide, waiting for a slower rank included), its share of the step, the
# step time relative to 1 rank (weak scaling: each rank does the same work),
# the same bucketed all-reduce alone (no backward to hide it: its raw cost)
# and exposed / alone (< 1: overlap hid some; > 1: waiting for a slower
# rank). With fewer cores than ranks the ranks share cores: read the shares
# of one run against each other, not the seconds.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
exe="$build/bench/bench_allreduce"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

echo "# $(date -u +%FT%TZ) $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg); args: ${*:-defaults}"
printf '%-6s %10s %12s %8s %10s %10s %14s\n' ranks step_s exposed_s share step/1rk alone_s exposed/alone
base=""
for n in ${FTUNE_BENCH_RANKS:-1 2 4}; do
  line="$(mpirun -n "$n" --oversubscribe --bind-to none "$exe" "$@")"
  echo "# $line load=$(cut -d' ' -f1 /proc/loadavg)"
  step="$(field "$line" step_s)" exposed="$(field "$line" exposed_s)" alone="$(field "$line" alone_s)"
  [[ -n "$base" ]] || base="$step"
  awk -v n="$n" -v s="$step" -v e="$exposed" -v a="$alone" -v b="$base" 'BEGIN {
    printf "%-6d %10.4f %12.4f %7.1f%% %10.2f %10.4f %14s\n", n, s, e, 100 * e / s, s / b, a,
           (a > 0 ? sprintf("%.1f", e / a) : "-") }'
done
