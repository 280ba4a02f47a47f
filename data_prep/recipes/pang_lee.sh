#!/usr/bin/env bash
# pang_lee.sh: Pang & Lee's movie-review polarity data as Debian's
# python3-pattern carries it (test corpora: polarity-en-pang&lee1.csv, 1,500
# reviews, and polarity-en-pang&lee2.csv, sentences), for use at test or
# experiment time only: the data is for personal use and is never committed.
# `apt-get download python3-pattern` into a scratch folder, then the two CSV
# files are extracted into OUTPUT_DIR (default ~/.cache/ftune-data/pang-lee)
# as reviews.csv and sentences.csv. ftune-shard reads reviews.csv with no
# options (BOM, no header, label then a multi-line quoted review).
# Usage: pang_lee.sh [-h] [OUTPUT_DIR]
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0; fi
out="${1:-$HOME/.cache/ftune-data/pang-lee}"
if [ -s "$out/reviews.csv" ] && [ -s "$out/sentences.csv" ]; then
    echo "pang_lee.sh: $out already holds the data"
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q python3-pattern >/dev/null 2>&1) ||
    { echo "pang_lee.sh: apt-get download python3-pattern failed (no Debian archive?)" >&2; exit 1; }
dpkg-deb -x "$tmp"/python3-pattern_*.deb "$tmp/x"
corpora="$tmp/x/usr/share/doc/python3-pattern/test/corpora"
mkdir -p "$out"
cp "$corpora/polarity-en-pang&lee1.csv" "$out/reviews.csv.tmp"
cp "$corpora/polarity-en-pang&lee2.csv" "$out/sentences.csv.tmp"
mv "$out/reviews.csv.tmp" "$out/reviews.csv"
mv "$out/sentences.csv.tmp" "$out/sentences.csv"
echo "pang_lee.sh: $out: reviews.csv ($(wc -c <"$out/reviews.csv") bytes), sentences.csv ($(wc -c <"$out/sentences.csv") bytes)"
