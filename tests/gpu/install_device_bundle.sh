#!/usr/bin/env bash
# Install the bundle of make_device_bundle.sh on the GPU machine (as root).
# usage: tests/gpu/install_device_bundle.sh [-h] [BUNDLE]
#   BUNDLE: .device/ftune-gpu-bundle.tar.xz in the tree by default
# What it does, refusing with a message where a step cannot be done:
#   1. checks that this glibc is at least the one the bundle was built on
#   2. copies the bundle's libraries and Open MPI under / WITHOUT replacing
#      any file that exists (the machine's own libraries win; folders that
#      are links, such as /lib, stay links), then runs ldconfig; without ssh
#      or rsh, tells Open MPI it runs on one node (plm_rsh_agent = false)
#   3. finds cuBLAS, cuBLASLt, NCCL and the CUDA runtime of CUDA 13 on this
#      machine (the toolkit's folders, PyTorch's nvidia-* wheels) and names
#      their folders in /etc/ld.so.conf.d/ftune-cuda.conf
#   4. puts the build where its CTest files expect it: the tree's path on
#      the packing machine (ROOT) is made a link to this tree when it does
#      not exist here, and the build goes to the same place under it
#   5. checks that every program of the build finds all its libraries
# Prints the build folder's path on its last line.
# Exit: 0 installed, 1 a step failed, 2 bad usage.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi
(($# <= 1)) || { echo "usage: tests/gpu/install_device_bundle.sh [-h] [BUNDLE]" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
bundle="${1:-$root/.device/ftune-gpu-bundle.tar.xz}"
[[ -f "$bundle" ]] || { echo "no bundle at $bundle (make it with tests/gpu/make_device_bundle.sh)" >&2; exit 1; }
((EUID == 0)) || { echo "install_device_bundle.sh: must run as root (it writes under /)" >&2; exit 1; }

unpack="$(mktemp -d)"
trap 'rm -rf "$unpack"' EXIT
if command -v xz >/dev/null; then
  tar -xJf "$bundle" -C "$unpack"
else # no xz here: Python's lzma reads it
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' \
    "$bundle" | tar -xf - -C "$unpack"
fi

# 1. glibc: the bundle's libraries need the packing machine's (Debian 12: 2.36).
glibc_here="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
glibc_need="$(find "$unpack/deps" -type f -name '*.so*' -exec grep -aoh 'GLIBC_2\.[0-9.]*' {} + |
  sed 's/^GLIBC_//' | sort -uV | tail -n 1)"
if [[ -n "$glibc_need" && "$(printf '%s\n%s\n' "$glibc_need" "$glibc_here" | sort -V | head -n 1)" != "$glibc_need" ]]; then
  echo "glibc $glibc_here here, the bundle needs $glibc_need: build on this machine instead" >&2
  exit 1
fi
echo "glibc $glibc_here (bundle needs ${glibc_need:-?})"

# 2. Libraries and Open MPI, existing files kept.
before=0
while read -r f; do
  if [[ -e "$f" ]]; then before=$((before + 1)); fi
done < <(find "$unpack/deps" -type f | sed "s|^$unpack/deps||")
tar -C "$unpack/deps" -cf - . | tar -C / -xf - --skip-old-files --keep-directory-symlink --no-same-owner
ldconfig
echo "libraries: $(find "$unpack/deps" -type f | wc -l) carried, $before already here (kept)"
# Open MPI refuses to start, even on one node, without a remote shell to
# launch daemons with; one node never uses it, so any program will do.
mca=/etc/openmpi/openmpi-mca-params.conf
if ! command -v ssh >/dev/null && ! command -v rsh >/dev/null && ! grep -qs '^plm_rsh_agent' "$mca"; then
  if [[ -s "$mca" && -n "$(tail -c 1 "$mca")" ]]; then echo >>"$mca"; fi # Debian's lacks the last newline
  echo "plm_rsh_agent = false # no ssh here: one node only (install_device_bundle.sh)" >>"$mca"
  echo "Open MPI: no ssh or rsh here, plm_rsh_agent = false in $mca (one node)"
fi

# 3. CUDA 13's libraries from this machine.
cuda_dirs=()
find_cuda_lib() { # SONAME: the folder of the first copy found
  local name="$1" d py_site
  if ldconfig -p | grep -q " $name "; then return 0; fi
  py_site="$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null || true)"
  for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
           /usr/local/cuda-13*/targets/x86_64-linux/lib /usr/local/cuda-13*/lib; do
    [[ -e "$d/$name" ]] && { cuda_dirs+=("$d"); return 0; }
  done
  for d in $py_site; do
    local hit
    hit="$(find "$d/nvidia" -name "$name" 2>/dev/null | head -n 1)"
    [[ -n "$hit" ]] && { cuda_dirs+=("$(dirname "$hit")"); return 0; }
  done
  echo "not found on this machine: $name" >&2
  return 1
}
for lib in libcublas.so.13 libcublasLt.so.13 libnccl.so.2 libcudart.so.13; do
  find_cuda_lib "$lib"
done
if ((${#cuda_dirs[@]})); then
  printf '%s\n' "${cuda_dirs[@]}" | sort -u >/etc/ld.so.conf.d/ftune-cuda.conf
  ldconfig
  echo "CUDA libraries from: $(tr '\n' ' ' </etc/ld.so.conf.d/ftune-cuda.conf)"
fi

# 4. The build at the path its CTest files name.
src_root="$(cat "$unpack/ROOT")"
src_build="$(cat "$unpack/BUILD")"
if [[ "$src_root" != "$root" ]]; then
  if [[ -e "$src_root" && "$(cd "$src_root" && pwd -P)" != "$(cd "$root" && pwd -P)" ]]; then
    echo "$src_root exists here and is not this tree: cannot place the build" >&2
    exit 1
  fi
  [[ -e "$src_root" ]] || { mkdir -p "$(dirname "$src_root")"; ln -s "$root" "$src_root"; }
fi
mkdir -p "$src_build"
tar -C "$unpack/build" -cf - . | tar -C "$src_build" -xf - --no-same-owner

# 5. Every program finds its libraries.
unresolved=0
while read -r f; do
  if ldd "$f" 2>/dev/null | grep -q 'not found'; then
    echo "unresolved in $f: $(ldd "$f" | grep 'not found' | awk '{print $1}' | tr '\n' ' ')" >&2
    unresolved=1
  fi
done < <(find "$src_build" -path '*/CMakeFiles' -prune -o -type f -perm -u+x -print |
  while read -r f; do if [[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" == '177ELF' ]]; then echo "$f"; fi; done)
((unresolved == 0)) || exit 1
echo "every program finds its libraries"
echo "$src_build"
