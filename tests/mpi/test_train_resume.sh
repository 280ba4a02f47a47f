#!/usr/bin/env bash
# test_train_resume.sh: ftune-train end to end on 2 MPI ranks, tiny BERT
# (hidden 32, 2 layers) on 256 synthetic rows (tests/mpi/train_testdata.c).
# MODE:
#   exact     a run stopped by SIGUSR1 after step 7 and again after step 16,
#             resumed each time, ends with a final model.safetensors
#             byte-identical (cmp) to an uninterrupted run; and the
#             checkpoints written in the background (save_async, the default)
#             hold the same tensors as blocking saves' (save_async false;
#             h5diff), and a run resumed from one ends byte-identical
#   crash     kill -9 in the middle of a checkpoint write (step 10): the next
#             start skips the leftover, resumes from checkpoint 7 and ends
#             byte-identical to the uninterrupted run
#   ranks     stopped after step 12 on 2 ranks, resumed on 1 rank (the
#             accumulation doubles to keep the global batch): final eval loss
#             within 1e-4 of the uninterrupted 2-rank run
#   badcfg    input errors exit 2 before any work, naming the key or file
#   evalstop  SIGUSR1 in the middle of the evaluation at step 10 (before its
#             2nd batch, FTUNE_TRAIN_SIGNAL_AT_EVAL_BATCH): the evaluation
#             ends early, the run checkpoints at step 10 and exits 3 leaving
#             eval-pending; the resume redoes that evaluation first and ends
#             byte-identical to the uninterrupted run with the same eval rows
#   best      load_best_model_at_end with metric loss, evaluating every 5
#             steps: the exported final/ is the best checkpoint's model, so
#             ftune-eval on the validation split gives the lowest eval_loss
#             of log.jsonl (within 1e-5 relative: other batch shapes)
#   bf16      bf16 mixed precision: the training losses of log.jsonl track the
#             float32 run's (each within 2% relative, and not all equal), and
#             a bf16 run stopped after step 7 and resumed ends byte-identical
#             to an uninterrupted bf16 run
#   fp16      fp16 mixed precision with dynamic loss scaling: at the start
#             scale 2^16 the losses track float32's (2%) and no step is
#             skipped; from 2^30 (test hooks FTUNE_TRAIN_LOSS_SCALE_START, _INTERVAL 4)
#             5..10 steps are skipped (halving, then after each growth), and a run
#             stopped after step 7 and resumed (scale and growth tracker
#             from the checkpoint) ends byte-identical to an uninterrupted one
#   identity  (issue 16, defect 4) a run with another learning rate (then
#             another seed and max_steps) into a finished run's folder exits
#             2 naming each key with both values, and the folder's files are
#             byte-unchanged; a --resume of that run's checkpoint with another
#             warmup is refused too; a finished run that saved no checkpoint
#             (save_strategy no) keeps its final/ and log.jsonl: a second
#             run there, resume auto or never, exits 2; keys that may change on resume (logging,
#             save and eval cadence, eval batch, retention, save_async,
#             num_labels equal to the manifest's) do not stop a resume, which
#             ends byte-identical to the uninterrupted run
#   lock      a second run into the folder of a live one exits 2 naming its
#             owner (pid, host); the owner, stopped by SIGUSR1, exits 3 and
#             removes .ftune.lock; a lock a helper holds for Slurm job 4242
#             on another host is refused naming the job, and taken over by a
#             run of that same job id (a requeue); a run killed by SIGKILL
#             mid-save leaves a stale lock that the next run recovers (log
#             line) before it finishes
#   diskfull  output_dir on a tmpfs where the first checkpoint fits and the
#             second does not, for background and blocking saves: exit 1
#             naming ENOSPC and checkpoint-10.h5, `latest` still names
#             checkpoint-5.h5, no temporary file left, and a run resumed from
#             that checkpoint-5.h5 ends byte-identical to the uninterrupted
#             run (needs permission to mount: else exit 77, skipped)
# The signal is sent by the program itself at an exact step
# (FTUNE_TRAIN_SIGNAL_AT_STEP) through the real handler and the all-rank
# agreement; the crash by FTUNE_CKPT_CRASH_AFTER_TENSORS.
# Usage: test_train_resume.sh BUILD_DIR MODE
set -euo pipefail
[ $# = 2 ] || { echo "usage: test_train_resume.sh BUILD_DIR exact|crash|ranks|badcfg|evalstop|best|bf16|fp16|identity|lock|diskfull" >&2; exit 2; }
build="$1"
mode="$2"
# shellcheck source-path=SCRIPTDIR source=train_test_lib.sh
source "$(dirname "$0")/train_test_lib.sh"
train_test_begin "$mode"

"$build/tests/train_testdata" "$work" 256 64 || fail "train_testdata"
train_common_flags --evaluation_strategy steps --eval_steps 10

# train NRANKS OUT [--key value ...]: runs ftune-train, echoes its exit status.
train() { train_on "$build" "$@"; }
final_eval_loss() {
    grep '"eval_loss"' "$1/log.jsonl" | tail -1 | sed 's/.*"eval_loss": \([^,]*\),.*/\1/'
}

reference() {
    expect "$(train 2 "$work/ref")" 0 "uninterrupted run" "$work/ref.log"
    [ -s "$work/ref/final/model.safetensors" ] || fail "no ref/final/model.safetensors"
}

# tracks_float32 PREC: the reference run and a PREC (bf16|fp16) run in
# $work/ref16: every logged loss within 2% of float32's, not all equal, other
# weights, and the log names the precision.
tracks_float32() {
    reference
    expect "$(train 2 "$work/ref16" --"$1" true)" 0 "uninterrupted $1 run" "$work/ref16.log"
    track "$work/ref" "$work/ref16" 0.02 "$1 against float32" moved
    ! cmp -s "$work/ref/final/model.safetensors" "$work/ref16/final/model.safetensors" ||
        fail "the $1 run trained the same weights as the float32 run"
    grep -q "$1 mixed precision" "$work/ref16.log" || fail "no $1 line in the log"
}

case "$mode" in
fp16)
    # fp16 with the normal start scale 2^16 tracks float32 as bf16 does.
    tracks_float32 fp16
    ! grep -q 'skipped' "$work/ref16.log" || fail "a step was skipped at scale 2^16"
    # A start scale of 2^30 overflows fp16 in backward: steps are skipped
    # and the scale halves until it fits, then grows every 4 good steps.
    # A run stopped after step 7 resumes with that scale, to the last bit.
    export FTUNE_TRAIN_LOSS_SCALE_START=1073741824 FTUNE_TRAIN_LOSS_SCALE_INTERVAL=4
    expect "$(train 2 "$work/big" --fp16 true)" 0 "fp16 run at scale 2^30" "$work/big.log"
    skips=$(grep -c 'fp16: step [0-9]* skipped' "$work/big.log" || true)
    echo "test_train_fp16: $skips steps skipped at a start scale of 2^30"
    if [ "$skips" -lt 5 ] || [ "$skips" -gt 10 ]; then fail "expected 5..10 skipped steps, saw $skips"; fi
    stop_and_resume "$build" 2 "$work/int16" "$work/big" --fp16 true
    ;;
