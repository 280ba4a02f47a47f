#!/usr/bin/env bash
# cluster_fixture.sh: the CTest fixture around the slurm tests (slurm_start /
# slurm_stop). One CTest run at a time holds the local cluster (see
# fixture_holder.sh): `start` records this run as the holder and brings up
# env/local-slurm.sh's cluster when it is down (then this run owns it); `stop`
# stops the cluster only when this run holds and owns it, so it never stops a
# cluster a developer had running before the tests, nor one another run
# holds. A second CTest run while one holds the cluster is refused: its
# slurm_start and slurm tests skip (77), each with one line saying so. Not
# root and no cluster up: skipped (77).
# Usage: cluster_fixture.sh [-h] start|stop
set -euo pipefail
usage() { echo "usage: cluster_fixture.sh start|stop   (see the comment at its top)"; }
case "${1:-}" in
    -h|--help) usage; exit 0 ;;
    start|stop) [ $# = 1 ] || { usage >&2; exit 2; } ;;
    *) usage >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=fixture_holder.sh
source "$(dirname "$0")/fixture_holder.sh"
export SLURM_CONF="${FTUNE_SLURM_DIR:-/tmp/ftune-slurm}/slurm.conf"
up() { command -v scontrol >/dev/null && timeout 10 scontrol ping >/dev/null 2>&1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

me="$(fh_ctest_pid)"
me="${me:-$PPID}"
fh_lock
fh_read

case "$1" in
    start)
        if [ "$fh_live" = 1 ] && [ "$fh_pid" != "$me" ]; then
            echo "cluster_fixture: SKIP: the local Slurm cluster is held by another ctest run (pid $fh_pid; $fh_file): its slurm tests would share the node"
            exit 77
        fi
        owned=0
        if [ -n "$fh_pid" ] && [ "$fh_live" = 0 ]; then
            owned="${fh_owned:-0}"  # a killed run's record: its cluster becomes ours to stop
            echo "cluster_fixture: taking over the record of ended run $fh_pid (owned=$owned)"
        fi
        if up && bash "$root/env/local-slurm.sh" status >/dev/null 2>&1; then
            echo "$me $(fh_start_time "$me") $owned" >"$fh_file"
            echo "cluster_fixture: using the running cluster ($SLURM_CONF)"
            exit 0
        fi
        if [ "$(id -u)" != 0 ]; then
            rm -f "$fh_file"
            echo "cluster_fixture: SKIP: no local Slurm cluster and starting one needs root"
            exit 77
        fi
        t0=$(date +%s.%N)
        # Recorded first: a run killed during the start still leaves a cluster to stop.
        echo "$me $(fh_start_time "$me") 1" >"$fh_file"
        timeout 240 bash "$root/env/local-slurm.sh" start 9>&- # no daemon may keep the lock
        echo "cluster_fixture: started in $(since "$t0") s"
        ;;
    stop)
        # Ours, or left by a run that ended without its slurm_stop.
        if [ -z "$fh_pid" ] || { [ "$fh_pid" != "$me" ] && [ "$fh_live" = 1 ]; }; then
            echo "cluster_fixture: cluster not held by this run: left running"
            exit 0
        fi
        if [ "${fh_owned:-0}" != 1 ]; then
            rm -f "$fh_file"
            echo "cluster_fixture: cluster not started by the tests: left running"
            exit 0
        fi
        t0=$(date +%s.%N)
        timeout 120 bash "$root/env/local-slurm.sh" stop 9>&-
        rm -f "$fh_file"
        echo "cluster_fixture: stopped in $(since "$t0") s"
        ;;
esac
