# shellcheck shell=bash
# jobs/lib.sh: what every ftune job script shares: where the repository and
# the programs are, how a program is launched (srun under Slurm, mpirun
# elsewhere) with SIGUSR1/SIGTERM forwarded to it, and how a run that
# checkpointed for requeue (exit 3) gets requeued, or not.
#
# Sourced, never run. A job script starts like this (under sbatch the script
# runs from a spool copy, so it cannot find the repository from its own path):
#
#   set -euo pipefail
#   export FTUNE_HOME="${FTUNE_HOME:-${SLURM_SUBMIT_DIR:-$(cd "$(dirname "$0")/.." && pwd)}}"
#   source "$FTUNE_HOME/jobs/lib.sh"
#   status=0
#   ftune_launch 2 "$(ftune_find_bin ftune-train)" --config "$cfg" || status=$?
#   ftune_requeue_on_exit3 "$status"
#   exit "$status"
#
# ftune's programs exit 0 done, 1 runtime failure, 2 usage or input error,
# 3 checkpointed for requeue.
#
# Design: the program runs in the background and the shell waits for it, because
# bash runs traps only between foreground commands; a trapped USR1/TERM is
# forwarded to the launcher (srun relays it to every task, mpirun to every rank)
# and the shell waits again for the program's real exit status.
#
# Cancel, requeue, preemption and USR1 all end in the same exit 3 (every one
# asks the ranks to checkpoint), so the signal alone does not say whether to
# requeue. Slurm does: ftune_requeue_on_exit3 asks `scontrol show job` (JobState
# and Restarts, against this run's SLURM_RESTART_COUNT) before it acts. What
# the batch script sees, measured on Slurm 22.05 (KillWait 5, GraceTime 10):
#   scancel JOB              SIGCONT+SIGTERM to the script and every step
#                            (SIGKILL after KillWait); JobState=COMPLETING,
#                            Restarts unchanged; ends CANCELLED.
#                            -> "ending": no requeue. (A `scontrol requeue` of
#                            a job being cancelled succeeds: it undid the
#                            cancel, issue 16.)
#   scontrol requeue JOB     SIGCONT+SIGTERM as above, but Restarts is already
#                            one higher; the job pends again after the script
#                            exits. -> "requeued": Slurm did it; a second
#                            requeue is refused ("Job is pending execution")
#                            and must never become an sbatch resubmission.
#   preemption (partition    SIGCONT + the job's --signal (B:USR1) to the script
#   PriorityTier, REQUEUE)   only, JobState=RUNNING, PreemptTime set; if it is
#                            still running after GraceTime, Slurm requeues it
#                            as above (SIGTERM, Restarts one higher).
#                            -> "running" (or "requeued" after GraceTime).
#   scancel --signal=USR1    USR1 to the script only, JobState=RUNNING,
#     --batch (or the time-  PreemptTime=None. -> "running": the script
#     limit --signal)        requeues itself with `scontrol requeue`.
#   the time limit itself    as scancel (SIGTERM, COMPLETING, Restarts
#     (no --signal came, or  unchanged), but RunTime >= TimeLimit; ends TIMEOUT.
#     it came too late)      -> "running": requeued, so the run goes on.
# So: "running" -> requeue; "requeued" -> nothing to do; "ending" -> exit.
# The sbatch --dependency=singleton fallback (a new job id) is used only where
# `scontrol requeue` cannot work: the job is not requeueable (Requeue=0, i.e.
# --no-requeue or JobRequeue=0: "Requested operation is presently disabled"),
# scontrol is missing (then only when the script got no SIGTERM, which is what
# a cancel and an outside requeue send), or FTUNE_REQUEUE=sbatch; never for a
# job that Slurm is cancelling or has requeued already.
# Not here: building (env/setup.sh), the Slurm cluster (env/local-slurm.sh),
# argument parsing of the job scripts.
#
# Environment read: FTUNE_HOME, FTUNE_BUILD_DIR (default $FTUNE_HOME/build),
# FTUNE_DEMO (classify|sft; which demo the scripts' defaults run),
# FTUNE_REQUEUE (auto|scontrol|sbatch|none; default auto), FTUNE_JOB_SCRIPT
# (the script to resubmit on the sbatch path; default: the running script) and
# the array FTUNE_JOB_ARGS (its arguments; set FTUNE_JOB_ARGS=("$@") early).

