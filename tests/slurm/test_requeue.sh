#!/usr/bin/env bash
# test_requeue.sh: the preemption path end to end on a real Slurm. A job (tests/
# slurm/job.sh) runs a 2-rank program that checkpoints on a signal; jobs/lib.sh
# forwards the signal to srun, srun to both ranks, the program exits 3, lib.sh
# requeues the job; the job runs again with SLURM_RESTART_COUNT=1, resumes from
# the checkpoint and completes with 0. MODE says where the signal comes from:
#   usr1       scancel --signal=USR1 --batch (what a test can time exactly)
#   term       scancel --signal=TERM --batch (forwarded to srun as USR1)
#   sbatch     usr1, with FTUNE_REQUEUE=sbatch: the fallback for sites without
#              scontrol, a new job submitted with --dependency=singleton
#   preempt    a 4-task job in the `urgent` partition preempts it; the job was
#              submitted with --signal=B:USR1@50 (preempt_send_user_signal)
#   timelimit  --time=1 --signal=B:USR1@50: Slurm's own time-limit warning
#              (slow: Slurm checks limits about every 30 s)
# Usage: test_requeue.sh PROGRAM_DIR MODE
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 2 ] || h_fail "usage: test_requeue.sh PROGRAM_DIR usr1|term|sbatch|preempt|timelimit"
mode="$2"
h_name="test_requeue_$mode"
h_use_cluster
work="$(h_workdir)"
out="$work/job.out"
state="$work/state"
mkdir -p "$state"

how=scontrol
extra=()
case "$mode" in
    usr1|term) ;;
    sbatch) how=sbatch ;;
    preempt) extra=(--signal=B:USR1@50) ;;
    timelimit) extra=(--time=1 --signal=B:USR1@50) ;;
    *) h_fail "unknown mode '$mode'" ;;
esac

h_submit --output="$out" --chdir="$work" --job-name="ftune-requeue-$$" "${extra[@]}" \
    --export=ALL,FTUNE_HOME="$h_root",FTUNE_BUILD_DIR="$1",FTUNE_REQUEUE="$how" \
    "$h_root/tests/slurm/job.sh" checkpoint "$state"
job="$H_JOB"
h_wait_state "$job" RUNNING 60 "$out" >/dev/null
# Slurm may send the time-limit warning up to 60 s early (sbatch(1), --signal),
# even before the program has its handlers: jobs/lib.sh then turns the death by
# that signal into a requeue, and the next run becomes ready. Hence 60 s here.
h_wait_file "$state/ready" 60 || { h_show "$job" "$out"; h_fail "program never became ready"; }

t_sig="$(h_now)"
case "$mode" in
    usr1|sbatch) timeout 10 scancel --signal=USR1 --batch "$job" || h_fail "scancel --signal=USR1 failed" ;;
    term) timeout 10 scancel --signal=TERM --batch "$job" || h_fail "scancel --signal=TERM failed" ;;
    preempt)
        h_submit --partition=urgent --ntasks=4 --output="$work/urgent.out" --chdir="$work" \
            --wrap 'echo urgent job ran'
        urgent="$H_JOB" ;;
esac
h_wait_file "$state/checkpoint" 90 || { h_show "$job" "$out"; h_fail "no checkpoint after the signal"; }
t_ckpt="$(h_now)"
h_expect_grep '^signal=10 ranks_signalled=2 ranks=2$' "$state/checkpoint"

if [ "$how" = sbatch ]; then
    # The first job ends FAILED (exit 3); its continuation is a new job.
    h_wait_state "$job" FAILED 30 "$out" >/dev/null
    [ "$(h_field "$job" ExitCode)" = 3:0 ] || { h_show "$job" "$out"; h_fail "first job exit $(h_field "$job" ExitCode), expected 3:0"; }
    next="$(timeout 10 squeue -h -n "ftune-requeue-$$" -o %i | grep -vx "$job" | head -1 || true)"
    [ -n "$next" ] || { h_show "$job" "$out"; h_fail "no continuation job submitted"; }
    h_jobs+=("$next")
    h_expect_grep "submitted .* again as job $next \(singleton after $job\)" "$out"
    job="$next"
else
    h_wait_restarts "$job" $((1 + $(grep -c 'before it could handle it (start-up)' "$out" || true))) 30 "$out"
fi
h_wait_state "$job" RUNNING 90 "$out" >/dev/null
t_rerun="$(h_now)"
h_wait_state "$job" COMPLETED 60 "$out" >/dev/null

[ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$out"; h_fail "final exit code $(h_field "$job" ExitCode)"; }
case "$mode" in
    term) h_expect_grep 'got SIGTERM: forwarding SIGUSR1 to srun' "$out" ;;
    timelimit)
        # Slurm sends the USR1@50 warning at its next limit check (about every
        # 30 s); on a loaded machine that check can come after the limit
        # itself, and the job gets only the SIGTERM of the time limit. Either
        # must end in a checkpoint and a requeue (asserted above and below).
        if grep -q 'got SIGUSR1: forwarding SIGUSR1 to srun' "$out"; then
            h_say "the time-limit warning (USR1) arrived"
        else
            h_expect_grep 'got SIGTERM: forwarding SIGUSR1 to srun' "$out"
            h_say "no USR1 warning before the limit: the limit's SIGTERM checkpointed"
        fi ;;
    *) h_expect_grep 'got SIGUSR1: forwarding SIGUSR1 to srun' "$out" ;;
esac
h_expect_grep 'sig_checkpoint exited with status 3' "$out"
h_expect_grep 'sig_checkpoint: resumed from .* on 2 ranks' "$out"
h_expect_grep 'sig_checkpoint exited with status 0' "$out"
# Requeues of a start-up cut short by an early warning (timelimit mode only).
early="$(grep -c 'before it could handle it (start-up)' "$out" || true)"
if [ "$how" = scontrol ]; then
    want=$((1 + early))
    [ "$(h_field "$job" Restarts)" = "$want" ] || { h_show "$job" "$out"; h_fail "Restarts=$(h_field "$job" Restarts), expected $want"; }
    h_expect_grep "requeued job $job with scontrol" "$out"
    h_expect_grep "job $job\] restart count 1$" "$out"
fi
if [ "$mode" = preempt ]; then
    h_wait_state "$urgent" COMPLETED 60 "$work/urgent.out" >/dev/null
    h_expect_grep 'urgent job ran' "$work/urgent.out"
fi
h_say "PASS: job $job: signal to checkpoint $(h_elapsed "$t_sig" "$t_ckpt") s, to running again $(h_elapsed "$t_sig" "$t_rerun") s"
