#!/usr/bin/env bash
# test_train_lm.sh: ftune-train on a decoder LLM: a tiny random Llama
# (vocab 50257 for gpt2-tiny's tokenizer, hidden 32, 2 layers, 4 query and
# 2 key/value heads) on the SotU prompt/completion fixture
# (tests/fixtures/sft/sotu_sft.jsonl) sharded by ftune-shard --task
# causal_lm at 64 tokens (33 train, 4 validation rows).
# MODE:
#   loss   2 ranks, 20 steps: the logged training loss falls (last below
#          the first by at least 0.5 nats), log.jsonl has eval_loss and
#          eval_perplexity = exp(eval_loss), final/ holds config.json,
#          model.safetensors and the tokenizer. Packed rows (ftune-shard
#          --packing at 256 tokens: 11 train rows of 3 examples): the loss
#          falls the same way on 2 ranks; and one step over all 33
#          examples, 1 rank x 11 accumulation, packed (1 row a micro-batch)
#          and unpacked at 256 (3 rows a micro-batch), logs the same loss
#          within 1e-6 relative (the same token losses over the same
#          counted tokens; only float32 summation order differs)
#   accum  the loss normalisation of Trainer (num_items_in_batch: token
#          losses summed over the global batch, divided by its counted
#          tokens): 1 rank x 8 rows x 2 accumulation, 2 ranks x 8 x 1 and
#          1 rank x 16 x 1 see the same 16 rows a step, 10 steps; every
#          logged loss and the final eval loss within 1e-6 relative of the
#          first run (float32 sums in another order: 2e-9 seen). The
#          classifiers' rule, each micro-batch's mean over its own tokens
#          divided by the accumulation, is 1.6e-5 off here for 1 x 16
#          against 1 x 8 x 2 (micro-batches count different tokens)
#   exact  stopped by SIGUSR1 after step 7, resumed: final
#          model.safetensors byte-identical (cmp) to the uninterrupted run
#   bf16   bf16 with gradient_checkpointing and train_last_n_blocks 1:
#          the losses track float32's with the same freezing (each within 2%
#          relative, not all equal), and a run stopped after step 7 and
#          resumed ends byte-identical to the uninterrupted one
#   hf     final/ loaded by transformers' AutoModelForCausalLM, logits
#          within 1e-5 of ftune's (tests/mpi/test_train_lm_final.py;
#          exit 77 without the reference python)
# Usage: test_train_lm.sh BUILD_DIR MODE [REFERENCE_PYTHON]
set -euo pipefail
usage="usage: test_train_lm.sh BUILD_DIR loss|accum|exact|bf16|hf [REFERENCE_PYTHON]"
[ "${1:-}" != -h ] || { echo "$usage"; exit 0; }
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
build="$1"
mode="$2"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=train_test_lib.sh
source "$(dirname "$0")/train_test_lib.sh"
train_test_begin "lm_$mode"
export OMPI_MCA_rmaps_base_oversubscribe=1

if [ "$mode" = hf ]; then
    py="${3:-$HOME/.cache/ftune-ref/bin/python}"
    [ -x "$py" ] || { echo "$name: no reference python at $py: skipped"; exit 77; }
fi

# The model folder: config.json and gpt2-tiny's tokenizer files, no weights
# (allow_random_init: seeded from the config).
mkdir -p "$work/model"
cp "$root/models/gpt2-tiny/vocab.json" "$root/models/gpt2-tiny/merges.txt" "$work/model/"
cat >"$work/model/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 50257,
 "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
 "max_position_embeddings": 256, "initializer_range": 0.02, "rms_norm_eps": 1e-06,
 "rope_theta": 10000.0, "bos_token_id": 50256, "eos_token_id": 50256,
 "tie_word_embeddings": false, "attention_bias": false, "mlp_bias": false,
 "torch_dtype": "float32"}
JSON
shard() {
    "$build/ftune-shard" --task causal_lm --tokenizer "$work/model" \
        --input "$root/tests/fixtures/sft/sotu_sft.jsonl" --max-length 64 "$@" \
        >>"$work/shard.log" 2>&1 || { tail -20 "$work/shard.log" >&2; fail "ftune-shard $*"; }
}
shard --output "$work/data"

train_common_flags --per_device_train_batch_size 4 --learning_rate 3e-3 --warmup_steps 2 \
    --evaluation_strategy steps --eval_steps 10 --per_device_eval_batch_size 2
train() { train_on "$build" "$@"; }

# field RUN KEY: KEY's values in RUN's log.jsonl, one a line.
field() { grep -o "\"$2\": [^,}]*" "$1/log.jsonl" | sed 's/.*: //'; }

# falls RUN WHAT: 10 logged losses, the last below the first by 0.5 nats.
falls() {
    losses "$1" | awk -v name="$name" -v what="$2" '
        NR == 1 { first = $1 } { last = $1; n++ }
        END { printf "%s: %s: %d logged losses, %.4f -> %.4f\n", name, what, n, first, last
              exit !(n == 10 && last < first - 0.5) }' || fail "$2: the training loss did not fall"
}

