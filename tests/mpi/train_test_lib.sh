# shellcheck shell=bash
# train_test_lib.sh: what the ftune-train test scripts share (sourced by
# tests/mpi/test_train_resume.sh, test_train_failure.sh and
# tests/gpu/test_train_gpu.sh). The caller calls train_test_begin, or defines
# `name` (the test's name, for messages) and `work` (its folder) itself, and
# makes the tiny model and dataset with tests/mpi/train_testdata.

# train_test_begin MODE: name=test_train_MODE, a fresh $work removed at exit,
# and the environment every CPU run shares (one thread a rank, root allowed).
train_test_begin() {
    name="test_train_$1"
    work="$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
}

fail() { echo "$name: FAIL: $*" >&2; exit 1; }

# expect STATUS WANT WHAT LOG: a run's exit status, with the log's tail on failure.
expect() {
    [ "$1" = "$2" ] || { tail -30 "$4" >&2; fail "$3: exit $1, expected $2"; }
}

# The flags every run shares: 20 steps of the tiny BERT on $work's data.
train_common_flags() {
    : "${work:?call train_test_begin first, or set work}"
    train_common=(--model_name_or_path "$work/model" --data_dir "$work/data"
        --allow_random_init true --max_steps 20 --per_device_train_batch_size 8
        --learning_rate 1e-3 --warmup_steps 3 --weight_decay 0.01 --logging_steps 2
        --save_steps 5 --disable_tqdm true --seed 5 "$@")
}

# train_on BUILD NRANKS OUT [--key value ...]: ftune-train with
# train_common, output in OUT and OUT.log; echoes the exit status.
train_on() {
    local build="$1" n="$2" out="$3" status=0
    shift 3
    mpirun -n "$n" --oversubscribe --bind-to none "$build/ftune-train" "${train_common[@]}" \
        --output_dir "$out" "$@" >>"$out.log" 2>&1 || status=$?
    echo "$status"
}

# The training losses of a run's log.jsonl, one per line.
losses() { grep -o '"step": [0-9]*, "epoch": [^,]*, "loss": [^,]*' "$1/log.jsonl" | sed 's/.*"loss": //'; }

# track A B TOL WHAT [moved]: every logged loss of run B within TOL relative
# of run A's (at least 5 of them); with "moved", at least one must differ.
track() {
    paste <(losses "$1") <(losses "$2") | awk -v tol="$3" -v what="$4" -v moved="${5:-}" \
        -v name="$name" '
        { n++; d = $1 - $2; if (d < 0) d = -d; r = d / $1; if (r > worst) worst = r; if (d > 0) m++ }
        END { printf "%s: %s: %d logged losses, worst relative difference %.3g\n", name, what, n, worst
              exit !(n >= 5 && worst <= tol && (moved == "" || m > 0)) }' ||
        fail "$4: losses differ by more than $3${5:+, or none differs}"
}

# stop_and_resume BUILD NRANKS OUT REF [--key value ...]: a run stopped by
# its own SIGUSR1 after step 7 (exit 3) and resumed ends with a final model
# byte-identical to the uninterrupted run REF's.
stop_and_resume() {
    local build="$1" n="$2" out="$3" ref="$4"
    shift 4
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=7 train_on "$build" "$n" "$out" "$@")" 3 \
        "stop at step 7 ($*)" "$out.log"
    expect "$(train_on "$build" "$n" "$out" "$@")" 0 "resume ($*)" "$out.log"
    grep -q 'resumed from .*checkpoint-7.h5 at step 7' "$out.log" || fail "no resume from 7 ($*)"
    cmp "$ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "the resumed run's final model differs from the uninterrupted run's ($*)"
}
