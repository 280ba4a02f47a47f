#!/usr/bin/env bash
# ftune-train on a GPU against the same run on the CPU (label gpu; exit 77,
# skipped, where no GPU is visible). One rank, the tiny BERT of
# tests/mpi/train_testdata (hidden 32, 2 blocks), 20 steps, dropout on:
#   - fp32 on the GPU (the default where a GPU is visible) tracks the CPU run
#     (use_cpu true): every logged loss within 1e-3 relative (different sum
#     orders and libm, the same maths and the same dropout masks);
#   - exact resume on the GPU in fp32: stopped after step 7 (the real signal
#     path) and resumed, the final model.safetensors is byte-identical to the
#     uninterrupted GPU run;
#   - bf16 and fp16 on the GPU track the CPU's bf16 / fp16 runs within 2%;
#   - the log says which GPU ran;
#   - ftune-eval of the GPU-trained model on the GPU and with --cpu: the same
#     num_correct and the loss within 1e-5 relative, and report.json's
#     precision; then the same with --bf16 (loss within 1e-2).
# Usage: test_train_gpu.sh BUILD_DIR
set -euo pipefail
[ $# = 1 ] || { echo "usage: test_train_gpu.sh BUILD_DIR" >&2; exit 2; }
build="$1"
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [ "${gpus:-0}" = 0 ]; then
    echo "test_train_gpu: no GPU visible (nvidia-smi -L): skipped"
    exit 77
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/test_train_gpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=2
fail() { echo "test_train_gpu: FAIL: $*" >&2; exit 1; }

"$build/tests/train_testdata" "$work" 256 64 >/dev/null || fail "train_testdata"
common=(--model_name_or_path "$work/model" --data_dir "$work/data" --allow_random_init true
    --max_steps 20 --per_device_train_batch_size 8 --learning_rate 1e-3 --warmup_steps 3
    --weight_decay 0.01 --logging_steps 2 --save_steps 5 --disable_tqdm true --seed 5)

# train OUT [--key value ...]: one rank; echoes the exit status.
train() {
    local out="$1" status=0
    shift
    mpirun -n 1 --bind-to none "$build/ftune-train" "${common[@]}" --output_dir "$out" "$@" \
        >>"$out.log" 2>&1 || status=$?
    echo "$status"
}
expect() { # expect STATUS WANT WHAT LOG
    [ "$1" = "$2" ] || { tail -30 "$4" >&2; fail "$3: exit $1, expected $2"; }
}
losses() { grep -o '"step": [0-9]*, "epoch": [^,]*, "loss": [^,]*' "$1/log.jsonl" | sed 's/.*"loss": //'; }
# track A B TOL WHAT: every logged loss of run B within TOL relative of run A's.
track() {
    paste <(losses "$1") <(losses "$2") | awk -v tol="$3" -v what="$4" '
        { n++; d = $1 - $2; if (d < 0) d = -d; r = d / $1; if (r > worst) worst = r }
        END { printf "test_train_gpu: %s: %d logged losses, worst relative difference %.3g\n", what, n, worst
              exit !(n >= 5 && worst <= tol) }' || fail "$4: losses differ by more than $3"
}

for prec in fp32 bf16 fp16; do
    flags=()
    [ "$prec" = fp32 ] || flags=(--"$prec" true)
    expect "$(train "$work/cpu-$prec" --use_cpu true "${flags[@]}")" 0 "CPU $prec run" "$work/cpu-$prec.log"
    expect "$(train "$work/gpu-$prec" "${flags[@]}")" 0 "GPU $prec run" "$work/gpu-$prec.log"
    grep -q 'GPU [0-9]* of [0-9]* on this node' "$work/gpu-$prec.log" || fail "the $prec run did not use a GPU"
    tol=0.02
    [ "$prec" = fp32 ] && tol=1e-3
    track "$work/cpu-$prec" "$work/gpu-$prec" "$tol" "GPU vs CPU $prec"
done

# eval_run OUT [flags]: ftune-eval of the GPU fp32 model on the validation split.
eval_run() {
    local out="$1" status=0
    shift
    mpirun -n 1 --bind-to none "$build/ftune-eval" --model "$work/gpu-fp32/final" \
        --data "$work/data" --split validation --output "$out" "$@" >>"$out.log" 2>&1 || status=$?
    echo "$status"
}
for prec in fp32 bf16; do
    flags=()
    [ "$prec" = fp32 ] || flags=(--bf16)
    expect "$(eval_run "$work/eval-gpu-$prec" "${flags[@]}")" 0 "ftune-eval $prec on the GPU" "$work/eval-gpu-$prec.log"
    grep -q 'GPU [0-9]* of [0-9]* on this node' "$work/eval-gpu-$prec.log" || fail "ftune-eval $prec did not use a GPU"
    expect "$(eval_run "$work/eval-cpu-$prec" --cpu "${flags[@]}")" 0 "ftune-eval $prec --cpu" "$work/eval-cpu-$prec.log"
    tol=1e-5
    [ "$prec" = fp32 ] || tol=1e-2
    python3 - "$work/eval-gpu-$prec/report.json" "$work/eval-cpu-$prec/report.json" "$tol" <<'PYEOF' ||
import json, sys
g, c = (json.load(open(p)) for p in sys.argv[1:3])
tol = float(sys.argv[3])
rel = abs(g["loss"] - c["loss"]) / abs(c["loss"])
print("test_train_gpu: ftune-eval %s: GPU loss %.8f, CPU %.8f (relative %.2g), correct %d / %d"
      % (g["precision"], g["loss"], c["loss"], rel, g["num_correct"], c["num_correct"]))
sys.exit(not (rel <= tol and g["precision"] == c["precision"] and
              (tol > 1e-4 or g["num_correct"] == c["num_correct"])))
PYEOF
        fail "ftune-eval $prec: GPU and CPU reports differ"
done

out="$work/gpu-int"
expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=7 train "$out")" 3 "GPU stop at step 7" "$out.log"
expect "$(train "$out")" 0 "GPU resume" "$out.log"
grep -q 'resumed from .*checkpoint-7.h5 at step 7' "$out.log" || fail "no resume from step 7"
cmp "$work/gpu-fp32/final/model.safetensors" "$out/final/model.safetensors" ||
    fail "GPU fp32: the resumed run's final model differs from the uninterrupted run's"
echo "test_train_gpu: PASS"
