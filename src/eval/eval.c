/* eval: ftune-eval's work, collective over an MPI communicator (eval.h).
 * A classifier feeds a metrics_acc and predictions.jsonl; a decoder on a
 * causal_lm split feeds an eval_lm_sum (eval_lm.c) and its own report.
 *
 * The steps: open the split and the model on every rank (same checks, same
 * answer), refuse an existing report, score this rank's slice in batches,
 * reduce the metrics exactly, gather predictions.jsonl in split
 * order, and let rank 0 write the report.
 *
 * Why batches are aligned to the split rather than to a rank's slice, and
 * always have the same shape: see eval.h (bitwise equal results for any
 * number of ranks). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/device.h"
#include "eval_impl.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"

double eval_softmax(const float *logits, int k, int label, float *probs, int *pred)
{
    double mx = logits[0], sum = 0.0;
    for (int c = 1; c < k; c++) mx = logits[c] > mx ? logits[c] : mx;
    for (int c = 0; c < k; c++) sum += exp((double)logits[c] - mx);
    int best = 0;
    for (int c = 0; c < k; c++) {
        probs[c] = (float)(exp((double)logits[c] - mx) / sum);
        if (probs[c] > probs[best]) best = c;
    }
    if (pred) *pred = best;
    return label < 0 ? 0.0 : log(sum) + mx - (double)logits[label];
}

/* ---- one run's state -------------------------------------------------------- */

typedef struct eval_ctx {
    const eval_options *opt;
    MPI_Comm comm;
    int rank, size, batch;
    bool bf16; /* o->bf16, unless this CPU multiplies bf16 slower (device.h) */
    eval_split split;
    model *m;
    hf_config cfg;
    tok_tokenizer *tok;
    metrics_acc *acc;
    eval_preds *preds;
    bool lm; /* a decoder on a causal_lm split: lm_sum, no acc or preds */
    eval_lm_sum lm_sum;
    int64_t tokens; /* real tokens scored (sum of lengths) */
    double seconds;
} eval_ctx;

static const char *const REPORT_FILES[] = {"report.json", "report.md", "report.html",
                                           "predictions.jsonl"};

/* Rank 0: refuse an existing report (without force) and make the folder. */
static ft_status prepare_output(const eval_ctx *x, ft_error *err)
{
    if (x->rank != 0) return FT_OK;
    const char *dir = x->opt->output_dir;
    for (size_t i = 0; i < sizeof REPORT_FILES / sizeof *REPORT_FILES && !x->opt->force; i++) {
        char *p = ft_path_join(dir, REPORT_FILES[i]);
        if (!p) return ft_fail(err, FT_ENOMEM, "out of memory");
        bool exists = ft_path_exists(p);
        free(p);
        if (exists)
            return ft_fail(err, FT_EEXIST,
                           "%s/%s already exists: not overwriting a report "
                           "(use --force to replace it, or another --output)",
                           dir, REPORT_FILES[i]);
    }
    return ft_mkdir_p(dir, err);
}

static ft_status check_options(const eval_options *o, ft_error *err)
{
    if (!o->model_dir || !o->data_dir || !o->output_dir)
        return ft_fail(err, FT_EINVAL,
                       "the model folder, the data folder and the output "
                       "folder are all required");
    if (o->batch_size < 0)
        return ft_fail(err, FT_EINVAL, "the batch size must be positive, got %d", o->batch_size);
    return FT_OK;
}

