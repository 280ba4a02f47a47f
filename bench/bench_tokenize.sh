#!/usr/bin/env bash
# Compare ftune's tokenizers with Hugging Face's Rust `tokenizers` in one run.
# usage: bench/bench_tokenize.sh [-h] [BUILD_DIR] [CORPUS_JSONL] [MIN_SECONDS]
#   BUILD_DIR: a build of ftune holding bench/bench_tokenize (default build)
#   CORPUS_JSONL: {"text": ...} lines (default tests/fixtures/tokenizer/corpus.jsonl)
# WordPiece (bert-base-uncased) and GPT-2 byte-level BPE, each against PyPI's
# `tokenizers` (bench/bench_tokenize.py, run by FTUNE_REF_PYTHON, default
# /root/.cache/ftune-ref/bin/python, else a python3 that imports tokenizers),
# on one core (taskset -c 0 when present; RAYON_NUM_THREADS=1), encode loop
# only (no start-up, no file loading), one warm-up pass, then whole passes
# for at least MIN_SECONDS (default 2). Prints each side's MB/s and texts/s,
# the ratio ftune / tokenizers (each text encoded in turn, as ftune does),
# whether the token counts agree, and tokenizers' encode_batch for reference.
# Without such a python only ftune's side runs, after one line saying how
# to make the environment (tests/reference/README.md).
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-$root/build}"
corpus="${2:-$root/tests/fixtures/tokenizer/corpus.jsonl}"
min_s="${3:-2}"
exe="$build/bench/bench_tokenize"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi
export RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false

# reference_python: a python that imports tokenizers, printed; empty if none.
reference_python() {
  local py
  for py in "${FTUNE_REF_PYTHON:-}" /root/.cache/ftune-ref/bin/python python3; do
    [[ -n "$py" ]] || continue
    if "$py" -c 'import tokenizers' 2>/dev/null; then echo "$py"; return; fi
    [[ -z "${FTUNE_REF_PYTHON:-}" ]] || break # a named python is not replaced
  done
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { # ratio LABEL OURS THEIRS
  awk -v l="$1" -v om="$(field "$2" mb_per_s)" -v tm="$(field "$3" mb_per_s)" \
      -v ot="$(field "$2" texts_per_s)" -v tt="$(field "$3" texts_per_s)" \
    'BEGIN { printf "%s: ftune %.2f MB/s %.0f texts/s, tokenizers %.2f MB/s %.0f texts/s, ftune/tokenizers %.1fx\n", l, om, ot, tm, tt, om / tm }'
}
tokens_agree() { # tokens_agree OURS THEIRS: same corpus, same number of tokens?
  local o t
  o="$(field "$1" tokens)"
  t="$(field "$2" tokens)"
  if [[ "$o" == "$t" ]]; then echo "  tokens: both $o"; else echo "  tokens: ftune $o, tokenizers $t (DIFFER)"; fi
}

py="$(reference_python)"
if [[ -z "$py" ]]; then
  echo "bench_tokenize: no python with tokenizers (FTUNE_REF_PYTHON=${FTUNE_REF_PYTHON:-unset}): make one with 'python3 -m venv /root/.cache/ftune-ref && /root/.cache/ftune-ref/bin/pip install tokenizers regex'; ftune's side only"
fi

# compare LABEL KIND MODEL_DIR: ftune on MODEL_DIR against tokenizers' KIND.
compare() {
  local ours all theirs
  if ! ours="$("${pin[@]}" "$exe" "$3" "$corpus" "$min_s")"; then
    echo "$1: skipped (ftune's tokenizer in $3 did not open)"
    return
  fi
  echo "$ours"
  [[ -n "$py" ]] || return 0
  all="$("${pin[@]}" "$py" "$here/bench_tokenize.py" "$2" "$corpus" "$min_s")"
  echo "$all"
  theirs="$(grep ' mode=encode ' <<<"$all")"
  ratio "$1" "$ours" "$theirs"
  tokens_agree "$ours" "$theirs"
  ratio "  (for information) $1 vs encode_batch" "$ours" "$(grep ' mode=encode_batch ' <<<"$all")"
}

# WordPiece: ftune reads tests/fixtures/tokenizer/bert/tokenizer.json (made by
# make_wordpiece_fixtures.py from models/vocab/bert-base-uncased-vocab.txt);
# GPT-2: models/gpt2-tiny (vocab.json + merges.txt, OpenAI's files). The
# Python side builds the same tokenizer.json files from models/vocab/.
compare "WordPiece (bert-base-uncased)" wordpiece "$root/tests/fixtures/tokenizer/bert"
compare "GPT-2 byte-level BPE" bpe "$root/models/gpt2-tiny"
