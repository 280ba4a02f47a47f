#!/usr/bin/env bash
# shard_cli.sh: ftune-shard end to end under mpiexec, one CASE per CTest test.
#   ranks-FORMAT  jsonl|csv|tsv|folder|json|bpe: output byte-identical (cmp of
#                 every file) for 1, 2, 3 and 4 ranks (jsonl, csv; the others
#                 1 and 3 or 4, to keep CI short); h5dump reads every shard
#   bad           each kind of bad input stops the run with file:line and
#                 exit 2, leaving no output folder and no temporary folder
#   skip-bad      --skip-bad skips and counts per reason (manifest, summary)
#   overwrite     refuses an existing output; --force replaces a dataset
#                 but never a folder that is not one
#   test-file     --test-file, numeric labels, --balance undersample
#   usage         -h, unknown options, bad values: exit 0 / 2
#   inspect       --inspect prints counts and percentiles, catches damage
# Inputs are generated here (awk), so the test needs no fixtures.
# Usage: shard_cli.sh BUILD_DIR CASE   (MPIEXEC: the mpiexec to use)
set -euo pipefail
[ $# = 2 ] || { echo "usage: shard_cli.sh BUILD_DIR CASE" >&2; exit 2; }
build="$1"
case_name="$2"
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$build/ftune-shard"
bert="$root/models/bert-tiny"
gpt2="$root/models/gpt2-tiny"
work="$(mktemp -d "${TMPDIR:-/tmp}/shard_cli.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi=("${MPIEXEC:-mpiexec}" --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# shard N ARGS...: ftune-shard on N ranks (0: without mpiexec); output in
# $work/out.txt, $work/err.txt.
shard() {
    local n="$1"
    shift
    local rc=0 launch=("${mpi[@]}" -n "$n")
    [ "$n" = 0 ] && launch=() # 0: no mpiexec (MPI singleton, or no MPI for usage errors)
    "${launch[@]}" "$bin" "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
    return "$rc"
}

expect_rc() { # expect_rc WANT N ARGS...
    local want="$1" rc=0
    shift
    shard "$@" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "exit $rc, wanted $want: ftune-shard ${*:2}"
        sed 's/^/  | /' "$work/err.txt" | head -20 >&2
        return 1
    fi
}

expect_err() { # expect_err TEXT: the last run's stderr holds TEXT
    grep -qF -- "$1" "$work/err.txt" || { fail "stderr lacks '$1'"; sed 's/^/  | /' "$work/err.txt" | head -8 >&2; }
}

# --- inputs (deterministic pseudo-random text) --------------------------------
words_awk='BEGIN { split("the movie was great bad awful film plot actor good terrible loved hated boring \
money free offer click now meeting tomorrow lunch report thanks please win prize call cheap deal", w, " ");
  s = seed } function r(n) { s = (s * 1103515245 + 12345) % 2147483648; return int(s / 65536) % n }
  function text(k,   t, i) { t = w[1 + r(length(w))]; for (i = 1; i < k; i++) t = t " " w[1 + r(length(w))]; return t }'

gen_jsonl() { # FILE N
    awk -v n="$2" -v seed=7 "$words_awk"'
      END { for (i = 0; i < n; i++) { l = r(3); printf "{\"id\": %d, \"text\": \"%s\", \"label\": \"%s\"}\n", i,
            text(3 + r(70)), l == 0 ? "ham" : l == 1 ? "spam" : "other" } }' </dev/null >"$1"
}

gen_csv() { # FILE N: quoted fields with commas, doubled quotes and newlines
    awk -v n="$2" -v seed=11 "$words_awk"'
      END { print "label,text"; for (i = 0; i < n; i++) { l = r(2) ? "pos" : "neg"; t = text(2 + r(40));
            if (i % 7 == 0) { print l "," t; continue }
            if (i % 5 == 0) t = t ", and \"\"quoted\"\"\n" text(3); print l ",\"" t "\"" } }' </dev/null >"$1"
}

gen_tsv() { # FILE N: the SMS Spam Collection layout, label<TAB>text, no header
    awk -v n="$2" -v seed=13 "$words_awk"'
      END { for (i = 0; i < n; i++) printf "%s\t%s\n", r(4) ? "ham" : "spam", text(2 + r(30)) }' </dev/null >"$1"
}

gen_folder() { # DIR N: DIR/pos/*.txt, DIR/neg/*.txt
    mkdir -p "$1/pos" "$1/neg"
    awk -v n="$2" -v seed=17 -v dir="$1" "$words_awk"'
      END { for (i = 0; i < n; i++) { f = sprintf("%s/%s/%05d.txt", dir, r(2) ? "pos" : "neg", i);
            print text(5 + r(60)) > f; close(f) } }' </dev/null
}

gen_json() { # FILE N: a JSON array, numeric labels
    awk -v n="$2" -v seed=19 "$words_awk"'
      END { print "["; for (i = 0; i < n; i++) printf "  {\"body\": \"%s\",\n   \"category\": %d}%s\n",
            text(3 + r(50)), r(3), i + 1 < n ? "," : ""; print "]" }' </dev/null >"$1"
}

# same_dirs A B: the same file names, every file byte-identical.
same_dirs() {
    local a="$1" b="$2" f
    [ "$(cd "$a" && ls)" = "$(cd "$b" && ls)" ] || { fail "$a and $b hold different files"; return; }
    for f in "$a"/*; do cmp -s "$f" "$b/$(basename "$f")" || fail "$b/$(basename "$f") differs from $f"; done
}

h5dump_all() {
    command -v h5dump >/dev/null || { echo "h5dump not installed: not checked" >&2; return; }
    local f
    for f in "$1"/*.h5; do h5dump "$f" >/dev/null 2>&1 || fail "h5dump cannot read $f"; done
}

case_ranks() { # case_ranks "RANK COUNTS" INPUT ARGS...
    local counts="$1" input="$2" n
    shift 2
    for n in $counts; do
        expect_rc 0 "$n" --input "$input" --output "$work/out$n" "$@" || return
    done
    for n in $counts; do [ "$n" = 1 ] || same_dirs "$work/out1" "$work/out$n"; done
    ls "$work/out1"/*.h5 >/dev/null || fail "no shards written"
    h5dump_all "$work/out1"
    cat "$work/out.txt"
}

case_bad() {
    gen_jsonl "$work/good.jsonl" 200
    local -a kinds=(
        'malformed|{"text": "oops", "label": |malformed JSON'
        'utf8|{"text": "caf\xe9 au lait", "label": "ham"}|invalid UTF-8'
        'empty|{"text": "   ", "label": "ham"}|text field '"'text'"' is empty'
        'nolabel|{"text": "no label here"}|no label field'
    )
    local k name line want
    for k in "${kinds[@]}"; do
        IFS='|' read -r name line want <<<"$k"
        { head -n 149 "$work/good.jsonl"; printf '%b\n' "$line"; tail -n +150 "$work/good.jsonl"; } >"$work/$name.jsonl"
        expect_rc 2 2 --input "$work/$name.jsonl" --tokenizer "$bert" --output "$work/o-$name" &&
            expect_err "$work/$name.jsonl:150: $want"
        [ ! -e "$work/o-$name" ] || fail "$name: output folder left behind"
        ! ls -d "$work/o-$name".tmp.* >/dev/null 2>&1 || fail "$name: temporary folder left behind"
    done
    gen_csv "$work/good.csv" 100
    awk 'NR == 60 { print "pos,one,field too many" } { print }' "$work/good.csv" >"$work/fields.csv"
    local line_no
    line_no="$(grep -n '^pos,one,field too many$' "$work/fields.csv" | cut -d: -f1)"
    expect_rc 2 3 --input "$work/fields.csv" --tokenizer "$bert" --output "$work/o-csv" &&
        expect_err "$work/fields.csv:$line_no: 3 fields, expected 2"
    [ ! -e "$work/o-csv" ] || fail "csv: output folder left behind"
    printf '{"text": "a test example", "label": "unseen"}\n' >"$work/test.jsonl"
    expect_rc 2 2 --input "$work/good.jsonl" --test-file "$work/test.jsonl" --tokenizer "$bert" \
        --output "$work/o-test" && expect_err "$work/test.jsonl:1: label 'unseen' of the test data does not occur"
    [ ! -e "$work/o-test" ] || fail "unseen label: output folder left behind"
}

case_skip_bad() {
    gen_jsonl "$work/good.jsonl" 100
    { head -n 10 "$work/good.jsonl"
      printf '{"text": "oops"\n[1, 2]\n{"text": "caf\xe9", "label": "ham"}\n{"text": "", "label": "ham"}\n'
      printf '{"label": "ham"}\n{"text": "x", "label": null}\n'
      tail -n +11 "$work/good.jsonl"; } >"$work/mixed.jsonl"
    expect_rc 0 2 --input "$work/mixed.jsonl" --tokenizer "$bert" --output "$work/o" --skip-bad || return
    grep -q 'skipped 6 bad records malformed_json=2 invalid_utf8=1 missing_text=1 empty_text=1 missing_label=1' \
        "$work/out.txt" || { fail "summary counts"; cat "$work/out.txt" >&2; }
    local key
    for key in '"malformed_json":	2' '"invalid_utf8":	1' '"missing_text":	1' '"empty_text":	1' \
        '"missing_label":	1' '"records":	106'; do
        grep -qF "$key" "$work/o/manifest.json" || fail "manifest lacks $key"
    done
    # The same file without --skip-bad stops at the first bad record (line 11).
    expect_rc 2 2 --input "$work/mixed.jsonl" --tokenizer "$bert" --output "$work/o2" &&
        expect_err "$work/mixed.jsonl:11: malformed JSON"
}

case_overwrite() {
    gen_tsv "$work/sms.tsv" 80
    local args=(--input "$work/sms.tsv" --tokenizer "$bert")
    expect_rc 0 2 "${args[@]}" --output "$work/o" || return
    cp "$work/o/manifest.json" "$work/first.json"
    expect_rc 2 2 "${args[@]}" --output "$work/o" --seed 7 && expect_err "exists: not overwriting it"
    cmp -s "$work/o/manifest.json" "$work/first.json" || fail "refused run changed the dataset"
    expect_rc 0 2 "${args[@]}" --output "$work/o" --seed 7 --force || return
    grep -qF '"seed":	7' "$work/o/manifest.json" || fail "--force did not replace the dataset"
    ! ls -d "$work"/o.tmp.* >/dev/null 2>&1 || fail "temporary folder left behind"
    mkdir -p "$work/precious" && echo keep >"$work/precious/notes.txt"
    expect_rc 2 1 "${args[@]}" --output "$work/precious" --force && expect_err "not replacing it, even with --force"
    [ -f "$work/precious/notes.txt" ] || fail "--force removed a folder that was not a dataset"
}

case_test_file() {
    gen_json "$work/train.json" 300
    gen_json "$work/test.json" 40
    expect_rc 0 2 --input "$work/train.json" --test-file "$work/test.json" --split 0.8,0.2 \
        --balance undersample --tokenizer "$gpt2" --output "$work/o" --shards 2 || return
    grep -qF '"labels":	["0", "1", "2"]' "$work/o/manifest.json" || fail "numeric labels not in order"
    grep -qF '"role":	"test"' "$work/o/manifest.json" || fail "no test source in the manifest"
    grep -qE 'test +40 rows' "$work/out.txt" || { fail "test split is not the 40 test records"; cat "$work/out.txt"; }
    grep -q 'balance undersample: [1-9][0-9]* examples left out' "$work/out.txt" || fail "undersampling not reported"
    # Balanced: train+validation hold the same count of every class.
    "$bin" --inspect "$work/o" >"$work/inspect.txt" || fail "--inspect failed"
    h5dump_all "$work/o"
}

case_usage() {
    local rc=0
    "$bin" -h >"$work/h.txt" || rc=$?
    if [ "$rc" != 0 ] || ! grep -q -- --skip-bad "$work/h.txt"; then fail "-h"; fi
    gen_tsv "$work/s.tsv" 10
    local base=(--input "$work/s.tsv" --tokenizer "$bert" --output "$work/o")
    expect_rc 2 0 "${base[@]}" --bogus && expect_err "unknown option"
    expect_rc 2 0 "${base[@]}" --split 0.5,0.6 && expect_err "--split"
    expect_rc 2 0 "${base[@]}" --max-length 12x && expect_err "--max-length"
    expect_rc 2 0 "${base[@]}" --format xml && expect_err "--format"
    expect_rc 2 0 --input "$work/s.tsv" --output "$work/o" && expect_err "--tokenizer"
    expect_rc 2 0 "${base[@]}" --shards && expect_err "--shards needs a value"
    expect_rc 2 0 --input "$work/missing.jsonl" --tokenizer "$bert" --output "$work/o" && expect_err "missing.jsonl"
    [ ! -e "$work/o" ] || fail "usage error left an output"
}

case_inspect() {
    gen_jsonl "$work/d.jsonl" 300
    expect_rc 0 2 --input "$work/d.jsonl" --tokenizer "$bert" --output "$work/o" --max-length 16 --stratify || return
    expect_rc 0 1 --inspect "$work/o" || return
    local t
    for t in 'train: 24[01] rows' 'tokens per example: p50 [0-9]+  p90' 'truncated: [0-9]+' 'all 3 files match'; do
        grep -qE "$t" "$work/out.txt" || { fail "--inspect output lacks '$t'"; cat "$work/out.txt" >&2; }
    done
    printf 'X' | dd of="$work/o/test-00000-of-00001.h5" bs=1 seek=3000 conv=notrunc status=none
    expect_rc 2 1 --inspect "$work/o" && expect_err "damaged or changed"
}

case "$case_name" in
ranks-jsonl) gen_jsonl "$work/in.jsonl" 500
    case_ranks "1 2 3 4" "$work/in.jsonl" --tokenizer "$bert" --stratify --shards 3 --split 0.7,0.1,0.2 --max-length 24 ;;
ranks-bpe) gen_jsonl "$work/in.jsonl" 300
    case_ranks "1 3" "$work/in.jsonl" --tokenizer "$gpt2" --shards 2 --seed 5 --max-length 40 ;;
ranks-csv) gen_csv "$work/in.csv" 400
    case_ranks "1 2 3 4" "$work/in.csv" --tokenizer "$bert" --shards 2 --split 0.8,0.2 ;;
ranks-tsv) gen_tsv "$work/in.tsv" 400
    case_ranks "1 3" "$work/in.tsv" --tokenizer "$bert" --stratify --balance undersample ;;
ranks-folder) gen_folder "$work/in" 120
    case_ranks "1 3" "$work/in" --tokenizer "$bert" --shards 2 ;;
ranks-json) gen_json "$work/in.json" 200
    case_ranks "1 4" "$work/in.json" --tokenizer "$bert" --stratify ;;
bad) case_bad ;;
skip-bad) case_skip_bad ;;
overwrite) case_overwrite ;;
test-file) case_test_file ;;
usage) case_usage ;;
inspect) case_inspect ;;
*) echo "unknown case $case_name" >&2; exit 2 ;;
esac
if [ "$failures" != 0 ]; then
    echo "$case_name: $failures failure(s)" >&2
    exit 1
fi
echo "$case_name: PASS"