static ft_status setup(eval_ctx *x, ft_error *err)
{
    const eval_options *o = x->opt;
    int keep = o->keep_worst == 0 ? 10 : (o->keep_worst < 0 ? 0 : o->keep_worst);
    ft_status st = check_options(o, err);
    device_choice dev = {0}; /* read below even when check_options failed */
    /* Before the model: it allocates on the chosen back end. */
    if (st == FT_OK) st = device_select(x->comm, o->use_cpu, &dev, err);
    st = comm_agree(x->comm, st, err);
    if (st == FT_OK) st = eval_split_open(o->data_dir, o->split, &x->split, err);
    x->lm = st == FT_OK && x->split.manifest.task == SHARD_TASK_CAUSAL_LM;
    /* A decoder's logits are [rows, max_length, vocab]: 4 rows by default. */
    x->batch = o->batch_size > 0 ? o->batch_size : x->lm ? 4 : 16;
    if (st == FT_OK)
        st = eval_model_open(o->model_dir, o->checkpoint, &x->split.manifest, &x->m, &x->cfg,
                             &x->tok, err);
    st = comm_agree(x->comm, st, err);
    if (st == FT_OK) st = comm_agree(x->comm, prepare_output(x, err), err);
    x->bf16 = o->bf16;
    if (st == FT_OK) st = device_bf16_decide(x->comm, &dev, &x->bf16, err);
    if (st == FT_OK && x->bf16) st = model_set_bf16(x->m, true, err);
    device_mixed_precision(&dev, x->bf16);
    if (st == FT_OK) st = model_plan_inference(x->m, x->batch, x->split.manifest.max_length, err);
    if (st == FT_OK && !x->lm)
        st = metrics_acc_create(x->split.manifest.n_labels, keep, &x->acc, err);
    if (st == FT_OK && !x->lm) {
        char *path = ft_path_join(o->output_dir, "predictions.jsonl");
        st = path ? eval_preds_open(path, x->split.manifest.n_labels, o->force, x->rank, &x->preds,
                                    err)
                  : ft_fail(err, FT_ENOMEM, "out of memory");
        free(path);
    }
    return comm_agree(x->comm, st, err);
}

static void teardown(eval_ctx *x)
{
    metrics_acc_free(x->acc);
    tok_close(x->tok);
    model_free(x->m);
    hf_config_free(&x->cfg);
    eval_split_free(&x->split);
}

/* ---- scoring ------------------------------------------------------------------ */

/* Row `from`'s tokens (and packed rows' position and segment ids) into
 * row i: a filler the scoring drops. */
static void copy_row(shard_batch *b, int i, int from)
{
    size_t t = (size_t)b->t, bytes = t * sizeof(int32_t);
    memcpy(b->ids + (size_t)i * t, b->ids + (size_t)from * t, bytes);
    if (b->position_ids) {
        memcpy(b->position_ids + (size_t)i * t, b->position_ids + (size_t)from * t, bytes);
        memcpy(b->segment_ids + (size_t)i * t, b->segment_ids + (size_t)from * t, bytes);
    }
    b->lengths[i] = b->lengths[from];
}

/* Score positions [first, last) of the batch (split rows aligned, eval.h);
 * the other positions get copies of row `first` and their outputs are
 * dropped. */
static ft_status score_batch(eval_ctx *x, shard_batch *b, int first, int last, ft_error *err)
{
    int t = b->t, k = x->split.manifest.n_labels;
    for (int i = 0; i < x->batch; i++) {
        if (i >= first && i < last) continue;
        copy_row(b, i, first);
    }
    model_batch mb = {x->batch, t, b->ids, b->lengths, NULL, NULL};
    model_packing pack = {b->position_ids, b->segment_ids};
    model_dropout off = {false, 0, 0};
    ft_status st = model_forward_packed(x->m, &mb, b->position_ids ? &pack : NULL, &off, NULL, err);
    const float *logits = model_logits(x->m);
    if (x->lm) {
        int vocab = model_get_config(x->m)->vocab_size;
        if (st == FT_OK) eval_lm_add_rows(&x->lm_sum, logits, b, first, last, vocab);
        for (int r = first; r < last; r++) x->tokens += b->lengths[r];
        return st;
    }
    float *probs = ft_malloc_array((size_t)k, sizeof *probs);
    if (st == FT_OK && !probs) st = ft_fail(err, FT_ENOMEM, "out of memory");
    for (int r = first; r < last && st == FT_OK; r++) {
        int pred = 0;
        double loss = eval_softmax(logits + (size_t)r * k, k, b->labels[r], probs, &pred);
        st = metrics_acc_add(x->acc, b->example_index[r], b->labels[r], probs, loss, err);
        if (st == FT_OK)
            st = eval_preds_add(x->preds, b->example_index[r], b->labels[r], pred, probs, err);
        x->tokens += b->lengths[r];
    }
    free(probs);
    return st;
}

