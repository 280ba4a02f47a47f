#!/usr/bin/env bash
# bench_shard.sh: ftune-shard throughput on a 200,000-example synthetic JSONL
# at 1 and 2 MPI ranks; prints examples/s and MB/s of each and the speed-up.
# usage: bench/bench_shard.sh [-h] [BUILD_DIR] [EXAMPLES] [REPEATS]
#   BUILD_DIR: a build holding ftune-shard (default build); EXAMPLES default
#   200000; REPEATS (default 3) runs per rank count, the best one counts.
# The input (about 80 MB, 15-120 words per example, 4 labels) is generated
# once into FTUNE_BENCH_CACHE (default .cache/bench in the source tree).
# Tokenizer models/bert-tiny (bert-base-uncased WordPiece), --max-length 128,
# --shards 8, --split 0.8,0.1,0.1 --stratify. The program's own timer is used
# (MPI start-up excluded); the per-phase times show what bounds each run.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
n="${2:-200000}"
repeats="${3:-3}"
bin="$build/ftune-shard"
[[ -x "$bin" ]] || { echo "no $bin: build the project first" >&2; exit 2; }
cache="${FTUNE_BENCH_CACHE:-$root/.cache/bench}"
input="$cache/synthetic-$n.jsonl"
mkdir -p "$cache"
if [[ ! -s "$input" ]]; then
  awk -v n="$n" 'BEGIN {
    split("the of and to in a is that for it as was with be by on not he this are or his from at which but have an they " \
          "you were their one all we can her has there been if more when will would who so no money free offer click " \
          "meeting report thanks please government congress nation people year great public country state united", w, " ")
    s = 12345
    for (i = 0; i < n; i++) {
      k = 15 + (s = (s * 1103515245 + 12345) % 2147483648) % 106; t = ""
      for (j = 0; j < k; j++) { s = (s * 1103515245 + 12345) % 2147483648; t = t (j ? " " : "") w[1 + int(s / 65536) % length(w)] }
      printf "{\"text\": \"%s\", \"label\": \"class%d\"}\n", t, i % 4
    } }' >"$input.tmp" && mv "$input.tmp" "$input"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "input: $input ($(wc -l <"$input") examples, $(($(wc -c <"$input") / 1000000)) MB); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A best
for ranks in 1 2; do
  best[$ranks]=0
  for ((r = 0; r < repeats; r++)); do
    rm -rf "$out/d"
    mpirun -n "$ranks" --oversubscribe --bind-to none "$bin" --input "$input" --tokenizer "$root/models/bert-tiny" \
      --output "$out/d" --shards 8 --stratify >"$out/log" 2>/dev/null
    line="$(grep 'examples/s' "$out/log")"
    eps="$(sed -E 's/.*: ([0-9]+) examples\/s.*/\1/' <<<"$line")"
    echo "ranks $ranks run $((r + 1)): $line"
    echo "  $(grep '^time' "$out/log")"
    echo "  $(grep '^cpu' "$out/log")"
    if ((eps > best[$ranks])); then best[$ranks]=$eps; fi
  done
done
awk -v a="${best[1]}" -v b="${best[2]}" 'BEGIN { printf "best: 1 rank %d examples/s, 2 ranks %d examples/s: speed-up %.2fx\n", a, b, b / a }'
echo "(on a busy machine compare the 1-rank wall time with the 2-rank 'busiest rank' CPU time: the speed-up idle cores would give)"
