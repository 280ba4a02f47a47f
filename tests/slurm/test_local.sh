#!/usr/bin/env bash
# test_local.sh: the launcher path without Slurm. `bash tests/slurm/job.sh` runs
# its programs through jobs/lib.sh with mpirun on 2 ranks; the test checks the
# world forms, that USR1 and TERM sent to the job script reach both ranks and
# come back as exit 3 (checkpointed) with the "run again" message, that the
# second run resumes with 0, that a signal between steps stops the script
# before its step starts (exit 3), that a program's own status comes through, and
# that a missing program fails with 2 and names env/setup.sh.
# Usage: test_local.sh PROGRAM_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || h_fail "usage: test_local.sh PROGRAM_DIR"
command -v mpirun >/dev/null || h_fail "mpirun not found"
# Whatever surrounds this test (even a Slurm job), the local path must be taken.
unset SLURM_JOB_ID SLURM_JOBID SLURM_NTASKS SLURM_RESTART_COUNT
export FTUNE_HOME="$h_root" FTUNE_BUILD_DIR="$1"
job="$h_root/tests/slurm/job.sh"
work="$(h_workdir)"

# 1. a 2-rank world through mpirun
st=0
timeout 60 bash "$job" hello >"$work/hello.out" 2>&1 || st=$?
[ "$st" = 0 ] || { cat "$work/hello.out" >&2; h_fail "hello exited $st"; }
h_expect_grep 'mpi_hello: rank 0 of 2 on ' "$work/hello.out"
h_expect_grep 'mpi_hello: rank 1 of 2 on ' "$work/hello.out"
h_expect_grep "\[[0-9T:-]+ local [0-9]+\] launching locally on 2 ranks: mpirun -n 2 --oversubscribe --bind-to none " "$work/hello.out"

# 2. a signal to the job script: forwarded, checkpoint, exit 3; then resume.
checkpoint_run() { # SIGNAL NAME
    local sig="$1" dir="$work/$2" pid st=0 t0
    mkdir -p "$dir"
    timeout 90 bash "$job" checkpoint "$dir" >"$dir/run1.out" 2>&1 &
    pid=$!
    h_wait_file "$dir/ready" 30 || { kill "$pid"; cat "$dir/run1.out" >&2; h_fail "$2: program never ready"; }
    # The job script is timeout's child; signal the script, as Slurm would.
    t0="$(h_now)"
    pkill -"$sig" -P "$pid" -x bash || h_fail "$2: no job script under pid $pid"
    wait "$pid" || st=$?
    [ "$st" = 3 ] || { cat "$dir/run1.out" >&2; h_fail "$2: first run exited $st, expected 3"; }
    h_say "$2: SIG$sig to exit 3 in $(h_elapsed "$t0" "$(h_now)") s"
    h_expect_grep '^signal=10 ranks_signalled=2 ranks=2$' "$dir/checkpoint"
    h_expect_grep "got SIG$sig: forwarding SIGUSR1 to mpirun" "$dir/run1.out"
    h_expect_grep 'stopped for requeue \(exit 3\); run the same command again to resume' "$dir/run1.out"
    st=0
    timeout 60 bash "$job" checkpoint "$dir" >"$dir/run2.out" 2>&1 || st=$?
    [ "$st" = 0 ] || { cat "$dir/run2.out" >&2; h_fail "$2: second run exited $st"; }
    h_expect_grep 'sig_checkpoint: resumed from .* on 2 ranks' "$dir/run2.out"
}
checkpoint_run USR1 usr1
checkpoint_run TERM term

# 3. a signal between steps: the step is not started, the script exits 3
dir="$work/between"
mkdir -p "$dir"
FTUNE_TEST_PREPARE_S=3 timeout 60 bash "$job" checkpoint "$dir" >"$dir/run.out" 2>&1 &
pid=$!
t0=$SECONDS
until grep -q 'preparing for 3 s' "$dir/run.out" 2>/dev/null; do
    [ $((SECONDS - t0)) -lt 20 ] || { kill "$pid"; h_fail "between: script never reached its preparation"; }
    sleep 0.1
done
pkill -USR1 -P "$pid" -x bash || h_fail "between: no job script under pid $pid"
st=0
wait "$pid" || st=$?
[ "$st" = 3 ] || { cat "$dir/run.out" >&2; h_fail "between: exited $st, expected 3"; }
h_expect_grep 'got SIGUSR1 between steps' "$dir/run.out"
h_expect_grep 'stop requested \(SIGUSR1\) before sig_checkpoint started: not starting it' "$dir/run.out"
[ ! -e "$dir/ready" ] || h_fail "between: the step was started after all"

# 4. the program's own status comes through (usage error of the program: 2)
st=0
# shellcheck disable=SC2016  # expanded by the inner shell
FTUNE_BUILD_DIR="$1" timeout 60 bash -c 'source "$FTUNE_HOME/jobs/lib.sh"; ftune_launch 2 "$FTUNE_BUILD_DIR/mpi_hello"' \
    >"$work/status.out" 2>&1 || st=$?
[ "$st" = 2 ] || { cat "$work/status.out" >&2; h_fail "program status 2 came back as $st"; }
h_expect_grep 'mpi_hello exited with status 2' "$work/status.out"

# 5. a program that was not built: exit 2 and the remedy
st=0
FTUNE_BUILD_DIR="$work/nowhere" timeout 30 bash "$job" hello >"$work/missing.out" 2>&1 || st=$?
[ "$st" = 2 ] || { cat "$work/missing.out" >&2; h_fail "missing program exited $st, expected 2"; }
h_expect_grep "mpi_hello not found in $work/nowhere .*run bash env/setup.sh first" "$work/missing.out"
h_say "PASS"
