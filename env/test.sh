#!/usr/bin/env bash
# Run ftune's whole test suite (CI runs exactly: bash env/setup.sh && bash env/test.sh).
#
#   0. the reference environment of env/reference.sh, made or checked (the
#      tests labelled reference need it; FTUNE_NO_REFERENCE=1 skips this);
#   1. every CTest test of a release test build in build-test/ (labels unit,
#      mpi, integration, slurm, reference; gpu tests report "skipped" without
#      a GPU), and a check that the programs in build/ (the ones users run)
#      hold none of the fault-injection hooks the test builds have;
#   2. an AddressSanitizer + UBSan test build in build-asan/ and its unit, mpi
#      and reliability tests (the allocation-failure drive runs here);
#   3. the unit tests of build-test/ under valgrind memcheck (no leaks, no
#      invalid reads).
#
# The test builds are configured with FTUNE_TEST_HOOKS=ON (src/core/include/core/ft_hook.h):
# only they read the variables that make a run fail on purpose.
#
# Every stage runs even when an earlier one failed; each prints its result and
# time, each skipped test one line with its reason, and the end a summary whose
# last line is "stages: N passed, M failed". Exit status 1 when a stage failed.
#
# Usage: bash env/test.sh [-h] [--quick]   (--quick: stage 1 only)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
quick=0
case "${1:-}" in
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

# The reference stack (PyTorch 2, transformers, ...: env/reference.sh) for the
# tests labelled `reference`; made once, then reused (seconds). Where PyPI
# cannot be reached those tests skip, each with its line. FTUNE_NO_REFERENCE=1
# leaves it out.
if [ "${FTUNE_NO_REFERENCE:-0}" != 1 ]; then
    say "reference environment (env/reference.sh)"
    bash "$here/reference.sh" || echo "test.sh: no reference environment: the reference tests will skip"
fi

# ctest_run BUILD_DIR CTEST_ARGS...: ctest with the shared options; then one
# line per skipped test with the last line it printed (its reason), which
# ctest itself shows only with -V. The skips come from ctest's JUnit report.
ctest_run() {
    local dir="$1" junit="$1/Testing/test-sh-junit.xml" rc=0
    shift
    rm -f "$junit"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 900 \
        --output-junit "$junit" "$@" || rc=$?
    [ -f "$junit" ] && skip_reasons "$junit"
    return "$rc"
}

skip_reasons() {
    python3 - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.find("skipped") is None:
        continue
    out = case.findtext("system-out") or ""
    lines = [l.strip() for l in out.splitlines() if l.strip()]
    print(f"skipped: {case.get('name')}: {lines[-1] if lines else '(printed no reason)'}")
PY
}

# The hook variables' names (src/core/include/core/ft_hook.h readers): present in a test
# build's programs, absent from build/'s.
hook_names='FTUNE_ALLOC_FAIL_AT|FTUNE_CKPT_CRASH_AFTER_TENSORS|FTUNE_TRAIN_SIGNAL_AT_STEP|FTUNE_TRAIN_SIGNAL_AT_EVAL_BATCH|FTUNE_TRAIN_BAD_ID_AT|FTUNE_TRAIN_KILL_AT|FTUNE_TRAIN_LOSS_SCALE_START'

no_hooks_in_release() {
    grep -aqE "$hook_names" "$root/build-test/ftune-train" || {
        echo "test.sh: build-test/ftune-train holds no hook names: the check below would prove nothing" >&2
        return 1
    }
    local p names found=0
    for p in ftune-shard ftune-train ftune-eval ftune-predict ftune-tokenize; do
        names="$({ grep -aoE "$hook_names" "$root/build/$p" || true; } | sort -u | tr '\n' ' ')"
        if [ -n "$names" ]; then
            echo "test.sh: build/$p holds test hooks: $names" >&2
            found=1
        fi
    done
    [ "$found" = 0 ] && echo "test.sh: build/'s programs hold no fault-injection hooks"
    [ "$found" = 0 ]
}

stage_release() {
    cmake --build "$root/build" -j "$jobs" >/dev/null
    cmake -S "$root" -B "$root/build-test" -DFTUNE_TEST_HOOKS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$root/build-test" -j "$jobs" >/dev/null
    no_hooks_in_release
    # The allocation-failure drive (label reliability) runs in stage 2, where
    # LeakSanitizer can see what a failed run leaves behind.
    ctest_run "$root/build-test" -LE reliability
}

stage_sanitizers() {
    cmake -S "$root" -B "$root/build-asan" -DFTUNE_SANITIZE=ON -DFTUNE_TEST_HOOKS=ON \
        -DFTUNE_CUDA=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
    cmake --build "$root/build-asan" -j "$jobs" >/dev/null
    # Open MPI's own allocations at init are not ours to fix.
    # fast_unwind_on_malloc=0: Open MPI's libraries have no frame pointers, so the
    # fast unwinder gives stacks the suppressions cannot match.
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    ctest_run "$root/build-asan" -L 'unit|mpi|reliability'
}

stage_valgrind() {
    local log="$root/build-test/memcheck.log"
    # OpenBLAS for the float32 products here: memcheck takes the AVX2 masked
    # loads (vmaskmovps) of oneDNN's JIT-compiled sgemm for whole 32-byte
    # reads past the end of a matrix ("Invalid read of size 32" in code with
    # no symbols). The sanitizer stage runs the same tests with oneDNN, and
    # test_ops_cpu calls both libraries explicitly.
    FTUNE_GEMM=openblas ctest --test-dir "$root/build-test" --output-on-failure -L unit -LE 'slow|emulated' -T memcheck \
        --overwrite MemoryCheckCommandOptions="--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 --suppressions=$root/tests/valgrind.supp" \
        -j "$jobs" --timeout 900 >"$log" 2>&1 || {
        tail -60 "$log"
        return 1
    }
    if grep -q 'Memory checking results' "$log" &&
       grep -A40 'Memory checking results' "$log" | grep -qE ' - [0-9]+$'; then
        grep -A40 'Memory checking results' "$log"
        echo "test.sh: valgrind found defects (details in build-test/Testing/Temporary/MemoryChecker.*.log)" >&2
        return 1
    fi
    tail -3 "$log"
}

names=("release build: all tests" "sanitizer build (ASan + UBSan): unit and mpi tests"
       "valgrind memcheck: unit tests")
functions=(stage_release stage_sanitizers stage_valgrind)
count=3
[ "$quick" = 1 ] && count=1
results=()
passed=0
failed=0
for ((i = 0; i < count; i++)); do
    say "$((i + 1))/3 ${names[i]}"
    start=$SECONDS
    # A subshell outside any `if` or `||` (where bash ignores set -e), with
    # set -e on again inside, stops the stage at its first failing command;
    # the next stage runs all the same.
    set +e
    (set -e; "${functions[i]}")
    rc=$?
    set -e
    took=$((SECONDS - start))
    if [ "$rc" = 0 ]; then
        result=passed
        passed=$((passed + 1))
    else
        result="FAILED (exit status $rc)"
        failed=$((failed + 1))
    fi
    results+=("$((i + 1))/3 ${names[i]}: $result in $took s")
    say "$((i + 1))/3 $result in $took s"
done

say "summary"
printf 'test:   %s\n' "${results[@]}"
[ "$quick" = 1 ] && echo "test:   (--quick: stages 2 and 3 not run)"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
