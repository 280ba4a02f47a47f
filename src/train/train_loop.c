/* train_loop.c: train_run: the optimizer steps, the stop flag, periodic
 * log/eval/save, and the export at the end (see train.h). */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "comm/comm_agree.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_hook.h"
#include "core/ft_log.h"
#include "hf/hf_model.h"
#include "train/train.h"
#include "train_impl.h"

/* Written by the signal thread (and by a handler on MPI's threads), read by
 * the training loop: an atomic, lock-free on every target, so safe in both. */
static atomic_int stop_signal;

static void on_stop_signal(int sig) { stop_signal = sig; }

static sigset_t stop_signals;

static void *wait_for_stop_signals(void *unused)
{
    (void)unused;
    for (;;) {
        int sig = 0;
        if (sigwait(&stop_signals, &sig) == 0) stop_signal = sig;
    }
    return NULL;
}

/* Why SIGUSR1/SIGTERM are taken by a thread of their own: oneDNN 2.6's JIT
 * float32 GEMM kernels use the stack pointer as a general register that
 * points into the heap (oneDNN issue 4845, fixed in 3.11.2), so a handler
 * run on a thread inside such a kernel has its frame pushed onto the heap:
 * "corrupted size vs. prev_size" in the next free, seen here when Slurm
 * signalled a training step. The signals are blocked in this thread and so
 * in every thread it creates later (OpenMP workers, the checkpoint writer),
 * and one thread waits for them with sigwait. Threads that exist already
 * (MPI's own) keep the handler, which only sets the flag; they run no
 * oneDNN code. Call before the first OpenMP region. */
void train_install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGUSR1);
    sigaddset(&stop_signals, SIGTERM);
    pthread_t waiter;
    FT_CHECK(pthread_sigmask(SIG_BLOCK, &stop_signals, NULL) == 0);
    FT_CHECK(pthread_create(&waiter, NULL, wait_for_stop_signals, NULL) == 0);
    pthread_detach(waiter);
}

/* A stop request to this process (not to the calling thread, which blocks
 * the stop signals): the test hooks' way of signalling themselves. */
void train_signal_self(int sig)
{
    /* Delivered to another thread: wait (up to 2 s) until the flag is set, so
     * the step that raised it sees it, as with a synchronous raise(). */
    kill(getpid(), sig);
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 2000 && !stop_signal; i++) nanosleep(&ms, NULL);
}

bool train_stop_requested(void) { return stop_signal != 0; }

static void on_grads_ready(void *ctx, size_t offset) { comm_grads_ready(ctx, offset); }

/* Sums over ranks after a step: loss, real tokens, stop requests. */
typedef struct step_sums {
    double loss, tokens, stop;
} step_sums;

/* A RANK:STEP test hook's value (step counted as the log counts, from 1);
 * -1 and -1 when unset or malformed. */
static void rank_step_hook(const char *name, long *rank, long *step)
{
    const char *e = ft_hook_env(name);
    char *end = NULL;
    *rank = e && *e ? strtol(e, &end, 10) : -1;
    *step = end && *end == ':' ? strtol(end + 1, NULL, 10) : -1;
}

/* Test hook: FTUNE_TRAIN_BAD_ID_AT=RANK:STEP makes rank RANK put an id
 * outside the vocabulary into its first micro-batch of step STEP, after the
 * load-time checks, so tests make model_forward fail on one rank only in the
 * middle of training. */
static void bad_id_hook(const train_ctx *t, train_batch *b, int a)
{
    static long rank = -2, step = -1;
    if (rank == -2) rank_step_hook("FTUNE_TRAIN_BAD_ID_AT", &rank, &step);
    if (a == 0 && t->rank == rank && t->step + 1 == step)
        b->rows.ids[0] = model_get_config(t->m)->vocab_size;
}

/* Test hook: FTUNE_TRAIN_KILL_AT=RANK:STEP makes rank RANK die by SIGKILL
 * (what `kill -9` or the kernel's OOM killer sends) after the forward of its
 * first micro-batch of step STEP: mid-step, the other ranks on their way
 * into that step's collectives, as a node lost at a random moment would be. */
static void kill_hook(const train_ctx *t, int a)
{
    static long rank = -2, step = -1;
    if (rank == -2) rank_step_hook("FTUNE_TRAIN_KILL_AT", &rank, &step);
    if (a == 0 && t->rank == rank && t->step + 1 == step) raise(SIGKILL);
}

/* Micro-batch a of this step: rows from the sampler, then forward (loss
 * into *loss). A failure names the step and the rank: only this rank may
 * have it (each rank trains on other rows). */
