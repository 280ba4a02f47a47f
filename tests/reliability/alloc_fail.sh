#!/usr/bin/env bash
# alloc_fail.sh: every allocation of a program's main path made to fail, one
# run per allocation (issue 16). Needs a test build (FTUNE_TEST_HOOKS=ON:
# ft_alloc fails its Nth allocation when FTUNE_ALLOC_FAIL_AT=N), at best with
# ASan + UBSan + LeakSanitizer (env/test.sh runs it in build-asan/).
#
# Usage: alloc_fail.sh BUILD_DIR CASE [STRIDE [FROM]]
#   CASE: tokenize | shard | train | eval | predict (a tiny model and dataset
#   from BUILD_DIR/tests/train_testdata; one rank, no mpirun).
#   STRIDE (default 1): drive N = FROM, FROM+STRIDE, ... (FROM default 1; a
#   partial pass, to go on from a failure being fixed).
# For N = 1, 2, ... the program runs with FTUNE_ALLOC_FAIL_AT=N until a run
# meets no failure (the hook's line is absent: the path makes fewer than N
# allocations); that run must exit 0. Every run that met the failure must:
#   - exit 1 or 2 (no signal, no sanitizer exit), with an error line on
#     stderr that names the memory ("out of memory", "cannot allocate"); or exit 0
#     with the same output as a run without failure (an allocation that only
#     saves time, such as a buffer sized ahead, may fail harmlessly);
#   - report nothing from AddressSanitizer, UBSan or LeakSanitizer;
#   - leave no temporary file (*.tmp*) in its output folder.
# Prints one line per case: allocations driven, outcomes counted.
set -euo pipefail

build="${1:?usage: alloc_fail.sh BUILD_DIR CASE [STRIDE]}"
case_name="${2:?usage: alloc_fail.sh BUILD_DIR CASE [STRIDE]}"
stride="${3:-1}"
from="${4:-1}"
name="alloc_fail_$case_name"
work="$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
# One process without mpirun: Open MPI's singleton, without the daemon it
# would start (a run takes half the time; hundreds of runs per case).
export OMPI_MCA_ess_singleton_isolated=1
# The leak check is the point: a leak is an error here, reported on stderr.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0:exitcode=99"
fail() { echo "$name: FAIL: $*" >&2; exit 1; }

grep -aq FTUNE_ALLOC_FAIL_AT "$build/ftune-train" ||
    { echo "$name: $build is not a test build (configure with -DFTUNE_TEST_HOOKS=ON)"; exit 77; }

"$build/tests/train_testdata" "$work/td" 48 16 >/dev/null
model="$work/td/model" data="$work/td/data"
words="the movie was great bad awful film plot actor good terrible loved hated boring"
for i in $(seq 1 40); do
    printf '{"text": "%s %s %s", "label": "%s"}\n' "$(echo "$words" | cut -d' ' -f$((i % 14 + 1)))" \
        "$(echo "$words" | cut -d' ' -f$((i * 7 % 14 + 1)))" "word$i" "$([ $((i % 2)) = 0 ] && echo pos || echo neg)"
done >"$work/raw.jsonl"
printf 'the movie was great\nbad awful film\n' >"$work/texts.txt"

# A fine-tuned model folder for eval and predict, made once without failures.
if [ "$case_name" = eval ] || [ "$case_name" = predict ]; then
    "$build/ftune-train" --model_name_or_path "$model" --data_dir "$data" --allow_random_init true \
        --max_steps 2 --per_device_train_batch_size 4 --save_strategy no --disable_tqdm true \
        --output_dir "$work/trained" >"$work/trained.log" 2>&1 || { cat "$work/trained.log" >&2; fail "training the model for $case_name"; }
fi

