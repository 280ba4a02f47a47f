#!/usr/bin/env bash
# tests/slurm/job.sh: the job script of the slurm and launcher tests, written the
# way ftune's job scripts are (jobs/lib.sh, ftune_launch, requeue on exit 3), so
# the tests exercise exactly the path the real scripts take.
#
# Usage: [sbatch] job.sh hello                (tests/slurm/mpi_hello on 2 ranks)
#        [sbatch] job.sh checkpoint STATE_DIR (tests/slurm/sig_checkpoint: waits
#                 for USR1/TERM, checkpoints, exits 3 and is requeued; the next
#                 run finds the checkpoint and exits 0)
# The programs are looked up in FTUNE_BUILD_DIR (the tests set it);
# FTUNE_TEST_PREPARE_S=N sleeps N s before the checkpoint step.
#SBATCH --job-name=ftune-test
#SBATCH --ntasks=2
#SBATCH --time=5
#SBATCH --open-mode=append
set -euo pipefail
export FTUNE_HOME="${FTUNE_HOME:-${SLURM_SUBMIT_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}"
# shellcheck source-path=SCRIPTDIR source=../../jobs/lib.sh
source "$FTUNE_HOME/jobs/lib.sh"
FTUNE_JOB_ARGS=("$@")  # read by ftune_requeue_on_exit3 (sbatch path)

status=0
case "${1:-}" in
    hello)
        bin="$(ftune_find_bin mpi_hello)" || exit 2
        ftune_launch 2 "$bin" "${SLURM_NTASKS:-2}" || status=$?
        ;;
    checkpoint)
        [ -n "${2:-}" ] || { ftune_log "usage: job.sh checkpoint STATE_DIR"; exit 2; }
        bin="$(ftune_find_bin sig_checkpoint)" || exit 2
        ftune_log "restart count ${SLURM_RESTART_COUNT:-0}"
        # A stand-in for work between steps (staging data): the tests send a
        # signal here to check it stops the job before the step starts.
        if [ -n "${FTUNE_TEST_PREPARE_S:-}" ]; then
            ftune_log "preparing for ${FTUNE_TEST_PREPARE_S} s"
            sleep "$FTUNE_TEST_PREPARE_S"
        fi
        ftune_launch 2 "$bin" "$2" 60 || status=$?
        ;;
    -h|--help) sed -n '5,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ftune_log "usage: job.sh hello | job.sh checkpoint STATE_DIR"; exit 2 ;;
esac
ftune_requeue_on_exit3 "$status"
exit "$status"
