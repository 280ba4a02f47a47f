#!/usr/bin/env bash
# test_finetune_requeue.sh: jobs/finetune.slurm under a real sbatch, stopped
# once training is past step 15, in one of the four ways Slurm stops a job
# (what each looks like from inside the job: jobs/lib.sh's header):
#   requeue  `scontrol requeue JOBID` from outside: Slurm requeues the job
#            itself; the script must neither requeue it again nor submit a
#            second job (issue 16, defect 2)
#   usr1     `scancel --signal=USR1 --batch JOBID`: the script requeues the
#            job itself, once
#   preempt  a 4-task job in partition `urgent` preempts it (the script's
#            --signal=B:USR1@120 arrives through preempt_send_user_signal):
#            one requeue, then the urgent job runs, then this one again
#   cancel   a plain `scancel JOBID`: the job ends CANCELLED with Restarts 0,
#            final/ is never exported, and no job of its name is left in the
#            queue: no requeue, no singleton continuation (defect 3)
#   kill9    rank 1 dies by SIGKILL mid-step 60 (test hook FTUNE_TRAIN_KILL_AT,
#            as from the OOM killer): Slurm's PMIx plugin sees the task abort
#            and cancels the step (rank 0, waiting in the step's all-reduce,
#            is killed too), the job ends FAILED with Restarts 0 and no rank
#            left running; the user's second sbatch recovers the lock,
#            resumes from checkpoint-50 and ends with the uninterrupted run's
#            model
# In the first three the job comes back once (Restarts exactly 1, the script
# logs restart count 1), resumes from a checkpoint, completes with exit 0,
# exports final/ once, and its final model.safetensors is byte-identical to an
# uninterrupted 2-rank run of the same config (mpirun, outside Slurm). In
# every mode `squeue -n NAME` never lists more than one job, polled every
# 0.5 s from the stop to a few seconds after the end.
# Usage: test_finetune_requeue.sh [-h] BUILD_DIR [requeue|usr1|preempt|cancel|kill9]
#        (MODE defaults to requeue)
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
fi
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || [ $# = 2 ] ||
    h_fail "usage: test_finetune_requeue.sh BUILD_DIR [requeue|usr1|preempt|cancel|kill9]"
build="$1"
mode="${2:-requeue}"
case "$mode" in
    requeue | usr1 | preempt | cancel | kill9) ;;
    *) h_fail "unknown mode '$mode' (requeue|usr1|preempt|cancel|kill9)" ;;
esac
[ "$mode" = requeue ] || h_name="test_finetune_$mode"
[ -x "$build/ftune-train" ] || h_skip "ftune-train is not built in $build"
h_use_cluster
work="$(h_workdir)"
out="$work/job.out"
name="ftune-ft-$mode-$$"
max_steps=200
# 4096 rows at 256 a rank: about 25 ms a step here, so a run lasts some
# seconds and the stop lands mid-run, not after the last step; saves every 50
# steps, so the stop is not tested against a background save in flight.
"$build/tests/train_testdata" "$work" 4096 64 >/dev/null || h_fail "train_testdata failed"
cat >"$work/config.json" <<JSON
{"model_name_or_path": "$work/model", "data_dir": "$work/data", "allow_random_init": true,
 "max_steps": $max_steps, "per_device_train_batch_size": 256, "learning_rate": 1e-3,
 "logging_steps": 2, "save_steps": 50, "disable_tqdm": true, "seed": 3}
JSON

