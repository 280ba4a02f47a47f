#!/usr/bin/env bash
# shard_austen.sh: the Jane Austen recipe (data_prep/recipes/austen.sh) and
# ftune-shard on the real corpus: Debian's r-cran-janeaustenr (janeaustenr
# 1.0.0, read from R's lazy-load database by the recipe's own python3 reader)
# must give 9,111 paragraphs in 6 books, and 2 ranks must shard them with
# --stratify into exactly these per-book counts; --inspect must then pass.
# The .deb: FTUNE_AUSTEN_DEB (a .deb or an unpacked folder), else the one
# cached in BUILD_DIR/deb-cache, else `apt-get download r-cran-janeaustenr`
# into that cache (Debian's archive, reachable from CI). Skipped (exit 77)
# with one line saying why when the download fails or there is no python3.
# Usage: shard_austen.sh [-h] BUILD_DIR
set -euo pipefail
usage() { echo "usage: shard_austen.sh BUILD_DIR   (see the comment at its top)"; }
[ "${1:-}" = -h ] && { usage; exit 0; }
[ $# = 1 ] || { usage >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$1/ftune-shard"
cache="$1/deb-cache"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "shard_austen: SKIP: no python3 for the recipe's reader"; exit 77; }

pkg="${FTUNE_AUSTEN_DEB:-}"
if [ -z "$pkg" ]; then
    pkg="$(find "$cache" -maxdepth 1 -name 'r-cran-janeaustenr_*.deb' 2>/dev/null | sort -V | tail -1)" || true
fi
# A cached .deb that dpkg cannot read (a download cut short) is fetched again.
if [ -z "${FTUNE_AUSTEN_DEB:-}" ] && [ -n "$pkg" ] && ! dpkg-deb -I "$pkg" >/dev/null 2>&1; then
    rm -f "$pkg"
    pkg=""
fi
if [ -z "$pkg" ]; then
    # Downloaded beside the cache and moved in only when complete.
    mkdir -p "$cache"
    dl="$(mktemp -d "$cache/download.XXXXXX")"
    if ! (cd "$dl" && apt-get download r-cran-janeaustenr) >"$cache/apt.log" 2>&1; then
        rm -rf "$dl"
        echo "shard_austen: SKIP: apt-get download r-cran-janeaustenr failed ($(grep -m1 '^E:' "$cache/apt.log" || tail -1 "$cache/apt.log")); Debian's archive is needed, or set FTUNE_AUSTEN_DEB"
        exit 77
    fi
    mv "$dl"/r-cran-janeaustenr_*.deb "$cache"/
    rm -rf "$dl"
    pkg="$(find "$cache" -maxdepth 1 -name 'r-cran-janeaustenr_*.deb' | sort -V | tail -1)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/shard_austen.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$root/data_prep/recipes/austen.sh" "$work/austen.jsonl" "$pkg" 2>"$work/recipe.txt" ||
    { cat "$work/recipe.txt" >&2; fail "the recipe"; }
cat "$work/recipe.txt"
grep -q 'austen.sh: 9111 paragraphs: sensesensibility 1619, prideprejudice 1859, mansfieldpark 1677, emma 2135, northangerabbey 870, persuasion 951$' \
    "$work/recipe.txt" || fail "recipe counts (janeaustenr 1.0.0 gives 9111: 1619, 1859, 1677, 2135, 870, 951)"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=("${MPIEXEC:-mpiexec}" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
"${mpi[@]}" -n 2 "$bin" --input "$work/austen.jsonl" --text-field text --label-field label \
    --tokenizer "$root/models/bert-tiny" --output "$work/out" --stratify --shards 2 >"$work/out.txt"
cat "$work/out.txt"
# expect LINE_REGEX WHAT: one line of ftune-shard's summary.
expect() { grep -qE "$1" "$work/out.txt" || fail "$2"; }
expect '^labels \(6, ids in this order\): emma mansfieldpark northangerabbey persuasion prideprejudice sensesensibility$' "6 labels"
expect '^  train +7289 rows .*: emma=1708 mansfieldpark=1342 northangerabbey=696 persuasion=761 prideprejudice=1487 sensesensibility=1295$' "stratified train split"
expect '^  validation +911 rows .*: emma=214 mansfieldpark=167 northangerabbey=87 persuasion=95 prideprejudice=186 sensesensibility=162$' "stratified validation split"
expect '^  test +911 rows .*: emma=213 mansfieldpark=168 northangerabbey=87 persuasion=95 prideprejudice=186 sensesensibility=162$' "stratified test split"
expect '^skipped 0 bad records$' "bad records in the recipe output"
expect '^9111 records, ' "9111 records read"
"$bin" --inspect "$work/out" >"$work/inspect.txt" || { cat "$work/inspect.txt" >&2; fail "--inspect"; }
grep -q '^all 6 files match the manifest' "$work/inspect.txt" || fail "--inspect: files and manifest"
grep -qE '^source input: .*9111 records' "$work/inspect.txt" || fail "--inspect: 9111 records in the manifest"
echo "PASS"