static ft_status micro_forward(train_ctx *t, train_batch *b, uint64_t *idx, int a,
                               const model_dropout *d, double *loss, ft_error *err)
{
    sampler_micro_batch(&t->smp, (uint64_t)t->step, a, idx);
    train_batch_fill(b, &t->train, t->lm ? &t->train_lm : NULL, idx,
                     t->o.per_device_train_batch_size);
    bad_id_hook(t, b, a);
    ft_status st = model_forward_packed(t->m, &b->mb, b->packing, d, loss, err);
    kill_hook(t, a);
    if (st != FT_OK)
        ft_error_prefix(err, "step %lld, micro-batch %d, rank %d", (long long)t->step + 1, a,
                        t->rank);
    return st;
}

/* After the gradient all-reduce: learning rate, unscale and clip, AdamW. */
static void apply_step(train_ctx *t, double *grad_norm, double *lr)
{
    /* Every rank holds the same reduced gradients, so all skip together.
     * As Trainer with GradScaler: a skipped step leaves AdamW and the
     * schedule where they were (they count optimizer steps that ran). */
    *lr = t->o.learning_rate * sched_lr_factor(t->o.scheduler, optim_step_count(t->opt),
                                               (long)t->warmup, (long)t->total_steps);
    if (scaler_unscale_and_clip(&t->scaler, t->m, (float)t->o.max_grad_norm, grad_norm))
        optim_step(t->opt, t->m, (float)*lr);
    else if (t->rank == 0)
        ft_log_warn("fp16: step %" PRId64 " skipped (inf or NaN gradients); loss scale now %g",
                    t->step + 1, t->scaler.scale);
}

/* Causal LM: the tokens the loss counts in this step, over every
 * micro-batch of every rank (one 8-byte all-reduce per step).
 *
 * Why: transformers' Trainer (trainer.py, _get_num_items_in_batch) counts
 * num_items_in_batch, the labels other than -100 in labels[..., 1:] of all
 * gradient_accumulation_steps micro-batches, and with
 * average_tokens_across_devices (default True) sums it over ranks
 * (accelerator.gather(...).sum()). The model then returns each micro-batch's
 * SUM of token losses divided by that global count, and compute_loss
 * multiplies it by the number of processes, which DDP's gradient average
 * divides out again: the step's gradient is that of (sum of every token loss
 * of the global batch) / (tokens counted in the global batch), whatever the
 * split into ranks and micro-batches. A mean per micro-batch divided by A
 * (the classifiers' rule) would weigh a token of a short micro-batch more. */
static double global_lm_tokens(train_ctx *t, train_batch *b, uint64_t *idx)
{
    double counted = 0;
    for (int a = 0; a < t->accumulation; a++) {
        sampler_micro_batch(&t->smp, (uint64_t)t->step, a, idx);
        train_batch_fill(b, &t->train, &t->train_lm, idx, t->o.per_device_train_batch_size);
        counted += (double)b->counted;
    }
    comm_sum_doubles(t->comm, &counted, 1);
    return counted;
}

/* A causal LM's backward scale for micro-batch b (the classifiers' is 1/A):
 * counted_b * world / N on top of the model's mean over counted_b tokens
 * (global_lm_tokens says why), so the all-reduce's 1/world average leaves
 * sum(token losses) / N. Also the factor that turns the micro-batch's mean
 * loss into its share of the step's loss as Trainer logs it (summed over
 * ranks, then divided by world in after_step). */
static double lm_scale(const train_ctx *t, const train_batch *b, double lm_tokens)
{
    return lm_tokens > 0 ? (double)b->counted * t->world / lm_tokens : 0.0;
}

/* One optimizer step: A micro-batches, all-reduce, clip, AdamW.
 * A forward that fails (bad data, a batch beyond the plan) may fail on one
 * rank only; that rank skips its remaining micro-batches (no collective runs
 * among them) and all ranks agree on one status before the last backward,
 * which starts the gradient all-reduce the failing rank would never join.
 * The cost: one 4-byte MPI_Allreduce per optimizer step (not per micro-batch
 * or op), where the gradient all-reduce that follows waits for every rank
 * anyway. */