bf16)
    # bf16 whatever its speed here (an Intel Xeon without AMX would run float32).
    export FTUNE_CPU_BF16=on
    tracks_float32 bf16
    stop_and_resume "$build" 2 "$work/int16" "$work/ref16" --bf16 true
    ;;
exact)
    reference
    out="$work/int"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=7 train 2 "$out")" 3 "stop at step 7" "$out.log"
    [ -f "$out/checkpoint-7.h5" ] || fail "no checkpoint-7.h5 after the stop"
    grep -qx 'checkpoint-7.h5' "$out/latest" || fail "latest does not name checkpoint-7.h5"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=16 train 2 "$out")" 3 "stop at step 16" "$out.log"
    grep -q 'resumed from .*checkpoint-7.h5 at step 7 on 2 ranks' "$out.log" || fail "no resume from 7"
    expect "$(train 2 "$out")" 0 "final resume" "$out.log"
    grep -q 'resumed from .*checkpoint-16.h5 at step 16' "$out.log" || fail "no resume from 16"
    cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "final model differs from the uninterrupted run"
    grep -q 'checkpoint of step 5: copied in .* writing in the background' "$work/ref.log" ||
        fail "the reference run did not save in the background"
    expect "$(train 2 "$work/sync" --save_async false)" 0 "blocking saves" "$work/sync.log"
    ! grep -q 'in the background' "$work/sync.log" || fail "save_async false saved in the background"
    for s in 5 10 15 20; do # the config attribute differs (save_async)
        for g in /model /optimizer; do
            h5diff "$work/ref/checkpoint-$s.h5" "$work/sync/checkpoint-$s.h5" "$g" ||
                fail "checkpoint-$s.h5 $g differs between background and blocking saves"
        done
    done
    expect "$(train 2 "$work/from15" --resume "$work/ref/checkpoint-15.h5")" 0 \
        "resume from a background checkpoint" "$work/from15.log"
    cmp "$work/ref/final/model.safetensors" "$work/from15/final/model.safetensors" ||
        fail "resumed from the background checkpoint-15.h5: final model differs"
    # The log reads as one run: the same evaluations at the same steps, no
    # step twice (a logging window cut by a stop averages fewer steps).
    diff <(grep -o '"step": [0-9]*, "epoch": [^,]*, "eval_loss": [^,]*' "$work/ref/log.jsonl") \
        <(grep -o '"step": [0-9]*, "epoch": [^,]*, "eval_loss": [^,]*' "$out/log.jsonl") ||
        fail "log.jsonl eval losses differ"
    [ -z "$(grep -o '"step": [0-9]*, "epoch": [^,]*, "loss"' "$out/log.jsonl" | sort | uniq -d)" ] ||
        fail "log.jsonl has a step twice"
    # --resume never into a folder holding checkpoints is refused; no file in it
    # changes (the folder's own mtime does: the writability probe).
    before="$(find "$out" -mindepth 1 -printf "%p %s %T@\n" | sort | md5sum)"
    expect "$(train 2 "$out" --resume never)" 2 "resume never over checkpoints" "$out.log"
    grep -q 'already holds .* checkpoint(s) of an earlier run' "$out.log" ||
        fail "no message for resume never over checkpoints"
    [ "$before" = "$(find "$out" -mindepth 1 -printf "%p %s %T@\n" | sort | md5sum)" ] ||
        fail "resume never changed the folder it refused"
    ;;
