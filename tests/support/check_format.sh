#!/usr/bin/env bash
# check_format.sh SOURCE_DIR: every C, C++ and CUDA file git tracks under
# SOURCE_DIR is as .clang-format writes it. Formatting differs between
# clang-format releases, so the check runs only with the release the style was
# applied with (14, Debian 12's clang-format, installed by env/setup.sh);
# another release, or none, skips it (exit 77) with a line that says so.
# Fix a failure with: clang-format -i FILE...
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
root="$1"
want=14
cf=""
for c in clang-format-$want clang-format; do
    if command -v "$c" >/dev/null && "$c" --version | grep -q "version $want\."; then cf="$c"; break; fi
done
if [ -z "$cf" ]; then
    echo "check_format: clang-format $want not found (apt-get install clang-format-$want): skipped"
    exit 77
fi
cd "$root"
mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cpp' '*.cu' '*.cuh')
if [ ${#files[@]} -eq 0 ]; then
    echo "check_format: no tracked C/CUDA files under $root (not a git checkout?)" >&2
    exit 1
fi
if ! "$cf" --dry-run --Werror "${files[@]}" 2>/tmp/check_format.$$; then
    grep -o '^[^:]*:[0-9]*' /tmp/check_format.$$ | sort -u | head -20
    echo "check_format: the files above differ from .clang-format's layout: run $cf -i on them" >&2
    rm -f /tmp/check_format.$$
    exit 1
fi
rm -f /tmp/check_format.$$
echo "check_format: ${#files[@]} files as .clang-format writes them ($cf)"
