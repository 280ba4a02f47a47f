#!/usr/bin/env bash
# Compare ftune's tokenizers with the JavaScript references in one run.
# usage: bench/bench_tokenize.sh [-h] [BUILD_DIR] [CORPUS_JSONL] [MIN_SECONDS]
#   BUILD_DIR: a build of ftune holding bench/bench_tokenize (default build)
#   CORPUS_JSONL: {"text": ...} lines (default tests/fixtures/tokenizer/corpus.jsonl)
# WordPiece (bert-base-uncased) against @huggingface/tokenizers@0.2.0 and GPT-2
# byte-level BPE against gpt-3-encoder@1.1.4 and @huggingface/tokenizers@0.2.0
# (no Python tokenizer is installable offline), on one core (taskset -c 0 when
# present), encode loop only (no start-up, no file loading), one warm-up pass,
# then whole passes for at least MIN_SECONDS (default 2). Prints each side's
# MB/s and texts/s and the ratio. The npm packages are fetched with npm pack
# into FTUNE_NPM_CACHE (default .cache/npm in the source tree) when missing.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build="${1:-$root/build}"
corpus="${2:-$root/tests/fixtures/tokenizer/corpus.jsonl}"
min_s="${3:-2}"
exe="$build/bench/bench_tokenize"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
cache="${FTUNE_NPM_CACHE:-$root/.cache/npm}"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

# fetch SPEC DIRNAME: an unpacked npm package under $cache, printed.
fetch() {
  local dir="$cache/$2"
  if [[ ! -f "$dir/package/package.json" ]]; then
    mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack --silent "$1" | tail -1)"
    tar xzf "$dir/$tgz" -C "$dir"
  fi
  echo "$dir/package"
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { # ratio LABEL OURS THEIRS
  awk -v l="$1" -v om="$(field "$2" mb_per_s)" -v tm="$(field "$3" mb_per_s)" \
      -v ot="$(field "$2" texts_per_s)" -v tt="$(field "$3" texts_per_s)" \
    'BEGIN { printf "%s: ftune %.2f MB/s %.0f texts/s, reference %.2f MB/s %.0f texts/s, ftune %.1fx faster\n", l, om, ot, tm, tt, om / tm }'
}

tokens_agree() { # tokens_agree OURS THEIRS [WHY]: same corpus, same number of tokens?
  local o t
  o="$(field "$1" tokens)"
  t="$(field "$2" tokens)"
  if [[ "$o" == "$t" ]]; then echo "  tokens: both $o"; else echo "  tokens: ftune $o, reference $t ${3:-(DIFFER)}"; fi
}

hf="$(fetch @huggingface/tokenizers@0.2.0 huggingface-tokenizers-0.2.0)"
gpt="$(fetch gpt-3-encoder@1.1.4 gpt-3-encoder-1.1.4)"

bert="$root/tests/fixtures/tokenizer/bert"
ours="$("${pin[@]}" "$exe" "$bert" "$corpus" "$min_s")"
theirs="$("${pin[@]}" node "$here/bench_tokenize.mjs" wordpiece "$hf" "$corpus" "$min_s" "$bert/tokenizer.json")"
echo "$ours"
echo "$theirs"
ratio "WordPiece (bert-base-uncased)" "$ours" "$theirs"

# GPT-2: models/gpt2-tiny (vocab.json + merges.txt, OpenAI's files) against
# gpt-3-encoder and the Hugging Face port given gpt2's tokenizer.json.
gpt2="$root/models/gpt2-tiny"
if ours="$("${pin[@]}" "$exe" "$gpt2" "$corpus" "$min_s")"; then
  echo "$ours"
  theirs="$("${pin[@]}" node "$here/bench_tokenize.mjs" bpe "$gpt" "$corpus" "$min_s")"
  echo "$theirs"
  ratio "GPT-2 byte-level BPE vs gpt-3-encoder" "$ours" "$theirs"
  tokens_agree "$ours" "$theirs" "(expected on texts with U+FEFF or U+0085: JavaScript's \\s)"
  theirs="$("${pin[@]}" node "$here/bench_tokenize.mjs" bpe-hf "$hf" "$corpus" "$min_s" \
            "$gpt2/vocab.json" "$gpt2/merges.txt")"
  echo "$theirs"
  ratio "GPT-2 byte-level BPE vs @huggingface/tokenizers" "$ours" "$theirs"
  tokens_agree "$ours" "$theirs"
else
  echo "GPT-2 byte-level BPE: skipped (ftune's BPE tokenizer did not open)"
fi
