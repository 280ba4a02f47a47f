# shellcheck shell=bash
# tests/slurm/harness.sh: what the slurm tests share: finding the local cluster,
# submitting, and waiting for job states by polling `scontrol show job` every
# 0.5 s with a deadline (never `sbatch --wait`, which notices the end 18 s late
# and can hang a CI run), and cancelling whatever a test submitted when it exits.
#
# Sourced by the test scripts, after `set -euo pipefail`. Exit codes: 0 pass,
# 1 fail, 77 skipped (CTest SKIP_RETURN_CODE).

# shellcheck disable=SC2034  # used by the scripts that source this file
h_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
h_jobs=()
h_name="$(basename "$0" .sh)"

h_say() { printf '%s: %s\n' "$h_name" "$*"; }
h_fail() { printf '%s: FAIL: %s\n' "$h_name" "$*" >&2; exit 1; }
h_skip() { printf '%s: SKIP: %s\n' "$h_name" "$*"; exit 77; }

# Seconds since the epoch with a fraction, and a difference of two, to 0.1 s.
h_now() { date +%s.%N; }
h_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

h_cleanup() {
    local j
    for j in "${h_jobs[@]}"; do
        case "$(h_field "$j" JobState)" in
            PENDING|RUNNING|REQUEUED|SUSPENDED|CONFIGURING|COMPLETING|REQUEUE_HOLD)
                scancel "$j" 2>/dev/null || true ;;
        esac
    done
}

# shellcheck source-path=SCRIPTDIR source=fixture_holder.sh
source "$h_root/tests/slurm/fixture_holder.sh"

# h_use_cluster: points SLURM_CONF at env/local-slurm.sh's cluster and checks it
# answers; skips when another CTest run holds it (fixture_holder.sh) or when it
# is down and cannot be up (not root), fails otherwise.
h_use_cluster() {
    export SLURM_CONF="${FTUNE_SLURM_DIR:-/tmp/ftune-slurm}/slurm.conf"
    command -v sbatch >/dev/null || h_skip "no sbatch (Slurm client not installed)"
    fh_read
    # Only under ctest: a script run by hand uses whatever cluster is up.
    local ctest_pid
    ctest_pid="$(fh_ctest_pid)"
    if [ -n "$ctest_pid" ] && [ "$fh_live" = 1 ] && [ "$fh_pid" != "$ctest_pid" ]; then
        h_skip "the local Slurm cluster is held by another ctest run (pid $fh_pid; $fh_file)"
    fi
    if ! timeout 10 scontrol ping >/dev/null 2>&1; then
        [ "$(id -u)" = 0 ] || h_skip "local Slurm cluster is down and starting one needs root"
        h_fail "local Slurm cluster does not answer (SLURM_CONF=$SLURM_CONF); see bash env/local-slurm.sh status"
    fi
    trap h_cleanup EXIT
}

# h_workdir: a fresh folder for this test's outputs under the build tree.
h_workdir() {
    local base="${FTUNE_TEST_WORK:-${TMPDIR:-/tmp}}"
    mkdir -p "$base"
    mktemp -d "$base/$h_name.XXXXXX"
}

# h_submit SBATCH_ARGS...: submits; the job id is left in H_JOB (not printed:
# a $(...) subshell would lose the record h_cleanup needs).
h_submit() {
    local out
    out="$(timeout 30 sbatch --parsable "$@")" || h_fail "sbatch $* failed"
    H_JOB="${out%%;*}"
    h_jobs+=("$H_JOB")
}

# h_field JOBID KEY: one Key=Value field of `scontrol show job` (empty if gone).
h_field() {
    timeout 10 scontrol -o show job "$1" 2>/dev/null |
        tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# h_show JOBID [OUTPUT_FILE]: everything a reader needs after a failure.
h_show() {
    echo "--- scontrol show job $1" >&2
    timeout 10 scontrol show job "$1" >&2 2>&1 || true
    if [ -n "${2:-}" ] && [ -f "$2" ]; then
        echo "--- $2" >&2
        tail -40 "$2" >&2
    fi
}

# h_wait_state JOBID 'STATE1|STATE2' TIMEOUT_S [OUTPUT_FILE]: polls every 0.5 s
# until JobState is one of the states; prints it. Fails (showing the job) when
# the deadline passes or the job ends in another final state.
h_wait_state() {
    local job="$1" want="$2" timeout_s="$3" out="${4:-}" t0 state=""
    t0=$SECONDS
    while [ $((SECONDS - t0)) -lt "$timeout_s" ]; do
        state="$(h_field "$job" JobState)"
        if [[ "|$want|" == *"|$state|"* ]]; then
            printf '%s\n' "$state"
            return 0
        fi
        case "$state" in
            COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)
                h_show "$job" "$out"
                h_fail "job $job ended $state while waiting for $want" ;;
        esac
        sleep 0.5
    done
    h_show "$job" "$out"
    h_fail "job $job still '$state' after ${timeout_s} s (waiting for $want)"
}

# h_wait_restarts JOBID N TIMEOUT_S [OUTPUT_FILE]: polls every 0.5 s until
# the job's Restarts count reaches N (the requeue has been recorded).
h_wait_restarts() {
    local t0=$SECONDS n=""
    while [ $((SECONDS - t0)) -lt "$3" ]; do
        n="$(h_field "$1" Restarts)"
        [ -n "$n" ] && [ "$n" -ge "$2" ] && return 0
        sleep 0.5
    done
    h_show "$1" "${4:-}"
    h_fail "job $1 has Restarts='$n' after $3 s, expected $2"
}

# h_wait_file PATH TIMEOUT_S: polls every 0.1 s for a file to appear.
h_wait_file() {
    local t0=$SECONDS
    while [ ! -e "$1" ]; do
        [ $((SECONDS - t0)) -lt "$2" ] || return 1
        sleep 0.1
    done
}

# h_expect_grep PATTERN FILE: fails, showing the file, when PATTERN is absent.
h_expect_grep() {
    grep -qE -- "$1" "$2" || { tail -40 "$2" >&2; h_fail "'$1' not found in $2"; }
}
