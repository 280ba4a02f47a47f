#!/usr/bin/env bash
# test_eval_lm.sh: ftune-eval on a decoder LLM and a causal_lm dataset.
#
# Usage: test_eval_lm.sh ranks|reference BUILD_DIR [MPIEXEC...]
#
# lm_eval_fixture makes a tiny random LlamaForCausalLM folder with
# models/gpt2-tiny's tokenizer; ftune-shard --task causal_lm makes a test
# split of the 41 rows of tests/fixtures/sft/sotu_sft.jsonl in 2 files.
#   ranks:     ftune-eval on 1, 2 and 4 ranks (OMP_NUM_THREADS=1, batch 4;
#              41 rows are a multiple of none): report.json the same bytes but
#              for the command line and the timings; task causal_lm, finite
#              loss, perplexity = exp(loss); report.md and report.html show
#              the perplexity; no predictions.jsonl. Refusals, exit 2 naming
#              both sides: the decoder on a classification dataset, a
#              classifier on the causal_lm dataset, and ftune-predict on
#              the decoder folder. The same split sharded with --packing
#              (several examples a row, position and segment ids) on 1
#              and 2 ranks: the same tokens, loss and perplexity within
#              1e-6 relative of the unpacked rows' (each example attends
#              within itself, positions from 0: only float32 summation
#              order in the products differs).
#   reference: the mean token loss against transformers'
#              (eval_lm_reference.py; exit 77 without the reference python,
#              FTUNE_REF_PYTHON or ~/.cache/ftune-ref/bin/python).
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ $# -lt 2 ]; then
    echo "usage: test_eval_lm.sh ranks|reference BUILD_DIR [MPIEXEC...]" >&2
    exit 2