crash)
    reference
    out="$work/crash"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=7 train 2 "$out")" 3 "stop at step 7" "$out.log"
    status="$(FTUNE_CKPT_CRASH_AFTER_TENSORS=20 train 2 "$out")"
    if [ "$status" = 0 ] || [ "$status" = 3 ]; then fail "the killed save exited $status"; fi
    grep -q '^slurm_job_id=.* host=.* pid=[0-9]*$' "$out/.ftune.lock" || fail "the killed run left no lock"
    [ ! -e "$out/checkpoint-10.h5" ] || fail "a half-written checkpoint-10.h5 was left under its final name"
    compgen -G "$out/checkpoint-10.h5.tmp*" >/dev/null || fail "no temporary file: the crash did not happen mid-write"
    grep -qx 'checkpoint-7.h5' "$out/latest" || fail "latest moved past checkpoint-7.h5"
    expect "$(train 2 "$out")" 0 "resume after the crash" "$out.log"
    grep -q 'resumed from .*checkpoint-7.h5 at step 7' "$out.log" || fail "did not resume from 7"
    grep -q 'recovered a stale lock left by pid [0-9]* on host' "$out.log" || fail "no stale-lock line"
    [ ! -e "$out/.ftune.lock" ] || fail ".ftune.lock left after a normal exit"
    ! compgen -G "$out/*.tmp.*" >/dev/null || fail "leftover temporary file not removed"
    cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "final model differs from the uninterrupted run"
    ;;
ranks)
    reference
    out="$work/ranks"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=12 train 2 "$out")" 3 "stop at step 12" "$out.log"
    expect "$(train 1 "$out")" 0 "resume on 1 rank" "$out.log"
    grep -q 'gradient_accumulation_steps 1 -> 2' "$out.log" || fail "accumulation not adjusted"
    a="$(final_eval_loss "$work/ref")"
    b="$(final_eval_loss "$out")"
    awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4) }' ||
        fail "final eval loss $b on 2->1 ranks vs $a on 2 ranks (tolerance 1e-4)"
    echo "$name: eval loss 2 ranks $a, 2->1 ranks $b"
    ;;
