#!/usr/bin/env bash
# Start, stop or inspect a real one-node Slurm cluster on this machine, for
# trying ftune's job scripts and for the slurm tests (CI starts it itself).
#
# Usage: bash env/local-slurm.sh [-h] start|stop|status
#   start   install the Debian packages when missing (root, apt-get), write a
#           fresh slurm.conf, start munged, slurmctld and slurmd, wait until the
#           node is idle, and print `export SLURM_CONF=...` on stdout
#           (so `eval "$(bash env/local-slurm.sh start)"` works);
#           when the cluster is already up it says so and prints the same line
#   stop    cancel the cluster's jobs, then stop the daemons this script started
#   status  daemons, node state and queue; exit status 0 when up, 3 when not
#
# Environment: FTUNE_SLURM_DIR (config, state, logs; default /tmp/ftune-slurm,
# wiped on a fresh start), FTUNE_SLURM_START_TIMEOUT (seconds that each
# start-up wait may take, munged answering and then the node idle; default 60:
# a loaded 2-core machine can take well over 10 s).
# Needs root: slurmd runs jobs as their users and munged's key is root-managed.
#
# Design: daemons run in the foreground (-D/-F) under `setsid ... &`, so `$!`
# is the daemon itself once exec'd (start-up waits accept the launcher until
# then); its PID is recorded and `stop` signals only recorded PIDs (no
# systemd, no pkill). Partitions: `debug` (default) and `urgent`
# (higher PriorityTier): a job submitted to `urgent` preempts and requeues a
# `debug` job after its GraceTime, sending it the user's --signal first.
# Not for production: no accounting, no cgroups, one node, state is discarded.
set -euo pipefail

usage() {
    sed -n '5,26p' "$0" | sed 's/^# \{0,1\}//'
}

dir="${FTUNE_SLURM_DIR:-/tmp/ftune-slurm}"
start_timeout_s="${FTUNE_SLURM_START_TIMEOUT:-60}"
conf="$dir/slurm.conf"
piddir="$dir/pids"
logdir="$dir/log"
node="$(hostname -s)"
marker=".ftune-local-slurm"
daemons=(munged slurmctld slurmd)

say() { printf 'local-slurm: %s\n' "$*" >&2; }
die() { printf 'local-slurm: error: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" = 0 ] ||
        die "must run as root (slurmd and munged need it); on a real cluster use its own Slurm"
}

# ---- packages ---------------------------------------------------------------
packages=(slurmctld slurmd slurm-client munge libpmix-dev)

install_packages() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null ||
        die "missing packages (${missing[*]}) and no apt-get to install them"
    say "installing ${missing[*]}"
    # Package scripts must not start services here (no systemd): a policy-rc.d
    # that exits 101 says so. Only a policy file we created is removed.
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        own_policy=1
    fi
    local rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null
    } || rc=$?
    if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
    [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

# ---- recorded daemons -------------------------------------------------------
pid_of() { cat "$piddir/$1" 2>/dev/null || true; }

# True when the recorded PID of daemon $1 is alive and still that program
# (a recycled PID must never be mistaken for, or signalled as, our daemon).
is_up() {
    local pid comm
    pid="$(pid_of "$1")"
    [ -n "$pid" ] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
    [ "$comm" = "$1" ]
}

# True while a daemon being started is alive: the recorded PID is the daemon,
# or still the shell, setsid or setpriv that is about to exec it (on a loaded
# machine that can last a while, and is_up alone would call it dead).
# (comm is read once: it changes under our feet while the launcher execs.)
is_starting() {
    local pid comm state
    pid="$(pid_of "$1")"
    [ -n "$pid" ] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
    state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)"
    [ "$state" != Z ] || return 1
    case "$comm" in
        "$1" | bash | setsid | setpriv) return 0 ;;
        *) return 1 ;;
    esac
}

count_up() {
    local d n=0
    for d in "${daemons[@]}"; do
        if is_up "$d"; then n=$((n + 1)); fi
    done
    echo "$n"
}

