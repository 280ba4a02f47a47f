/* train_ckpt.c: resume and save for train_run. Rank 0 reads or writes the
 * file; the other ranks get the weights, moments and state by broadcast, so
 * every replica starts from the same bytes. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "train_impl.h"

/* What the ranks share after rank 0 has read a checkpoint. */
typedef struct resume_msg {
    int status, found;
    int64_t step, optimizer_steps, global_batch, loss_scale_good_steps;
    double best_metric, loss_scale;
    int64_t best_step;
    char path[512];
    ft_error err;
} resume_msg;

/* The checkpoints already in output_dir must be this run's, whichever file
 * the resume reads: a resume from elsewhere would go on saving here, and
 * retention would delete the other run's files. The newest whose attributes
 * read is checked, before any tensor is loaded. */
static ft_status check_folder(train_ctx *t, ft_error *err)
{
    int64_t *steps = NULL;
    int n = 0;
    ft_status st = ckpt_list(t->o.output_dir, &steps, &n, err);
    bool checked = false;
    for (int i = 0; st == FT_OK && i < n && !checked; i++) {
        char *path = ckpt_path(t->o.output_dir, steps[i]);
        ckpt_state s = {0};
        ft_error e;
        if (!path)
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else if (ckpt_read_state(path, &s, &e) == FT_OK) {
            checked = true;
            st = train_identity_check(t, path, &s, false, err);
        }
        ckpt_state_free(&s);
        free(path);
    }
    free(steps);
    return st;
}

/* resume auto: the newest checkpoint of output_dir that verifies, if any. */
static ft_status load_auto(train_ctx *t, resume_msg *r, ckpt_state *s, bool *found)
{
    int64_t step = -1;
    ft_status st = ckpt_load_newest(t->o.output_dir, t->m, t->opt, s, found, &step, &r->err);
    if (*found) {
        char *p = ckpt_path(t->o.output_dir, step);
        snprintf(r->path, sizeof r->path, "%s", p ? p : "?");
        free(p);
        /* Usually the file check_folder read; not when that one was damaged. */
        if (st == FT_OK) st = train_identity_check(t, r->path, s, false, &r->err);
    }
    return st;
}

/* resume FILE: that checkpoint, which must be this run's. */
static ft_status load_named(train_ctx *t, resume_msg *r, ckpt_state *s, bool *found)
{
    ft_status st = ckpt_read(t->o.resume, t->m, t->opt, s, &r->err);
    if (st != FT_OK) {
        ft_error_prefix(&r->err, "key 'resume'");
        return FT_EINVAL;
    }
    snprintf(r->path, sizeof r->path, "%s", t->o.resume);
    st = train_identity_check(t, t->o.resume, s, true, &r->err);
    *found = st == FT_OK;
    return st;
}

/* A final/ with no checkpoint beside it is a finished run that saved none
 * (save_strategy no): it has no fingerprint to compare, and starting afresh
 * would overwrite its model and truncate its log.jsonl. Refused; a run that
 * stopped before its first checkpoint has no final/ and starts again. */
static ft_status refuse_unfingerprinted_final(const train_ctx *t, ft_error *err)
{
    char *final = ft_path_join(t->o.output_dir, "final");
    if (!final) return ft_fail(err, FT_ENOMEM, "out of memory");
    bool exists = ft_is_dir(final);
    free(final);
    if (!exists) return FT_OK;
    return ft_fail(err, FT_EEXIST,
                   "output_dir %s holds the final/ model of an earlier run and no "
                   "checkpoint to tell whether it is this run: use another output_dir, or move "
                   "final/ and log.jsonl away to train here again",
                   t->o.output_dir);
}

static void read_on_rank0(train_ctx *t, resume_msg *r, ckpt_state *s)
{
    bool found = false;
    ft_status st = check_folder(t, &r->err);
    if (st == FT_OK && strcmp(t->o.resume, "auto") == 0)
        st = load_auto(t, r, s, &found);
    else if (st == FT_OK)
        st = load_named(t, r, s, &found);
    if (st == FT_OK && !found) st = refuse_unfingerprinted_final(t, &r->err);
    r->status = st;
    r->found = found;
    if (!found) return;
    r->step = s->step;
    r->optimizer_steps = s->optimizer_steps;
    r->global_batch = s->global_batch;
    r->best_metric = s->best_metric;
    r->best_step = s->best_step;
    r->loss_scale = s->loss_scale;
    r->loss_scale_good_steps = s->loss_scale_good_steps;
}

