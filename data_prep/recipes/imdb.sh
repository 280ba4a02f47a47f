#!/usr/bin/env bash
# imdb.sh: the Large Movie Review Dataset (Maas et al., ACL 2011: 25,000
# training and 25,000 test reviews, half positive, half negative) as two
# JSONL files for ftune-shard. Needs internet (run it on a login node): the
# 84 MB archive is downloaded from Stanford unless a local copy is given.
# From aclImdb/{train,test}/{pos,neg}/ID_RATING.txt (the unlabelled
# train/unsup reviews are left out): lines {"text": ..., "label": "pos"|"neg",
# "rating": 1-10, "file": "train/pos/0_9.txt"}, "<br />" turned into newlines,
# files in name order. The reviews are the IMDb users' text: do not commit
# the output. Then:
#   ftune-shard --input OUTDIR/imdb_train.jsonl --test-file OUTDIR/imdb_test.jsonl \
#       --split 0.9,0.1 --stratify --tokenizer DIR --output OUT --max-length 512
# Not run in ftune's CI (no internet there).
# Usage: imdb.sh [-h] [OUTDIR] [TARBALL]   (OUTDIR default .; TARBALL a
#        downloaded aclImdb_v1.tar.gz, default: download it)
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0; fi
url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
outdir="${1:-.}"
tarball="${2:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "$tarball" ]; then
    tarball="$tmp/aclImdb_v1.tar.gz"
    echo "imdb.sh: downloading $url (84 MB)" >&2
    if command -v curl >/dev/null; then curl -fSL --retry 3 -o "$tarball" "$url"
    else wget -q -O "$tarball" "$url"; fi
fi
tar xzf "$tarball" -C "$tmp" --wildcards 'aclImdb/train/pos/*' 'aclImdb/train/neg/*' \
    'aclImdb/test/pos/*' 'aclImdb/test/neg/*'
mkdir -p "$outdir"
python3 - "$tmp/aclImdb" "$outdir" <<'PY'
import json, os, re, sys
root, outdir = sys.argv[1], sys.argv[2]
for split in ("train", "test"):
    out = os.path.join(outdir, f"imdb_{split}.jsonl")
    counts = {"pos": 0, "neg": 0}
    with open(out + ".tmp", "w", encoding="utf-8", newline="\n") as g:
        for label in ("neg", "pos"):
            folder = os.path.join(root, split, label)
            for name in sorted(os.listdir(folder)):
                m = re.fullmatch(r"(\d+)_(\d+)\.txt", name)
                if not m:
                    continue
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    text = re.sub(r"<br\s*/?>", "\n", f.read()).strip()
                g.write(json.dumps({"text": text, "label": label, "rating": int(m.group(2)),
                                    "file": f"{split}/{label}/{name}"}, ensure_ascii=False) + "\n")
                counts[label] += 1
    os.replace(out + ".tmp", out)
    print(f"imdb.sh: wrote {out}: {counts['pos']} pos, {counts['neg']} neg", file=sys.stderr)
    if counts != {"pos": 12500, "neg": 12500}:
        print("imdb.sh: warning: the published dataset has 12500 of each per split", file=sys.stderr)
PY