# stop_daemon NAME [ALIVE_TEST]: ALIVE_TEST is is_up, or is_starting only for
# the daemons this very run launched (its own children: their PIDs cannot
# have been recycled).
stop_daemon() {
    local d="$1" alive="${2:-is_up}" pid
    if ! "$alive" "$d"; then
        rm -f "$piddir/$d"
        return 0
    fi
    pid="$(pid_of "$d")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        "$alive" "$d" || break
        sleep 0.1
    done
    if "$alive" "$d"; then
        say "$d ($pid) still up after 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$piddir/$d"
    say "stopped $d ($pid)"
}

# ---- configuration ------------------------------------------------------------
write_conf() {
    cat >"$conf" <<EOF
# Written by env/local-slurm.sh: a one-node cluster without systemd or cgroups.
ClusterName=ftune-local
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
# Short credential lifetime: a requeued job may start again after this many s.
AuthInfo=cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$logdir/slurmctld.log
SlurmdLogFile=$logdir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=pmix
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
# Here, not under SchedulerParameters: a job whose afterok target failed is
# cancelled instead of pending for ever.
DependencyParameters=kill_invalid_depend
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Declared CPUs may exceed the real cores (4 tasks on a 2-core machine).
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=600
InactiveLimit=0
Waittime=0
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
# The batch script gets its --signal=B:SIG@T at preemption, not only at the time limit.
SlurmctldParameters=preempt_send_user_signal
NodeName=${node} NodeAddr=127.0.0.1 CPUs=4 State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=10
PartitionName=urgent Nodes=${node} Default=NO MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
EOF
    : >"$dir/plugstack.conf"
}