# The repository: the job script's choice, else the folder above this file
# (lib.sh itself is always read from the repository, never from a spool copy).
if [ -z "${FTUNE_HOME:-}" ]; then
    FTUNE_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fi
export FTUNE_HOME
FTUNE_BUILD_DIR="${FTUNE_BUILD_DIR:-$FTUNE_HOME/build}"

# The bundled demos, chosen by FTUNE_DEMO: "classify" (the default: a tiny
# BERT from scratch classifies State of the Union chunks by era) or "sft" (a
# tiny Llama, models/llama-tiny, from scratch learns to answer a prompt about
# a chunk with {"president": ..., "year": ...}). The job scripts' defaults
# (no arguments) run the chosen demo.
# ftune_demo: prints the demo's name; fails naming FTUNE_DEMO when unknown.
ftune_demo() {
    case "${FTUNE_DEMO:-classify}" in
        classify | sft) printf '%s\n' "${FTUNE_DEMO:-classify}" ;;
        *)
            ftune_log "error: FTUNE_DEMO=$FTUNE_DEMO: expected classify or sft"
            return 2
            ;;
    esac
}

# ftune_demo_dir: the demo's default output folder (data, train, eval under
# it): runs/demo for classify, runs/sft-demo for sft.
ftune_demo_dir() {
    local demo
    demo="$(ftune_demo)" || return 2
    if [ "$demo" = sft ]; then
        printf '%s\n' "$FTUNE_HOME/runs/sft-demo"
    else
        printf '%s\n' "$FTUNE_HOME/runs/demo"
    fi
}

# ftune_log MESSAGE...: one line on stderr, "[time job] message".
ftune_log() {
    local who="local $$"
    if [ -n "${SLURM_JOB_ID:-}" ]; then who="job $SLURM_JOB_ID"; fi
    printf '[%s %s] %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$who" "$*" >&2
}

# ftune_in_slurm: true inside a Slurm job where srun can start a step.
ftune_in_slurm() {
    [ -n "${SLURM_JOB_ID:-}" ] && command -v srun >/dev/null 2>&1
}

# ftune_find_bin NAME: prints the path of program NAME in the build folder;
# fails with a message naming the folder when it has not been built.
ftune_find_bin() {
    local bin="$FTUNE_BUILD_DIR/$1"
    if [ ! -x "$bin" ]; then
        ftune_log "error: $1 not found in $FTUNE_BUILD_DIR (not built?): run bash env/setup.sh first" \
            "(or set FTUNE_BUILD_DIR)"
        return 2
    fi
    printf '%s\n' "$bin"
}

# Signal state (globals: traps run outside any function's scope). lib.sh
# traps USR1 and TERM from the moment it is sourced, so a stop request that
# arrives between steps (staging data, between two programs) is kept instead of
# killing the job script: the next ftune_launch then does not start its step.
_ftune_child=""
_ftune_launcher=""
_ftune_pending=""
_ftune_trapped=0
_ftune_forwarded=0
_ftune_got_term=0