static ft_status score_slice(eval_ctx *x, ft_error *err)
{
    uint64_t begin, end, B = (uint64_t)x->batch, done = 0;
    shard_slice(x->split.reader.rows, x->rank, x->size, &begin, &end);
    shard_cursor cur;
    shard_cursor_init(&cur, &x->split.reader, begin, end);
    shard_batch b;
    int32_t max_length = x->split.manifest.max_length;
    ft_status st =
        x->lm ? shard_batch_init_lm(&b, x->batch, max_length, x->split.manifest.packed, err)
              : shard_batch_init(&b, x->batch, max_length, err);
    uint64_t log_every = (end - begin) / 10 + 1, next_log = log_every;
    for (uint64_t row0 = begin - begin % B; row0 < end && st == FT_OK; row0 += B) {
        uint64_t lo = begin > row0 ? begin : row0, hi = end < row0 + B ? end : row0 + B;
        b.n = (int)(lo - row0);
        b.cap = (int)(hi - row0);
        st = shard_cursor_next(&cur, &b, err);
        if (st == FT_OK && b.n != b.cap)
            st = ft_fail(err, FT_ERUNTIME, "eval: the split ended early at row %lld",
                         (long long)(row0 + b.n));
        if (st == FT_OK) st = score_batch(x, &b, (int)(lo - row0), (int)(hi - row0), err);
        done += hi - lo;
        if (done >= next_log || hi == end) {
            ft_log_info("scored %lld of %lld examples on rank 0", (long long)done,
                        (long long)(end - begin));
            next_log = done + log_every;
        }
    }
    shard_batch_free(&b);
    shard_cursor_free(&cur);
    return st;
}

/* ---- the report ------------------------------------------------------------------ */

static ft_status write_report(eval_ctx *x, metrics_result *r, ft_error *err)
{
    const eval_options *o = x->opt;
    report_curves *curves = NULL;
    char **texts = ft_calloc_array((size_t)r->num_worst + 1, sizeof *texts);
    report_example *shown = ft_calloc_array((size_t)r->num_worst + 1, sizeof *shown);
    ft_status st = texts && shown ? FT_OK : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK && o->log_path) st = report_curves_read(o->log_path, &curves, err);
    if (st == FT_OK && eval_mistake_texts(&x->split, x->tok, r, texts, err) != FT_OK) {
        ft_log_warn("report: the texts of the mistakes are left out: %s", err->msg);
        ft_error_clear(err);
    }
    for (int i = 0; i < r->num_worst && st == FT_OK; i++)
        shown[i] = (report_example){r->worst[i].example_index, r->worst[i].true_label,
                                    r->worst[i].pred_label, r->worst[i].confidence, texts[i]};
    if (st == FT_OK) {
        report_input in = {.metrics = r,
                           .label_names = (const char *const *)x->split.manifest.labels,
                           .model_path = o->model_dir,
                           .manifest_fingerprint = x->split.fingerprint,
                           .command_line = o->command_line,
                           .precision = x->bf16 ? "bf16" : "float32",
                           .curves = curves,
                           .examples = shown,
                           .num_examples = r->num_worst};
        st = report_write_all(&in, o->output_dir, o->force, err);
    }
    for (int i = 0; texts && i < r->num_worst; i++) free(texts[i]);
    free(texts);
    free(shown);
    report_curves_free(curves);
    return st;
}

