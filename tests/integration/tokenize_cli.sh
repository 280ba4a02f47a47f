#!/usr/bin/env bash
# ftune-tokenize on a few lines: plain text, JSON lines with --field,
# --max-length framing, --decode back, and the errors (file:line, exit 2).
# Expected ids are those of tests/fixtures/tokenizer/bert/expected_ids.jsonl
# (the @huggingface/tokenizers reference) for the same texts. With a GPT-2
# folder (vocab.json + merges.txt), the GPT-2 checks instead: ids of
# gpt-3-encoder@1.1.4, padding with <|endoftext|>, exact bytes back.
# Usage: tokenize_cli.sh FTUNE_TOKENIZE BERT_MODEL_DIR|GPT2_MODEL_DIR
set -euo pipefail
if [[ $# -ne 2 || ${1:-} == -h ]]; then
  echo "usage: $0 FTUNE_TOKENIZE BERT_MODEL_DIR|GPT2_MODEL_DIR" >&2
  exit 2
fi
bin=$1
model=$2
work=$(mktemp -d /tmp/ftune-tokenize-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail=0
expect() { # expect NAME EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL $1: expected <<$2>> got <<$3>>" >&2
    fail=1
  else
    echo "ok   $1"
  fi
}

gpt2_checks() {
  printf 'Hello, World!\nunaffable café\n\n' >"$work/plain.txt"
  expect "gpt2 plain text" $'[15496,11,2159,0]\n[403,2001,540,40304]\n[]' \
    "$("$bin" --model "$model" "$work/plain.txt")"
  expect "gpt2 max length" '[15496,11,2159]' \
    "$(printf 'Hello, World!\n' | "$bin" --model "$model" --max-length 3)"
  expect "gpt2 padding" '[31373,50256,50256,50256]' \
    "$(printf 'hello\n' | "$bin" --model "$model" --max-length 4)"
  printf '{"text": "ΟΔΟΣ\\nx"}\n{"text": "a<|endoftext|>b"}\n' >"$work/in.jsonl"
  ids=$("$bin" --model "$model" --field text "$work/in.jsonl")
  expect "gpt2 jsonl field" $'[138,253,138,242,138,253,138,96,198,87]\n[64,50256,65]' "$ids"
  expect "gpt2 decode" '{"text":"ΟΔΟΣ\nx"}' \
    "$(printf '%s\n' "$ids" | head -1 | "$bin" --model "$model" --decode --field text)"
  expect "gpt2 decode special" $'ab\na<|endoftext|>b' \
    "$(printf '[64,50256,65]\n' | "$bin" --model "$model" --decode; \
       printf '[64,50256,65]\n' | "$bin" --model "$model" --decode --keep-special)"
  set +e
  msg=$(printf 'ok\nbad \xff\n' | "$bin" --model "$model" 2>&1 >/dev/null)
  expect "gpt2 invalid UTF-8 exit" 2 "$?"
  [[ $msg == *"<stdin>:2: invalid UTF-8 at byte 4"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
  set -e
  exit "$fail"
}
if [[ -f "$model/vocab.json" && ! -f "$model/vocab.txt" ]]; then gpt2_checks; fi

printf 'Hello, World!\nunaffable café\n\n' >"$work/plain.txt"
expect "plain text" $'[7592,1010,2088,999]\n[14477,20961,3468,7668]\n[]' \
  "$("$bin" --model "$model" "$work/plain.txt")"
expect "standard input" '[7592,1010,2088,999]' \
  "$(printf 'Hello, World!\r\n' | "$bin" --model "$model" -)"
expect "max length" '[101,7592,1010,102]' \
  "$(printf 'Hello, World!\n' | "$bin" --model "$model" --max-length 4)"
expect "padding" '[101,7592,102,0,0]' \
  "$(printf 'hello\n' | "$bin" --model "$model" --max-length 5)"

printf '{"text": "Hello, World!", "label": 1}\n{"label": 0, "text": "ΟΔΟΣ\\nx"}\n' >"$work/in.jsonl"
ids=$("$bin" --model "$model" --field text "$work/in.jsonl")
expect "jsonl field" $'[7592,1010,2088,999]\n[1169,29722,29730,29733,1060]' "$ids"
expect "decode" $'hello, world!\nοδοσ x' "$(printf '%s\n' "$ids" | "$bin" --model "$model" --decode)"
expect "decode jsonl" '{"text":"[CLS] hello [SEP]"}' \
  "$(echo '[101,7592,102]' | "$bin" --model "$model" --decode --keep-special --field text)"

# Errors: file:line and exit status 2.
printf '{"text": "ok"}\n{"txt": "no"}\n' >"$work/bad.jsonl"
set +e
msg=$("$bin" --model "$model" --field text "$work/bad.jsonl" 2>&1 >/dev/null)
rc=$?
expect "missing field exit" 2 "$rc"
[[ $msg == *"bad.jsonl:2: field 'text' is missing"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
msg=$(printf 'ok\nbad \xff\n' | "$bin" --model "$model" 2>&1 >/dev/null)
rc=$?
expect "invalid UTF-8 exit" 2 "$rc"
[[ $msg == *"<stdin>:2: invalid UTF-8 at byte 4"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
msg=$(echo '[1, 2, 99999999]' | "$bin" --model "$model" --decode 2>&1 >/dev/null)
rc=$?
expect "bad id exit" 2 "$rc"
[[ $msg == *"<stdin>:1:"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
msg=$(echo '[1, 1e300]' | "$bin" --model "$model" --decode 2>&1 >/dev/null)
rc=$?
expect "huge id exit" 2 "$rc"
[[ $msg == *"<stdin>:1: expected integer ids"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
msg=$(printf '{"text": "a\\u0000b"}\n' | "$bin" --model "$model" --field text 2>&1 >/dev/null)
rc=$?
expect "NUL escape exit" 2 "$rc"
[[ $msg == *"<stdin>:1: the line holds \u0000"* ]] || { echo "FAIL message: $msg" >&2; fail=1; }
expect "NUL escaped backslash" '[1037,1032,1057,8889,8889,2497]' \
  "$(printf '{"text": "a\\\\u0000b"}\n' | "$bin" --model "$model" --field text)"
"$bin" --model "$work/none" /dev/null 2>/dev/null
expect "missing model exit" 2 "$?"
"$bin" --model "$model" --max-length 0 /dev/null 2>/dev/null
expect "bad option exit" 2 "$?"
"$bin" --help >/dev/null
expect "help exit" 0 "$?"
set -e
exit "$fail"
