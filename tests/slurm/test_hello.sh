#!/usr/bin/env bash
# test_hello.sh: sbatch runs tests/slurm/job.sh, which launches a 2-rank MPI
# program through jobs/lib.sh (srun --mpi=pmix); the job must complete with exit
# 0 and both ranks must report one 2-rank world. Prints submit-to-run time.
# Usage: test_hello.sh BUILD_DIR_WITH_TEST_PROGRAMS
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || h_fail "usage: test_hello.sh PROGRAM_DIR"
h_use_cluster
work="$(h_workdir)"
out="$work/job.out"

t0="$(h_now)"
h_submit --output="$out" --chdir="$work" \
    --export=ALL,FTUNE_HOME="$h_root",FTUNE_BUILD_DIR="$1" \
    "$h_root/tests/slurm/job.sh" hello
job="$H_JOB"
h_wait_state "$job" "RUNNING|COMPLETING|COMPLETED" 60 "$out" >/dev/null
t_run="$(h_now)"
h_wait_state "$job" COMPLETED 60 "$out" >/dev/null
t_done="$(h_now)"

[ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$out"; h_fail "exit code $(h_field "$job" ExitCode)"; }
h_expect_grep 'mpi_hello: rank 0 of 2 on ' "$out"
h_expect_grep 'mpi_hello: rank 1 of 2 on ' "$out"
h_expect_grep "\[[0-9T:-]+ job $job\] launching on 2 tasks .*srun --mpi=pmix " "$out"
h_expect_grep 'mpi_hello exited with status 0' "$out"
h_say "PASS: job $job: submit to running $(h_elapsed "$t0" "$t_run") s, to completed $(h_elapsed "$t0" "$t_done") s"
