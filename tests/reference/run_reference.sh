#!/usr/bin/env bash
# run_reference.sh PYTHON SCRIPT ARGS...: a `reference` test: SCRIPT run by
# the reference environment's PYTHON (env/reference.sh); where that python
# is missing, one line and exit 77 (CTest: skipped).
set -euo pipefail
py="${1:?usage: run_reference.sh PYTHON SCRIPT ARGS...}"
script="${2:?usage: run_reference.sh PYTHON SCRIPT ARGS...}"
shift 2
if [ ! -x "$py" ]; then
    echo "$(basename "$script" .py): no reference environment at $py: run bash env/reference.sh: skipped"
    exit 77
fi
exec "$py" "$script" "$@"
