#!/usr/bin/env bash
# sms_spam.sh: the SMS Spam Collection (Almeida & Gomez Hidalgo, 2011; UCI
# Machine Learning Repository, CC BY 4.0: 5,574 SMS, 4,827 ham and 747 spam)
# as JSONL for ftune-shard. Needs internet (run it on a login node): the
# zip is downloaded from UCI unless a local copy is given.
# The raw file, SMSSpamCollection, is label<TAB>text per line, no header, with
# literal quotes; lines that are not valid UTF-8 are read as CP1252. (ftune-shard
# also reads the raw file directly: --input SMSSpamCollection --format tsv
# --header no; this recipe makes the JSONL so that odd bytes are dealt with
# once, visibly.) Lines: {"text": ..., "label": "ham"|"spam", "line": N}.
# Then: ftune-shard --input sms_spam.jsonl --tokenizer DIR --output OUT \
#           --stratify --split 0.8,0.1,0.1 [--balance undersample]
# Not run in ftune's CI (no internet there): the conversion is the part to
# trust, the download URL the part to check when it fails.
# Usage: sms_spam.sh [-h] [OUTPUT] [ZIP]   (OUTPUT default sms_spam.jsonl;
#        ZIP a downloaded smsspamcollection.zip, default: download it)
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0; fi
url="https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
out="${1:-sms_spam.jsonl}"
zip="${2:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "$zip" ]; then
    zip="$tmp/sms.zip"
    echo "sms_spam.sh: downloading $url" >&2
    if command -v curl >/dev/null; then curl -fsSL --retry 3 -o "$zip" "$url"
    else wget -q -O "$zip" "$url"; fi
fi
command -v unzip >/dev/null || { echo "sms_spam.sh: needs unzip" >&2; exit 2; }
unzip -q -o "$zip" -d "$tmp/x"
raw="$(find "$tmp/x" -name SMSSpamCollection -type f | head -1)"
[ -n "$raw" ] || { echo "sms_spam.sh: no SMSSpamCollection file in $zip" >&2; exit 2; }
python3 - "$raw" "$out.tmp.$$" <<'PY'
import json, sys
raw, out = sys.argv[1], sys.argv[2]
counts, bad = {"ham": 0, "spam": 0}, 0
with open(raw, "rb") as f, open(out, "w", encoding="utf-8", newline="\n") as g:
    for n, line in enumerate(f, 1):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text, bad = line.decode("cp1252", errors="replace"), bad + 1
        label, sep, msg = text.partition("\t")
        if not sep or label not in counts or not msg.strip():
            sys.exit(f"sms_spam.sh: {raw}:{n}: expected ham|spam<TAB>text, got {text[:60]!r}")
        g.write(json.dumps({"text": msg, "label": label, "line": n}, ensure_ascii=False) + "\n")
        counts[label] += 1
print(f"sms_spam.sh: {counts['ham']} ham, {counts['spam']} spam ({bad} lines read as CP1252)", file=sys.stderr)
if (counts["ham"], counts["spam"]) != (4827, 747):
    print("sms_spam.sh: warning: the published collection has 4827 ham and 747 spam", file=sys.stderr)
PY
mv "$out.tmp.$$" "$out"
echo "sms_spam.sh: wrote $out" >&2
