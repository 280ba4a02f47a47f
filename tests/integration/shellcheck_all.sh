#!/usr/bin/env bash
# Check that every shell script of the tree (env/, jobs/, data_prep/,
# bench/, tests/, .ci/) must be shellcheck clean, as STYLE.md asks.
# Usage: shellcheck_all.sh SOURCE_DIR   (exit 77, skipped, without shellcheck)
set -euo pipefail
[ $# = 1 ] || { echo "usage: shellcheck_all.sh SOURCE_DIR" >&2; exit 2; }
command -v shellcheck >/dev/null || { echo "shellcheck not installed: skipped" >&2; exit 77; }
cd "$1"
mapfile -t scripts < <(find env jobs data_prep bench tests .ci -type f \
    \( -name '*.sh' -o -name '*.slurm' -o -path '.ci/run' \) | sort)
[ "${#scripts[@]}" -gt 10 ] || { echo "only ${#scripts[@]} scripts found under $1" >&2; exit 1; }
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"