if [ "$mode" != cancel ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
    mpirun -n 2 --oversubscribe --bind-to none "$build/ftune-train" --config "$work/config.json" \
        --output_dir "$work/ref" >"$work/ref.log" 2>&1 ||
        { tail -20 "$work/ref.log" >&2; h_fail "reference run failed"; }
fi

# Jobs named $name in the queue (pending, running, completing), and the most
# seen at once so far.
max_queued=0
queued() { timeout 10 squeue -h -n "$name" -o %i 2>/dev/null | wc -l; }
note_queue() {
    local n
    n="$(queued)"
    [ "$n" -gt "$max_queued" ] && max_queued="$n"
    if [ "$n" -gt 1 ]; then
        timeout 10 squeue -n "$name" >&2 || true
        h_show "$job" "$out"
        h_fail "$n jobs named $name in the queue (a duplicate of job $job)"
    fi
    return 0
}

# watch_until 'STATE1|STATE2' TIMEOUT_S: h_wait_state that also checks the
# queue on every poll; the state reached is left in $state.
watch_until() {
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$2" ]; do
        note_queue
        state="$(h_field "$job" JobState)"
        [[ "|$1|" == *"|$state|"* ]] && return 0
        case "$state" in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
                h_show "$job" "$out"
                h_fail "job $job ended $state while waiting for $1" ;;
        esac
        sleep 0.5
    done
    h_show "$job" "$out"
    h_fail "job $job still '$state' after $2 s (waiting for $1)"
}

# watch_for SECONDS: the job stays in its final state and the queue holds
# nothing of its name (a continuation would have been submitted by now).
watch_for() {
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$1" ]; do
        note_queue
        [ "$(queued)" = 0 ] || { timeout 10 squeue -n "$name" >&2 || true; h_fail "a job named $name is queued after job $job ended $state"; }
        [ "$(h_field "$job" JobState)" = "$state" ] || { h_show "$job" "$out"; h_fail "job $job left $state"; }
        sleep 0.5
    done
}

# submit OUTPUT [VAR=VALUE,...]: jobs/finetune.slurm on 2 tasks; job id in $job.
submit() {
    h_submit --output="$1" --chdir="$work" --ntasks=2 --job-name="$name" \
        --export=ALL,FTUNE_HOME="$h_root",FTUNE_BUILD_DIR="$build"${2:+,$2} \
        "$h_root/jobs/finetune.slurm" "$work/config.json" --output_dir "$work/train"
    job="$H_JOB"
}

t0="$(h_now)"
if [ "$mode" = kill9 ]; then
    submit "$out" FTUNE_TRAIN_KILL_AT=1:60
    watch_until FAILED 120
    t_end="$(h_now)"
    watch_for 4
    [ "$(h_field "$job" Restarts)" = 0 ] || { h_show "$job" "$out"; h_fail "Restarts=$(h_field "$job" Restarts) after a killed rank, expected 0"; }
    h_expect_grep 'task 1: Killed' "$out"
    ! pgrep -f -- "--output_dir $work/train" >/dev/null || h_fail "a rank of the failed job is still running"
    ! grep -q 'exported .*/final' "$out" || h_fail "final/ exported although a rank died"
    if ! grep -q 'info: step 5[0-9]/' "$out" || grep -q 'info: step 6[0-9]/' "$out"; then
        h_show "$job" "$out"
        h_fail "expected the run to end inside step 60"
    fi
    first="$job"
    submit "$work/job2.out"
    watch_until COMPLETED 240
    [ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$work/job2.out"; h_fail "second job: exit code $(h_field "$job" ExitCode)"; }
    h_expect_grep 'recovered a stale lock left by .*pid [0-9]+ on host' "$work/job2.out"
    h_expect_grep 'resumed from .*checkpoint-50\.h5 at step 50 on 2 ranks' "$work/job2.out"
    cmp "$work/ref/final/model.safetensors" "$work/train/final/model.safetensors" ||
        h_fail "final model after the kill and resume differs from the uninterrupted run"
    h_say "PASS: job $first ended FAILED $(h_elapsed "$t0" "$t_end") s after submission, rank 1 killed mid-step 60, nothing left running; job $job resumed from step 50 to the same final model"
    exit 0
fi
submit "$out"
h_wait_state "$job" RUNNING 60 "$out" >/dev/null
# Stop once training is under way (a step of 15 or more in the job's output:
# stderr is unbuffered, where log.jsonl may reach the disk only at the end).
deadline=$((SECONDS + 120))
until grep -qE 'info: step (1[5-9]|[2-9][0-9]|[0-9]{3})/' "$out" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { h_show "$job" "$out"; h_fail "training never reached step 15"; }
    sleep 0.2
done
t_stop="$(h_now)"
case "$mode" in
    requeue) timeout 10 scontrol requeue "$job" || h_fail "scontrol requeue $job failed" ;;
    usr1) timeout 10 scancel --signal=USR1 --batch "$job" || h_fail "scancel --signal=USR1 $job failed" ;;
    cancel) timeout 10 scancel "$job" || h_fail "scancel $job failed" ;;
    preempt)
        h_submit --partition=urgent --ntasks=4 --output="$work/urgent.out" --chdir="$work" \
            --job-name="ftune-urgent-$$" --wrap 'echo urgent job ran'
        urgent="$H_JOB" ;;
