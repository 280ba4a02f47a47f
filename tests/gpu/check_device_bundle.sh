#!/usr/bin/env bash
# Check the device bundle where none of its libraries are installed: a bare
# Debian 12 (debootstrap minbase) in a chroot, given only what the GPU
# machine has of its own (CMake, python3, the CUDA 13 toolkit, here
# bind-mounted read-only from this machine), and no GPU.
# usage: tests/gpu/check_device_bundle.sh [-h] [BARE_ROOT]
#   BARE_ROOT: where the bare system is made once and kept (BARE_ROOT/base,
#              with CMake and python3 added) and copied afresh for each
#              check (BARE_ROOT/run); /var/tmp/ftune-bare by default
# Needs root, debootstrap and Debian's archive (apt), and the bundle
# (.device/ftune-gpu-bundle.tar.xz: tests/gpu/make_device_bundle.sh).
# In the chroot, the tree is copied to /srv/tree (not the packing path, so
# install_device_bundle.sh must place the build through its link), the
# bundle is installed, and then run from the bundle's build:
#   ctest -L unit              the unit tests (the GPU ones skip: no GPU)
#   ctest -R "test_comm|test_metrics_mpi4|test_train_crash|test_train_ranks"
#                              Open MPI with 2 and 4 ranks, parallel HDF5,
#                              training runs (killed and resumed; 2 ranks)
#   device_check.sh, parts bundle and test: every GPU test runs and skips
# Exit: 0 all passed, 1 something failed, 2 bad usage.
set -euo pipefail
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi

# In the chroot: install the bundle, run the tests from its build.
inside() {
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  cd /srv/tree
  bash tests/gpu/install_device_bundle.sh | tee /tmp/install.log
  cd "$(tail -n 1 /tmp/install.log)"
  echo "== unit tests"
  ctest -L unit --timeout 600 --output-on-failure
  echo "== Open MPI (2 and 4 ranks), parallel HDF5, training runs"
  ctest -R "test_comm|test_metrics_mpi4|test_train_crash|test_train_ranks" --timeout 600 \
    --output-on-failure
  echo "== device_check.sh's bundle and test parts (the GPU tests skip: no GPU)"
  local n total
  total="$(ctest -N -L gpu | sed -n 's/^Total Tests: //p')"
  cd /srv/tree
  OUT=/tmp/dc FTUNE_CHECK_PARTS="bundle test" bash tests/gpu/device_check.sh
  n="$(grep -c '[*][*][*]Skipped' /tmp/dc/device_check/test.log || true)"
  echo "GPU tests skipped: $n of $total"
  [[ "$n" == "$total" && "$total" -gt 0 ]]
}

# In a private mount namespace: what the chroot needs mounted, then inside.
mounted() {
  local bare="$1" cuda=/usr/local/cuda-13.0
  mount --make-rprivate /
  mount -t proc proc "$bare/proc"
  mount -t sysfs sysfs "$bare/sys"
  mount --rbind /dev "$bare/dev"
  mkdir -p "$bare$cuda"
  mount --bind -o ro "$cuda" "$bare$cuda"
  chroot "$bare" /bin/bash /srv/tree/tests/gpu/check_device_bundle.sh --inside
}

case "${1:-}" in
  --inside) inside; exit ;;
  --mounted) mounted "$2"; exit ;;
esac
(($# <= 1)) || { echo "usage: tests/gpu/check_device_bundle.sh [-h] [BARE_ROOT]" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
bare="$(realpath -m "${1:-/var/tmp/ftune-bare}")"
[[ "$bare" != / ]] || { echo "check_device_bundle.sh: BARE_ROOT must not be /" >&2; exit 2; }
bundle="$root/.device/ftune-gpu-bundle.tar.xz"
[[ -f "$bundle" ]] || { echo "no bundle: run tests/gpu/make_device_bundle.sh first" >&2; exit 1; }
((EUID == 0)) || { echo "check_device_bundle.sh: must run as root (chroot)" >&2; exit 1; }

base="$bare/base"
if [[ ! -x "$base/usr/bin/cmake" ]]; then
  command -v debootstrap >/dev/null ||
    { echo "check_device_bundle.sh: no debootstrap to make $base (apt-get install debootstrap)" >&2; exit 1; }
  rm -rf "$base" "$base.tmp"
  debootstrap --variant=minbase bookworm "$base.tmp" http://deb.debian.org/debian
  cp /etc/resolv.conf "$base.tmp/etc/resolv.conf"
  chroot "$base.tmp" apt-get install -y -q --no-install-recommends cmake python3 >/dev/null
  mv "$base.tmp" "$base"
fi
if chroot "$base" ldconfig -p | grep -Eq 'libmpi\.so|libhdf5_openmpi|libcjson|libdnnl|libopenblas'; then
  echo "$base is not bare: it has some of the bundle's libraries installed" >&2
  exit 1
fi
rm -rf "$bare/run"
cp -a "$base" "$bare/run"
bare="$bare/run"

# The working tree as the device tool sends it: tracked and untracked files
# that git does not ignore, and the carried .device folder.
rm -rf "$bare/srv/tree"
mkdir -p "$bare/srv/tree/.device"
(cd "$root" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
  tar -C "$bare/srv/tree" -xf -
cp "$bundle" "$bare/srv/tree/.device/"

unshare -m bash "$0" --mounted "$bare"
echo "the bundle works on a bare Debian 12 without a GPU"
