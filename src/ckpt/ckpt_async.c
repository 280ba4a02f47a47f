/* ckpt_async: checkpoints written by a background thread (see ckpt.h).
 *
 * Why: a save blocks every rank (they wait for rank 0's status), and on a GPU
 * node a BERT-base checkpoint (1.3 GB at disk speed, seconds) costs as much
 * as a hundred training steps. The thread owns copies, so training may change
 * the model while the file is written; exact resume is unaffected because
 * the copies are taken at the step being saved. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "core/ft_alloc.h"
#include "core/ft_log.h"

struct ckpt_async {
    size_t n;
    float *copy[3]; /* parameters, exp_avg, exp_avg_sq */
    bool has_moments;
    pthread_t thread;
    bool running;
    /* the write in flight */
    const model *m;
    ckpt_state s; /* config_json owned here */
    char *dir;
    int keep;
    ft_error err; /* its outcome, read after the join */
};

ft_status ckpt_async_create(ckpt_async **out, size_t n, ft_error *err)
{
    *out = NULL;
    ckpt_async *a = ft_calloc_array(1, sizeof *a);
    if (!a) return ft_fail(err, FT_ENOMEM, "out of memory");
    a->n = n;
    for (int i = 0; i < 3; i++) a->copy[i] = ft_calloc_large(n, sizeof(float));
    if (!a->copy[0] || !a->copy[1] || !a->copy[2]) {
        ckpt_async_free(a);
        return ft_fail(err, FT_ENOMEM,
                       "checkpoint: cannot allocate the copies of %zu "
                       "parameters for background saving (save_async false avoids them)",
                       n);
    }
    /* Touch every page now, at set-up: the first save would otherwise pay
     * the page faults while every rank waits. */
    for (int i = 0; i < 3; i++) memset(a->copy[i], 0, n * sizeof(float));
    *out = a;
    return FT_OK;
}

/* Seconds on a monotonic clock: the thread makes no MPI calls (train_main
 * asks only for MPI_THREAD_FUNNELED), so not MPI_Wtime. */
static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *write_job(void *arg)
{
    ckpt_async *a = arg;
    double t0 = now_seconds();
    ft_error_clear(&a->err);
    char *path = ckpt_path(a->dir, a->s.step);
    const float *bufs[3] = {a->copy[0], a->has_moments ? a->copy[1] : NULL,
                            a->has_moments ? a->copy[2] : NULL};
    ft_status st = path ? ckpt_write_buffers(path, a->m, bufs, &a->s, &a->err)
                        : ft_fail(&a->err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = ckpt_set_latest(a->dir, a->s.step, &a->err);
    if (st == FT_OK) st = ckpt_prune(a->dir, a->keep, a->s.step, a->s.best_step, &a->err);
    if (st == FT_OK)
        ft_log_info("saved %s in %.2f s (in the background)", path, now_seconds() - t0);
    free(path);
    return NULL;
}

/* Free what a write owns (after it ended, or when it never started). */
static void release_job(ckpt_async *a)
{
    free(a->dir);
    free(a->s.config_json);
    a->dir = a->s.config_json = NULL;
}

ft_status ckpt_async_wait(ckpt_async *a, ft_error *err)
{
    if (!a || !a->running) return FT_OK;
    pthread_join(a->thread, NULL);
    a->running = false;
    release_job(a);
    if (a->err.code != FT_OK) {
        *err = a->err;
        return a->err.code;
    }
    return FT_OK;
}

ft_status ckpt_async_start(ckpt_async *a, const char *dir, const model *m, optim *o,
                           const ckpt_state *s, int keep, ft_error *err)
{
    ft_status st = ckpt_async_wait(a, err);
    if (st != FT_OK) return st;
    size_t bytes = a->n * sizeof(float);
    memcpy(a->copy[0], model_params_read(m), bytes);
    a->has_moments = o != NULL;
    if (o) {
        memcpy(a->copy[1], optim_exp_avg(o), bytes);
        memcpy(a->copy[2], optim_exp_avg_sq(o), bytes);
    }
    a->m = m;
    a->s = *s;
    a->s.config_json = s->config_json ? ft_strdup(s->config_json) : NULL;
    a->dir = ft_strdup(dir);
    a->keep = keep;
    if (!a->dir || (s->config_json && !a->s.config_json)) {
        release_job(a);
        return ft_fail(err, FT_ENOMEM, "out of memory");
    }
    if (pthread_create(&a->thread, NULL, write_job, a) != 0) {
        release_job(a);
        return ft_fail(err, FT_EIO, "checkpoint: cannot start the writing thread");
    }
    a->running = true;
    return FT_OK;
}

void ckpt_async_free(ckpt_async *a)
{
    if (!a) return;
    ft_error e;
    ft_error_clear(&e);
    if (ckpt_async_wait(a, &e) != FT_OK) ft_log_error("%s", e.msg);
    for (int i = 0; i < 3; i++) ft_free_large(a->copy[i], a->n, sizeof(float));
    free(a);
}
