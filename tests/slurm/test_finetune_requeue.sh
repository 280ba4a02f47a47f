#!/usr/bin/env bash
# test_finetune_requeue.sh: jobs/finetune.slurm under a real sbatch, preempted
# with `scontrol requeue` mid-run. The job must come back (Restarts >= 1, the
# script logs restart count 1), resume from a checkpoint, complete with exit 0,
# and end with a final model.safetensors byte-identical to an uninterrupted
# 2-rank run of the same config (mpirun, outside Slurm).
# Usage: test_finetune_requeue.sh BUILD_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || h_fail "usage: test_finetune_requeue.sh BUILD_DIR"
build="$1"
[ -x "$build/ftune-train" ] || h_skip "ftune-train is not built in $build"
h_use_cluster
work="$(h_workdir)"
out="$work/job.out"
"$build/tests/train_testdata" "$work" 256 64 || h_fail "train_testdata failed"
cat >"$work/config.json" <<JSON
{"model_name_or_path": "$work/model", "data_dir": "$work/data", "allow_random_init": true,
 "max_steps": 80, "per_device_train_batch_size": 8, "learning_rate": 1e-3,
 "logging_steps": 2, "save_steps": 5, "disable_tqdm": true, "seed": 3}
JSON

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpirun -n 2 --oversubscribe --bind-to none "$build/ftune-train" --config "$work/config.json" \
    --output_dir "$work/ref" >"$work/ref.log" 2>&1 || { tail -20 "$work/ref.log" >&2; h_fail "reference run failed"; }

t0="$(h_now)"
h_submit --output="$out" --chdir="$work" --ntasks=2 \
    --export=ALL,FTUNE_HOME="$h_root",FTUNE_BUILD_DIR="$build" \
    "$h_root/jobs/finetune.slurm" "$work/config.json" --output_dir "$work/train"
job="$H_JOB"
h_wait_state "$job" RUNNING 60 "$out" >/dev/null
# Preempt once training is under way (a step of 10 or more in the log).
deadline=$((SECONDS + 120))
until grep -q '"step": [1-9][0-9]' "$work/train/log.jsonl" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { h_show "$job" "$out"; h_fail "training never reached step 10"; }
    sleep 0.2
done
timeout 10 scontrol requeue "$job" || h_fail "scontrol requeue $job failed"
h_wait_restarts "$job" 1 60 "$out"
h_wait_state "$job" COMPLETED 240 "$out" >/dev/null
[ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$out"; h_fail "exit code $(h_field "$job" ExitCode)"; }
h_expect_grep "job $job\] restart count 1$" "$out"
h_expect_grep 'resumed from .*checkpoint-[0-9]+\.h5 at step [0-9]+ on 2 ranks' "$out"
cmp "$work/ref/final/model.safetensors" "$work/train/final/model.safetensors" ||
    h_fail "final model after the requeue differs from the uninterrupted run"
h_say "PASS: job $job requeued and resumed; same final model; $(h_elapsed "$t0" "$(h_now)") s"
