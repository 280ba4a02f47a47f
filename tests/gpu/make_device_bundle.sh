#!/usr/bin/env bash
# Pack a CUDA build of ftune, and every shared library it needs that the GPU
# machine lacks, into one file to carry there.
# usage: tests/gpu/make_device_bundle.sh [-h] [--no-build]   (from any folder)
# Why: the device machine (../.library/device/KINDS.md) has the CUDA 13
# toolkit, cuBLAS, NCCL, CMake and PyTorch, but not Open MPI, parallel HDF5,
# cJSON, utf8proc, OpenBLAS or oneDNN, and it cannot install anything. So the
# build is made here and travels with its libraries.
# What it does:
#   1. configures and builds FTUNE_BUNDLE_BUILD_DIR (build-gpu in the tree):
#      -DFTUNE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 (H100/H200), Release;
#      --no-build takes that folder as it is
#   2. writes .device/ftune-gpu-bundle.tar.xz (ignored by git) holding
#      deps/   the shared-library closure of every program and test, Open
#              MPI's programs, plugins (and their closure) and help files, at
#              their absolute paths here, symbolic links resolved
#      build/  the build tree without objects, static libraries or the
#              shard tests' downloaded corpus
#      ROOT, BUILD  this tree's and the build's absolute paths (the CTest
#              files name them)
#      Left out: glibc's own libraries, the GPU driver's, cuBLAS, cuBLASLt
#      and NCCL (the machine has its own of those)
# On the GPU machine: tests/gpu/install_device_bundle.sh installs it, and
# tests/gpu/device_check.sh does that by itself when the file is there.
# Carry it: device run with carry [".device"].
# Env: FTUNE_BUNDLE_BUILD_DIR, FTUNE_BUNDLE_JOBS (nproc).
# Exit: 0 written, 1 a build or packing step failed, 2 bad usage.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi
build_it=1
[[ $# == 0 ]] || [[ $# == 1 && "$1" == --no-build ]] || {
  echo "usage: tests/gpu/make_device_bundle.sh [-h] [--no-build]" >&2
  exit 2
}
[[ $# == 0 ]] || build_it=0
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${FTUNE_BUNDLE_BUILD_DIR:-$root/build-gpu}"
jobs="${FTUNE_BUNDLE_JOBS:-$(nproc)}"
out="$root/.device/ftune-gpu-bundle.tar.xz"

if ((build_it)); then
  cmake -S "$root" -B "$build" -DFTUNE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DCMAKE_BUILD_TYPE=Release
  cmake --build "$build" -j "$jobs"
fi
build="$(cd "$build" && pwd)"
[[ -f "$build/CTestTestfile.cmake" ]] || { echo "no build in $build" >&2; exit 1; }
ngpu="$(cd "$build" && ctest -N -L gpu | sed -n 's/^Total Tests: //p')"
[[ "${ngpu:-0}" -gt 0 ]] || { echo "$build is not a CUDA build (no test labelled gpu)" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage" "$out.tmp"' EXIT

is_elf() { [[ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" == '177ELF' ]]; }

# The libraries the machine has, or must take from its own installation.
not_carried='^/(usr/)?lib(64)?/(x86_64-linux-gnu/)?(ld-linux|libc|libm|libpthread|libdl|librt|libresolv|libutil)[.-]|/lib(cuda|nvidia|cublas|cublasLt|nccl)[.-]'

# Open MPI as Debian installs it: programs, libraries, plugins, help texts.
mpi_files() {
  dpkg -L openmpi-bin libopenmpi3 openmpi-common libpmix2 2>/dev/null |
    while read -r f; do if [[ -f "$f" ]]; then echo "$f"; fi; done
  echo /usr/bin/mpiexec
  echo /usr/bin/mpirun
}

# Every ELF file named on stdin, then each library ldd finds for any of them.
closure() {
  local f
  while read -r f; do
    echo "$f"
    is_elf "$f" || continue
    ldd "$f" 2>/dev/null | awk '/=> \//{print $3}'
  done
}

# An absolute path with its folder resolved (/lib is a link to /usr/lib on
# Debian 12 and Ubuntu 24.04 alike: files go under the real folder).
real_dir_path() { echo "$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")"; }

{
  find "$build" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print |
    while read -r f; do if is_elf "$f"; then echo "$f"; fi; done
  mpi_files
} | closure | sort -u | grep -Ev "$not_carried" | grep -v "^$build/" |
  while read -r f; do real_dir_path "$f"; done | sort -u >"$stage/deps.list"

missing=0
mkdir -p "$stage/deps"
while read -r f; do
  [[ -e "$f" ]] || { echo "missing here: $f" >&2; missing=1; continue; }
  mkdir -p "$stage/deps$(dirname "$f")"
  cp -L "$f" "$stage/deps$f"
done <"$stage/deps.list"
((missing == 0)) || exit 1

mkdir -p "$stage/build"
# npm-cache, deb-cache: the SpamAssassin and Jane Austen corpora of the shard
# tests (no GPU test reads them)
tar -C "$build" --exclude='*.o' --exclude='*.a' --exclude=CMakeFiles --exclude=device_check \
  --exclude=./npm-cache --exclude=./deb-cache -cf - . | tar -C "$stage/build" -xf -
echo "$root" >"$stage/ROOT"
echo "$build" >"$stage/BUILD"

mkdir -p "$(dirname "$out")"
tar -C "$stage" -cf - deps build ROOT BUILD | xz -T0 -6 >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out: $(du -h "$out" | cut -f1), $(wc -l <"$stage/deps.list") carried files" \
  "from $(du -sh "$stage/deps" | cut -f1) of libraries and $(du -sh "$stage/build" | cut -f1) of build"
