#!/usr/bin/env bash
# test_train_failure.sh: ftune-train on 2 MPI ranks stops cleanly on bad data
# or a failure on one rank: every rank exits, within seconds, with status 2
# (not a hang ended by `timeout`, status 124), and stderr names what failed.
# Tiny BERT on 256 synthetic rows (tests/mpi/train_testdata.c). MODE:
#   badid     row 5 of train-00001-of-00002.h5 holds token id 64 in a 64-id
#             vocabulary, in a file whose crc32 matches the manifest: the
#             range check at load names the file, the row and the id, before
#             any step (every rank loads the whole split, so every rank finds it)
#   badcrc    one byte of that file's example_index data flipped (HDF5 still
#             reads it): the crc32 check at load names the file
#   rankfail  rank 1 alone gets an out-of-vocabulary id in its first
#             micro-batch of step 3 (test hook FTUNE_TRAIN_BAD_ID_AT=1:3,
#             with 2 micro-batches a step): model_forward fails on rank 1
#             only, rank 0 is stopped at the step's agreement instead of
#             waiting in the gradient all-reduce, and rank 1's message (step,
#             rank, position, id) reaches stderr through rank 0
#   kill9     rank 1 dies by SIGKILL in the middle of step 13 (test hook
#             FTUNE_TRAIN_KILL_AT=1:13, after its forward): the job ends
#             within seconds with a non-zero status (mpirun stops rank 0,
#             which waits in the step's collectives), no rank is left
#             running, and the next run recovers the dead job's lock,
#             resumes from the newest checkpoint and ends with the
#             uninterrupted run's final model, byte for byte
# Usage: test_train_failure.sh BUILD_DIR badid|badcrc|rankfail|kill9
set -euo pipefail
if [ "${1:-}" = -h ] || [ $# != 2 ]; then
    echo "usage: test_train_failure.sh BUILD_DIR badid|badcrc|rankfail|kill9" >&2
    exit 2
fi
build="$1"
mode="$2"
# shellcheck source-path=SCRIPTDIR source=train_test_lib.sh
source "$(dirname "$0")/train_test_lib.sh"
train_test_begin "$mode"

# run_failing OUT [--key value ...]: ftune-train on 2 ranks under a 60 s
# timeout, stdout and stderr apart in OUT.stdout and OUT.stderr; echoes the
# exit status (124 or 137: it hung).
run_failing() {
    local out="$1" status=0
    shift
    timeout -k 10 60 mpirun -n 2 --oversubscribe --bind-to none "$build/ftune-train" \
        "${train_common[@]}" --output_dir "$out" "$@" >"$out.stdout" 2>"$out.stderr" ||
        status=$?
    echo "$status"
}

# expect_failure OUT PATTERN [--key value ...]: exit 2 within the timeout,
# PATTERN (grep -E) on stderr and not on stdout, and no checkpoint written.
expect_failure() {
    local out="$1" pattern="$2" status start="$SECONDS"
    shift 2
    status="$(run_failing "$out" "$@")"
    echo "$name: exit $status after $((SECONDS - start)) s"
    case "$status" in 124 | 137) fail "the job hung (killed by timeout)" ;; esac
    [ "$status" = 2 ] || { cat "$out.stderr" >&2; fail "exit $status, expected 2"; }
    grep -Eq -- "$pattern" "$out.stderr" || { cat "$out.stderr" >&2; fail "no '$pattern' on stderr"; }
    ! grep -Eq -- "$pattern" "$out.stdout" || fail "the error went to stdout"
    ! ls "$out"/checkpoint-*.h5 >/dev/null 2>&1 || fail "a checkpoint was written"
    grep -E -- "$pattern" "$out.stderr" | head -3
}

train_common_flags --evaluation_strategy steps --eval_steps 10
case "$mode" in
badid)
    "$build/tests/train_testdata" "$work" 256 64 bad-id || fail "train_testdata bad-id"
    expect_failure "$work/out" \
        'train-00001-of-00002\.h5: row 5, position 2: token id 64 not in the model.s vocabulary \[0, 64\)'
    ;;
badcrc)
    "$build/tests/train_testdata" "$work" 256 64 bad-crc || fail "train_testdata bad-crc"
    expect_failure "$work/out" \
        'train-00001-of-00002\.h5: crc32 [0-9a-f]{8}, but manifest\.json says [0-9a-f]{8}'
    ;;
rankfail)
    "$build/tests/train_testdata" "$work" 256 64 || fail "train_testdata"
    FTUNE_TRAIN_BAD_ID_AT=1:3 expect_failure "$work/out" \
        'step 3, micro-batch 0, rank 1: model: row 0 position 0: token id 64 outside the vocabulary' \
        --per_device_train_batch_size 4 --gradient_accumulation_steps 2
    # Steps 1 and 2 ran (logging every 2 steps), step 3 was not taken.
    grep -q '"step": 2,' "$work/out/log.jsonl" || fail "step 2 was not logged"
    ! grep -q '"step": [3-9],' "$work/out/log.jsonl" || fail "a step after the failure was logged"
    ;;
kill9)
    "$build/tests/train_testdata" "$work" 256 64 || fail "train_testdata"
    expect "$(train_on "$build" 2 "$work/ref")" 0 "uninterrupted run" "$work/ref.log"
    out="$work/out" start="$SECONDS"
    status="$(FTUNE_TRAIN_KILL_AT=1:13 run_failing "$out")"
    echo "$name: exit $status after $((SECONDS - start)) s"
    # mpirun exits 128+9 for a rank killed by signal 9: 137 is a hang ended by
    # timeout only when the 60 s ran out.
    [ $((SECONDS - start)) -lt 60 ] || fail "the job hung after rank 1 was killed (ended by timeout)"
    [ "$status" != 0 ] || fail "the job exited 0 although rank 1 was killed"
    grep -q 'exited on signal 9' "$out.stderr" || { cat "$out.stderr" >&2; fail "mpirun did not report rank 1's SIGKILL"; }
    ! pgrep -f -- "--output_dir $out" >/dev/null || fail "a rank of the killed job is still running"
    grep -q '"step": 12,' "$out/log.jsonl" || fail "step 12 was not logged before the kill"
    ! grep -q '"step": 1[3-9],' "$out/log.jsonl" || fail "a step from 13 on was logged"
    grep -q '^slurm_job_id=.* host=.* pid=[0-9]*$' "$out/.ftune.lock" || fail "the killed job left no lock"
    cp "$out.stderr" "$out.log"
    expect "$(train_on "$build" 2 "$out")" 0 "resume after the kill" "$out.log"
    grep -q 'recovered a stale lock left by pid [0-9]* on host' "$out.log" || fail "no stale-lock line"
    grep -Eq 'resumed from .*checkpoint-(5|10)\.h5 at step (5|10)' "$out.log" || fail "no resume from step 5 or 10"
    grep -E 'resumed from .*checkpoint' "$out.log"
    cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "the resumed run's final model differs from the uninterrupted run's"
    ;;
*)
    fail "unknown mode $mode"
    ;;
esac
echo "$name: PASS"