_ftune_on_signal() {
    local sig="$1"
    _ftune_trapped=1
    # Cancel and requeue (from outside or by preemption after GraceTime) send
    # TERM; remembered for when scontrol cannot be asked (see the header).
    if [ "$sig" = TERM ]; then _ftune_got_term=1; fi
    # Both launchers take SIGTERM as "kill the job": srun answers "forcing job
    # termination" and SIGKILLs the tasks, mpirun kills the ranks and exits 1,
    # so the program's checkpoint and exit 3 are lost. ftune's programs treat
    # USR1 and TERM alike and both launchers relay USR1 untouched, so TERM goes
    # on as USR1. (Where Slurm sends TERM to the batch script it also sends it
    # to the tasks directly.)
    if [ "$sig" = TERM ]; then sig=USR1; fi
    if [ -z "$_ftune_child" ]; then
        ftune_log "got SIG$1 between steps: the next step will not start"
        _ftune_pending="$1"
        return 0
    fi
    ftune_log "got SIG$1: forwarding SIG$sig to $_ftune_launcher (pid $_ftune_child)"
    _ftune_forwarded=1
    kill -s "$sig" "$_ftune_child" 2>/dev/null || true
}
trap '_ftune_on_signal USR1' USR1
trap '_ftune_on_signal TERM' TERM

# ftune_stop_requested: true when a USR1/TERM came while no step was running.
ftune_stop_requested() { [ -n "$_ftune_pending" ]; }

# _ftune_wait: waits for the launched step and sets _ftune_status to its exit
# status. `wait` returns above 128 when a trapped signal interrupts it; bash
# still holds the child's status then, so wait again. If that second wait
# answers 127 (no such child), the first answer was the child's own death by a
# signal that coincided with a trap: keep it.
_ftune_wait() {
    local status last=0
    while :; do
        status=0
        _ftune_trapped=0
        wait "$_ftune_child" || status=$?
        if [ "$status" = 127 ] && [ "$last" -gt 128 ]; then
            status="$last"
            break
        fi
        if [ "$status" -gt 128 ] && [ "$_ftune_trapped" = 1 ]; then
            last="$status"
            continue
        fi
        break
    done
    _ftune_status="$status"
}

# ftune_launch NTASKS PROGRAM ARGS...: runs PROGRAM on NTASKS MPI ranks and
# returns its exit status. Under Slurm: `srun --mpi=pmix` with the task count
# of the allocation (NTASKS is only a default for local runs); elsewhere
# `mpirun -n NTASKS --oversubscribe --bind-to none`. SIGUSR1 and SIGTERM sent
# to the job script reach every rank as SIGUSR1 (see _ftune_on_signal). When
# one came before the step started, the step is not started and 3 is returned
# (nothing ran, so the requeued job loses nothing). Call it as
# `ftune_launch ... || status=$?` so that `set -e` does not end the script.
ftune_launch() {
    if [ $# -lt 2 ]; then
        ftune_log "error: usage: ftune_launch NTASKS PROGRAM [ARGS...]"
        return 2
    fi
    local ntasks="$1"
    shift
    local cmd=()
    if ftune_in_slurm; then
        _ftune_launcher=srun
        cmd=(srun --mpi=pmix "$@")
    else
        _ftune_launcher=mpirun
        if ! command -v mpirun >/dev/null 2>&1; then
            ftune_log "error: mpirun not found: install Open MPI (bash env/setup.sh) or load its module"
            return 2
        fi
        cmd=(mpirun -n "$ntasks" --oversubscribe --bind-to none "$@")
        if [ "$(id -u)" = 0 ]; then
            export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
        fi
    fi
    if ftune_stop_requested; then
        ftune_log "stop requested (SIG$_ftune_pending) before $(basename "$1") started: not starting it (status 3)"
        return 3
    fi
    if [ "$_ftune_launcher" = srun ]; then
        ftune_log "launching on ${SLURM_NTASKS:-?} tasks (restart ${SLURM_RESTART_COUNT:-0}): ${cmd[*]}"
    else
        ftune_log "launching locally on $ntasks ranks: ${cmd[*]}"
    fi
    "${cmd[@]}" &
    _ftune_child=$!
    # A signal trapped between the fork and the line above was recorded as
    # pending: the program has just started, so forward it after all.
    if ftune_stop_requested; then
        _ftune_on_signal "$_ftune_pending"
        _ftune_pending=""
    fi
    _ftune_forwarded=0
    _ftune_wait
    _ftune_child=""
    ftune_log "$(basename "$1") exited with status $_ftune_status"
    # Killed by the very USR1 we forwarded (128 + 10): it came before the
    # program had installed its handler, i.e. during its start-up, when there
    # is no progress to lose. Slurm may send the --signal warning up to 60 s
    # early, so this happens; treat it as a stop for requeue, and the next run
    # resumes from the last checkpoint.
    if [ "$_ftune_forwarded" = 1 ] && [ "$_ftune_status" = 138 ]; then
        ftune_log "$(basename "$1") ended by the forwarded SIGUSR1 before it could handle it (start-up): status 3, requeue to resume from the last checkpoint"
        _ftune_status=3
    fi
    return "$_ftune_status"
}

# _ftune_job_show: this job's `scontrol -o show job` line (empty when
# scontrol is missing or does not answer).
_ftune_job_show() {
    command -v scontrol >/dev/null 2>&1 || return 0
    timeout 10 scontrol -o show job "$SLURM_JOB_ID" 2>/dev/null || true
}

# _ftune_job_field KEY LINE: the value of Key=Value in LINE (_ftune_job_show's).
_ftune_job_field() {
    local words word
    read -ra words <<<"$2"
    for word in "${words[@]}"; do
        case "$word" in "$1="*) printf '%s\n' "${word#"$1"=}"; return 0 ;; esac
    done
}

