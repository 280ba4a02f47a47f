#!/usr/bin/env bash
# The GPU machine's check of ftune: one command, about 10 minutes at most.
# usage: tests/gpu/device_check.sh [-h]      (from any folder; uses its tree)
# Parts, in order, each under its own time limit, each logged:
#   python  nvidia-smi, torch/transformers versions, and
#           tests/reference/check_fixtures_with_transformers.py (the model
#           fixtures against the real Hugging Face classes); needs nothing built
#   bundle  when .device/ftune-gpu-bundle.tar.xz is in the tree (made on a
#           Debian 12 machine by tests/gpu/make_device_bundle.sh and carried):
#           installs it (tests/gpu/install_device_bundle.sh) and takes its
#           build, so deps and build are skipped. The GPU machine has no
#           Open MPI, parallel HDF5, cJSON, utf8proc, OpenBLAS or oneDNN and
#           cannot install them: without the bundle, deps fails there
#   deps    the build's dependencies: cmake >= 3.25, pkg-config, mpicc and
#           mpiexec, parallel HDF5, cJSON, utf8proc, OpenBLAS, oneDNN, zlib,
#           nvcc, NCCL; prints what is missing with the Debian package
#   build   cmake -DFTUNE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90, make -jJOBS
#   test    ctest -L gpu --output-on-failure
#   bench   bench/bench_gpu_train.sh (ftune against PyTorch, samples/s, MFU);
#           when the build failed, the PyTorch side alone
# A failed deps or build part skips what needs the build (fail fast); the
# python parts run regardless. Logs go to $OUT/device_check/ when OUT is
# set (written as the parts run, so a run cut short still leaves them),
# else to BUILD_DIR/device_check/.
# Env: OUT, FTUNE_CHECK_BUILD_DIR (build-gpu in the tree), FTUNE_CHECK_JOBS
# (nproc), FTUNE_CHECK_PARTS ("python deps build test bench"),
# FTUNE_CHECK_PYTHON (python3 on PATH), FTUNE_CHECK_BENCH_STEPS ("20 5"),
# FTUNE_CHECK_BUNDLE (.device/ftune-gpu-bundle.tar.xz in the tree).
# Exit: 0 every part run passed, 1 some part failed, 2 bad usage.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi
[[ $# == 0 || ( $# == 2 && "$1" == --part ) ]] || { echo "usage: tests/gpu/device_check.sh [-h] (settings through the environment)" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${FTUNE_CHECK_BUILD_DIR:-$root/build-gpu}"
jobs="${FTUNE_CHECK_JOBS:-$(nproc)}"
parts="${FTUNE_CHECK_PARTS:-python bundle deps build test bench}"
py="${FTUNE_CHECK_PYTHON:-python3}"
read -r bench_steps bench_warm <<<"${FTUNE_CHECK_BENCH_STEPS:-20 5}"
bundle="${FTUNE_CHECK_BUNDLE:-$root/.device/ftune-gpu-bundle.tar.xz}"
logs="${OUT:+$OUT/device_check}"
logs="${logs:-$build/device_check}"
mkdir -p "$logs"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # containers run as root
t_start=$SECONDS
declare -A result=()
order=()

say() { echo "== [$((SECONDS - t_start)) s] $*" | tee -a "$logs/summary.txt"; }
wants() { [[ " $parts " == *" $1 "* ]]; }

# part NAME LIMIT_S: run part_NAME (this script again, --part NAME) under a
# time limit, output to the terminal and $logs/NAME.log; records the verdict.
part() {
  local name="$1" limit="$2" rc=0
  say "$name: start (limit ${limit} s)"
  set +e
  timeout --kill-after=10 "$limit" bash "$0" --part "$name" 2>&1 | tee "$logs/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  local verdict=PASS
  ((rc == 0)) || verdict="FAIL (exit $rc)"
  ((rc != 124 && rc != 137)) || verdict="TIMEOUT after ${limit} s"
  result[$name]="$verdict"
  order+=("$name")
  say "$name: $verdict"
  return "$rc"
}

skip() { result[$1]="SKIPPED: $2"; order+=("$1"); say "$1: skipped: $2"; }

part_python() {
  nvidia-smi || echo "nvidia-smi failed"
  echo "nproc $(nproc); $(command -v "$py") $("$py" --version 2>&1)"
  "$py" -c 'import torch, transformers
print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available() and torch.cuda.get_device_name())
print("transformers", transformers.__version__)'
  "$py" "$root/tests/reference/check_fixtures_with_transformers.py"
}

# part_deps: every build dependency, each missing one with its Debian package.
need() { # WHAT PACKAGE TEST...
  local what="$1" pkg="$2"
  shift 2
  if "$@" >/dev/null 2>&1; then echo "ok       $what"; else echo "MISSING  $what  (Debian: $pkg)"; missing+=("$what"); fi
}
has_header() { # NAME: some include folder holds it
  local d
  for d in /usr/include /usr/local/include /usr/include/x86_64-linux-gnu /usr/local/cuda/include \
           /usr/include/hdf5/openmpi /usr/include/x86_64-linux-gnu/openblas-openmp \
           /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas; do
    [[ -f "$d/$1" ]] && return 0
  done
  return 1
}
has_lib() { ldconfig -p 2>/dev/null | grep "lib$1\.so" >/dev/null || compgen -G "/usr/local/cuda/lib64/lib$1.so*" >/dev/null; }
cmake_new_enough() {
  local v
  v="$(cmake --version | sed -n '1s/.* \([0-9]*\.[0-9]*\).*/\1/p')"
  [[ "$(printf '%s\n3.25\n' "$v" | sort -V | head -n 1)" == 3.25 ]]
}
parallel_hdf5() {
  command -v h5pcc && return 0
  grep -qs 'define H5_HAVE_PARALLEL 1' /usr/include/hdf5/openmpi/H5pubconf.h
}
part_deps() {
  missing=()
  need "cmake >= 3.25" "cmake (or pip install cmake)" cmake_new_enough
  need pkg-config pkg-config command -v pkg-config
  need "C/C++ compilers" "build-essential" command -v cc c++
  need mpicc "libopenmpi-dev" command -v mpicc
  need mpiexec "openmpi-bin" command -v mpiexec
  need "parallel HDF5" "libhdf5-openmpi-dev" parallel_hdf5
  need cJSON "libcjson-dev" pkg-config --exists libcjson
  need utf8proc "libutf8proc-dev" pkg-config --exists libutf8proc
  need "OpenBLAS cblas.h" "libopenblas-openmp-dev" has_header cblas.h
  need "OpenBLAS library" "libopenblas-openmp-dev" has_lib openblas
  need "oneDNN" "libdnnl-dev" has_header oneapi/dnnl/dnnl.h
  need "zlib" "zlib1g-dev" has_header zlib.h
  need "nvcc" "CUDA toolkit (/usr/local/cuda)" test -x /usr/local/cuda/bin/nvcc -o -n "$(command -v nvcc)"
  need "NCCL" "libnccl-dev" has_header nccl.h
  need "cuBLAS" "CUDA toolkit" has_lib cublas
  if ((${#missing[@]})); then
    echo "missing ${#missing[@]}: ${missing[*]}: the CUDA build cannot be made here"
    return 1
  fi
}

part_bundle() {
  bash "$root/tests/gpu/install_device_bundle.sh" "$bundle"
}

part_build() {
  cmake -S "$root" -B "$build" -DFTUNE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$jobs"
}

part_test() {
  cd "$build"
  local n
  n="$(ctest -N -L gpu | sed -n 's/^Total Tests: //p')"
  echo "GPU tests registered: ${n:-0}"
  [[ "${n:-0}" -gt 0 ]] || { echo "no test labelled gpu: is the build a CUDA one?"; return 1; }
  ctest -L gpu --output-on-failure --timeout 150
}

part_bench() {
  FTUNE_BENCH_PYTHON="$py" FTUNE_BENCH_LOG_DIR="$logs/bench" \
    "$root/bench/bench_gpu_train.sh" "$build" "$bench_steps" "$bench_warm"
}

part_bench_torch() {
  "$py" "$root/bench/bench_gpu_train_torch.py" 32 128 "$bench_steps" "$bench_warm" 0.1
}

if [[ "${1:-}" == --part ]]; then
  "part_$2"
  exit $?
fi

main() {
  say "ftune device check in $root, build $build, logs $logs, parts: $parts"
  if wants python; then part python 150 || true; fi
  local built=false
  if wants bundle && [[ -f "$bundle" ]]; then
    if part bundle 240; then
      build="$(tail -n 1 "$logs/bundle.log")"
      export FTUNE_CHECK_BUILD_DIR="$build" # the parts run as child processes
      built=true
      say "build from the bundle: $build"
    fi
  fi
  if $built; then
    skip deps "the bundle's build"
    skip build "the bundle's build"
  elif wants deps && ! part deps 30; then
    skip build "dependencies missing (see deps.log)"
  elif wants build; then
    part build 330 && built=true
  fi
  if ! wants build && [[ -x "$build/bench/bench_train_step" ]]; then built=true; fi
  if wants test; then
    if $built; then part test 180 || true; else skip test "no build"; fi
  fi
  if wants bench; then
    if $built; then
      part bench 240 || true
    else
      part bench_torch 150 || true
    fi
  fi
  say "summary after $((SECONDS - t_start)) s:"
  local failed=0 name
  for name in "${order[@]}"; do
    say "  $name: ${result[$name]}"
    case "${result[$name]}" in
      PASS | "SKIPPED: the bundle's build") ;;
      *) failed=1 ;;
    esac
  done
  [[ ! -f "$build/Testing/Temporary/LastTest.log" ]] || cp "$build/Testing/Temporary/LastTest.log" "$logs/"
  return "$failed"
}

main
