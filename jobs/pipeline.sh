#!/usr/bin/env bash
# jobs/pipeline.sh: the whole demo pipeline, shard -> finetune -> evaluate.
# Usage: bash jobs/pipeline.sh [--local] [-h]
# Under Slurm (sbatch on PATH, no --local): submits jobs/shard.slurm,
# jobs/finetune.slurm and jobs/evaluate.slurm, each after the previous one
# succeeded (sbatch --dependency=afterok), and prints the three job ids and
# where report.html will be; follow them with squeue / the ftune-*-JOBID.out
# files. With --local, or where there is no sbatch, runs the three scripts in
# sequence on this machine (bash, mpirun), stops at the first failure, and
# ends by printing the path of report.html.
# Every job script runs its bundled default: the demo dataset into
# FTUNE_SHARD_OUT (default runs/demo/data), training into FTUNE_TRAIN_OUT
# (runs/demo/train), the report into FTUNE_EVAL_OUT (runs/demo/eval).
# Environment: FTUNE_HOME, FTUNE_BUILD_DIR, FTUNE_NTASKS, FTUNE_SHARD_OUT,
# FTUNE_TRAIN_OUT, FTUNE_EVAL_OUT, FTUNE_SBATCH_ARGS (extra sbatch options for
# every job, e.g. "--partition=debug").
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
local_run=0
for a in "$@"; do
    case "$a" in
        -h | --help) usage; exit 0 ;;
        --local) local_run=1 ;;
        *) echo "pipeline.sh: unknown argument $a" >&2; usage >&2; exit 2 ;;
    esac
done
FTUNE_HOME="${FTUNE_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
export FTUNE_HOME
export FTUNE_SHARD_OUT="${FTUNE_SHARD_OUT:-$FTUNE_HOME/runs/demo/data}"
export FTUNE_TRAIN_OUT="${FTUNE_TRAIN_OUT:-$FTUNE_HOME/runs/demo/train}"
export FTUNE_EVAL_OUT="${FTUNE_EVAL_OUT:-$FTUNE_HOME/runs/demo/eval}"
jobs_dir="$FTUNE_HOME/jobs"
steps=(shard finetune evaluate)
for s in "${steps[@]}"; do
    if [ ! -f "$jobs_dir/$s.slurm" ]; then
        echo "pipeline.sh: $jobs_dir/$s.slurm is missing" >&2
        exit 2
    fi
done
say() { printf '[pipeline] %s\n' "$*" >&2; }

if [ "$local_run" = 0 ] && ! command -v sbatch >/dev/null 2>&1; then
    say "no sbatch on PATH: running the steps here, one after the other (--local)"
    local_run=1
fi

if [ "$local_run" = 1 ]; then
    for s in "${steps[@]}"; do
        say "step $s: bash jobs/$s.slurm"
        status=0
        if [ "$s" = evaluate ]; then
            bash "$jobs_dir/$s.slurm" >/dev/null || status=$?
        else
            bash "$jobs_dir/$s.slurm" || status=$?
        fi
        if [ "$status" != 0 ]; then
            say "step $s failed with status $status; stopping (fix it and run again)"
            exit "$status"
        fi
    done
    say "done: the report is"
    printf '%s\n' "$FTUNE_EVAL_OUT/report.html"
    exit 0
fi

# Under Slurm: FTUNE_* go to the jobs through --export=ALL; the jobs find the
# repository through FTUNE_HOME (sbatch runs a spool copy of each script).
# shellcheck disable=SC2206  # FTUNE_SBATCH_ARGS is a word list on purpose
extra=(${FTUNE_SBATCH_ARGS:-})
dep=()
ids=()
for s in "${steps[@]}"; do
    out="$(sbatch --parsable --export=ALL --chdir="$FTUNE_HOME" "${extra[@]}" "${dep[@]}" \
        "$jobs_dir/$s.slurm")" || { say "sbatch of jobs/$s.slurm failed"; exit 1; }
    id="${out%%;*}"
    ids+=("$id")
    printf '%s %s\n' "$s" "$id"
    dep=(--dependency="afterok:$id")
done
say "submitted shard ${ids[0]} -> finetune ${ids[1]} -> evaluate ${ids[2]} (afterok);" \
    "the report will be $FTUNE_EVAL_OUT/report.html"
