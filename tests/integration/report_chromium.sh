#!/usr/bin/env bash
# Render an ftune report.html in headless Chromium and check the screenshot.
#
# Usage: report_chromium.sh [-h] [--expect-console-errors] REPORT_HTML [OUT_PNG]
#
# Passes when the screenshot exists and is not trivial (a PNG of more than
# 20 kB) and the page logged no console message at all (the page has no
# script, so any console message is a failure: an uncaught error, a
# blocked resource). Chromium's own unrelated noise (GPU, D-Bus, sandbox
# lines) is ignored: only console lines (":CONSOLE:N]" or ":CONSOLE(N)",
# and "Uncaught") count. --expect-console-errors inverts that check, to prove
# on a broken page that the detection works. Exits 77 (CTest: skipped) when
# /usr/bin/chromium (package chromium) is not installed.
set -euo pipefail

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
expect_errors=0
if [ "${1:-}" = "--expect-console-errors" ]; then expect_errors=1; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage >&2; exit 2; fi

chromium="${FTUNE_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
    echo "report_chromium: $chromium not found (apt-get install chromium); skipped"
    exit 77
fi
html="$(realpath "$1")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
png="${2:-$work/report.png}"
log="$work/chromium.log"

status=0
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="$work/profile" --enable-logging=stderr --v=0 \
    --screenshot="$png" --window-size=1200,1600 "file://$html" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    echo "report_chromium: chromium exited with $status:"
    cat "$log"
    exit 1
fi
if [ ! -s "$png" ]; then
    echo "report_chromium: no screenshot written"; cat "$log"; exit 1
fi
bytes=$(stat -c %s "$png")
if [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
    echo "report_chromium: $png is not a PNG"; exit 1
fi
console=0
grep -E ':CONSOLE[:(][0-9]+|Uncaught' "$log" || console=$?
if [ "$expect_errors" -eq 1 ]; then
    if [ "$console" -eq 0 ]; then
        echo "report_chromium: console errors detected, as expected"; exit 0
    fi
    echo "report_chromium: expected console errors, found none:"; cat "$log"; exit 1
fi
if [ "$console" -eq 0 ]; then
    echo "report_chromium: the page logged console messages (above)"; exit 1
fi
if [ "$bytes" -lt 20000 ]; then
    echo "report_chromium: screenshot of only $bytes bytes: the page looks blank"; exit 1
fi
echo "report_chromium: $html rendered, screenshot $bytes bytes, no console messages"
