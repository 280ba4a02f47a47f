#!/usr/bin/env bash
# test_pipeline.sh: jobs/pipeline.sh under a real sbatch. It must print three
# job ids (shard, finetune, evaluate) chained with afterok, all three must
# complete with exit 0, and the evaluate job must leave report.html (plus
# report.json, report.md, predictions.jsonl) in FTUNE_EVAL_OUT and print its
# path. Outputs go to this test's work folder (FTUNE_SHARD_OUT,
# FTUNE_TRAIN_OUT, FTUNE_EVAL_OUT, and the job logs through FTUNE_SBATCH_ARGS).
# Skipped (77) while jobs/shard.slurm or jobs/finetune.slurm is missing or
# ftune-shard, ftune-train or ftune-eval is not built.
# Usage: test_pipeline.sh BUILD_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || h_fail "usage: test_pipeline.sh BUILD_DIR"
for s in shard finetune evaluate; do
    [ -f "$h_root/jobs/$s.slurm" ] || h_skip "jobs/$s.slurm does not exist yet"
done
for p in ftune-shard ftune-train ftune-eval; do
    [ -x "$1/$p" ] || h_skip "$p is not built in $1"
done
h_use_cluster
work="$(h_workdir)"
export FTUNE_HOME="$h_root" FTUNE_BUILD_DIR="$1" FTUNE_SHARD_OUT="$work/data" \
    FTUNE_TRAIN_OUT="$work/train" FTUNE_EVAL_OUT="$work/eval" \
    FTUNE_SBATCH_ARGS="--output=$work/%x-%j.out"

t0="$(h_now)"
bash "$h_root/jobs/pipeline.sh" >"$work/pipeline.out" 2>"$work/pipeline.err" ||
    { cat "$work/pipeline.err" >&2; h_fail "pipeline.sh exited $?"; }
declare -A id
while read -r step job; do
    [[ "$job" =~ ^[0-9]+$ ]] || h_fail "pipeline.sh printed '$step $job', not 'STEP JOBID'"
    id[$step]="$job"
    h_jobs+=("$job")
done <"$work/pipeline.out"
for s in shard finetune evaluate; do [ -n "${id[$s]:-}" ] || h_fail "no job id printed for $s"; done
h_field "${id[finetune]}" Dependency | grep -q "afterok:${id[shard]}" ||
    [ "$(h_field "${id[finetune]}" JobState)" != PENDING ] ||
    h_fail "finetune job ${id[finetune]} does not depend on shard ${id[shard]} (afterok)"
for s in shard finetune evaluate; do
    h_wait_state "${id[$s]}" COMPLETED 900 "$work/ftune-$s-${id[$s]}.out" >/dev/null
    [ "$(h_field "${id[$s]}" ExitCode)" = 0:0 ] || h_fail "$s job ${id[$s]}: exit code $(h_field "${id[$s]}" ExitCode)"
done
for f in report.html report.json report.md predictions.jsonl; do
    [ -s "$work/eval/$f" ] || h_fail "no $work/eval/$f"
done
last="$(tail -1 "$work/ftune-evaluate-${id[evaluate]}.out" 2>/dev/null || true)"
[ "$last" = "$work/eval/report.html" ] || h_fail "the evaluate job's output ends with '$last', not the report path"
h_say "PASS: jobs ${id[shard]} -> ${id[finetune]} -> ${id[evaluate]} in $(h_elapsed "$t0" "$(h_now)") s"