# _ftune_seconds D-HH:MM:SS|HH:MM:SS|MM:SS: the seconds of a Slurm duration.
_ftune_seconds() {
    local t="$1" days=0 a b c
    if [[ "$t" == *-* ]]; then days="${t%%-*}" t="${t#*-}"; fi
    IFS=: read -r a b c <<<"$t"
    if [ -z "${c:-}" ]; then c="$b" b="$a" a=0; fi
    printf '%s\n' "$((10#$days * 86400 + 10#$a * 3600 + 10#$b * 60 + 10#$c))"
}

# _ftune_past_time_limit LINE: true when `scontrol -o show job` LINE has a
# RunTime at or past its TimeLimit (UNLIMITED never is).
_ftune_past_time_limit() {
    local run limit
    run="$(_ftune_job_field RunTime "$1")" limit="$(_ftune_job_field TimeLimit "$1")"
    [[ "$run" =~ ^([0-9]+-)?[0-9:]+$ ]] && [[ "$limit" =~ ^([0-9]+-)?[0-9:]+$ ]] || return 1
    [ "$(_ftune_seconds "$run")" -ge "$(_ftune_seconds "$limit")" ]
}

# _ftune_ask_fate: sets _ftune_fate to what Slurm is doing with this job now
# (see the header for the evidence): "requeued" (Restarts above this run's
# SLURM_RESTART_COUNT, or pending again: an outside `scontrol requeue`, or
# preemption past GraceTime), "ending" (a final or completing state with
# Restarts unchanged, before the time limit: scancel), "running" (a stop
# request: USR1, the time limit reached,
# preemption within GraceTime; the script is to requeue), or "unknown"
# (scontrol missing or silent); _ftune_job_state and _ftune_job_restarts to
# the fields it read.
_ftune_ask_fate() {
    local line
    line="$(_ftune_job_show)"
    _ftune_job_state="$(_ftune_job_field JobState "$line")"
    _ftune_job_restarts="$(_ftune_job_field Restarts "$line")"
    if [ -z "$_ftune_job_state" ] || ! [[ "$_ftune_job_restarts" =~ ^[0-9]+$ ]]; then
        _ftune_fate=unknown
    elif [ "$_ftune_job_restarts" -gt "${SLURM_RESTART_COUNT:-0}" ]; then
        _ftune_fate=requeued
    else
        case "$_ftune_job_state" in
            RUNNING | SUSPENDED | CONFIGURING | RESIZING | STAGE_OUT | SIGNALING) _ftune_fate=running ;;
            PENDING | REQUEUED | REQUEUE_HOLD | REQUEUE_FED | SPECIAL_EXIT) _ftune_fate=requeued ;;
            *) _ftune_fate=ending ;;
        esac
        # The time limit looks like a cancel (COMPLETING, Restarts unchanged),
        # but the run is to go on: RunTime at or past TimeLimit tells it apart.
        if [ "$_ftune_fate" = ending ] && _ftune_past_time_limit "$line"; then
            _ftune_fate=running
            _ftune_job_state="$_ftune_job_state (time limit reached)"
        fi
    fi
}

