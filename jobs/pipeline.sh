#!/usr/bin/env bash
# jobs/pipeline.sh: a whole demo pipeline, shard -> finetune -> evaluate.
# Usage: bash jobs/pipeline.sh [--local] [--demo classify|sft] [-h]
# Under Slurm (sbatch on PATH, no --local): submits jobs/shard.slurm,
# jobs/finetune.slurm and jobs/evaluate.slurm, each after the previous one
# succeeded (sbatch --dependency=afterok), and prints the three job ids and
# where report.html will be; follow them with squeue / the ftune-*-JOBID.out
# files. With --local, or where there is no sbatch, runs the three scripts in
# sequence on this machine (bash, mpirun), stops at the first failure, and
# ends by printing the path of report.html.
# --demo classify (the default): every job script runs its bundled default:
# the demo dataset into FTUNE_SHARD_OUT (default runs/demo/data), training
# into FTUNE_TRAIN_OUT (runs/demo/train), the report into FTUNE_EVAL_OUT
# (runs/demo/eval).
# --demo sft (FTUNE_DEMO=sft for every job): a tiny Llama (models/llama-tiny,
# random-initialised) learns to answer "Who gave this State of the Union
# address, and when?" about a chunk with {"president": ..., "year": ...}:
# data_prep/recipes/sotu_sft.sh and ftune-shard --task causal_lm
# (runs/sft-demo/data), then the untrained model (one step at learning rate
# 0 exports the random initialisation unchanged: FTUNE_TRAIN_OUT-untrained)
# and its perplexity (FTUNE_EVAL_OUT-untrained), then the fine-tuning
# (jobs/configs/demo-sft.json: runs/sft-demo/train) and its perplexity on
# the test split (runs/sft-demo/eval). Five steps (jobs), each printed as
# above; --local ends with the two perplexities and the report's path.
# Environment: FTUNE_HOME, FTUNE_BUILD_DIR, FTUNE_NTASKS, FTUNE_SHARD_OUT,
# FTUNE_TRAIN_OUT, FTUNE_EVAL_OUT, FTUNE_SBATCH_ARGS (extra sbatch options for
# every job, e.g. "--partition=debug"), FTUNE_SFT_EVERY, FTUNE_SFT_WORDS
# (jobs/shard.slurm), FTUNE_SFT_ARGS (extra ftune-train flags for the sft
# fine-tuning, e.g. "--num_train_epochs 1").
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
local_run=0
demo=classify
while [ $# -gt 0 ]; do
    case "$1" in
        -h | --help) usage; exit 0 ;;
        --local) local_run=1 ;;
        --demo)
            [ $# -ge 2 ] || { echo "pipeline.sh: --demo needs classify or sft" >&2; exit 2; }
            demo="$2"
            shift
            ;;
        *) echo "pipeline.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case "$demo" in
    classify) demo_dir=runs/demo ;;
    sft) demo_dir=runs/sft-demo ;;
    *) echo "pipeline.sh: --demo $demo: expected classify or sft" >&2; exit 2 ;;
esac
FTUNE_HOME="${FTUNE_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
export FTUNE_HOME FTUNE_DEMO="$demo"
export FTUNE_SHARD_OUT="${FTUNE_SHARD_OUT:-$FTUNE_HOME/$demo_dir/data}"
export FTUNE_TRAIN_OUT="${FTUNE_TRAIN_OUT:-$FTUNE_HOME/$demo_dir/train}"
export FTUNE_EVAL_OUT="${FTUNE_EVAL_OUT:-$FTUNE_HOME/$demo_dir/eval}"
jobs_dir="$FTUNE_HOME/jobs"
if [ "$demo" = sft ]; then
    steps=(shard untrained untrained_eval finetune evaluate)
else
    steps=(shard finetune evaluate)
fi
for s in shard finetune evaluate; do
    if [ ! -f "$jobs_dir/$s.slurm" ]; then
        echo "pipeline.sh: $jobs_dir/$s.slurm is missing" >&2
        exit 2
    fi
done
say() { printf '[pipeline] %s\n' "$*" >&2; }

# step_job STEP: sets job (the job script's name) and job_args (its
# arguments) for STEP. The untrained model: one optimizer step at learning
# rate 0 changes no weight (AdamW's update and decay are both scaled by it),
# so its final/ is the seeded random initialisation the fine-tuning starts
# from. Its checkpoint (step 1) lets a rerun resume there and export again,
# as the fine-tuning's last checkpoint does.
untrained_out="$FTUNE_TRAIN_OUT-untrained"
untrained_eval="$FTUNE_EVAL_OUT-untrained"
step_job() {
    job="$1"
    job_args=()
    case "$1" in
        untrained)
            job=finetune
            job_args=(--output_dir "$untrained_out" --max_steps 1 --learning_rate 0
                --evaluation_strategy no --save_steps 1)
            ;;
        untrained_eval)
            job=evaluate
            job_args=(--model "$untrained_out/final" --data "$FTUNE_SHARD_OUT"
                --output "$untrained_eval" --force)
            ;;
        finetune)
            # shellcheck disable=SC2206  # FTUNE_SFT_ARGS is a word list on purpose
            if [ "$demo" = sft ]; then job_args=(${FTUNE_SFT_ARGS:-}); fi
            ;;
    esac
}

# perplexity REPORT_DIR: the perplexity in REPORT_DIR/report.json.
perplexity() {
    sed -n 's/^ *"perplexity": *\([^,]*\),*$/\1/p' "$1/report.json" | awk 'NR == 1 { printf "%.4f", $1 }'
}

if [ "$local_run" = 0 ] && ! command -v sbatch >/dev/null 2>&1; then
    say "no sbatch on PATH: running the steps here, one after the other (--local)"
    local_run=1
fi

if [ "$local_run" = 1 ]; then
    for s in "${steps[@]}"; do
        step_job "$s"
        say "step $s: bash jobs/$job.slurm${job_args[*]:+ ${job_args[*]}}"
        status=0
        if [ "$job" = evaluate ]; then
            bash "$jobs_dir/$job.slurm" "${job_args[@]}" >/dev/null || status=$?
        else
            bash "$jobs_dir/$job.slurm" "${job_args[@]}" || status=$?
        fi
        if [ "$status" != 0 ]; then
            say "step $s failed with status $status; stopping (fix it and run again)"
            exit "$status"
        fi
    done
    if [ "$demo" = sft ]; then
        say "test-split perplexity: untrained $(perplexity "$untrained_eval")," \
            "fine-tuned $(perplexity "$FTUNE_EVAL_OUT")"
    fi
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
    step_job "$s"
    out="$(sbatch --parsable --export=ALL --chdir="$FTUNE_HOME" "${extra[@]}" "${dep[@]}" \
        "$jobs_dir/$job.slurm" "${job_args[@]}")" || { say "sbatch of jobs/$job.slurm failed"; exit 1; }
    id="${out%%;*}"
    ids+=("$id")
    printf '%s %s\n' "$s" "$id"
    dep=(--dependency="afterok:$id")
done
chain=""
for i in "${!steps[@]}"; do chain="$chain${chain:+ -> }${steps[$i]} ${ids[$i]}"; done
say "submitted $chain (afterok); the report will be $FTUNE_EVAL_OUT/report.html"
if [ "$demo" = sft ]; then say "the untrained model's report: $untrained_eval/report.html"; fi