static ft_status train_step(train_ctx *t, train_batch *b, uint64_t *idx, step_sums *sums,
                            double *grad_norm, double *lr, ft_error *err)
{
    model_zero_grads(t->m);
    model_dropout d = {.enabled = t->o.dropout, .seed = t->o.seed, .step = (uint64_t)t->step};
    int A = t->accumulation;
    sums->loss = sums->tokens = 0;
    double lm_tokens = t->lm ? global_lm_tokens(t, b, idx) : 0;
    ft_status st = FT_OK;
    for (int a = 0; a < A; a++) {
        double loss = 0;
        if (st == FT_OK) st = micro_forward(t, b, idx, a, &d, &loss, err);
        if (a == A - 1) {
            st = comm_agree(comm_mpi(t->comm), st, err);
            if (st != FT_OK) return st;
            comm_grads_begin(t->comm, model_grads(t->m), t->grad_lo, model_param_count(t->m));
            model_set_grad_ready_hook(t->m, on_grads_ready, t->comm);
        }
        if (st != FT_OK) continue; /* failed here: on to the agreement */
        if (t->lm) {
            double scale = lm_scale(t, b, lm_tokens);
            model_backward(t->m, (float)(t->scaler.scale * scale));
            sums->loss += loss * scale;
        } else {
            model_backward(t->m, (float)t->scaler.scale / (float)A);
            sums->loss += loss / A;
        }
        sums->tokens += (double)b->tokens;
    }
    model_set_grad_ready_hook(t->m, NULL, NULL);
    comm_grads_finish(t->comm);
    apply_step(t, grad_norm, lr);
    return FT_OK;
}

/* Test hook: FTUNE_TRAIN_SIGNAL_AT_STEP=k makes rank 0 send itself SIGUSR1
 * once step k is done, so tests can preempt at an exact step through the
 * real signal path. */
static void signal_hook(const train_ctx *t)
{
    static long at = -2;
    if (at == -2) {
        const char *e = ft_hook_env("FTUNE_TRAIN_SIGNAL_AT_STEP");
        at = e && *e ? strtol(e, NULL, 10) : -1;
    }
    if (t->rank == 0 && at >= 0 && t->step + 1 == at) train_signal_self(SIGUSR1);
}

typedef struct log_window {
    double loss, tokens, t0;
    int64_t steps;
} log_window;

static ft_status after_step(train_ctx *t, log_window *w, const step_sums *s, double grad_norm,
                            double lr, bool *stop, ft_error *err)
{
    t->step++;
    t->last_eval_metric = NAN;
    w->loss += s->loss / t->world;
    w->tokens += s->tokens;
    w->steps++;
    bool last = t->step == t->total_steps;
    if (t->step % t->o.logging_steps == 0 || last) {
        double dt = MPI_Wtime() - w->t0;
        train_log_step(t, w->loss / (double)w->steps, lr, grad_norm, w->tokens / dt,
                       dt / (double)w->steps);
        *w = (log_window){.t0 = MPI_Wtime()};
    }
    train_progress(t);
    ft_status st = FT_OK;
    t->eval_interrupted = false;
    if (t->o.do_eval && (t->step % t->o.eval_steps == 0 || last))
        st = train_evaluate(t, !last, err);
    *stop = (s->stop > 0 || t->eval_interrupted) && !last;
    bool save = t->o.do_save && (t->step % t->o.save_steps == 0 || last);
    if (st == FT_OK && (save || *stop)) st = train_save(t, *stop || last, err);
    return st;
}

static ft_status run_steps(train_ctx *t, ft_error *err)
{
    train_batch b;
    uint64_t *idx = ft_malloc_array((size_t)t->o.per_device_train_batch_size, sizeof *idx);
    ft_status st = train_batch_init(&b, t->o.per_device_train_batch_size, t->train.max_length,
                                    t->lm, t->man.packed, err);
    if (st == FT_OK && !idx) st = ft_fail(err, FT_ENOMEM, "out of memory");
    st = comm_agree(comm_mpi(t->comm), st, err); /* no rank may skip the loop alone */
    log_window w = {.t0 = MPI_Wtime()};
    while (st == FT_OK && t->step < t->total_steps) {
        step_sums s;
        double grad_norm = 0, lr = 0;
        st = train_step(t, &b, idx, &s, &grad_norm, &lr, err);
        if (st != FT_OK) break; /* agreed in train_step: every rank leaves here */
        signal_hook(t);
        s.stop = train_stop_requested() ? 1 : 0;
        comm_sum_doubles(t->comm, (double *)&s, 3);
        bool stop = false;
        st = after_step(t, &w, &s, grad_norm, lr, &stop, err);
        if (st == FT_OK && stop) {
            if (t->rank == 0)
                ft_log_info("stop requested (signal): checkpointed at step %lld, exiting for "
                            "requeue",
                            (long long)t->step);
            st = ft_fail(err, FT_EREQUEUE, "checkpointed at step %lld for requeue",
                         (long long)t->step);
        }
    }
    train_batch_free(&b);
    free(idx);
    return st;
}