badcfg)
    check() { # check WHAT PATTERN ARGS...
        local what="$1" pattern="$2" status
        shift 2
        rm -f "$work/bad.log"
        status="$(train 2 "$work/bad" "$@")"
        [ "$status" = 2 ] || { cat "$work/bad.log" >&2; fail "$what: exit $status, expected 2"; }
        grep -q -- "$pattern" "$work/bad.log" || { cat "$work/bad.log" >&2; fail "$what: no '$pattern'"; }
        [ ! -e "$work/bad/checkpoint-5.h5" ] || fail "$what: work was done"
    }
    check "unknown key" "learning_rate" --learning_rat 1e-3
    check "missing model" "no-such-model" --model_name_or_path "$work/no-such-model"
    check "other tokenizer" "tokenizer" --tokenizer_name "$(dirname "$0")/../../models/bert-tiny"
    check "num_labels" "num_labels" --num_labels 3
    check "unwritable output" "output_dir" --output_dir /proc/ftune-cannot-write
    check "bad scheduler" "lr_scheduler_type" --lr_scheduler_type cosinus
    check "bad best metric" "metric_for_best_model" --metric_for_best_model bleu
    ;;
evalstop)
    reference
    out="$work/evalstop"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_EVAL_BATCH=1 train 2 "$out")" 3 "stop inside the eval" "$out.log"
    grep -q 'eval step 10: stop requested after 1 of [0-9]* batches' "$out.log" ||
        fail "the evaluation at step 10 was not cut after its first batch"
    [ -f "$out/checkpoint-10.h5" ] || fail "no checkpoint-10.h5 after the cut evaluation"
    grep -qx 10 "$out/eval-pending" || fail "eval-pending does not name step 10"
    ! grep -q '"eval_loss"' "$out/log.jsonl" || fail "the cut evaluation logged figures"
    expect "$(train 2 "$out")" 0 "resume after the cut evaluation" "$out.log"
    grep -q 'redoing the evaluation of step 10' "$out.log" || fail "the evaluation was not redone"
    [ ! -e "$out/eval-pending" ] || fail "eval-pending left after the redone evaluation"
    cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "final model differs from the uninterrupted run"
    diff <(grep -o '"step": [0-9]*, "epoch": [^,]*, "eval_loss": [^,]*' "$work/ref/log.jsonl") \
        <(grep -o '"step": [0-9]*, "epoch": [^,]*, "eval_loss": [^,]*' "$out/log.jsonl") ||
        fail "log.jsonl eval losses differ"
    ;;
best)
    out="$work/best"
    expect "$(train 2 "$out" --eval_steps 5 --load_best_model_at_end true \
        --metric_for_best_model loss --learning_rate 3e-2)" 0 "run with load_best_model_at_end" "$out.log"
    best="$(grep -o '"step": [0-9]*, "epoch": [^,]*, "eval_loss": [^,]*' "$out/log.jsonl" |
        sed 's/.*"step": \([0-9]*\),.*"eval_loss": \(.*\)/\2 \1/' | sort -g | head -1)"
    [ -n "$best" ] || fail "no eval_loss in log.jsonl"
    read -r best_loss best_step <<<"$best"
    grep -qE "load_best_model_at_end: (.*checkpoint-$best_step.h5|the last step \($best_step\) is the best)" "$out.log" ||
        fail "the run did not pick checkpoint-$best_step.h5 (lowest eval_loss $best_loss)"
    mpirun -n 2 --oversubscribe --bind-to none "$build/ftune-eval" --model "$out/final" \
        --data "$work/data" --split validation --output "$work/best-eval" >"$work/eval.log" 2>&1 ||
        { cat "$work/eval.log" >&2; fail "ftune-eval of final/"; }
    got="$(sed -n 's/.*"loss": *\([-0-9.eE+]*\).*/\1/p' "$work/best-eval/report.json" | head -1)"
    awk -v a="$best_loss" -v b="$got" 'BEGIN { d = (a - b) / a; if (d < 0) d = -d; exit !(d <= 1e-5) }' ||
        fail "final/ scores eval loss $got; the best checkpoint (step $best_step) had $best_loss"
    echo "$name: best step $best_step eval_loss $best_loss, final/ scores $got"
    ;;
