#!/usr/bin/env bash
# test_demo_sft.sh: the decoder demo, `bash jobs/pipeline.sh --local --demo sft`,
# on a reduced setting (every 4th State of the Union chunk, 24 words of it, 40
# optimizer steps; well under a minute on 2 cores): data_prep/recipes/sotu_sft.sh,
# ftune-shard --task causal_lm, the untrained model's evaluation, ftune-train
# of models/llama-tiny from its random initialisation, ftune-eval. Checks: the
# pipeline exits 0 and prints the report's path last; the dataset is a
# causal_lm one; final/ holds config.json (LlamaForCausalLM),
# model.safetensors and the tokenizer files; both report.json files are
# causal_lm ones; the untrained perplexity is near the vocabulary size (a
# random model guesses about uniformly: within 20% of 3003) and the
# fine-tuned one is below a tenth of it (seen: 3101 -> 4.18 in 16 s); a
# second run in the same folders succeeds with the same perplexities.
# Outputs go to a temporary folder (FTUNE_SHARD_OUT, FTUNE_TRAIN_OUT,
# FTUNE_EVAL_OUT), removed at the end.
# Usage: test_demo_sft.sh BUILD_DIR
set -euo pipefail
usage="usage: test_demo_sft.sh BUILD_DIR"
[ "${1:-}" != -h ] || { echo "$usage"; exit 0; }
[ $# = 1 ] || { echo "$usage" >&2; exit 2; }
build="$(cd "$1" && pwd)"
root="$(cd "$(dirname "$0")/../.." && pwd)"
name=demo_sft
fail() { echo "$name: FAIL: $*" >&2; exit 1; }
for p in ftune-shard ftune-train ftune-eval; do
    [ -x "$build/$p" ] || fail "$p is not built in $build"
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export FTUNE_HOME="$root" FTUNE_BUILD_DIR="$build" FTUNE_SHARD_OUT="$work/data" \
    FTUNE_TRAIN_OUT="$work/train" FTUNE_EVAL_OUT="$work/eval" FTUNE_SFT_EVERY=4 \
    FTUNE_SFT_WORDS=24 FTUNE_SFT_ARGS="--max_steps 40 --eval_steps 20 --save_steps 20 --logging_steps 10" \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

t0="$(date +%s)"
status=0
bash "$root/jobs/pipeline.sh" --local --demo sft >"$work/out" 2>"$work/err" || status=$?
[ "$status" = 0 ] || { tail -40 "$work/err" >&2; fail "pipeline.sh --local --demo sft exited $status"; }
[ "$(tail -1 "$work/out")" = "$work/eval/report.html" ] ||
    fail "the pipeline's last line is '$(tail -1 "$work/out")', not the report's path"

grep -Eq '"task":[[:space:]]*"causal_lm"' "$work/data/manifest.json" || fail "the dataset is not causal_lm"
[ -s "$work/sotu_sft.jsonl" ] || fail "the recipe's sotu_sft.jsonl is missing"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
    [ -s "$work/train/final/$f" ] || fail "final/$f missing"
done
grep -q '"LlamaForCausalLM"' "$work/train/final/config.json" || fail "final/config.json"
for d in eval eval-untrained; do
    [ -s "$work/$d/report.html" ] || fail "$d/report.html missing"
    grep -q '"task": "causal_lm"' "$work/$d/report.json" || fail "$d/report.json is not causal_lm"
done

# perplexity DIR: the perplexity in DIR/report.json.
perplexity() { sed -n 's/^ *"perplexity": *\([^,]*\),*$/\1/p' "$1/report.json" | head -1; }
before="$(perplexity "$work/eval-untrained")"
after="$(perplexity "$work/eval")"
awk -v b="$before" -v a="$after" -v name="$name" -v s="$(($(date +%s) - t0))" 'BEGIN {
    printf "%s: test-split perplexity untrained %.2f, fine-tuned %.3f (%d s)\n", name, b, a, s
    exit !(b > 0.8 * 3003 && b < 1.2 * 3003 && a > 1 && a < b / 10) }' ||
    fail "perplexity untrained $before, fine-tuned $after"
grep -q "test-split perplexity: untrained" "$work/err" || fail "the pipeline did not print the perplexities"

# A second run in the same folders resumes both trainings at their last
# checkpoint (nothing left to train) and reports the same figures.
bash "$root/jobs/pipeline.sh" --local --demo sft >"$work/out2" 2>"$work/err2" ||
    { tail -40 "$work/err2" >&2; fail "the second pipeline.sh --local --demo sft failed"; }
if [ "$(perplexity "$work/eval-untrained")" != "$before" ] ||
    [ "$(perplexity "$work/eval")" != "$after" ]; then
    fail "the second run's perplexities differ from the first's"
fi
echo "$name: ok"
