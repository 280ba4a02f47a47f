#!/usr/bin/env bash
# test_shard_job.sh: jobs/shard.slurm under a real sbatch. The job must complete
# with exit 0, launch ftune-shard through jobs/lib.sh (srun), and leave a
# prepared dataset in FTUNE_SHARD_OUT: a manifest.json that parses and HDF5
# shards holding the input_ids dataset of docs/FORMATS.md.
# Interface expected of jobs/shard.slurm: FTUNE_HOME and FTUNE_BUILD_DIR as for
# every job script; FTUNE_SHARD_OUT = the folder to write (manifest.json and
# SPLIT-KKKKK-of-NNNNN.h5 directly inside); without arguments it shards the
# bundled default dataset. Skipped (77) while the script or ftune-shard is missing.
# Usage: test_shard_job.sh BUILD_DIR
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=harness.sh
source "$(dirname "$0")/harness.sh"
[ $# = 1 ] || h_fail "usage: test_shard_job.sh BUILD_DIR"
script="$h_root/jobs/shard.slurm"
[ -f "$script" ] || h_skip "$script does not exist yet"
[ -x "$1/ftune-shard" ] || h_skip "ftune-shard is not built in $1"
h_use_cluster
work="$(h_workdir)"
out="$work/job.out"
shards="$work/shards"

t0="$(h_now)"
h_submit --output="$out" --chdir="$work" \
    --export=ALL,FTUNE_HOME="$h_root",FTUNE_BUILD_DIR="$1",FTUNE_SHARD_OUT="$shards" "$script"
job="$H_JOB"
h_wait_state "$job" COMPLETED 300 "$out" >/dev/null
[ "$(h_field "$job" ExitCode)" = 0:0 ] || { h_show "$job" "$out"; h_fail "exit code $(h_field "$job" ExitCode)"; }
h_expect_grep "job $job\] launching on [0-9]+ tasks .*srun --mpi=pmix .*ftune-shard" "$out"

[ -s "$shards/manifest.json" ] || { h_show "$job" "$out"; h_fail "no $shards/manifest.json"; }
python3 -m json.tool "$shards/manifest.json" >/dev/null || h_fail "$shards/manifest.json is not valid JSON"
first="$(find "$shards" -maxdepth 1 -name '*-of-*.h5' | sort | head -1)"
[ -n "$first" ] || { ls -l "$shards" >&2; h_fail "no SPLIT-KKKKK-of-NNNNN.h5 shard in $shards"; }
if command -v h5ls >/dev/null; then
    h5ls "$first" | grep -q '^input_ids ' || { h5ls "$first" >&2; h_fail "$first has no input_ids dataset"; }
fi
h_say "PASS: job $job: $(find "$shards" -maxdepth 1 -name '*.h5' | wc -l) shards in $(h_elapsed "$t0" "$(h_now)") s"
