/* train_eval.c: validation during training. Each rank scores a contiguous
 * slice of the validation split (no padding, no example twice), metrics are
 * reduced exactly (src/metrics), rank 0 logs them and every rank learns the
 * value of metric_for_best_model. A causal LM's figures are the token-loss
 * sum and the counted tokens, summed over ranks: mean token loss and
 * perplexity (evaluate_lm).
 *
 * Stop requests: before every eval batch all ranks sum (stop flag, failed)
 * in one small all-reduce, as the training step does (every rank runs the
 * same number of rounds; a rank whose slice is done scores nothing). A stop
 * ends the evaluation there: nothing is logged, t->eval_interrupted is set,
 * the loop checkpoints at this step boundary and rank 0 leaves
 * OUTPUT/eval-pending naming the step; on resume from that very step the
 * evaluation is redone before the first step (train_eval_pending), so the
 * log and the best-checkpoint bookkeeping read as in an uninterrupted run. */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm_agree.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_hook.h"
#include "core/ft_log.h"
#include "train/train.h"
#include "metrics/metrics.h"
#include "train_impl.h"

/* Softmax in double, per-example cross-entropy by a stable log-sum-exp. */
static ft_status add_rows(train_ctx *t, metrics_acc *acc, const train_batch *b, float *probs,
                          ft_error *err)
{
    int L = model_get_config(t->m)->num_labels;
    const float *logits = model_logits(t->m);
    for (int i = 0; i < b->mb.b; i++) {
        const float *z = logits + (size_t)i * (size_t)L;
        double mx = z[0], sum = 0;
        for (int k = 1; k < L; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < L; k++) sum += exp((double)z[k] - mx);
        for (int k = 0; k < L; k++) probs[k] = (float)(exp((double)z[k] - mx) / sum);
        double loss = log(sum) + mx - (double)z[b->mb.labels[i]];
        ft_status st = metrics_acc_add(acc, b->mb.example_index[i], b->mb.labels[i], probs,
                                       loss < 0 ? 0 : loss, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

/* Test hook: FTUNE_TRAIN_SIGNAL_AT_EVAL_BATCH=k makes rank 0 send itself
 * SIGUSR1 just before eval round k (k >= 1) of an evaluation that may stop,
 * so tests can cut an evaluation in its middle through the real path. */
static void eval_signal_hook(const train_ctx *t, uint64_t round)
{
    static long at = -2;
    if (at == -2) {
        const char *e = ft_hook_env("FTUNE_TRAIN_SIGNAL_AT_EVAL_BATCH");
        at = e && *e ? strtol(e, NULL, 10) : -1;
    }
    if (t->rank == 0 && at >= 1 && round == (uint64_t)at) train_signal_self(SIGUSR1);
}

/* One eval batch's figures: a classifier's rows into acc; a causal LM's
 * token-loss sum, counted tokens and rows into lm_sums[0..2] (the model's
 * mean over the batch's counted tokens times their count). */
static ft_status score_batch(train_ctx *t, metrics_acc *acc, double *lm_sums, const train_batch *b,
                             float *probs, ft_error *err)
{
    const model_dropout off = {.enabled = false};
    double loss = 0;
    ft_status st = model_forward_packed(t->m, &b->mb, b->packing, &off, t->lm ? &loss : NULL, err);
    if (st != FT_OK || !t->lm) return st == FT_OK ? add_rows(t, acc, b, probs, err) : st;
    lm_sums[0] += loss * (double)b->counted;
    lm_sums[1] += (double)b->counted;
    lm_sums[2] += b->mb.b;
    return FT_OK;
}

/* acc: a classifier's metrics; lm_sums: a causal LM's (score_batch). */
static ft_status score_slice(train_ctx *t, metrics_acc *acc, double *lm_sums, bool may_stop,
                             ft_error *err)
{
    uint64_t lo, hi;
    shard_slice(t->val.rows, t->rank, t->world, &lo, &hi);
    int B = t->o.per_device_eval_batch_size;
    train_batch b;
    uint64_t *idx = ft_malloc_array((size_t)B, sizeof *idx);
    /* a decoder's num_labels is its vocabulary: no probabilities kept */
    size_t n_probs = t->lm ? 1 : (size_t)model_get_config(t->m)->num_labels;
    float *probs = ft_malloc_array(n_probs, sizeof *probs);
    ft_status st = train_batch_init(&b, B, t->val.max_length, t->lm, t->man.packed, err);
    if (st == FT_OK && (!idx || !probs)) st = ft_fail(err, FT_ENOMEM, "out of memory");
    /* Rounds: the largest slice's batch count, the same on every rank. */
    uint64_t most = (t->val.rows + (uint64_t)t->world - 1) / (uint64_t)t->world;
    uint64_t rounds = (most + (uint64_t)B - 1) / (uint64_t)B, r = lo, round = 0;
    for (; round < rounds; round++, r += (uint64_t)B) {
        if (may_stop) eval_signal_hook(t, round);
        double v[2] = {may_stop && train_stop_requested() ? 1 : 0, st != FT_OK};
        comm_sum_doubles(t->comm, v, 2);
        if (v[1] > 0) break; /* a failure anywhere: the caller reports it */
        if (v[0] > 0) {
            t->eval_interrupted = true;
            break;
        }
        if (r >= hi) continue;
        int n = (int)(hi - r < (uint64_t)B ? hi - r : (uint64_t)B);
        for (int i = 0; i < n; i++) idx[i] = r + (uint64_t)i;
        train_batch_fill(&b, &t->val, t->lm ? &t->val_lm : NULL, idx, n);
        st = score_batch(t, acc, lm_sums, &b, probs, err);
    }
    if (t->eval_interrupted && t->rank == 0)
        ft_log_info("eval step %lld: stop requested after %llu of %llu batches: evaluation "
                    "ended, it is redone on resume",
                    (long long)t->step, (unsigned long long)round, (unsigned long long)rounds);
    train_batch_free(&b);
    free(idx);
    free(probs);
    return st;
}

static double pick_metric(const train_ctx *t, const metrics_result *r)
{
    const char *m = t->o.metric;
    if (strcmp(m, "loss") == 0) return r->loss;
    if (strcmp(m, "accuracy") == 0) return r->accuracy;
    if (strcmp(m, "f1") == 0) return r->macro.f1;
    if (strcmp(m, "precision") == 0) return r->macro.precision;
    if (strcmp(m, "recall") == 0) return r->macro.recall;
    return r->has_roc_auc ? r->roc_auc : NAN;
}

static void log_result(train_ctx *t, const metrics_result *r, double seconds)
{
    double epoch = (double)t->step / (double)t->smp.steps_per_epoch;
    char line[768], auc[64] = "";
    if (r->has_roc_auc) snprintf(auc, sizeof auc, ", \"eval_roc_auc\": %.17g", r->roc_auc);
    snprintf(line, sizeof line,
             "{\"step\": %lld, \"epoch\": %.6g, \"eval_loss\": %.17g, \"eval_accuracy\": %.17g, "
             "\"eval_f1\": %.17g, \"eval_precision\": %.17g, \"eval_recall\": %.17g%s, "
             "\"eval_samples\": %lld, \"eval_runtime\": %.3f}",
             (long long)t->step, epoch, r->loss, r->accuracy, r->macro.f1, r->macro.precision,
             r->macro.recall, auc, (long long)r->num_examples, seconds);
    train_log_json(t, line);
    ft_log_info("eval step %lld: loss %.4f accuracy %.4f f1 %.4f (%lld examples, %.1f s)",
                (long long)t->step, r->loss, r->accuracy, r->macro.f1, (long long)r->num_examples,
                seconds);
}

/* Rank 0 leaves OUTPUT/eval-pending = the step whose evaluation was cut. */
static ft_status mark_pending(train_ctx *t, ft_error *err)
{
    ft_error e;
    ft_error_clear(&e);
    if (t->rank == 0) {
        char *path = ft_path_join(t->o.output_dir, TRAIN_EVAL_PENDING), text[32];
        int n = snprintf(text, sizeof text, "%lld\n", (long long)t->step);
        e.code = path ? ft_write_file_atomic(path, text, (size_t)n, true, &e) : FT_ENOMEM;
        free(path);
    }
    return train_share_status(t, e.code, &e, err);
}

/* A causal LM's evaluation: the mean token loss over the split (token
 * losses summed over ranks, divided by the tokens counted: Trainer's
 * eval_loss weighs batches equally instead, which differs when batches
 * count different numbers of tokens) and perplexity = exp(mean loss). */
static ft_status evaluate_lm(train_ctx *t, bool may_stop, ft_error *err)
{
    double t0 = MPI_Wtime(), sums[3] = {0, 0, 0}; /* loss sum, tokens, rows */
    ft_status st = score_slice(t, NULL, sums, may_stop, err);
    st = comm_agree(comm_mpi(t->comm), st, err);
    if (st != FT_OK) return st;
    if (t->eval_interrupted) return mark_pending(t, err);
    comm_sum_doubles(t->comm, sums, 3);
    double mean = sums[1] > 0 ? sums[0] / sums[1] : NAN;
    /* rank 0's value on every rank: the best-checkpoint choice must agree */
    MPI_Bcast(&mean, 1, MPI_DOUBLE, 0, comm_mpi(t->comm));
    t->last_eval_metric = mean;
    if (t->rank != 0) return FT_OK;
    double seconds = MPI_Wtime() - t0, epoch = (double)t->step / (double)t->smp.steps_per_epoch;
    char line[512];
    snprintf(line, sizeof line,
             "{\"step\": %lld, \"epoch\": %.6g, \"eval_loss\": %.17g, \"eval_perplexity\": "
             "%.17g, \"eval_tokens\": %.0f, \"eval_samples\": %.0f, \"eval_runtime\": %.3f}",
             (long long)t->step, epoch, mean, exp(mean), sums[1], sums[2], seconds);
    train_log_json(t, line);
    ft_log_info("eval step %lld: loss %.4f perplexity %.4f (%.0f tokens, %.1f s)",
                (long long)t->step, mean, exp(mean), sums[1], seconds);
    return FT_OK;
}

ft_status train_evaluate(train_ctx *t, bool may_stop, ft_error *err)
{
    t->eval_interrupted = false;
    t->last_eval_metric = NAN;
    if (t->lm) return evaluate_lm(t, may_stop, err);
    double t0 = MPI_Wtime();
    metrics_acc *acc = NULL;
    t->eval_interrupted = false;
    t->last_eval_metric = NAN;
    ft_status st = metrics_acc_create(model_get_config(t->m)->num_labels, 0, &acc, err);
    if (st == FT_OK) st = score_slice(t, acc, NULL, may_stop, err);
    /* A failure on one rank must not leave the others in the reduce; the
     * agreement carries its message to every rank (rank 0 prints it). */
    st = comm_agree(comm_mpi(t->comm), st, err);
    bool any = st != FT_OK;
    if (st == FT_OK && t->eval_interrupted) {
        metrics_acc_free(acc);
        return mark_pending(t, err);
    }
    if (st == FT_OK) st = metrics_reduce(acc, comm_mpi(t->comm), err);
    /* Rank 0 computes; its status travels with the value, so a failure there
     * stops every rank instead of leaving a NaN metric behind. */
    double result[2] = {NAN, 0.0}; /* value, rank 0 failed */
    if (st == FT_OK && t->rank == 0) {
        metrics_result *r = NULL;
        st = metrics_compute(acc, &r, err);
        if (st == FT_OK) {
            result[0] = pick_metric(t, r);
            log_result(t, r, MPI_Wtime() - t0);
        } else {
            result[1] = 1.0;
        }
        metrics_result_free(r);
    }
    if (!any) MPI_Bcast(result, 2, MPI_DOUBLE, 0, comm_mpi(t->comm));
    if (st == FT_OK && result[1] != 0.0)
        st = ft_fail(err, FT_ERUNTIME, "evaluation metrics failed on rank 0");
    t->last_eval_metric = result[0];
    metrics_acc_free(acc);
    return st;
}

ft_status train_eval_pending(train_ctx *t, bool *redone, ft_error *err)
{
    *redone = false;
    int64_t step = -1;
    ft_status st = FT_OK;
    if (t->rank == 0) {
        char *path = ft_path_join(t->o.output_dir, TRAIN_EVAL_PENDING);
        if (!path) st = ft_fail(err, FT_ENOMEM, "out of memory");
        char *text = NULL;
        size_t len = 0;
        ft_error ignored;
        if (path && ft_path_exists(path) && ft_read_file(path, &text, &len, &ignored) == FT_OK)
            step = strtoll(text, NULL, 10);
        if (path && ft_path_exists(path) && step != t->step) remove(path); /* stale */
        free(text);
        free(path);
    }
    st = comm_agree(comm_mpi(t->comm), st, err);
    if (st != FT_OK) return st;
    MPI_Bcast(&step, 1, MPI_INT64_T, 0, comm_mpi(t->comm));
    if (step != t->step || !t->o.do_eval || t->step == 0) return FT_OK;
    if (t->rank == 0)
        ft_log_info("redoing the evaluation of step %" PRId64 " cut by the stop", step);
    st = train_evaluate(t, false, err);
    if (st != FT_OK) return st;
    *redone = true;
    if (t->rank == 0) {
        char *path = ft_path_join(t->o.output_dir, TRAIN_EVAL_PENDING);
        if (path) remove(path);
        free(path);
    }
    return FT_OK;
}