# _ftune_fate_settled: logs what a fate of "requeued" or "ending" means and
# returns true (nothing left to do; FTUNE_REQUEUED=1 for "requeued");
# false for "running" and "unknown".
_ftune_fate_settled() {
    local seen="JobState=$_ftune_job_state Restarts=$_ftune_job_restarts, this run restart ${SLURM_RESTART_COUNT:-0}"
    case "$_ftune_fate" in
        requeued)
            FTUNE_REQUEUED=1
            ftune_log "Slurm has requeued job $SLURM_JOB_ID already ($seen: scontrol requeue from outside, or preemption): not requeueing it again" ;;
        ending)
            ftune_log "job $SLURM_JOB_ID is being ended by Slurm ($seen: scancel): not requeueing; submit the same command again to resume from the checkpoint" ;;
        *) return 1 ;;
    esac
}

# ftune_requeue_on_exit3 STATUS: when STATUS is 3 (checkpointed for requeue)
# and this is a Slurm job, asks Slurm what it is doing with the job
# (_ftune_ask_fate) and then: "ending" (scancel) exits without requeueing;
# "requeued" (outside scontrol requeue, preemption) leaves Slurm's requeue
# alone; "running" (USR1, time-limit warning, preemption in its GraceTime)
# puts the job back in the queue with `scontrol requeue` (same job id, so
# afterok dependents still wait for it; SLURM_RESTART_COUNT raised). When that
# is refused it asks again: a job that meanwhile was requeued or is ending is
# left so; only a job that is not requeueable (Requeue=0), or one where
# scontrol cannot be asked and no SIGTERM came, is resubmitted with
# `sbatch --dependency=singleton` (a new job id; dependents of this one see it
# fail with 3). Outside Slurm it only says how to resume. Always returns 0
# (safe under `set -e`; the script then exits with STATUS); sets
# FTUNE_REQUEUED=1 when the job will run again (requeued by us or by Slurm, or
# resubmitted). FTUNE_REQUEUE=scontrol|sbatch forces one path (Slurm is still
# asked first), none disables requeueing.
# shellcheck disable=SC2034  # FTUNE_REQUEUED is for the sourcing script
ftune_requeue_on_exit3() {
    local status="${1:-}" how="${FTUNE_REQUEUE:-auto}"
    FTUNE_REQUEUED=0
    [ "$status" = 3 ] || return 0
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        ftune_log "checkpointed and stopped for requeue (exit 3); run the same command again to resume"
        return 0
    fi
    ftune_log "checkpointed for requeue (exit 3) after restart ${SLURM_RESTART_COUNT:-0}"
    if [ "$how" = none ]; then
        ftune_log "FTUNE_REQUEUE=none: not requeueing"
        return 0
    fi
    # `scontrol requeue` sends SIGTERM to this very script: ignore it from here on.
    trap '' TERM
    _ftune_ask_fate
    _ftune_fate_settled && return 0
    if [ "$how" != sbatch ] && command -v scontrol >/dev/null 2>&1 &&
        { [ "$_ftune_fate" = running ] || [ "$_ftune_got_term" = 0 ]; }; then
        if scontrol requeue "$SLURM_JOB_ID"; then
            FTUNE_REQUEUED=1
            ftune_log "requeued job $SLURM_JOB_ID with scontrol (it restarts as restart $((${SLURM_RESTART_COUNT:-0} + 1)))"
            return 0
        fi
        # Refused: Slurm may have requeued the job or begun to end it
        # meanwhile (GraceTime ran out, a cancel came); then that stands.
        _ftune_ask_fate
        _ftune_fate_settled && return 0
    fi
    if [ "$how" = scontrol ]; then
        ftune_log "error: scontrol requeue $SLURM_JOB_ID failed; resubmit the job by hand"
        return 0
    fi
    _ftune_may_resubmit "$how" || return 0
    if _ftune_resubmit; then FTUNE_REQUEUED=1; fi
    return 0
}