/* Steps to do and warm-up, as Trainer counts them. */
static void plan_steps(train_ctx *t)
{
    int64_t spe = (int64_t)t->smp.steps_per_epoch;
    t->total_steps =
        t->o.max_steps > 0 ? t->o.max_steps : (int64_t)ceil(t->o.num_train_epochs * (double)spe);
    if (t->total_steps < 1) t->total_steps = 1;
    t->warmup = t->o.warmup_steps > 0 ? t->o.warmup_steps
                                      : (int64_t)ceil(t->o.warmup_ratio * (double)t->total_steps);
    if (t->rank == 0)
        ft_log_info("%llu training examples, global batch %llu (%d per device x %d ranks x %d "
                    "accumulation), %lld steps per epoch, %lld steps from step %lld",
                    (unsigned long long)t->train.rows, (unsigned long long)t->smp.global_batch,
                    t->o.per_device_train_batch_size, t->world, t->accumulation, (long long)spe,
                    (long long)t->total_steps, (long long)t->step);
}

/* An evaluation cut by a stop at the step we resumed from is redone first;
 * it competes for the best checkpoint if that step was a save step. */
static ft_status redo_cut_eval(train_ctx *t, ft_error *err)
{
    bool redone = false;
    ft_status st = train_eval_pending(t, &redone, err);
    bool last = t->step == t->total_steps;
    if (st == FT_OK && redone && t->o.do_save && (t->step % t->o.save_steps == 0 || last))
        train_update_best(t);
    return st;
}

/* load_best_model_at_end: the best checkpoint's weights on every rank. */
static ft_status load_best(train_ctx *t, ft_error *err)
{
    if (!t->o.load_best_model_at_end || t->best_step < 0) return FT_OK;
    if (t->best_step == t->step) {
        ft_log_info("load_best_model_at_end: the last step (%ld) is the best (%s %.6g)",
                    (long)t->step, t->o.metric, t->best_metric);
        return FT_OK;
    }
    ft_error e;
    ft_error_clear(&e);
    ft_status st = FT_OK;
    if (t->rank == 0) {
        char *path = ckpt_path(t->o.output_dir, t->best_step);
        ckpt_state s = {0};
        st = path ? ckpt_read(path, t->m, NULL, &s, &e) : ft_fail(&e, FT_ENOMEM, "out of memory");
        if (st == FT_OK)
            ft_log_info("load_best_model_at_end: %s (%s %.6g)", path, t->o.metric, t->best_metric);
        ckpt_state_free(&s);
        free(path);
    }
    st = train_share_status(t, st, &e, err);
    if (st != FT_OK) return st;
    comm_bcast(t->comm, model_params(t->m), model_param_count(t->m) * sizeof(float), 0);
    return FT_OK;
}

static ft_status export_final(train_ctx *t, ft_error *err)
{
    ft_error e;
    ft_error_clear(&e);
    ft_status st = FT_OK;
    if (t->rank == 0) {
        char *out = ft_path_join(t->o.output_dir, "final");
        st = out ? hf_model_export(t->m, &t->hf, t->o.tokenizer_dir, out, true, &e)
                 : ft_fail(&e, FT_ENOMEM, "out of memory");
        if (st == FT_OK) ft_log_info("exported %s", out);
        free(out);
    }
    return train_share_status(t, st, &e, err);
}

ft_status train_run(const cfg *c, MPI_Comm world, ft_error *err)
{
    train_ctx t;
    memset(&t, 0, sizeof t);
    MPI_Comm_rank(world, &t.rank);
    MPI_Comm_size(world, &t.world);
    size_t bucket = (size_t)cfg_get_int(c, "ddp_bucket_cap_mb") * (1u << 20) / sizeof(float);
    ft_status st = comm_create(world, bucket, &t.comm, err);
    if (st != FT_OK) return st;
    st = train_setup(&t, c, err);
    t.accumulation = t.o.gradient_accumulation_steps;
    if (st == FT_OK) st = train_resume(&t, err);
    if (st == FT_OK)
        st = sampler_init(&t.smp, t.train.rows, t.o.seed, t.o.per_device_train_batch_size, t.world,
                          t.rank, t.accumulation, err);
    if (st == FT_OK) {
        plan_steps(&t);
        st = train_log_open(&t, err);
    }
    /* log.jsonl is rank 0's: its failure must stop the others before the
     * collectives of the evaluation and the steps. */
    st = comm_agree(comm_mpi(t.comm), st, err);
    if (st == FT_OK) st = redo_cut_eval(&t, err);
    if (st == FT_OK) st = run_steps(&t, err);
    if (st == FT_OK) st = train_save_wait(&t, err);
    if (st == FT_OK) st = load_best(&t, err);
    if (st == FT_OK) st = export_final(&t, err);
    if (st == FT_OK && t.rank == 0)
        ft_log_info("done: %lld steps; all-reduce exposed %.2f s in all", (long long)t.step,
                    comm_take_seconds(t.comm));
    train_teardown(&t);
    device_release(&t.dev, t.comm);
    comm_free(t.comm);
    return st;
}