fi
case_name="$1"
build="$2"
shift 2
mpiexec=("$@")
[ ${#mpiexec[@]} -gt 0 ] || mpiexec=(mpiexec --oversubscribe --allow-run-as-root)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
gpt2="$root/models/gpt2-tiny"
py="${FTUNE_REF_PYTHON:-$HOME/.cache/ftune-ref/bin/python}"
if [ "$case_name" = reference ] && ! "$py" -c 'import transformers, torch, h5py' 2>/dev/null; then
    echo "skip: no reference python with transformers, torch and h5py ($py)"
    exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
fail() { echo "FAIL: $*" >&2; exit 1; }

"$build/tests/lm_eval_fixture" "$work/model" "$gpt2" 7 >/dev/null
lm=(--task causal_lm --tokenizer "$gpt2" --input "$root/tests/fixtures/sft/sotu_sft.jsonl")
"$build/ftune-shard" "${lm[@]}" --output "$work/data" --max-length 128 --split 0,0,1 \
    --shards 2 >/dev/null 2>&1 || fail "ftune-shard"

# run_eval N OUT [ARGS...] (DATA=folder: another dataset than $work/data)
run_eval() {
    local n="$1" out="$2"
    shift 2
    "${mpiexec[@]}" -n "$n" "$build/ftune-eval" --model "$work/model" --data "${DATA:-$work/data}" \
        --output "$work/$out" --batch-size 4 "$@" >"$work/$out.log" 2>&1 ||
        { cat "$work/$out.log" >&2; fail "ftune-eval on $n rank(s)"; }
}

# figures REPORT: report.json without the command line and the timings.
figures() {
    grep -v -e '"command_line"' -e '"eval_seconds"' -e '"tokens_per_s"' "$1"
}

# expect_refusal WHAT PATTERN COMMAND...: exit 2 and PATTERN in the message.
expect_refusal() {
    local what="$1" pattern="$2" rc=0
    shift 2
    "$@" >"$work/refusal.log" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || { cat "$work/refusal.log" >&2; fail "$what: exit $rc, wanted 2"; }
    grep -q -- "$pattern" "$work/refusal.log" ||
        { cat "$work/refusal.log" >&2; fail "$what: no \"$pattern\" in the message"; }
    echo "ok: $what: $(grep -m1 -- "$pattern" "$work/refusal.log")"
}

if [ "$case_name" = reference ]; then
    run_eval 1 r1
    "$py" "$root/tests/integration/eval_lm_reference.py" "$work/model" "$work/data" test \
        "$work/r1/report.json" 2>/dev/null || fail "loss differs from transformers'"
    exit 0
fi

for n in 1 2 4; do run_eval "$n" "r$n"; done
for n in 2 4; do
    diff <(figures "$work/r1/report.json") <(figures "$work/r$n/report.json") >&2 ||
        fail "report.json on $n ranks differs from 1 rank's"
done
python3 - "$work/r1/report.json" <<'PY' || fail "report.json figures"
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["task"] == "causal_lm" and r["num_rows"] == 41 and r["num_examples"] == 41, r
assert r["num_tokens"] > 0 and math.isfinite(r["loss"]) and r["loss"] > 0, r
assert abs(r["perplexity"] - math.exp(r["loss"])) <= 1e-12 * r["perplexity"], r
assert "accuracy" not in r and "labels" not in r, r
print(f"ok: 1, 2, 4 ranks: {r['num_tokens']} tokens, loss {r['loss']!r}, "
      f"perplexity {r['perplexity']!r}")
PY
grep -q "| perplexity |" "$work/r1/report.md" || fail "report.md has no perplexity row"
grep -q "<th>perplexity</th>" "$work/r1/report.html" || fail "report.html has no perplexity row"
[ ! -e "$work/r1/predictions.jsonl" ] || fail "predictions.jsonl written for a causal LM"
grep -q "perplexity" "$work/r1.log" || fail "ftune-eval did not print the perplexity"

# The refusals. A classification dataset with the decoder's tokenizer.
printf 'text,label\nhello there,a\ngood bye,b\nhello again,a\nbye now,b\n' >"$work/cls.csv"
"$build/ftune-shard" --tokenizer "$gpt2" --input "$work/cls.csv" --output "$work/cls" \
    --max-length 16 --split 0,0,1 >/dev/null 2>&1 || fail "ftune-shard of a classification set"
eval1=("$build/ftune-eval" --output "$work/bad")
expect_refusal "decoder on a classification dataset" "is a decoder LLM (causal LM) but the dataset is a sequence_classification dataset" \
    "${eval1[@]}" --model "$work/model" --data "$work/cls"
expect_refusal "classifier on a causal_lm dataset" "is a sequence classifier, not a decoder LLM" \
    "${eval1[@]}" --model "$gpt2" --data "$work/data"
expect_refusal "ftune-predict on a decoder" "for decoder LLMs use ftune-generate" \
    "$build/ftune-predict" --model "$work/model" "hello"
[ ! -e "$work/bad" ] || fail "a refused run left $work/bad behind"

# Packed rows: the same examples, the same figures within 1e-6.
"$build/ftune-shard" "${lm[@]}" --output "$work/packed" --max-length 256 --split 0,0,1 \
    --packing >/dev/null 2>&1 || fail "ftune-shard --packing"
for n in 1 2; do DATA="$work/packed" run_eval "$n" "p$n"; done
python3 - "$work/r1/report.json" "$work/p1/report.json" "$work/p2/report.json" <<'PY' ||
import json, sys
u, p1, p2 = (json.load(open(f)) for f in sys.argv[1:])
assert p1["num_rows"] < u["num_rows"], (p1["num_rows"], u["num_rows"])
for p in (p1, p2):
    assert p["num_tokens"] == u["num_tokens"], (p["num_tokens"], u["num_tokens"])
    for k in ("loss", "perplexity"):
        assert abs(p[k] - u[k]) <= 1e-6 * u[k], (k, p[k], u[k])
print(f"ok: packed ({p1['num_rows']} rows) against unpacked ({u['num_rows']} rows): "
      f"loss {p1['loss']!r} vs {u['loss']!r} (relative {abs(p1['loss'] / u['loss'] - 1):.3g}), "
      f"2 ranks {p2['loss']!r}")
PY
    fail "packed rows' loss differs from the unpacked rows'"
echo "ok: test_eval_lm.sh ranks"
