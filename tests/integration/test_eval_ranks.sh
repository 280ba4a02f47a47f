#!/usr/bin/env bash
# test_eval_ranks.sh: ftune-eval and ftune-predict end to end on real files.
#
# Usage: test_eval_ranks.sh BUILD_DIR [MPIEXEC...]
#
# eval_fixture makes a random-init BERT (models/bert-tiny sizes, 3 labels)
# exported as a Hugging Face folder RUN/final beside a training log
# RUN/log.jsonl, and a prepared test split of 101 synthetic texts in 3 shards
# (101 is a multiple of none of 2, 3, 4). Then:
#   1. ftune-eval on 1, 2, 3 and 4 ranks (OMP_NUM_THREADS=1 each, batch 8):
#      report.json identical but for the command line and the timings,
#      predictions.jsonl byte-identical;
#   1b. --bf16 on 1 and 3 ranks (FTUNE_CPU_BF16=on): identical reports,
#      "precision": "bf16", and probabilities within 0.01 of float32's but
#      not all equal to them;
#   1c. --bf16 where bf16 products are slower than float32 (oneDNN held to
#      AVX2, so they are emulated) and FTUNE_CPU_BF16 unset: a warning, and
#      the run is float32's (precision "float32", probabilities within 1e-5);
#      a bad FTUNE_CPU_BF16 or FTUNE_GEMM exits 2 naming the variable;
#   2. predictions.jsonl holds every example of the split exactly once, with
#      its true label, the argmax, probabilities summing to 1, and agrees with
#      report.json (num_correct, confusion matrix, mean loss);
#   2b. --checkpoint: a checkpoint of a second model scored through the first
#      model's folder gives the second model's predictions;
#   3. report.html passes check_html.py (3 SVGs: the loss curves come from
#      the default log, RUN/log.jsonl);
#   4. ftune-predict on the same texts (arguments, --file, stdin) gives the
#      same probabilities as ftune-eval (1e-5: a batch of other height gives
#      other roundings) and the same labels;
#   5. bad inputs exit 2 with a message naming the problem, and leave no
#      report behind: an existing report without --force, a model with other
#      labels, another tokenizer, a damaged shard, a missing split, a folder
#      without weights, unknown flags, invalid UTF-8 for ftune-predict.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: test_eval_ranks.sh BUILD_DIR [MPIEXEC...]" >&2; exit 2; }
build="$1"
shift
mpiexec=("$@")
[ ${#mpiexec[@]} -gt 0 ] || mpiexec=(mpiexec --oversubscribe --allow-run-as-root)
python=/usr/bin/python3
[ -x "$python" ] || python=python3
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/test_eval_ranks.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "test_eval_ranks: FAIL: $*" >&2; exit 1; }
say() { echo "test_eval_ranks: $*"; }
export OMP_NUM_THREADS=1 FTUNE_LOG_LEVEL=warn

mkdir -p "$work/run"
"$build/tests/eval_fixture" model "$work/run/final" bert-tiny 3 11
"$build/tests/eval_fixture" data "$work/run/final" "$work/data" 101 32 3 test
for step in 10 20 30 40; do
    printf '{"step": %d, "loss": 1.%d, "learning_rate": 2e-05}\n' "$step" $((50 - step)) >>"$work/run/log.jsonl"
done
printf '{"step": 40, "eval_loss": 1.2}\n' >>"$work/run/log.jsonl"

# ---- 1. the same report for 1, 2, 3 and 4 ranks --------------------------------
for n in 1 2 3 4; do
    out="$("${mpiexec[@]}" -n "$n" "$build/ftune-eval" --model "$work/run/final" \
        --data "$work/data" --output "$work/eval$n" --batch-size 8)" || fail "ftune-eval on $n ranks exited $?"
    [ "$out" = "$work/eval$n/report.html" ] || fail "ftune-eval printed '$out', not the report path"
    for f in report.json report.md report.html predictions.jsonl; do
        [ -s "$work/eval$n/$f" ] || fail "$n ranks: no $f"
    done
done
strip() { grep -v -E '"(command_line|eval_seconds|examples_per_s|tokens_per_s)"' "$1"; }
for n in 2 3 4; do
    diff <(strip "$work/eval1/report.json") <(strip "$work/eval$n/report.json") ||
        fail "report.json differs between 1 and $n ranks"
    cmp "$work/eval1/predictions.jsonl" "$work/eval$n/predictions.jsonl" ||
        fail "predictions.jsonl differs between 1 and $n ranks"
done
say "report.json and predictions.jsonl identical for 1, 2, 3 and 4 ranks"

# ---- 1b. bf16 products ----------------------------------------------------------------
for n in 1 3; do
    FTUNE_CPU_BF16=on "${mpiexec[@]}" -n "$n" -x FTUNE_CPU_BF16 "$build/ftune-eval" --model "$work/run/final" --data "$work/data" \
        --output "$work/bf16-$n" --batch-size 8 --bf16 >/dev/null || fail "ftune-eval --bf16 on $n ranks exited $?"
done
diff <(strip "$work/bf16-1/report.json") <(strip "$work/bf16-3/report.json") ||
    fail "bf16 report.json differs between 1 and 3 ranks"
cmp "$work/bf16-1/predictions.jsonl" "$work/bf16-3/predictions.jsonl" ||
    fail "bf16 predictions.jsonl differs between 1 and 3 ranks"
"$python" - "$work/eval1" "$work/bf16-1" <<'EOF' || fail "bf16 against float32"
import json, sys
a, b = sys.argv[1], sys.argv[2]
assert json.load(open(a + "/report.json"))["precision"] == "float32"
assert json.load(open(b + "/report.json"))["precision"] == "bf16"
p32 = [json.loads(l)["probabilities"] for l in open(a + "/predictions.jsonl")]
p16 = [json.loads(l)["probabilities"] for l in open(b + "/predictions.jsonl")]
diff = max(abs(x - y) for r, s in zip(p32, p16) for x, y in zip(r, s))
assert len(p32) == len(p16) == 101
assert 0 < diff <= 0.01, f"bf16 probabilities differ from float32 by {diff}"
print(f"test_eval_ranks: bf16 probabilities within {diff:.2g} of float32")
EOF

# ---- 1c. bf16 that does not pay runs in float32 ---------------------------------------
env -u FTUNE_CPU_BF16 ONEDNN_MAX_CPU_ISA=AVX2 "${mpiexec[@]}" -n 2 -x ONEDNN_MAX_CPU_ISA \
    "$build/ftune-eval" --model "$work/run/final" --data "$work/data" --output "$work/bf16-slow" \
    --batch-size 8 --bf16 >/dev/null 2>"$work/bf16-slow.err" || fail "ftune-eval --bf16 (slow bf16) exited $?"
grep -q "bf16: this CPU's bf16 products .* running in float32" "$work/bf16-slow.err" ||
    { cat "$work/bf16-slow.err" >&2; fail "no warning that bf16 runs in float32"; }
grep -q '"precision": "float32"' "$work/bf16-slow/report.json" || fail "slow bf16: precision is not float32"
# Within 1e-5 of float32's, not identical: ONEDNN_MAX_CPU_ISA also holds
# oneDNN's sgemm to AVX2 where it is the float32 GEMM (FTUNE_GEMM=auto).
"$python" - "$work/eval1" "$work/bf16-slow" <<'EOF' || fail "slow bf16: predictions are not float32's"
import json, sys
rows = [[json.loads(l)["probabilities"] for l in open(d + "/predictions.jsonl")] for d in sys.argv[1:]]
diff = max(abs(x - y) for r, s in zip(*rows) for x, y in zip(r, s))
assert len(rows[0]) == len(rows[1]) == 101 and diff <= 1e-5, f"differ by {diff}"
EOF
for bad in "FTUNE_CPU_BF16=maybe" "FTUNE_GEMM=mkl"; do
    if env "$bad" "$build/ftune-eval" --model "$work/run/final" --data "$work/data" \
        --output "$work/bad-env" --batch-size 8 --bf16 >/dev/null 2>"$work/bad-env.err"; then
        fail "$bad: ftune-eval succeeded"
    fi
    grep -q "${bad%%=*}: expected" "$work/bad-env.err" || { cat "$work/bad-env.err" >&2; fail "$bad: no message naming it"; }
    [ ! -e "$work/bad-env/report.json" ] || fail "$bad: a report was written"
done
say "bf16 that does not pay runs in float32 with a warning; bad FTUNE_CPU_BF16/FTUNE_GEMM exit with a message"

# ---- 2. every example exactly once, consistent with report.json --------------------
"$python" - "$work/data/texts.tsv" "$work/eval3" <<'EOF' || fail "predictions/report check"
import json, math, sys
texts, out = sys.argv[1], sys.argv[2]
truth = {}
for line in open(texts, encoding="utf-8"):
    idx, label, _ = line.rstrip("\n").split("\t", 2)
    truth[int(idx)] = int(label)
preds = [json.loads(l) for l in open(out + "/predictions.jsonl")]
seen = [p["example_index"] for p in preds]
assert len(seen) == len(set(seen)) == len(truth) == 101, (len(seen), len(set(seen)), len(truth))
assert set(seen) == set(truth), "example indices differ from the split's"
assert seen == sorted(seen), "not in split order"
rep = json.load(open(out + "/report.json"))
correct, loss = 0, 0.0
conf = [[0] * 3 for _ in range(3)]
for p in preds:
    pr = p["probabilities"]
    assert abs(sum(pr) - 1) < 1e-6, p
    assert p["true_label"] == truth[p["example_index"]], p
    assert p["pred_label"] == pr.index(max(pr)), p
    correct += p["pred_label"] == p["true_label"]
    conf[p["true_label"]][p["pred_label"]] += 1
    loss -= math.log(pr[p["true_label"]])
assert rep["num_examples"] == 101 and rep["num_correct"] == correct, (rep["num_correct"], correct)
assert rep["confusion_matrix"]["counts"] == conf, (rep["confusion_matrix"], conf)
assert abs(rep["loss"] - loss / 101) < 1e-6, (rep["loss"], loss / 101)
assert rep["manifest_fingerprint"].startswith("crc32:"), rep["manifest_fingerprint"]
print("test_eval_ranks: 101 examples exactly once; num_correct %d, loss %.6f agree" % (correct, rep["loss"]))
EOF

# ---- 2b. an ftune checkpoint's weights replace the folder's -------------------------
"$build/tests/eval_fixture" model "$work/other" bert-tiny 3 12
"$build/tests/eval_fixture" ckpt "$work/other" "$work/other.h5"
"$build/ftune-eval" --model "$work/other" --data "$work/data" --output "$work/ref" >/dev/null ||
    fail "ftune-eval of the second model"
"${mpiexec[@]}" -n 2 "$build/ftune-eval" --model "$work/run/final" --checkpoint "$work/other.h5" \
    --data "$work/data" --output "$work/ck" >/dev/null || fail "ftune-eval --checkpoint"
cmp -s "$work/eval1/predictions.jsonl" "$work/ref/predictions.jsonl" && fail "the two models agree: no test"
cmp "$work/ref/predictions.jsonl" "$work/ck/predictions.jsonl" || fail "--checkpoint scored other weights"
say "--checkpoint scores the checkpoint's weights"

# ---- 3. the page -------------------------------------------------------------------------
"$python" "$here/check_html.py" "$work/eval1/report.html" --svgs 3 || fail "report.html check"

# ---- 4. ftune-predict agrees with ftune-eval -------------------------------------------------
cut -f3 "$work/data/texts.tsv" >"$work/texts.txt"
"$build/ftune-predict" --model "$work/run/final" --max-length 32 --json --file "$work/texts.txt" \
    >"$work/predict.jsonl" || fail "ftune-predict --file exited $?"
"$build/ftune-predict" --model "$work/run/final" --max-length 32 --json <"$work/texts.txt" \
    >"$work/predict-stdin.jsonl" || fail "ftune-predict from stdin exited $?"
cmp "$work/predict.jsonl" "$work/predict-stdin.jsonl" || fail "--file and stdin answers differ"
mapfile -t first3 < <(head -3 "$work/texts.txt")
"$build/ftune-predict" --model "$work/run/final" --max-length 32 --json "${first3[@]}" \
    >"$work/predict-args.jsonl" || fail "ftune-predict TEXT... exited $?"
plain="$("$build/ftune-predict" --model "$work/run/final" --max-length 32 "${first3[0]}")"
"$python" - "$work/eval1/predictions.jsonl" "$work/predict.jsonl" "$work/predict-args.jsonl" "$plain" <<'EOF' || fail "ftune-predict vs ftune-eval"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
pr = [json.loads(l) for l in open(sys.argv[2])]
args = [json.loads(l) for l in open(sys.argv[3])]
assert len(ev) == len(pr) == 101 and len(args) == 3
worst = 0.0
for e, p in zip(ev, pr):
    d = max(abs(a - b) for a, b in zip(e["probabilities"], p["probabilities"]))
    worst = max(worst, d)
    assert d < 1e-5, (e, p)
    assert e["pred_label"] == p["label_id"], (e, p)
    assert p["label"] == ["negative", "neutral", "positive"][p["label_id"]]
for a, p in zip(args, pr):
    assert max(abs(x - y) for x, y in zip(a["probabilities"], p["probabilities"])) < 1e-6
label, *cols = sys.argv[4].split("\t")
assert label == pr[0]["label"] and len(cols) == 3 and cols[0].startswith("negative="), sys.argv[4]
print("test_eval_ranks: ftune-predict matches ftune-eval on 101 texts (max |dp| %.2g)" % worst)
EOF

# ---- 5. bad inputs: exit 2, a message, nothing written ----------------------------------
expect2() { # expect2 WHAT MESSAGE_REGEX COMMAND...
    local what="$1" re="$2" status=0
    shift 2
    "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
    [ "$status" = 2 ] || { cat "$work/err.txt" >&2; fail "$what: exit $status, expected 2"; }
    grep -q -E -e "$re" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "$what: message does not match /$re/"; }
}
ev=("$build/ftune-eval")
expect2 "existing report" "already exists.*--force" \
    "${ev[@]}" --model "$work/run/final" --data "$work/data" --output "$work/eval1"