identity)
    reference
    snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }
    before="$(snapshot "$work/ref")"
    refused() { # refused WHAT PATTERN OUT ARGS...: exit 2 and PATTERN in the log
        local what="$1" pattern="$2" out="$3"
        shift 3
        expect "$(train 2 "$out" "$@")" 2 "$what" "$out.log"
        grep -q -- "$pattern" "$out.log" || { tail -5 "$out.log" >&2; fail "$what: no '$pattern'"; }
    }
    refused "another learning rate" "learning_rate: 0.001 in the checkpoint, 0.002 now" \
        "$work/ref" --learning_rate 2e-3
    refused "another seed and length" "seed: 5 in the checkpoint, 6 now.*max_steps: 20 in the checkpoint, 30 now" \
        "$work/ref" --seed 6 --max_steps 30
    [ "$before" = "$(snapshot "$work/ref")" ] || fail "a refused run changed the first run's files"
    [ ! -e "$work/ref/.ftune.lock" ] || fail "a refused run left its lock"
    refused "resume of another run's checkpoint" "key 'resume': .*warmup_steps: 3 in the checkpoint, 4 now" \
        "$work/other" --resume "$work/ref/checkpoint-10.h5" --warmup_steps 4
    ! compgen -G "$work/other/checkpoint-*" >/dev/null || fail "the refused resume saved a checkpoint"
    # A finished run that saved no checkpoint has no fingerprint: a second
    # run (resume auto or never) must not overwrite its final/ and log.jsonl.
    expect "$(train 2 "$work/nockpt" --save_strategy no)" 0 "run without checkpoints" "$work/nockpt.log"
    [ -s "$work/nockpt/final/model.safetensors" ] || fail "the run without checkpoints exported no final/"
    before="$(snapshot "$work/nockpt")"
    refused "a run over a final/ without checkpoints" "holds the final/ model of an earlier run and no checkpoint" \
        "$work/nockpt" --seed 6
    refused "resume never over a final/" "holds the final/ model of an earlier run" \
        "$work/nockpt" --resume never
    [ "$before" = "$(snapshot "$work/nockpt")" ] || fail "a refused run changed the finished run's files"
    # What may change on resume does not change what the run computes.
    out="$work/chg"
    expect "$(FTUNE_TRAIN_SIGNAL_AT_STEP=7 train 2 "$out")" 3 "stop at step 7" "$out.log"
    expect "$(train 2 "$out" --logging_steps 3 --save_steps 4 --save_total_limit 2 --eval_steps 5 \
        --per_device_eval_batch_size 4 --save_async false --num_labels 2)" 0 \
        "resume with other logging, save and eval settings" "$out.log"
    grep -q 'resumed from .*checkpoint-7.h5 at step 7' "$out.log" || fail "no resume from 7"
    cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
        fail "the resume with other logging/save/eval settings trained other weights"
    ;;
