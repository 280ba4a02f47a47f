#!/usr/bin/env bash
# Set up a machine for ftune and build it into build/.
#
# On Debian/Ubuntu as root: installs every package the build and the tests
# need (apt-get; only what is missing, so a second run takes seconds), then
# configures and builds. Elsewhere (a cluster login node without root): installs
# nothing, sources env/cluster.env (module load lines) when present, and builds.
#
# Usage: bash env/setup.sh [-h] [--no-install] [--build-dir DIR] [-- CMAKE_ARGS...]
set -euo pipefail

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_dir="$root/build"
install=1
cmake_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --no-install) install=0 ;;
        --build-dir)
            if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#-}" != "$2" ]; then
                echo "setup.sh: --build-dir needs a folder: --build-dir DIR" >&2
                echo "usage: bash env/setup.sh [-h] [--no-install] [--build-dir DIR] [-- CMAKE_ARGS...]" >&2
                exit 2
            fi
            build_dir="$2"; shift ;;
        --) shift; cmake_args=("$@"); break ;;
        *) echo "setup.sh: unknown argument '$1' (see -h)" >&2; exit 2 ;;
    esac
    shift
done

say() { printf 'setup: %s\n' "$*"; }

# Build and test packages. Slurm/munge are for the job-script tests; chromium for
# the report test (headless screenshot); python3 for the HTML parser test and env/test.sh's
# list of skipped tests; python3-venv for the reference environment; clang-format (14) for the
# style_format test. No npm: its registry is
# not reachable from CI. PyTorch, transformers and the tokenizer references are NOT here:
# env/reference.sh puts them into a virtual environment outside the tree, from PyPI
# (env/test.sh runs it; see tests/reference/README.md).
packages=(build-essential cmake pkg-config git
          openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
          libcjson-dev libopenblas-openmp-dev libdnnl-dev libutf8proc-dev zlib1g-dev
          slurmctld slurmd slurm-client munge libpmix-dev
          python3 python3-venv valgrind shellcheck clang-format chromium)

install_packages() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "all ${#packages[@]} packages already installed"
        return
    fi
    say "installing: ${missing[*]}"
    # Package scripts must not start services (no systemd here); a policy-rc.d
    # that exits 101 says so. Only ours is removed, however the script ends:
    # apt failing, set -e, Ctrl-C or a kill (the EXIT trap runs in each case).
    local policy=/usr/sbin/policy-rc.d own_policy=0 status=0
    if [ ! -e "$policy" ]; then
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        own_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq &&
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || status=$?
    if [ "$status" != 0 ]; then
        echo "setup.sh: apt-get failed (exit $status)" >&2
        exit "$status"
    fi
    if [ "$own_policy" = 1 ]; then
        rm -f "$policy"
        trap - EXIT INT TERM
    fi
    say "installed ${#missing[@]} packages"
}

if [ "$install" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    install_packages
else
    say "not installing packages (not root, no apt-get, or --no-install)"
    cluster_env="${FTUNE_CLUSTER_ENV:-$here/cluster.env}"
    if [ -f "$cluster_env" ]; then
        say "sourcing $cluster_env"
        # shellcheck source=/dev/null
        source "$cluster_env"
    fi
fi

say "configuring $build_dir"
mkdir -p "$build_dir"
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >"$build_dir/setup-cmake.log" 2>&1 || {
    cat "$build_dir/setup-cmake.log" >&2
    exit 1
}
grep -E '^-- +(MPI|HDF5|cJSON|utf8proc|BLAS|OpenMP|CUDA|sanitizers):' "$build_dir/setup-cmake.log" | sed 's/^-- */setup:   /'
say "building with $(nproc) jobs"
cmake --build "$build_dir" -j "$(nproc)" >"$build_dir/setup-build.log" 2>&1 || {
    tail -50 "$build_dir/setup-build.log" >&2
    exit 1
}
say "built: $(find "$build_dir" -maxdepth 1 -name 'ftune-*' -type f -printf '%f ' 2>/dev/null)"
say "done; programs are in $build_dir"
