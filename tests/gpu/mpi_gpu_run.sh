#!/usr/bin/env bash
# mpi_gpu_run.sh: run an MPI test on GPUs (label gpu) and keep its skip to one
# line. Where a GPU test skips (no GPU visible, or fewer GPUs than ranks for
# NCCL), rank 0 prints the reason and every rank leaves through MPI_Finalize
# with 77; mpiexec passes the 77 on to CTest (reported skipped), but prints
# Open MPI's "Primary job terminated normally ... the job has been aborted"
# banner first. On 77 this wrapper prints the ranks' own lines without
# Open MPI's banners (the blocks between lines of dashes); a run that passes
# or fails is printed whole. The output is held back until mpiexec exits.
# Usage: mpi_gpu_run.sh [-h] MPIEXEC [ARGS...]
set -euo pipefail
if [ $# = 0 ] || [ "$1" = -h ]; then
    echo "usage: mpi_gpu_run.sh MPIEXEC [ARGS...]   (see the comment at its top)"
    [ $# = 0 ] && exit 2
    exit 0
fi
out="$(mktemp "${TMPDIR:-/tmp}/mpi_gpu_run.XXXXXX")"
trap 'rm -f "$out"' EXIT
rc=0
"$@" >"$out" 2>&1 || rc=$?
if [ "$rc" = 77 ]; then
    awk '/^-----+$/ { banner = !banner; next } !banner' "$out"
else
    cat "$out"
fi
exit "$rc"