/* Reduce, compute (rank 0) and write; fills the summary on every rank. */
static ft_status finish(eval_ctx *x, eval_summary *sum, ft_error *err)
{
    ft_status st = metrics_reduce(x->acc, x->comm, err);
    double secs = x->seconds;
    int64_t tokens = x->tokens;
    MPI_Allreduce(&x->seconds, &secs, 1, MPI_DOUBLE, MPI_MAX, x->comm);
    MPI_Allreduce(&x->tokens, &tokens, 1, MPI_INT64_T, MPI_SUM, x->comm);
    metrics_result *r = NULL;
    double figures[5] = {0, 0, 0, 0, 0};
    if (st == FT_OK && x->rank == 0) st = metrics_compute(x->acc, &r, err);
    if (st == FT_OK && x->rank == 0) {
        r->eval_seconds = secs;
        r->examples_per_s = secs > 0 ? (double)r->num_examples / secs : NAN;
        r->tokens_per_s = secs > 0 ? (double)tokens / secs : NAN;
        st = write_report(x, r, err);
        figures[0] = (double)r->num_examples;
        figures[1] = r->accuracy;
        figures[2] = r->loss;
        figures[3] = secs;
        figures[4] = r->examples_per_s;
    }
    metrics_result_free(r);
    st = comm_agree(x->comm, st, err);
    MPI_Bcast(figures, 5, MPI_DOUBLE, 0, x->comm);
    if (sum)
        *sum = (eval_summary){.num_examples = (int64_t)figures[0],
                              .accuracy = figures[1],
                              .loss = figures[2],
                              .eval_seconds = figures[3],
                              .examples_per_s = figures[4]};
    return st;
}

/* A causal LM: reduce the exact sums, rank 0 writes the report. */
static ft_status finish_lm(eval_ctx *x, eval_summary *sum, ft_error *err)
{
    double secs = x->seconds;
    int64_t tokens = x->tokens;
    MPI_Allreduce(&x->seconds, &secs, 1, MPI_DOUBLE, MPI_MAX, x->comm);
    MPI_Allreduce(&x->tokens, &tokens, 1, MPI_INT64_T, MPI_SUM, x->comm);
    eval_lm_reduce(&x->lm_sum, x->comm);
    double loss = eval_lm_mean_loss(&x->lm_sum);
    const eval_split *s = &x->split;
    report_lm lm = {.num_rows = x->lm_sum.rows,
                    .num_examples = s->manifest.split_examples[s->split]
                                        ? (int64_t)s->manifest.split_examples[s->split]
                                        : x->lm_sum.rows,
                    .num_tokens = x->lm_sum.tokens,
                    .loss = loss,
                    .perplexity = exp(loss),
                    .eval_seconds = secs,
                    .tokens_per_s = secs > 0 ? (double)tokens / secs : NAN};
    ft_status st = FT_OK;
    if (x->rank == 0) {
        report_input in = {.lm = &lm,
                           .model_path = x->opt->model_dir,
                           .manifest_fingerprint = s->fingerprint,
                           .command_line = x->opt->command_line,
                           .precision = x->bf16 ? "bf16" : "float32"};
        st = report_write_all(&in, x->opt->output_dir, x->opt->force, err);
    }
    st = comm_agree(x->comm, st, err);
    if (sum)
        *sum = (eval_summary){.num_examples = lm.num_examples,
                              .accuracy = NAN,
                              .loss = loss,
                              .eval_seconds = secs,
                              .examples_per_s = secs > 0 ? (double)lm.num_rows / secs : NAN,
                              .causal_lm = true,
                              .num_tokens = lm.num_tokens,
                              .perplexity = lm.perplexity};
    return st;
}

ft_status eval_run(const eval_options *opt, MPI_Comm comm, eval_summary *summary, ft_error *err)
{
    eval_ctx x = {.opt = opt, .comm = comm};
    MPI_Comm_rank(comm, &x.rank);
    MPI_Comm_size(comm, &x.size);
    ft_status st = setup(&x, err);
    if (st == FT_OK) {
        ft_log_info("evaluating %s on the %s split of %s: %lld examples on %d rank(s), "
                    "batches of %d x %d tokens",
                    opt->model_dir, shard_split_name(x.split.split), opt->data_dir,
                    (long long)x.split.reader.rows, x.size, x.batch,
                    (int)x.split.manifest.max_length);
        MPI_Barrier(comm);
        double t0 = MPI_Wtime();
        st = score_slice(&x, err);
        x.seconds = MPI_Wtime() - t0;
        if (x.lm) {
            st = comm_agree(comm, st, err);
            if (st == FT_OK) st = finish_lm(&x, summary, err);
        } else {
            st = eval_preds_finish(x.preds, st, comm, err); /* collective; frees */
            x.preds = NULL;
            if (st == FT_OK) st = finish(&x, summary, err);
        }
    }
    eval_preds_abort(x.preds); /* setup failed on some rank after opening */
    teardown(&x);
    return st;
}
