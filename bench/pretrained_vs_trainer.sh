#!/usr/bin/env bash
# ftune against transformers' Trainer on a real pretrained model: both
# fine-tune all-MiniLM-L6-v2 (data_prep/recipes/minilm.sh) from one start
# folder (the head initialised by transformers under a seed), on the same
# shards, the same batches in the same order (bench/sampler_order), the same
# hyper-parameters, dropout off; ftune also trains the same model from
# scratch. Prints, per dataset, test accuracy and macro-F1 of the three and
# the step-for-step relative difference of the two training-loss curves, and
# writes the curves overlaid as WORK/DATASET/loss.svg (with results.jsonl).
# Datasets (FTUNE_PVT_DATASETS, default all): pang_lee (Pang & Lee's 1,500
# movie reviews, data_prep/recipes/pang_lee.sh), sotu_party and sotu_era
# (the bundled State of the Union chunks), austen (Jane Austen's novels by
# book, data_prep/recipes/austen.sh).
# Settings: max_length 128, batch 16, lr 5e-5, weight decay 0.01, warm-up
# 10% of the steps, FTUNE_PVT_EPOCHS (2) epochs capped at
# FTUNE_PVT_MAX_STEPS (200) steps, seed 42; one process of 2 threads each.
# Needs the reference environment (bash env/reference.sh) and PyPI and
# Debian's archive for the model and data recipes.
# WORK (default ~/.cache/ftune-pvt) is this script's own folder: each run
# replaces its WORK/DATASET folders (the model and data recipes' copies are
# kept and reused).
# Usage: bench/pretrained_vs_trainer.sh [-h] [BUILD_DIR] [WORK]
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0; fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-$root/build}"
work="${2:-$HOME/.cache/ftune-pvt}"
py="${FTUNE_REF_VENV:-$HOME/.cache/ftune-ref}/bin/python"
[ -x "$py" ] || { echo "pretrained_vs_trainer.sh: no reference environment ($py): bash env/reference.sh" >&2; exit 2; }
for p in ftune-shard ftune-train ftune-eval bench/sampler_order; do
    [ -x "$build/$p" ] || { echo "pretrained_vs_trainer.sh: $build/$p is not built" >&2; exit 2; }
done
epochs="${FTUNE_PVT_EPOCHS:-2}" cap="${FTUNE_PVT_MAX_STEPS:-200}"
batch=16 lr=5e-5 wd=0.01 seed=42
export OMP_NUM_THREADS=2 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_ess_singleton_isolated=1 FTUNE_LOG_LEVEL=warn
mkdir -p "$work"
model="$work/all-MiniLM-L6-v2"
bash "$root/data_prep/recipes/minilm.sh" "$model"
# shellcheck source-path=SCRIPTDIR source=bench_lib.sh
source "$here/bench_lib.sh"
echo "# CPU: $(bench_cpu)"

# input_of DATASET: the ftune-shard input flags.
input_of() {
    case "$1" in
    pang_lee)
        bash "$root/data_prep/recipes/pang_lee.sh" "$work/pang-lee" >&2
        echo "--input $work/pang-lee/reviews.csv" ;;
    sotu_party) echo "--input $root/data/sotu/sotu.jsonl --text-field text --label-field party" ;;
    sotu_era) echo "--input $root/data/sotu/sotu.jsonl --text-field text --label-field era" ;;
    austen)
        [ -s "$work/austen.jsonl" ] || bash "$root/data_prep/recipes/austen.sh" "$work/austen.jsonl" >&2
        echo "--input $work/austen.jsonl --text-field text --label-field label" ;;
    *) echo "pretrained_vs_trainer.sh: unknown dataset '$1'" >&2; return 2 ;;
    esac
}

# train_ftune DIR MODEL OUT STEPS WARMUP [--key value ...]
train_ftune() {
    local shards="$1" from="$2" out="$3" steps="$4" warmup="$5"
    shift 5
    rm -rf "$out"
    local t0=$SECONDS
    "$build/ftune-train" --model_name_or_path "$from" --data_dir "$shards" --max_steps "$steps" \
        --per_device_train_batch_size "$batch" --learning_rate "$lr" --weight_decay "$wd" \
        --warmup_steps "$warmup" --dropout false --logging_steps 1 --save_strategy no \
        --evaluation_strategy no --seed "$seed" --disable_tqdm true --output_dir "$out" "$@" \
        >"$out.log" 2>&1 || { tail -20 "$out.log" >&2; return 1; }
    echo "$((SECONDS - t0))"
}

for ds in ${FTUNE_PVT_DATASETS:-pang_lee sotu_party sotu_era austen}; do
    d="$work/$ds"
    rm -rf "$d"
    mkdir -p "$d"
    read -r -a input <<<"$(input_of "$ds")"
    "$build/ftune-shard" "${input[@]}" --tokenizer "$model" --output "$d/shards" --max-length 128 \
        --stratify --seed "$seed" >"$d/shard.log" 2>&1 || { cat "$d/shard.log" >&2; exit 1; }
    rows="$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["splits"]["train"]["rows"])' "$d/shards/manifest.json")"
    per_epoch=$((rows / batch)) # drop_last, as both trainers do
    steps=$((per_epoch * epochs))
    [ "$steps" -le "$cap" ] || steps="$cap"
    warmup=$(((steps + 9) / 10))
    "$py" "$here/pretrained_vs_trainer.py" start "$model" "$d/shards" "$d/start" "$seed"
    "$build/bench/sampler_order" "$rows" "$seed" "$batch" "$steps" >"$d/order.jsonl"
    s_ftune="$(train_ftune "$d/shards" "$d/start" "$d/ftune" "$steps" "$warmup")"
    "$build/ftune-eval" --model "$d/ftune/final" --data "$d/shards" --output "$d/ftune-eval" >/dev/null 2>&1
    t0=$SECONDS
    "$py" "$here/pretrained_vs_trainer.py" trainer "$d/start" "$d/shards" "$d/order.jsonl" "$d/trainer" \
        "$lr" "$wd" "$warmup" false "$seed" >"$d/trainer.log" 2>&1 || { tail -20 "$d/trainer.log" >&2; exit 1; }
    s_trainer=$((SECONDS - t0))
    s_scratch="$(train_ftune "$d/shards" "$d/start-scratch" "$d/scratch" "$steps" "$warmup" --allow_random_init true)"
    "$build/ftune-eval" --model "$d/scratch/final" --data "$d/shards" --output "$d/scratch-eval" >/dev/null 2>&1
    "$py" "$here/pretrained_vs_trainer.py" compare "$ds" "$d/shards" "$d/ftune" "$d/ftune-eval" \
        "$d/trainer" "$d/scratch-eval" "$d/loss.svg" | tee "$d/results.json"
    echo "# $ds: $rows train rows, $steps steps (warm-up $warmup); wall seconds: ftune $s_ftune, Trainer $s_trainer, ftune from scratch $s_scratch; curves: $d/loss.svg"
done