# Refuse to wipe a folder this script did not create (FTUNE_SLURM_DIR=$HOME...).
fresh_dir() {
    if [ -e "$dir" ] && [ ! -e "$dir/$marker" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        die "$dir exists, is not empty and was not made by this script; set FTUNE_SLURM_DIR elsewhere"
    fi
    rm -rf "$dir"
    mkdir -p "$dir/state" "$dir/spool" "$dir/run" "$piddir" "$logdir"
    : >"$dir/$marker"
}

port_user() {
    command -v ss >/dev/null || return 0
    ss -ltnpH "sport = :$1" 2>/dev/null | head -1
}

# ---- starting ------------------------------------------------------------------
munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munged() {
    if munge_works; then
        say "munged already answers on its default socket: using it"
        return 0
    fi
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 0600 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    # munged refuses to run as root; setpriv execs, so $! is munged itself.
    setsid setpriv --reuid=munge --regid=munge --init-groups munged -F \
        </dev/null >"$logdir/munged.log" 2>&1 &
    echo "$!" >"$piddir/munged"
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$start_timeout_s" ]; do
        munge_works && return 0
        if ! is_starting munged; then
            tail -5 "$logdir/munged.log" >&2 || true
            die "munged exited during start-up (log: $logdir/munged.log)"
        fi
        sleep 0.2
    done
    tail -5 "$logdir/munged.log" >&2 || true
    die "munged did not answer within ${start_timeout_s} s (FTUNE_SLURM_START_TIMEOUT; log: $logdir/munged.log)"
}

start_slurm_daemon() {
    local d="$1"
    shift
    SLURM_CONF="$conf" setsid "$d" -D -f "$conf" "$@" \
        </dev/null >"$logdir/$d.stdout" 2>&1 &
    echo "$!" >"$piddir/$d"
}

node_state() {
    SLURM_CONF="$conf" sinfo -h -n "$node" -o %T 2>/dev/null | head -1
}

wait_idle() {
    local t0=$SECONDS state="" d
    while [ $((SECONDS - t0)) -lt "$start_timeout_s" ]; do
        state="$(node_state)"
        [ "$state" = idle ] && return 0
        for d in slurmctld slurmd; do
            if ! is_starting "$d"; then
                tail -15 "$logdir/$d.log" "$logdir/$d.stdout" >&2 2>/dev/null || true
                die "$d exited during start-up (logs in $logdir)"
            fi
        done
        sleep 0.2
    done
    tail -15 "$logdir/slurmctld.log" "$logdir/slurmd.log" >&2 2>/dev/null || true
    die "node $node not idle after ${start_timeout_s} s (FTUNE_SLURM_START_TIMEOUT; state '${state:-unknown}'; logs in $logdir)"
}

# EXIT trap of a start that failed: stop what it launched, keep the logs.
abort_start() {
    local rc=$? d
    for d in slurmd slurmctld munged; do
        stop_daemon "$d" is_starting
    done
    say "start failed: stopped what it had started (logs in $logdir)"
    exit "$rc"
}

cmd_start() {
    need_root
    install_packages
    local up
    up="$(count_up)"
    if [ "$up" = "${#daemons[@]}" ] ||
        { [ "$up" = 2 ] && ! [ -s "$piddir/munged" ] && is_up slurmctld && is_up slurmd; }; then
        say "already running (config $conf)"
        echo "export SLURM_CONF=$conf"
        return 0
    fi
    if [ "$up" != 0 ]; then
        say "only part of the cluster is up: stopping it and starting afresh"
        cmd_stop
    fi
    local p
    for p in 6817 6818; do
        if [ -n "$(port_user "$p")" ]; then
            die "TCP port $p is taken ($(port_user "$p")): another Slurm runs here; stop it first"
        fi
    done
    local t0
    t0="$(date +%s.%N)"
    fresh_dir
    write_conf
    trap abort_start EXIT
    start_munged
    start_slurm_daemon slurmctld -i
    start_slurm_daemon slurmd -N "$node"
    wait_idle
    trap - EXIT
    say "node $node idle after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s; partitions debug (default) and urgent"
    echo "export SLURM_CONF=$conf"
}

# ---- stopping and status ---------------------------------------------------------
cancel_jobs() {
    is_up slurmctld || return 0
    local jobs
    jobs="$(SLURM_CONF="$conf" squeue -h -o %i 2>/dev/null || true)"
    [ -n "$jobs" ] || return 0
    say "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
    # shellcheck disable=SC2086  # one job id per word
    SLURM_CONF="$conf" scancel $jobs 2>/dev/null || true
    for _ in $(seq 1 80); do
        [ -z "$(SLURM_CONF="$conf" squeue -h -o %i 2>/dev/null)" ] && return 0
        sleep 0.25
    done
    say "jobs still listed after 20 s; stopping anyway"
}

cmd_stop() {
    if [ ! -d "$piddir" ]; then
        say "not running (no $piddir)"
        return 0
    fi
    cancel_jobs
    local d
    for d in slurmd slurmctld munged; do
        stop_daemon "$d"
    done
    say "stopped (logs kept in $logdir)"
}

cmd_status() {
    local d up=0
    for d in "${daemons[@]}"; do
        if is_up "$d"; then
            printf '%-10s up    pid %s\n' "$d" "$(pid_of "$d")"
            up=$((up + 1))
        elif [ "$d" = munged ] && munge_works; then
            printf '%-10s up    (not started by this script)\n' "$d"
            up=$((up + 1))
        else
            printf '%-10s down\n' "$d"
        fi
    done
    if ! is_up slurmctld; then
        echo "cluster: down (config dir $dir)"
        return 3
    fi
    echo "config:  export SLURM_CONF=$conf"
    echo "--- sinfo"
    SLURM_CONF="$conf" sinfo || true
    echo "--- squeue"
    SLURM_CONF="$conf" squeue || true
    [ "$up" = "${#daemons[@]}" ] || return 3
}

case "${1:-}" in
    -h|--help|help) usage ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    "") usage >&2; exit 2 ;;
    *) echo "local-slurm.sh: unknown command '$1' (see -h)" >&2; exit 2 ;;
esac