/* The same global batch as the checkpoint's: keep the per-device batch,
 * change the accumulation (the data order then stays the same). */
static ft_status match_global_batch(train_ctx *t, int64_t global_batch, ft_error *err)
{
    int64_t per_rank = (int64_t)t->o.per_device_train_batch_size * t->world;
    if (global_batch == per_rank * t->accumulation) return FT_OK;
    if (global_batch % per_rank != 0)
        return ft_fail(err, FT_EINVAL,
                       "the checkpoint's global batch is %" PRId64
                       " but per_device_train_batch_size "
                       "%d x %d ranks does not divide it: choose a per-device batch that does",
                       global_batch, t->o.per_device_train_batch_size, t->world);
    int a = (int)(global_batch / per_rank);
    if (t->rank == 0)
        ft_log_warn("resuming on %d ranks: gradient_accumulation_steps %d -> %d to keep the "
                    "checkpoint's global batch of %" PRId64,
                    t->world, t->accumulation, a, global_batch);
    t->accumulation = a;
    return FT_OK;
}

/* --resume never into a folder with checkpoints would mix two runs: a later
 * requeue (resume auto) could pick the old run's newest checkpoint, and
 * retention would count its files. Refuse, so nothing there is lost either. */
static ft_status refuse_old_checkpoints(train_ctx *t, ft_error *err)
{
    int n = 0;
    ft_error e;
    ft_error_clear(&e);
    if (t->rank == 0) {
        int64_t *steps = NULL;
        e.code = ckpt_list(t->o.output_dir, &steps, &n, &e);
        free(steps);
        if (e.code == FT_OK && n > 0)
            e.code = ft_fail(&e, FT_EEXIST,
                             "output_dir %s already holds %d checkpoint(s) of "
                             "an earlier run: with --resume never use an empty output_dir "
                             "(or --resume auto to continue that run)",
                             t->o.output_dir, n);
        if (e.code == FT_OK && n == 0) e.code = refuse_unfingerprinted_final(t, &e);
    }
    return train_share_status(t, e.code, &e, err);
}

ft_status train_resume(train_ctx *t, ft_error *err)
{
    t->step = 0;
    if (strcmp(t->o.resume, "never") == 0) return refuse_old_checkpoints(t, err);
    resume_msg r;
    memset(&r, 0, sizeof r);
    ckpt_state s = {0};
    if (t->rank == 0) read_on_rank0(t, &r, &s);
    ckpt_state_free(&s);
    MPI_Bcast(&r, (int)sizeof r, MPI_BYTE, 0, comm_mpi(t->comm));
    if (r.status != FT_OK) {
        *err = r.err;
        return (ft_status)r.status;
    }
    /* Another dataset is one of the differences train_identity_check names. */
    if (!r.found) return FT_OK;
    size_t n = model_param_count(t->m) * sizeof(float);
    comm_bcast(t->comm, model_params(t->m), n, 0);
    comm_bcast(t->comm, optim_exp_avg(t->opt), n, 0);
    comm_bcast(t->comm, optim_exp_avg_sq(t->opt), n, 0);
    optim_set_step_count(t->opt, (long)r.optimizer_steps);
    t->step = r.step;
    t->best_metric = r.best_metric;
    t->best_step = r.best_step;
    /* A run that switches fp16 on starts the scale afresh (a run without
     * loss scaling saved 0); any scale an fp16 run saved, however low it
     * has fallen, is taken back. */
    if (t->scaler.enabled && r.loss_scale > 0.0) {
        t->scaler.scale = r.loss_scale;
        t->scaler.good_steps = r.loss_scale_good_steps;
    }
    if (t->rank == 0)
        ft_log_info("resumed from %s at step %" PRId64 " on %d ranks", r.path, r.step, t->world);
    return match_global_batch(t, r.global_batch, err);
}

