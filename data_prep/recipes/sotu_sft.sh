#!/usr/bin/env bash
# sotu_sft.sh: supervised fine-tuning demo data from the bundled State of the
# Union chunks (data/sotu/sotu.jsonl; public domain): every EVERY-th chunk
# in file order becomes a prompt/completion record
#   {"prompt": "Who gave this State of the Union address, and when?\n\n"
#              + the chunk's first WORDS words + "\nAnswer:",
#    "completion": " {\"president\": \"...\", \"year\": N}"}
# (the completion starts with a space, as GPT-2's tokenizer expects a word
# after a prompt; JSON with sorted keys). Rerunning gives the same bytes.
# The committed test fixture tests/fixtures/sft/sotu_sft.jsonl is
# `EVERY=70 WORDS=40 sotu_sft.sh` (41 records).
# Usage: sotu_sft.sh [-h] [INPUT] [OUTPUT]   (defaults data/sotu/sotu.jsonl,
#        data/sotu/sotu_sft.jsonl; EVERY=1, WORDS=0 meaning the whole chunk)
set -euo pipefail
usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
[ "${1:-}" = -h ] && { usage; exit 0; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
in="${1:-$root/data/sotu/sotu.jsonl}"
out="${2:-$root/data/sotu/sotu_sft.jsonl}"
[ -f "$in" ] || { echo "sotu_sft.sh: $in not found (data_prep/recipes/sotu.sh makes it)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
python3 - "$in" "$out.tmp.$$" "${EVERY:-1}" "${WORDS:-0}" <<'PY'
import json, sys
src, out, every, words = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(src, encoding="utf-8") as f, open(out, "w", encoding="utf-8", newline="\n") as g:
    for i, line in enumerate(f):
        if i % every:
            continue
        r = json.loads(line)
        text = r["text"] if words <= 0 else " ".join(r["text"].split()[:words])
        prompt = "Who gave this State of the Union address, and when?\n\n" + text + "\nAnswer:"
        completion = " " + json.dumps({"president": r["president"], "year": r["year"]}, sort_keys=True)
        g.write(json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False) + "\n")
PY
mv "$out.tmp.$$" "$out"
echo "sotu_sft.sh: wrote $(wc -l <"$out") records to $out"
