#!/usr/bin/env bash
# Run ftune's whole test suite (CI runs exactly: bash env/setup.sh && bash env/test.sh).
#
#   1. every CTest test of the release build in build/ (labels unit, mpi,
#      integration, slurm; gpu tests report "skipped" without a GPU);
#   2. an AddressSanitizer + UBSan build in build-asan/ and its unit and mpi tests;
#   3. the unit tests under valgrind memcheck (no leaks, no invalid reads).
#
# Usage: bash env/test.sh [-h] [--quick]   (--quick: step 1 only)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
quick=0
case "${1:-}" in
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --quick) quick=1 ;;
    "") ;;
    *) echo "test.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
esac
say() { printf '\ntest: %s\n' "$*"; }
jobs="$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

if [ ! -d "$root/build" ]; then
    echo "test.sh: $root/build is missing: run bash env/setup.sh first" >&2
    exit 2
fi
cmake --build "$root/build" -j "$jobs" >/dev/null

say "1/3 release build: all tests"
start=$SECONDS
ctest --test-dir "$root/build" --output-on-failure -j "$jobs" --timeout 900
say "1/3 took $((SECONDS - start)) s"
[ "$quick" = 1 ] && exit 0

say "2/3 sanitizer build (ASan + UBSan): unit and mpi tests"
start=$SECONDS
cmake -S "$root" -B "$root/build-asan" -DFTUNE_SANITIZE=ON -DFTUNE_CUDA=OFF \
    -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$root/build-asan" -j "$jobs" >/dev/null
# Open MPI's own allocations at init are not ours to fix.
# fast_unwind_on_malloc=0: Open MPI's libraries have no frame pointers, so the
# fast unwinder gives stacks the suppressions cannot match.
export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" -L 'unit|mpi' --timeout 900
say "2/3 took $((SECONDS - start)) s"

say "3/3 valgrind memcheck: unit tests"
start=$SECONDS
ctest --test-dir "$root/build" --output-on-failure -L unit -LE 'slow|emulated' -T memcheck \
    --overwrite MemoryCheckCommandOptions="--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 --suppressions=$root/tests/valgrind.supp" \
    -j "$jobs" --timeout 900 >"$root/build/memcheck.log" 2>&1 || {
    tail -60 "$root/build/memcheck.log"
    exit 1
}
if grep -q 'Memory checking results' "$root/build/memcheck.log" &&
   grep -A40 'Memory checking results' "$root/build/memcheck.log" | grep -qE ' - [0-9]+$'; then
    grep -A40 'Memory checking results' "$root/build/memcheck.log"
    echo "test.sh: valgrind found defects (details in build/Testing/Temporary/MemoryChecker.*.log)" >&2
    exit 1
fi
tail -3 "$root/build/memcheck.log"
say "3/3 took $((SECONDS - start)) s"
say "all test stages passed"