# _ftune_may_resubmit HOW: true when resubmitting with sbatch cannot duplicate
# this job (it runs, so Slurm neither requeued nor is ending it): with
# FTUNE_REQUEUE=sbatch, when it is not requeueable, or (Slurm cannot be asked)
# when no SIGTERM came, SIGTERM being what a cancel and an outside requeue send.
_ftune_may_resubmit() {
    local requeue_flag
    if [ "$_ftune_fate" = unknown ]; then
        [ "$_ftune_got_term" = 0 ] && return 0
        ftune_log "error: cannot ask Slurm about job $SLURM_JOB_ID (scontrol missing or silent) and a SIGTERM came (scancel, or a requeue by Slurm): not resubmitting; resubmit by hand if it was not a cancel"
        return 1
    fi
    [ "$1" = sbatch ] && return 0
    requeue_flag="$(_ftune_job_field Requeue "$(_ftune_job_show)")"
    if [ "$requeue_flag" = 0 ]; then
        ftune_log "job $SLURM_JOB_ID is not requeueable (Requeue=0: --no-requeue or JobRequeue=0): resubmitting it instead"
        return 0
    fi
    ftune_log "error: scontrol requeue $SLURM_JOB_ID refused although the job runs and is requeueable (Requeue=$requeue_flag); not resubmitting (that could duplicate it): resubmit by hand"
    return 1
}

# The fallback: the same script again, after this job has left the queue, with
# what the environment tells of the original submission (task count, partition,
# folder, and the output file, read from this shell's own stdout).
_ftune_resubmit() {
    local script="${FTUNE_JOB_SCRIPT:-$0}" out jobid opts=() stdout_path
    if ! command -v sbatch >/dev/null 2>&1 || [ ! -r "$script" ]; then
        ftune_log "error: cannot requeue: no scontrol or sbatch, or $script unreadable; resubmit it by hand"
        return 1
    fi
    [ -n "${SLURM_NTASKS:-}" ] && opts+=(--ntasks="$SLURM_NTASKS")
    [ -n "${SLURM_JOB_NUM_NODES:-}" ] && opts+=(--nodes="$SLURM_JOB_NUM_NODES")
    [ -n "${SLURM_JOB_PARTITION:-}" ] && opts+=(--partition="$SLURM_JOB_PARTITION")
    [ -n "${SLURM_SUBMIT_DIR:-}" ] && opts+=(--chdir="$SLURM_SUBMIT_DIR")
    stdout_path="$(readlink "/proc/$$/fd/1" 2>/dev/null || true)"
    [ -f "$stdout_path" ] && opts+=(--output="$stdout_path")
    if out="$(sbatch --parsable --job-name="${SLURM_JOB_NAME:-ftune}" --dependency=singleton \
        --open-mode=append --export=ALL,FTUNE_RESTART_OF="$SLURM_JOB_ID" "${opts[@]}" \
        "$script" "${FTUNE_JOB_ARGS[@]}")"; then
        jobid="${out%%;*}"
        ftune_log "no scontrol requeue (not requeueable, no scontrol, or FTUNE_REQUEUE=sbatch): submitted $script again as job $jobid (singleton after $SLURM_JOB_ID)"
        return 0
    fi
    ftune_log "error: resubmitting $script with sbatch failed; resubmit it by hand"
    return 1
}