# run N OUT: the case's command with allocation N failing (0: none); stdout
# in OUT.stdout, stderr in OUT.log.
run() {
    local n="$1" out="$2"
    rm -rf "$out"
    [ "$n" = 0 ] && n=""
    case "$case_name" in
    tokenize) FTUNE_ALLOC_FAIL_AT="$n" "$build/ftune-tokenize" --model "$model" --max-length 16 \
                  "$work/texts.txt" ;;
    shard) FTUNE_ALLOC_FAIL_AT="$n" "$build/ftune-shard" --input "$work/raw.jsonl" --tokenizer "$model" \
               --output "$out" --max-length 16 --split 0.6,0.2,0.2 ;;
    train) FTUNE_ALLOC_FAIL_AT="$n" "$build/ftune-train" --model_name_or_path "$model" --data_dir "$data" \
               --allow_random_init true --max_steps 4 --per_device_train_batch_size 4 --save_steps 2 \
               --evaluation_strategy steps --eval_steps 2 --logging_steps 2 --disable_tqdm true \
               --output_dir "$out" ;;
    eval) FTUNE_ALLOC_FAIL_AT="$n" "$build/ftune-eval" --model "$work/trained/final" --data "$data" \
              --split validation --output "$out" --log "$work/trained/log.jsonl" ;;
    predict) FTUNE_ALLOC_FAIL_AT="$n" "$build/ftune-predict" --model "$work/trained/final" \
                 --file "$work/texts.txt" ;;
    *) echo "$name: unknown case '$case_name'" >&2; exit 2 ;;
    esac >"$out.stdout" 2>"$out.log"
}

# same_output OUT: what a run wrote is what the run without failure wrote.
same_output() {
    local out="$1" ref="$work/ref"
    case "$case_name" in
    tokenize|predict) cmp -s "$out.stdout" "$ref.stdout" ;;
    shard) diff -r "$out" "$ref" >/dev/null ;;
    train) cmp -s "$out/final/model.safetensors" "$ref/final/model.safetensors" ;;
    eval) cmp -s "$out/predictions.jsonl" "$ref/predictions.jsonl" ;;
    esac
}


# run_once N OUT: run, again (at most twice) when Open MPI's singleton start-up
# itself failed before any code of ours ran (seen once in about 1,000 runs:
# "orte_ess_init failed"); the retries are counted and printed.
retries=0
run_once() {
    local st=0 try
    for try in 1 2 3; do
        st=0
        run "$1" "$2" || st=$?
        if [ "$st" != 0 ] && grep -q 'MPI_INIT failed\|orte_ess_init failed' "$2.log" &&
           ! grep -q 'ftune test hook' "$2.log"; then
            retries=$((retries + 1))
            echo "$name: N=$1: Open MPI's start-up failed (try $try); running it again"
            continue
        fi
        break
    done
    return "$st"
}

run_once 0 "$work/ref" || { cat "$work/ref.log" >&2; fail "the run without failure failed"; }
driven=0 exit1=0 exit2=0 carried=0 n="$from"
while :; do
    out="$work/out" st=0
    run_once "$n" "$out" || st=$?
    log="$out.log"
    if ! grep -q "ftune test hook: allocation $n fails" "$log"; then
        [ "$st" = 0 ] || { tail -20 "$log" >&2; fail "N=$n: no allocation failed, yet exit $st"; }
        break
    fi
    driven=$((driven + 1))
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
        grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" | head -40 >&2
        fail "N=$n: a sanitizer report (above)"
    fi
    case "$st" in
    0) same_output "$out" || fail "N=$n: the failure was met, exit 0, but the output differs from the run without failure"
       carried=$((carried + 1)) ;;
    1|2) grep -qiE 'memory|cannot allocate' "$log" || { tail -20 "$log" >&2; fail "N=$n: exit $st without a line naming the memory"; }
         [ "$st" = 1 ] && exit1=$((exit1 + 1)) || exit2=$((exit2 + 1)) ;;
    *) tail -20 "$log" >&2; fail "N=$n: exit $st (a crash, a signal or a sanitizer exit)" ;;
    esac
    if [ -d "$out" ] && find "$out" -name '*.tmp*' | grep -q .; then
        find "$out" -name '*.tmp*' >&2
        fail "N=$n: temporary files left in the output folder"
    fi
    n=$((n + stride))
done
echo "$name: $driven allocation failures driven (N = $from..$((n - 1)), stride $stride): $exit1 exit 1, $exit2 exit 2, $carried carried on with the same output; N=$n needs no failure and exits 0; $retries runs repeated after Open MPI's start-up failed"