case "$mode" in
loss)
    expect "$(train 2 "$work/a")" 0 "2-rank run" "$work/a.log"
    falls "$work/a" "unpacked"
    paste <(field "$work/a" eval_loss) <(field "$work/a" eval_perplexity) | awk -v name="$name" '
        { n++; r = exp($1) / $2 - 1; if (r < 0) r = -r; if (r > 1e-12) bad++
          printf "%s: eval loss %.6f perplexity %.4f\n", name, $1, $2 }
        END { exit !(n == 2 && !bad) }' || fail "eval_perplexity is not exp(eval_loss)"
    for f in config.json model.safetensors vocab.json merges.txt; do
        [ -s "$work/a/final/$f" ] || fail "final/$f missing"
    done
    grep -q '"LlamaForCausalLM"' "$work/a/final/config.json" || fail "final/config.json"
    shard --output "$work/packed" --packing --max-length 256
    shard --output "$work/long" --max-length 256
    expect "$(train 2 "$work/p" --data_dir "$work/packed" --per_device_train_batch_size 2)" 0 \
        "packed, 2 ranks" "$work/p.log"
    falls "$work/p" "packed"
    one=(--max_steps 1 --logging_steps 1 --gradient_accumulation_steps 11)
    expect "$(train 1 "$work/p1" "${one[@]}" --data_dir "$work/packed" \
        --per_device_train_batch_size 1)" 0 "packed, one step" "$work/p1.log"
    expect "$(train 1 "$work/u1" "${one[@]}" --data_dir "$work/long" \
        --per_device_train_batch_size 3)" 0 "unpacked, one step" "$work/u1.log"
    paste <(losses "$work/u1") <(losses "$work/p1") | awk -v name="$name" '
        { n++; r = ($2 - $1) / $1; if (r < 0) r = -r
          printf "%s: first step over all 33 examples: unpacked %s, packed %s (relative %.3g)\n",
                 name, $1, $2, r }
        END { exit !(n == 1 && r <= 1e-6) }' || fail "packed and unpacked first-step losses differ"
    ;;
accum)
    ten=(--max_steps 10 --eval_steps 5)
    expect "$(train 1 "$work/a" "${ten[@]}" --per_device_train_batch_size 8 \
        --gradient_accumulation_steps 2)" 0 "1 rank x 8 x 2" "$work/a.log"
    expect "$(train 2 "$work/b" "${ten[@]}" --per_device_train_batch_size 8)" 0 "2 ranks x 8" \
        "$work/b.log"
    expect "$(train 1 "$work/c" "${ten[@]}" --per_device_train_batch_size 16)" 0 "1 rank x 16" \
        "$work/c.log"
    track "$work/a" "$work/b" 1e-6 "2 ranks x 8 rows against 1 rank x 8 x 2 accumulation"
    track "$work/a" "$work/c" 1e-6 "1 rank x 16 rows against 1 rank x 8 x 2 accumulation"
    paste <(field "$work/a" eval_loss) <(field "$work/b" eval_loss) <(field "$work/c" eval_loss) |
        tail -1 | awk -v name="$name" '
        { d1 = ($1 - $2) / $1; d2 = ($1 - $3) / $1; if (d1 < 0) d1 = -d1; if (d2 < 0) d2 = -d2
          printf "%s: final eval loss %.8f %.8f %.8f\n", name, $1, $2, $3
          exit !(d1 <= 1e-6 && d2 <= 1e-6) }' || fail "final eval losses differ by more than 1e-6"
    ;;
exact)
    expect "$(train 2 "$work/ref")" 0 "uninterrupted run" "$work/ref.log"
    stop_and_resume "$build" 2 "$work/r" "$work/ref"
    echo "$name: stopped at step 7, resumed: final model byte-identical"
    ;;
bf16)
    expect "$(train 2 "$work/f32" --train_last_n_blocks 1)" 0 "float32 run" "$work/f32.log"
    mixed=(--train_last_n_blocks 1 --bf16 true --gradient_checkpointing true)
    expect "$(train 2 "$work/ref" "${mixed[@]}")" 0 "bf16 run" "$work/ref.log"
    track "$work/f32" "$work/ref" 0.02 "bf16 against float32" moved
    stop_and_resume "$build" 2 "$work/r" "$work/ref" "${mixed[@]}"
    echo "$name: bf16 stopped at step 7, resumed: final model byte-identical"
    ;;
hf)
    expect "$(train 2 "$work/a")" 0 "2-rank run" "$work/a.log"
    "$py" "$here/test_train_lm_final.py" "$build/tests/lm_logits" "$work/a/final" ||
        fail "transformers disagrees with final/"
    ;;
*) fail "unknown mode $mode" ;;
esac
echo "$name: ok"
