/* bench_ckpt: time one checkpoint write or read through src/ckpt, the code
 * ftune-train uses, for bench_ckpt.sh to set against dd in the same run.
 *
 * usage: bench_ckpt write|read|async PATH [HIDDEN] [LAYERS]   (defaults 768 12:
 *        BERT-base, 2 labels, about 109.5M parameters)
 * write: a model with HF random weights and AdamW moments filled with
 *        non-zero values (derived from the weights, so no step is needed),
 *        written by ckpt_write (temp sibling, Fletcher32 chunks, fsync,
 *        rename, folder fsync).
 * read:  ckpt_read into a fresh model + optimizer of the same shape (every
 *        dataset read and checksummed into scratch buffers, then copied).
 * async: PATH is a folder; ckpt_async_start (what a training step waits
 *        for: the copy) and then the background write until ckpt_async_wait
 *        (PATH/checkpoint-100.h5); prints stall_s= too.
 * Model set-up is not timed. Prints one line: op=... bytes=... (the file's
 * size) seconds=... mb_s=... params=... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "model/model.h"
#include "optim/optim.h"
#include "bench_util.h"

/* The training state written with the model: step 100 of a 2-rank run. */
static ckpt_state bench_state(void)
{
    ckpt_state s = {.step = 100,
                    .optimizer_steps = 100,
                    .global_batch = 32,
                    .world_size = 2,
                    .seed = 42,
                    .loss_scale = 1.0,
                    .best_metric = 0.5,
                    .best_step = 100};
    strcpy(s.data_fingerprint, "00000000");
    return s;
}

static ft_status timed(bool write, const char *path, model *m, optim *o, double *sec, ft_error *err)
{
    ckpt_state s = bench_state();
    double t0 = bench_now_s();
    ft_status st = write ? ckpt_write(path, m, o, &s, err) : ckpt_read(path, m, o, &s, err);
    *sec = bench_now_s() - t0;
    if (!write) ckpt_state_free(&s);
    return st;
}

/* The background save: *stall until ckpt_async_start returns, *sec until
 * the file is written. */
static ft_status timed_async(const char *dir, model *m, optim *o, double *stall, double *sec,
                             ft_error *err)
{
    ckpt_state s = bench_state();
    ckpt_async *a = NULL;
    ft_status st = ckpt_async_create(&a, model_param_count(m), err);
    double t0 = bench_now_s();
    if (st == FT_OK) st = ckpt_async_start(a, dir, m, o, &s, 0, err);
    *stall = bench_now_s() - t0;
    if (st == FT_OK) st = ckpt_async_wait(a, err);
    *sec = bench_now_s() - t0;
    ckpt_async_free(a);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 3 ||
        (strcmp(argv[1], "write") && strcmp(argv[1], "read") && strcmp(argv[1], "async"))) {
        fprintf(stderr, "usage: bench_ckpt write|read|async PATH [HIDDEN] [LAYERS]\n");
        return 2;
    }
    bool async = strcmp(argv[1], "async") == 0;
    bool write = async || strcmp(argv[1], "write") == 0;
    int hidden = argc > 3 ? atoi(argv[3]) : 768, layers = argc > 4 ? atoi(argv[4]) : 12;
    if (hidden < 64 || hidden % 64 || layers < 1) {
        fprintf(stderr, "bench_ckpt: HIDDEN must be a multiple of 64, LAYERS >= 1\n");
        return 2;
    }
    model_config cfg = bench_model_config(MODEL_ARCH_BERT, hidden, layers, 0.0f);
    model *m = NULL;
    optim *o = NULL;
    ft_error err;
    optim_hparams h = optim_default_hparams(2e-5f);
    ft_status st = model_create(&m, &cfg, &err);
    if (st == FT_OK) st = optim_create(&o, m, &h, &err);
    double sec = 0, stall = 0;
    if (st == FT_OK) {
        size_t n = model_param_count(m);
        if (write) {
            model_init_random(m, 1);
            const float *p = model_params(m);
            float *a = optim_exp_avg(o), *v = optim_exp_avg_sq(o);
            for (size_t i = 0; i < n; i++) a[i] = 0.1f * p[i], v[i] = p[i] * p[i] + 1e-8f;
            optim_set_step_count(o, 100);
        }
        st = async ? timed_async(argv[2], m, o, &stall, &sec, &err)
                   : timed(write, argv[2], m, o, &sec, &err);
    }
    char *file = async ? ckpt_path(argv[2], 100) : strdup(argv[2]);
    struct stat sb;
    if (st == FT_OK && file && stat(file, &sb) == 0) {
        printf("op=%s bytes=%lld seconds=%.3f mb_s=%.1f params=%zu stall_s=%.3f\n", argv[1],
               (long long)sb.st_size, sec, (double)sb.st_size / 1e6 / sec, model_param_count(m),
               stall);
    } else if (st != FT_OK) {
        fprintf(stderr, "bench_ckpt: %s\n", err.msg);
    }
    free(file);
    optim_free(o);
    model_free(m);
    return st == FT_OK ? 0 : 1;
}
