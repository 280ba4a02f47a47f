# shellcheck shell=bash
# shellcheck disable=SC2034 # fh_* are read by the scripts that source this file
# tests/slurm/fixture_holder.sh: which CTest run holds the local Slurm test
# cluster (env/local-slurm.sh), so that two CTest runs at once (on one build
# folder or two) never stop each other's cluster or share its 4 CPUs.
#
# The record is machine-wide, beside the cluster's folder (which a fresh start
# wipes): $FTUNE_SLURM_DIR.ctest/holder (default /tmp/ftune-slurm.ctest) holds
# "PID STARTTIME OWNED" of the CTest process whose slurm_start took the
# cluster: PID and the kernel's start time identify the run even after its PID
# is reused; OWNED is 1 when the tests started the cluster (then that run's
# slurm_stop stops it) and 0 when it was running before (then it is left
# running). Every change happens under flock on $FTUNE_SLURM_DIR.ctest/lock.
# A record whose process has ended is stale: the next run takes it over,
# OWNED included, so a cluster left by a killed run is still stopped.
#
# Sourced by cluster_fixture.sh and harness.sh, after `set -euo pipefail`.

fh_dir="${FTUNE_SLURM_DIR:-/tmp/ftune-slurm}.ctest"
fh_file="$fh_dir/holder"

# fh_start_time PID: the process's start time (clock ticks since boot, field
# 22 of /proc/PID/stat); empty when there is no such process.
fh_start_time() {
    local stat fields
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    read -ra fields <<<"${stat##*) }" # from field 3 on: the name may hold spaces
    echo "${fields[19]}"
}

# fh_ctest_pid: the PID of the nearest ctest process above this shell, or
# empty when it was not started by CTest.
fh_ctest_pid() {
    local pid=$$ stat fields
    while [ "$pid" -gt 1 ]; do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = ctest ]; then
            echo "$pid"
            return 0
        fi
        stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 0
        read -ra fields <<<"${stat##*) }"
        pid="${fields[1]}"
    done
}

# fh_read: fh_pid, fh_start and fh_owned from the record (empty when none);
# fh_live is 1 when its process still runs.
fh_read() {
    fh_pid="" fh_start="" fh_owned="" fh_live=0
    if [ -f "$fh_file" ]; then
        read -r fh_pid fh_start fh_owned <"$fh_file" || true
    fi
    if [ -n "$fh_pid" ] && [ "$(fh_start_time "$fh_pid")" = "$fh_start" ]; then
        fh_live=1
    fi
}

# fh_lock: takes the lock on fd 9 (released when the shell exits), waiting
# at most 60 s: a start or stop of the cluster holds it for up to a minute.
fh_lock() {
    mkdir -p "$fh_dir"
    exec 9>"$fh_dir/lock"
    flock -w 60 9 || { echo "fixture_holder: could not lock $fh_dir/lock in 60 s" >&2; exit 1; }
}
