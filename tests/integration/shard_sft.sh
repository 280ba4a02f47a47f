#!/usr/bin/env bash
# shard_sft.sh: ftune-shard --task causal_lm end to end, one CASE per CTest test.
#   fixture    the committed SotU prompt/completion fixture: fields detected,
#              counts in the summary and manifest, --inspect, and (where the
#              reference python has transformers and h5py) every row equal
#              to TRL's tokenization and completion mask
#              (shard_sft_reference.py), unpacked and packed
#   ranks      byte-identical output (cmp of every file) for 1, 2 and 4
#              ranks, unpacked and --packing, 2 shards per split
#   truncation --truncation right drops the examples that keep no completion
#              token and counts them (summary, manifest); prompt_left keeps
#              every one
#   formats    text records (continued pre-training), instruction/input/output,
#              question/answer, fields given by flags
#   chat       messages records rendered by a folder's chat_template (GPT-2
#              tokenizer plus a tokenizer_config.json made here), against
#              transformers' apply_chat_template where the reference python
#              has it; a folder without chat_template refused
#   bad        a line that is not JSON, a missing or non-string field, an
#              empty completion, messages data, a WordPiece tokenizer: exit 2
#              naming file:line and the key; --skip-bad counts them
#   usage      flags of the other task refused
# Usage: shard_sft.sh BUILD_DIR CASE   (MPIEXEC: the mpiexec to use;
#        FTUNE_REF_PYTHON: the reference python, default ~/.cache/ftune-ref/bin/python)
set -euo pipefail
[ "${1:-}" = -h ] && { sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0; }
[ $# = 2 ] || { echo "usage: shard_sft.sh BUILD_DIR CASE" >&2; exit 2; }
build="$1"
case_name="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$build/ftune-shard"
gpt2="$root/models/gpt2-tiny"
fixture="$root/tests/fixtures/sft/sotu_sft.jsonl"
work="$(mktemp -d "${TMPDIR:-/tmp}/shard_sft.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi=("${MPIEXEC:-mpiexec}" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# shard N ARGS...: ftune-shard on N ranks (0: without mpiexec).
shard() {
    local n="$1" rc=0
    shift
    local launch=("${mpi[@]}" -n "$n")
    [ "$n" = 0 ] && launch=()
    "${launch[@]}" "$bin" "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
    return "$rc"
}

expect_rc() { # expect_rc WANT N ARGS...
    local want="$1" rc=0
    shift
    shard "$@" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "exit $rc, wanted $want: ftune-shard ${*:2}"
        sed 's/^/  | /' "$work/err.txt" | head -20 >&2
        return 1
    fi
}

expect_in() { # expect_in FILE TEXT
    grep -qF -- "$2" "$1" || { fail "$(basename "$1") lacks '$2'"; sed 's/^/  | /' "$1" | head -12 >&2; }
}

# json_get FILE EXPR: a value of manifest.json (python3's json).
json_get() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($2)" "$1"; }

lm=(--task causal_lm --tokenizer "$gpt2")

case "$case_name" in
fixture)
    expect_rc 0 0 "${lm[@]}" --input "$fixture" --output "$work/d" --max-length 128 || true
    expect_in "$work/out.txt" "prompt field 'prompt', completion field 'completion' (detected)"
    expect_in "$work/out.txt" "causal_lm: prompt_completion, completion_only_loss yes, eos id 50256, truncation prompt_left"
    expect_in "$work/out.txt" "train             33 rows (33 examples) in 1 file, 0 truncated, 0 dropped"
    [ "$(json_get "$work/d/manifest.json" 'm["task"], m["lm"]["mode"], m["splits"]["test"]["examples"]')" = \
      "causal_lm prompt_completion 4" ] || fail "manifest: $(head -c 400 "$work/d/manifest.json")"
    # ftune-train trains a causal_lm dataset on a decoder LLM only
    # (tests/mpi/test_train_lm.sh): given gpt2-tiny, a sequence classifier,
    # it says so by name and writes nothing, instead of reading the
    # dataset as a classifier's.
    rc=0
    "$build/ftune-train" --data_dir "$work/d" --model_name_or_path "$gpt2" --allow_random_init true \
        --output_dir "$work/run" >"$work/train.txt" 2>&1 || rc=$?
    [ "$rc" = 2 ] || fail "ftune-train on a causal_lm dataset with a classifier: exit $rc, wanted 2"
    expect_in "$work/train.txt" "a causal_lm dataset needs a decoder LLM"
    [ ! -e "$work/run" ] || fail "ftune-train left $work/run behind"
    # The EOS is tokenizer_config.json's eos_token (Llama 3's <|end_of_text|>,
    # id 3001 in the built vocabulary), not GPT-2's <|endoftext|>.
    expect_rc 0 0 --task causal_lm --tokenizer "$root/tests/fixtures/tokenizer/llm/llama3" \
        --input "$fixture" --output "$work/l3" --max-length 128 || true
    expect_in "$work/out.txt" "eos id 3001,"
    expect_rc 0 0 --inspect "$work/d" || true
    expect_in "$work/out.txt" "all 3 files match the manifest"
    expect_in "$work/out.txt" "train: 33 rows, 33 examples in 1 file"
    expect_rc 0 0 "${lm[@]}" --input "$fixture" --output "$work/p" --max-length 256 --packing --shards 2 || true
    expect_in "$work/out.txt" "train             12 rows (33 examples, packed) in 2 files"
    command -v h5dump >/dev/null && { h5dump -H "$work/p/train-00000-of-00002.h5" >/dev/null || fail "h5dump"; }
    py="${FTUNE_REF_PYTHON:-$HOME/.cache/ftune-ref/bin/python}"
    if [ -x "$py" ] && "$py" -c "import h5py, transformers" 2>/dev/null; then
        for d in d p; do
            "$py" "$root/tests/integration/shard_sft_reference.py" "$work/$d" "$fixture" "$gpt2" >"$work/ref.txt" 2>&1 ||
                { fail "TRL reference ($d)"; cat "$work/ref.txt" >&2; }
        done
    else
        echo "note: no reference python with h5py and transformers: TRL comparison skipped" >&2
    fi
    ;;
ranks)
    for mode in plain packed; do
        extra=()
        [ "$mode" = packed ] && extra=(--packing)
        for n in 1 2 4; do
            expect_rc 0 "$n" "${lm[@]}" --input "$fixture" --output "$work/$mode$n" --max-length 96 --shards 2 \
                --split 0.6,0.2,0.2 "${extra[@]}" || true
        done
        for n in 2 4; do
            for f in "$work/${mode}1"/*; do
                cmp -s "$f" "$work/$mode$n/$(basename "$f")" || fail "$mode: $(basename "$f") differs with $n ranks"
            done
            [ "$(find "$work/$mode$n" -type f | wc -l)" = "$(find "$work/${mode}1" -type f | wc -l)" ] ||
                fail "$mode: file count differs with $n ranks"
        done
    done
    ;;
truncation)
    expect_rc 0 2 "${lm[@]}" --input "$fixture" --output "$work/r" --max-length 68 --truncation right --split 1 || true
    expect_in "$work/out.txt" "train             36 rows (36 examples) in 1 file, 36 truncated, 5 dropped (no completion token left)"
    [ "$(json_get "$work/r/manifest.json" 'm["splits"]["train"]["dropped"], m["splits"]["train"]["examples"], m["lm"]["truncation"]')" = \
      "5 36 right" ] || fail "manifest of --truncation right"
    expect_rc 0 0 "${lm[@]}" --input "$fixture" --output "$work/l" --max-length 68 --split 1 || true
    expect_in "$work/out.txt" "train             41 rows (41 examples) in 1 file, 41 truncated, 0 dropped"
    # Every kept example of the right-truncated set still trains a token.
    expect_rc 0 0 --inspect "$work/r" || true
    expect_in "$work/out.txt" "dropped (no completion token left): 5"
    ;;
formats)
    printf '%s\n' '{"text": "The union is strong."}' '{"text": "We the people."}' >"$work/t.jsonl"
    expect_rc 0 0 "${lm[@]}" --input "$work/t.jsonl" --output "$work/t" --split 1 --max-length 16 || true
    expect_in "$work/out.txt" "text field 'text' (detected; continued pre-training)"
    [ "$(json_get "$work/t/manifest.json" 'm["lm"]["mode"], "completion_field" in m["sources"][0]')" = "text False" ] ||
        fail "text manifest"
    printf '%s\n' '{"instruction": "Add.", "input": "2 and 3", "output": " 5"}' \
        '{"instruction": "Greet.", "input": "", "output": " Hello"}' >"$work/a.jsonl"
    expect_rc 0 0 "${lm[@]}" --input "$work/a.jsonl" --output "$work/a" --split 1 || true
    expect_in "$work/out.txt" "prompt field 'instruction' + 'input', completion field 'output' (detected)"
    printf '%s\n' '[{"question": "Who?", "answer": " Lincoln"}, {"question": "When?", "answer": " 1863"}]' >"$work/q.json"
    expect_rc 0 0 "${lm[@]}" --input "$work/q.json" --output "$work/q" --split 1 || true
    expect_in "$work/out.txt" "prompt field 'question', completion field 'answer' (detected)"
    printf '%s\n' '{"q": "Who?", "a": " Lincoln", "text": "x"}' '{"q": "When?", "a": " 1863", "text": "y"}' >"$work/g.jsonl"
    expect_rc 0 0 "${lm[@]}" --input "$work/g.jsonl" --output "$work/g" --split 1 --prompt-field q --completion-field a \
        --completion-only-loss no || true
    expect_in "$work/out.txt" "prompt field 'q', completion field 'a' (given)"
    expect_in "$work/g/manifest.json" '"completion_only_loss":	false'
    ;;
bad)
    good='{"prompt": "Who?", "completion": " Lincoln"}'
    bad_case() { # bad_case NAME LINE2 MESSAGE
        printf '%s\n%s\n%s\n' "$good" "$2" "$good" >"$work/$1.jsonl"
        expect_rc 2 2 "${lm[@]}" --input "$work/$1.jsonl" --output "$work/o$1" --split 1 || return 0
        expect_in "$work/err.txt" "$work/$1.jsonl:2: $3"
        [ ! -e "$work/o$1" ] || fail "$1: an output folder was left"
    }
    bad_case notjson '{"prompt": "Who?", "completion": ' "malformed JSON at column"
    bad_case nocompl '{"prompt": "Who?"}' "no completion field 'completion' (missing_completion)"
    bad_case numprompt '{"prompt": 7, "completion": " x"}' "prompt field 'prompt' is a number, not a string (missing_text)"
    bad_case arrcompl '{"prompt": "Who?", "completion": [" x"]}' "completion field 'completion' is an array, not a string"
    bad_case empty '{"prompt": "Who?", "completion": "  "}' "completion field 'completion' is empty (missing_completion)"
    printf '%s\n%s\n' "$good" '{"prompt": 1, "completion": " x"}' >"$work/skip.jsonl"
    expect_rc 0 0 "${lm[@]}" --input "$work/skip.jsonl" --output "$work/s" --split 1 --skip-bad || true
    expect_in "$work/out.txt" "skipped 1 bad record missing_text=1"
    expect_in "$work/s/manifest.json" '"missing_completion":	0'
    expect_rc 2 0 --task causal_lm --tokenizer "$root/models/bert-tiny" --input "$fixture" --output "$work/w" || true
    expect_in "$work/err.txt" "needs a decoder's byte-level BPE tokenizer"
    printf 'prompt,completion\na,b\n' >"$work/c.csv"
    expect_rc 2 0 "${lm[@]}" --input "$work/c.csv" --output "$work/c" || true
    expect_in "$work/err.txt" "language-model data must be JSONL or a JSON array, not csv"
    ;;
chat)
    mkdir "$work/model"
    cp "$gpt2"/* "$work/model/"
    cat >"$work/model/tokenizer_config.json" <<'JSON'
{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
 "chat_template": "{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] | trim }}\n{% endfor %}{{ eos_token }}"}
JSON
    python3 - "$fixture" >"$work/chat.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    print(json.dumps({"messages": [{"role": "user", "content": r["prompt"]},
                                   {"role": "assistant", "content": r["completion"]}]}))
PY
    expect_rc 0 2 --task causal_lm --tokenizer "$work/model" --input "$work/chat.jsonl" --output "$work/c" \
        --max-length 128 --packing --shards 2 || true
    expect_in "$work/out.txt" "messages field 'messages' (detected; chat, rendered by the chat template)"
    [ "$(json_get "$work/c/manifest.json" 'm["lm"]["mode"], m["sources"][0]["messages_field"]')" = "messages messages" ] ||
        fail "messages manifest"
    expect_rc 0 0 --inspect "$work/c" || true
    py="${FTUNE_REF_PYTHON:-$HOME/.cache/ftune-ref/bin/python}"
    if [ -x "$py" ] && "$py" -c "import h5py, transformers" 2>/dev/null; then
        "$py" "$root/tests/integration/shard_sft_reference.py" "$work/c" "$work/chat.jsonl" "$work/model" >"$work/ref.txt" 2>&1 ||
            { fail "apply_chat_template reference"; cat "$work/ref.txt" >&2; }
    fi
    expect_rc 2 0 "${lm[@]}" --input "$work/chat.jsonl" --output "$work/n" || true
    expect_in "$work/err.txt" "messages data needs a tokenizer with a chat_template"
    printf '%s\n%s\n' '{"messages": [{"role": "user", "content": "Hi"}]}' '{"messages": [{"role": "user"}]}' >"$work/bad.jsonl"
    expect_rc 2 2 --task causal_lm --tokenizer "$work/model" --input "$work/bad.jsonl" --output "$work/b" --split 1 || true
    expect_in "$work/err.txt" "$work/bad.jsonl:2: messages[0]: a message must be an object with string 'role' and 'content' (missing_text)"
    ;;
usage)
    expect_rc 2 0 --input "$fixture" --tokenizer "$gpt2" --output "$work/u" --packing || true
    expect_in "$work/err.txt" "need --task causal_lm"
    expect_rc 2 0 "${lm[@]}" --input "$fixture" --output "$work/u" --stratify || true
    expect_in "$work/err.txt" "are for sequence_classification"
    expect_rc 2 0 "${lm[@]}" --input "$fixture" --output "$work/u" --truncation left || true
    expect_in "$work/err.txt" "--truncation: expected prompt_left or right"
    expect_rc 2 0 --task regression --input "$fixture" --tokenizer "$gpt2" --output "$work/u" || true
    expect_in "$work/err.txt" "--task: expected sequence_classification or causal_lm"
    expect_rc 2 0 "${lm[@]}" --input "$fixture" --output "$work/u" --prompt-field prompt || true
    expect_in "$work/err.txt" "--prompt-field and --completion-field go together"
    expect_rc 0 0 -h || true
    expect_in "$work/out.txt" "--completion-only-loss yes|no"
    ;;
*) echo "shard_sft.sh: unknown case $case_name" >&2; exit 2 ;;
esac
[ "$failures" = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "shard_sft $case_name: ok"