lock)
    # (c) a live owner: a long run in the background, stopped later by SIGUSR1.
    out="$work/live"
    train 2 "$out" --max_steps 100000 --save_strategy no --evaluation_strategy no >"$work/live.status" &
    bg=$!
    for _ in $(seq 600); do [ -s "$out/log.jsonl" ] && break; sleep 0.1; done
    owner="$(sed -n 's/.* pid=\([0-9]*\)$/\1/p' "$out/.ftune.lock")"
    [ -n "$owner" ] || fail "the live run wrote no owner into .ftune.lock"
    expect "$(train 2 "$out")" 2 "a second run beside a live one" "$out.log"
    grep -q "ftune-train: error: .*\.ftune\.lock is held by .*pid $owner on host $(hostname)" "$out.log" ||
        fail "the refusal does not name the owner (pid $owner)"
    kill -USR1 "$owner"
    wait "$bg"
    expect "$(cat "$work/live.status")" 3 "the live run, stopped by SIGUSR1" "$out.log"
    [ ! -e "$out/.ftune.lock" ] || fail ".ftune.lock left after exit 3"
    # A lock held for Slurm job 4242 on another host: refused, naming the job;
    # a run of that same job (a requeue) takes it over.
    held="$work/held"
    mkdir -p "$held"
    printf 'slurm_job_id=4242 host=node-elsewhere pid=12345\n' >"$held/.ftune.lock"
    # The holder is the sleep itself (exec), so killing it drops the lock.
    (exec 9<>"$held/.ftune.lock" && flock -n 9 && touch "$work/holding" && exec sleep 300) \
        >/dev/null 2>&1 &
    holder=$!
    trap 'kill "$holder" 2>/dev/null || true; rm -rf "$work"' EXIT
    for _ in $(seq 100); do [ -e "$work/holding" ] && break; sleep 0.1; done
    [ -e "$work/holding" ] || fail "the helper did not take the lock"
    expect "$(train 2 "$held")" 2 "a run beside Slurm job 4242" "$held.log"
    grep -q "held by Slurm job 4242, pid 12345 on host node-elsewhere" "$held.log" ||
        fail "the refusal does not name Slurm job 4242"
    status=0
    mpirun -n 2 --oversubscribe --bind-to none -x SLURM_JOB_ID=4242 "$build/ftune-train" \
        "${train_common[@]}" --output_dir "$held" >>"$held.log" 2>&1 || status=$?
    kill "$holder"
    expect "$status" 0 "the requeued job 4242" "$held.log"
    grep -q "taking over the lock of this same Slurm job 4242 from host node-elsewhere" "$held.log" ||
        fail "no takeover line for the requeued job"
    # (d) a stale lock: the owner killed by SIGKILL in the middle of a save.
    out="$work/stale"
    status="$(FTUNE_CKPT_CRASH_AFTER_TENSORS=20 train 2 "$out")"
    if [ "$status" = 0 ] || [ "$status" = 3 ]; then fail "the killed run exited $status"; fi
    dead="$(sed -n 's/.* pid=\([0-9]*\)$/\1/p' "$out/.ftune.lock")"
    [ -n "$dead" ] || fail "the killed run left no lock"
    expect "$(train 2 "$out")" 0 "the run after the kill" "$out.log"
    grep -q "recovered a stale lock left by pid $dead on host $(hostname)" "$out.log" ||
        fail "no log line for the recovered lock of pid $dead"
    [ ! -e "$out/.ftune.lock" ] || fail ".ftune.lock left after a normal exit"
    ;;
diskfull)
    reference
    mnt="$work/tmpfs"
    mkdir -p "$mnt"
    # Pages of one checkpoint, x1.5, plus 16 KiB for latest, log.jsonl and the lock.
    pages=$((($(stat -c %s "$work/ref/checkpoint-5.h5") + 4095) / 4096))
    kib=$((pages * 4 * 3 / 2 + 16))
    if ! mount -t tmpfs -o "size=${kib}k" tmpfs "$mnt" 2>"$work/mount.err"; then
        echo "$name: SKIP: cannot mount a tmpfs here ($(head -1 "$work/mount.err"))"
        exit 77
    fi
    trap 'umount "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
    for async in true false; do
        rm -rf "${mnt:?}"/* "$mnt"/.ftune* "$mnt.log"
        expect "$(train 2 "$mnt" --save_async "$async")" 1 "disk full (save_async $async)" "$mnt.log"
        grep -q "checkpoint-10.h5: writing the checkpoint .*No space left on device (ENOSPC)" "$mnt.log" ||
            { tail -5 "$mnt.log" >&2; fail "no ENOSPC message naming checkpoint-10.h5 (save_async $async)"; }
        grep -qx 'checkpoint-5.h5' "$mnt/latest" || fail "latest moved off checkpoint-5.h5 (save_async $async)"
        [ ! -e "$mnt/checkpoint-10.h5" ] || fail "a checkpoint-10.h5 was left (save_async $async)"
        ! compgen -G "$mnt/*.tmp*" >/dev/null || fail "temporary files left: $(ls "$mnt")"
        [ ! -e "$mnt/.ftune.lock" ] || fail ".ftune.lock left after exit 1"
        out="$work/from5-$async"
        expect "$(train 2 "$out" --resume "$mnt/checkpoint-5.h5")" 0 "resume from checkpoint-5.h5" "$out.log"
        cmp "$work/ref/final/model.safetensors" "$out/final/model.safetensors" ||
            fail "resumed from the checkpoint before the full disk: final model differs"
    done
    ;;
*) fail "unknown mode $mode" ;;
esac
echo "$name: PASS"