/* Best checkpoint bookkeeping: an eval at this very step competes. */
void train_update_best(train_ctx *t)
{
    double v = t->last_eval_metric;
    if (isnan(v)) return;
    bool better =
        isnan(t->best_metric) || (t->o.greater_is_better ? v > t->best_metric : v < t->best_metric);
    if (!better) return;
    t->best_metric = v;
    t->best_step = t->step;
}

static ckpt_state save_state(const train_ctx *t)
{
    ckpt_state s = {0};
    s.step = t->step;
    s.epoch = (int64_t)sampler_epoch(&t->smp, (uint64_t)t->step);
    s.step_in_epoch = (int64_t)sampler_step_in_epoch(&t->smp, (uint64_t)t->step);
    s.optimizer_steps = optim_step_count(t->opt);
    s.global_batch = (int64_t)t->smp.global_batch;
    s.world_size = t->world;
    s.seed = t->o.seed;
    s.loss_scale = t->scaler.enabled ? t->scaler.scale : 0.0; /* 0: no loss scaling */
    s.loss_scale_good_steps = t->scaler.good_steps;
    s.best_metric = t->best_metric;
    s.best_step = t->best_step;
    s.config_json = t->config_json;
    snprintf(s.data_fingerprint, sizeof s.data_fingerprint, "%s", t->data_fingerprint);
    snprintf(s.run_fingerprint, sizeof s.run_fingerprint, "%s", t->run_fingerprint);
    return s;
}

static ft_status save_on_rank0(train_ctx *t, ft_error *err)
{
    ckpt_state s = save_state(t);
    char *path = ckpt_path(t->o.output_dir, t->step);
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    double t0 = MPI_Wtime();
    ft_status st = ckpt_write(path, t->m, t->opt, &s, err);
    if (st == FT_OK) st = ckpt_set_latest(t->o.output_dir, t->step, err);
    if (st == FT_OK)
        st = ckpt_prune(t->o.output_dir, t->o.save_total_limit, t->step, t->best_step, err);
    if (st == FT_OK) ft_log_info("saved %s in %.2f s", path, MPI_Wtime() - t0);
    free(path);
    return st;
}

/* Rank 0's part of a save: blocking, or a copy handed to the writer. */
static ft_status save_rank0(train_ctx *t, bool wait, ft_error *err)
{
    if (!t->saver) return save_on_rank0(t, err);
    if (wait) {
        ft_status st = ckpt_async_wait(t->saver, err);
        return st == FT_OK ? save_on_rank0(t, err) : st;
    }
    ckpt_state s = save_state(t);
    double t0 = MPI_Wtime();
    ft_status st =
        ckpt_async_start(t->saver, t->o.output_dir, t->m, t->opt, &s, t->o.save_total_limit, err);
    if (st == FT_OK)
        ft_log_info("checkpoint of step %" PRId64 ": copied in %.2f s, writing in the background",
                    t->step, MPI_Wtime() - t0);
    return st;
}

/* Every rank gets rank 0's status of `st`. */
ft_status train_share_status(train_ctx *t, ft_status st, ft_error *e, ft_error *err)
{
    e->code = st;
    MPI_Bcast(e, (int)sizeof *e, MPI_BYTE, 0, comm_mpi(t->comm));
    if (e->code != FT_OK) *err = *e;
    return e->code;
}

ft_status train_save(train_ctx *t, bool wait, ft_error *err)
{
    train_update_best(t);
    ft_error e;
    ft_error_clear(&e);
    ft_status st = t->rank == 0 ? save_rank0(t, wait, &e) : FT_OK;
    return train_share_status(t, st, &e, err);
}

ft_status train_save_wait(train_ctx *t, ft_error *err)
{
    ft_error e;
    ft_error_clear(&e);
    ft_status st = t->rank == 0 ? ckpt_async_wait(t->saver, &e) : FT_OK;
    return train_share_status(t, st, &e, err);
}
