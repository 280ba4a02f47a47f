#!/usr/bin/env bash
# cluster_fixture.sh: the CTest fixture around the slurm tests (slurm_start /
# slurm_stop). `start` brings up env/local-slurm.sh's cluster and leaves MARKER
# behind only when it started it, so `stop` never stops a cluster a developer
# had running before the tests. Not root and no cluster up: skipped (77).
# Usage: cluster_fixture.sh start|stop MARKER
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# = 2 ] || { echo "usage: cluster_fixture.sh start|stop MARKER" >&2; exit 2; }
marker="$2"
export SLURM_CONF="${FTUNE_SLURM_DIR:-/tmp/ftune-slurm}/slurm.conf"
up() { command -v scontrol >/dev/null && timeout 10 scontrol ping >/dev/null 2>&1; }

case "$1" in
    start)
        rm -f "$marker"
        if up && bash "$root/env/local-slurm.sh" status >/dev/null 2>&1; then
            echo "cluster_fixture: using the running cluster ($SLURM_CONF)"
            exit 0
        fi
        if [ "$(id -u)" != 0 ]; then
            echo "cluster_fixture: SKIP: no local Slurm cluster and starting one needs root"
            exit 77
        fi
        t0=$(date +%s.%N)
        timeout 240 bash "$root/env/local-slurm.sh" start
        mkdir -p "$(dirname "$marker")"
        : >"$marker"
        echo "cluster_fixture: started in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
        ;;
    stop)
        if [ ! -e "$marker" ]; then
            echo "cluster_fixture: cluster not started by the tests: left running"
            exit 0
        fi
        t0=$(date +%s.%N)
        timeout 120 bash "$root/env/local-slurm.sh" stop
        rm -f "$marker"
        echo "cluster_fixture: stopped in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
        ;;
    *) echo "usage: cluster_fixture.sh start|stop MARKER" >&2; exit 2 ;;
esac