esac

if [ "$mode" = cancel ]; then
    watch_until CANCELLED 60
    watch_for 6
    [ "$(h_field "$job" Restarts)" = 0 ] || { h_show "$job" "$out"; h_fail "Restarts=$(h_field "$job" Restarts) after a cancel, expected 0"; }
    # The requeue decision is logged only where the ranks checkpointed (exit 3)
    # before KillWait ran out; a step torn down first (srun killed, a rank
    # dying in Open MPI's PMIx teardown) leaves the script no decision to make.
    if grep -q 'exited with status 3' "$out"; then
        h_expect_grep "job $job is being ended by Slurm .*: not requeueing" "$out"
    fi
    ! grep -qE "requeued job $job with scontrol|submitted .* again as job" "$out" ||
        h_fail "the script requeued or resubmitted a cancelled job (see $out)"
    ! grep -q 'exported .*/final' "$out" || h_fail "final/ exported although the job was cancelled"
    h_say "PASS: job $job cancelled ($state, Restarts 0, nothing queued after); $(h_elapsed "$t_stop" "$(h_now)") s from scancel"
    exit 0
fi

# Slurm's requeue shows as a Restarts count of 1 while the job is completing
# or pending again.
t_wait=$SECONDS
until [ "$(h_field "$job" Restarts)" = 1 ]; do
    [ $((SECONDS - t_wait)) -lt 60 ] || { h_show "$job" "$out"; h_fail "job $job never requeued"; }
    case "$(h_field "$job" JobState)" in
        COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY)
            h_show "$job" "$out"
            h_fail "job $job ended $(h_field "$job" JobState) (exit $(h_field "$job" ExitCode)) without a requeue: see the program's status in $out" ;;
    esac
    note_queue
    sleep 0.5
done
watch_until COMPLETED 240
watch_for 4
[ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$out"; h_fail "exit code $(h_field "$job" ExitCode)"; }
[ "$(h_field "$job" Restarts)" = 1 ] || { h_show "$job" "$out"; h_fail "Restarts=$(h_field "$job" Restarts), expected 1"; }
h_expect_grep "job $job\] restart count 1$" "$out"
h_expect_grep 'stop requested \(signal\): checkpointed at step [0-9]+' "$out"
h_expect_grep 'resumed from .*checkpoint-[0-9]+\.h5 at step [0-9]+ on 2 ranks' "$out"
! grep -q 'submitted .* again as job' "$out" || h_fail "the script submitted a second job (see $out)"
case "$mode" in
    requeue)
        h_expect_grep "Slurm has requeued job $job already" "$out"
        ! grep -q "requeued job $job with scontrol" "$out" || h_fail "the script requeued job $job a second time" ;;
    usr1) h_expect_grep "requeued job $job with scontrol" "$out" ;;
    preempt)
        # Within GraceTime the script requeues; past it, Slurm has done so.
        h_expect_grep "requeued job $job with scontrol|Slurm has requeued job $job already" "$out"
        h_wait_state "$urgent" COMPLETED 60 "$work/urgent.out" >/dev/null
        h_expect_grep 'urgent job ran' "$work/urgent.out" ;;
esac
exports="$(grep -c 'exported .*/train/final' "$out" || true)"
[ "$exports" = 1 ] || h_fail "final/ exported $exports times, expected once"
cmp "$work/ref/final/model.safetensors" "$work/train/final/model.safetensors" ||
    h_fail "final model after the requeue differs from the uninterrupted run"
h_say "PASS: job $job stopped ($mode), requeued once, resumed; one job in the queue at most; same final model; $(h_elapsed "$t0" "$(h_now)") s"
