#!/usr/bin/env bash
# Run every libFuzzer target of tests/fuzz for SECONDS each, one after the
# other (one process at a time), and print per target the executions, the
# coverage (libFuzzer's final cov: edges and ft: features) and the crashes.
#
# BUILD_DIR (default build-fuzz at the top of the tree) is configured with
# clang and FTUNE_FUZZ=ON when it has no build yet, then the target
# ftune_fuzzers is (re)built. Each target starts from its committed seeds
# (tests/fuzz/corpus/TARGET, never written) plus what earlier runs found
# (BUILD_DIR/fuzz-corpus/TARGET); crashes, leaks, timeouts and out-of-memory
# inputs are saved under BUILD_DIR/artifacts/TARGET/. A crash ends that
# target's run; the others still run. Exit status 1 when any target crashed.
#
# Usage: tests/fuzz/run_fuzzers.sh [-h] [SECONDS_PER_TARGET] [BUILD_DIR]
#        (default 600 seconds; FUZZ_TARGETS="st cfg" runs only those)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
esac
seconds="${1:-600}"
build="${2:-$root/build-fuzz}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "run_fuzzers.sh: SECONDS_PER_TARGET must be a positive integer, got '$seconds' (see -h)" >&2
    exit 2
fi
all_targets="st hf_config tok_json tok_vocab_txt tok_bpe dataset manifest shard ckpt cfg"
read -r -a targets <<<"${FUZZ_TARGETS:-$all_targets}"

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DFTUNE_FUZZ=ON -DFTUNE_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target ftune_fuzzers -j "$(nproc)" >/dev/null

# final_stat NAME LOG: the value of libFuzzer's final "stat::NAME:" line.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
# last_field KEY LOG: the number after "KEY: " on the last status line.
last_field() { grep -o "$1: [0-9]*" "$2" | tail -1 | sed 's/.*: //'; }

# The targets' scratch files (fuzz_util.h): in memory where /dev/shm is,
# removed here because libFuzzer's timed exit skips the targets' own cleanup.
scratch="$(mktemp -d /dev/shm/ftune-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

failed=0
printf '%-14s %10s %8s %8s %7s  %s\n' target executions cov ft crashes artifacts
for t in "${targets[@]}"; do
    exe="$build/tests/fuzz_$t"
    [ -x "$exe" ] || { echo "run_fuzzers.sh: $exe was not built" >&2; exit 1; }
    work="$build/fuzz-corpus/$t" artifacts="$build/artifacts/$t" log="$build/fuzz-$t.log"
    mkdir -p "$work" "$artifacts"
    rc=0
    "$exe" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" "$work" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
    crashes="$(find "$artifacts" -type f | wc -l)"
    [ "$rc" = 0 ] || failed=1
    printf '%-14s %10s %8s %8s %7s  %s\n' "$t" "$(final_stat number_of_executed_units "$log")" \
        "$(last_field cov "$log")" "$(last_field ft "$log")" "$crashes" \
        "$([ "$rc" = 0 ] && echo "-" || echo "exit $rc, see $log")"
done
exit "$failed"
