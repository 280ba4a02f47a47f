#!/usr/bin/env bash
# A checkpoint's write and read throughput against dd of the same size, in one run.
# usage: bench/bench_ckpt.sh [-h] [BUILD_DIR] [DIR] [HIDDEN LAYERS]
#   BUILD_DIR: a build of ftune holding bench/bench_ckpt (default build);
#   DIR: where the files go (default ${TMPDIR:-/tmp}; put it on the file
#   system that holds output_dir); HIDDEN LAYERS: the BERT (default 768 12:
#   BERT-base, 109.5M parameters; the checkpoint holds weights + the two
#   AdamW moments in fp32, 1314 MB).
# Steps: ckpt_write (bench_ckpt write: temp file, Fletcher32 chunks, fsync,
# rename, folder fsync); dd if=/dev/zero bs=4M of the same byte count with
# conv=fsync; then, each after dropping the page cache (echo 3 >
# /proc/sys/vm/drop_caches, root only; otherwise the reads say "cached"),
# ckpt_read (every dataset read and checksummed, then copied into the model
# and optimizer) and dd of=/dev/null bs=4M. Prints MB/s (10^6 bytes) of each
# and ckpt / dd. Last, the background save (bench_ckpt async): how long
# training waits (the copy) against the blocking write. Files are removed
# at the end, also on failure.
set -euo pipefail
if [[ "${1:-}" == "-h" ]]; then
  sed -n '2,/^set -e/s/^# \{0,1\}//p' "$0"
  exit 0
fi
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
dir="${2:-${TMPDIR:-/tmp}}"
shape=("${3:-768}" "${4:-12}")
exe="$build/bench/bench_ckpt"
[[ -x "$exe" ]] || { echo "no $exe: build the project first" >&2; exit 2; }
[[ -d "$dir" && -w "$dir" ]] || { echo "bench_ckpt.sh: DIR '$dir' is not a writable folder" >&2; exit 2; }
work="$(mktemp -d "$dir/bench_ckpt.XXXXXX")"
trap 'rm -rf "$work"' EXIT
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
now() { date +%s.%N; }
drop() {
  sync
  if [[ -w /proc/sys/vm/drop_caches ]] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    echo "cold"
  else
    echo "cached"
  fi
}
# dd_time ARGS...: seconds of one dd
dd_time() { local t0; t0="$(now)"; dd status=none "$@"; awk -v a="$t0" -v b="$(now)" 'BEGIN {print b - a}'; }
report() { # report WHAT BYTES CKPT_S DD_S
  awk -v w="$1" -v n="$2" -v c="$3" -v d="$4" 'BEGIN {
    printf "%-14s ckpt %7.1f MB/s (%.2f s)   dd %7.1f MB/s (%.2f s)   ckpt/dd %.2f\n",
           w, n / 1e6 / c, c, n / 1e6 / d, d, d / c }'
}

echo "# $(date -u +%FT%TZ) $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $work on $(df -P "$work" | awk 'NR==2 {print $1}'), $(findmnt -no FSTYPE -T "$work" 2>/dev/null || echo '?')"
w="$("$exe" write "$work/ckpt.h5" "${shape[@]}")"
echo "# $w"
bytes="$(field "$w" bytes)"
dw="$(dd_time if=/dev/zero of="$work/dd.bin" bs=4M count="$bytes" iflag=count_bytes conv=fsync)"
[[ "$(stat -c %s "$work/dd.bin")" == "$bytes" ]] || { echo "dd wrote the wrong size" >&2; exit 1; }
echo "# $(awk -v b="$bytes" 'BEGIN {printf "%.0f", b / 1e6}') MB, params $(field "$w" params)"
report "write+fsync" "$bytes" "$(field "$w" seconds)" "$dw"
state="$(drop)"
r="$("$exe" read "$work/ckpt.h5" "${shape[@]}")"
echo "# $r"
state2="$(drop)"
dr="$(dd_time if="$work/dd.bin" of=/dev/null bs=4M)"
report "read ($state/$state2)" "$bytes" "$(field "$r" seconds)" "$dr"
# The background save (save_async): what training waits for, against the
# blocking write above.
mkdir -p "$work/async"
a="$("$exe" async "$work/async" "${shape[@]}")"
echo "# $a"
awk -v s="$(field "$a" stall_s)" -v b="$(field "$w" seconds)" -v t="$(field "$a" seconds)" 'BEGIN {
  printf "background save: training waits %.3f s (the copy) instead of %.2f s (blocking write), %s less; the file is written in %.2f s\n", s, b, (s > 0 ? sprintf("%.0fx", b / s) : "far"), t }'
