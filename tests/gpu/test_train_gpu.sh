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
#     precision; then with --bf16 the loss within 1e-2 and the precision
#     (bf16 rounding may move a prediction: the correct count is not compared).
# Usage: test_train_gpu.sh BUILD_DIR
set -euo pipefail
[ $# = 1 ] || { echo "usage: test_train_gpu.sh BUILD_DIR" >&2; exit 2; }
build="$1"
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [ "${gpus:-0}" = 0 ]; then
    echo "test_train_gpu: no GPU visible (nvidia-smi -L): skipped"
    exit 77
fi
name=test_train_gpu
work="$(mktemp -d "${TMPDIR:-/tmp}/test_train_gpu.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=2
# shellcheck source-path=SCRIPTDIR source=../mpi/train_test_lib.sh
source "$(dirname "$0")/../mpi/train_test_lib.sh"

"$build/tests/train_testdata" "$work" 256 64 >/dev/null || fail "train_testdata"
# shellcheck disable=SC2119 # no flags beyond the shared ones
train_common_flags

# train OUT [--key value ...]: one rank; echoes the exit status.
train() { train_on "$build" 1 "$@"; }

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

stop_and_resume "$build" 1 "$work/gpu-int" "$work/gpu-fp32"
echo "test_train_gpu: PASS"
