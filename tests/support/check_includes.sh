#!/usr/bin/env bash
# check_includes.sh SOURCE_DIR: the module boundaries of src/. The build
# exports only src/<module>/include/ (CMakeLists.txt), so one module can reach
# another's private headers (the ones beside its sources) only through a
# relative path; this check refuses such paths, and a public header written
# without its "<module>/" prefix, which would hide where it comes from.
set -euo pipefail
case "${1:-}" in -h|--help|"") sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
cd "$1"
bad=0
while IFS= read -r line; do
    echo "check_includes: $line: relative include reaches across a module boundary" >&2
    bad=1
done < <(grep -rnE '^#include "\.\./' src tests bench data_prep --include='*.[ch]' \
            --include='*.cu' --include='*.cuh' --include='*.cpp' || true)
public=$(find src -path "src/*/include/*" \( -name "*.h" -o -name "*.cuh" \) -printf "%f\n" | sort -u)
for h in $public; do
    while IFS= read -r line; do
        echo "check_includes: $line: write the public header as \"<module>/$h\"" >&2
        bad=1
    done < <(grep -rnF "#include \"$h\"" src tests bench data_prep || true)
done
[ "$bad" -eq 0 ] && echo "check_includes: $(echo "$public" | wc -w) public headers, all named by module; no relative includes"
exit "$bad"