"${ev[@]}" --model "$work/run/final" --data "$work/data" --output "$work/eval1" --force >/dev/null ||
    fail "--force did not replace the report"
"$build/tests/eval_fixture" model "$work/two" bert-tiny 2 11
expect2 "label count" "2 labels but.*has 3" \
    "${ev[@]}" --model "$work/two" --data "$work/data" --output "$work/bad1"
cp -r "$work/run/final" "$work/othertok"
sed -i '2000s/.*/zzzunusedtoken/' "$work/othertok/vocab.txt"
expect2 "tokenizer" "tokenizer.*fingerprint" \
    "${ev[@]}" --model "$work/othertok" --data "$work/data" --output "$work/bad2"
expect2 "no validation split" "validation split has no rows" \
    "${ev[@]}" --model "$work/run/final" --data "$work/data" --split validation --output "$work/bad3"
mkdir -p "$work/noweights" && cp "$work/run/final/config.json" "$work/run/final/vocab.txt" "$work/noweights/"
expect2 "no weights" "model.safetensors" \
    "${ev[@]}" --model "$work/noweights" --data "$work/data" --output "$work/bad4"
cp -r "$work/data" "$work/damaged"
printf '\x55' | dd of="$work/damaged/test-00001-of-00003.h5" bs=1 seek=3000 conv=notrunc 2>/dev/null
expect2 "damaged shard" "test-00001-of-00003.h5.*crc32" \
    "${mpiexec[@]}" -n 2 "$build/ftune-eval" --model "$work/run/final" --data "$work/damaged" --output "$work/bad5"
printf '{"format": "ftune-shards", "version": 1, "tokenizer": ' >"$work/damaged/manifest.json"
expect2 "bad manifest" "manifest.json" \
    "${ev[@]}" --model "$work/run/final" --data "$work/damaged" --output "$work/bad6"
expect2 "unknown flag" "unknown option --frobnicate" "${ev[@]}" --frobnicate 1
expect2 "missing --data" "--data is required" "${ev[@]}" --model "$work/run/final" --output "$work/bad7"
expect2 "bad batch size" "--batch-size: expected an integer" \
    "${ev[@]}" --model "$work/run/final" --data "$work/data" --output "$work/bad8" --batch-size 0
for d in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8; do
    if [ -e "$work/$d/report.json" ] || [ -e "$work/$d/predictions.jsonl" ]; then
        fail "$d: a report was written"
    fi
done
expect2 "predict: invalid UTF-8" "text 1.*UTF-8" \
    "$build/ftune-predict" --model "$work/run/final" $'\xff\xfe bad'
expect2 "predict: no head" "model.safetensors" "$build/ftune-predict" --model "$work/noweights" "hi"
expect2 "predict: no model" "--model DIR is required" "$build/ftune-predict" "hi"
say "PASS"
