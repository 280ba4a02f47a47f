/* bench_allreduce: the gradient all-reduce's share of a data-parallel
 * training step, on the code path ftune-train uses (src/comm + src/model).
 *
 * usage: mpirun -n R bench_allreduce [HIDDEN] [LAYERS] [BATCH] [SEQ] [STEPS] [WARMUP]
 *        [BUCKET_MB]   (defaults: 256 4 8 64 6 2 25)
 * A BERT encoder (heads = HIDDEN/64, intermediate 4 x HIDDEN, vocabulary
 * 30522, 2 labels, dropout 0.1) with random weights; every rank runs BATCH
 * rows of SEQ random tokens per step (weak scaling, like ftune-train's
 * per_device_train_batch_size). A step is what train_loop.c's train_step
 * does: zero grads, forward, comm_grads_begin + the grad-ready hook,
 * backward (buckets start and are poked between blocks), comm_grads_finish,
 * the 3-double step all-reduce, clipping, AdamW.
 * Per step: the wall time (max over ranks) and comm_take_seconds() (the
 * exposed all-reduce time: what overlap did not hide, which includes
 * waiting for a slower rank), averaged over ranks; medians over STEPS after
 * WARMUP. After the steps, the same bucketed all-reduce with no backward
 * to overlap (comm_grads_begin + comm_grads_finish after a barrier, median
 * of 5) gives its raw cost: exposed < alone means overlap hid some of it,
 * exposed > alone means waiting for a slower rank. Rank 0 prints one line of key=value pairs for bench_allreduce.sh. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/ft_error.h"
#include "model/model.h"
#include "optim/optim.h"
#include "core/rng.h"
#include "bench_util.h"

static void on_grads_ready(void *ctx, size_t offset) { comm_grads_ready(ctx, offset); }

typedef struct bench {
    model *m;
    optim *o;
    comm *c;
    int rank, world, B, T;
    int32_t *ids, *len, *lab;
    int64_t *idx;
} bench;

/* One step as train_step + the step's small all-reduce; returns seconds. */
static double one_step(bench *b, int s, double *exposed, ft_error *err)
{
    int B = b->B, T = b->T;
    for (int i = 0; i < B * T; i++)
        b->ids[i] =
            1000 + (int32_t)rng_below(3, (uint64_t)s, (uint64_t)(b->rank * B * T + i), 20000);
    for (int i = 0; i < B; i++) {
        b->len[i] = T;
        b->lab[i] = i % 2;
        b->idx[i] = ((int64_t)s * b->world + b->rank) * B + i;
    }
    model_batch x = {B, T, b->ids, b->len, b->lab, b->idx};
    model_dropout d = {true, 7, (uint64_t)s};
    double loss = 0, t0 = MPI_Wtime();
    model_zero_grads(b->m);
    if (model_forward(b->m, &x, &d, &loss, err) != FT_OK) return -1;
    comm_grads_begin(b->c, model_grads(b->m), 0, model_param_count(b->m));
    model_set_grad_ready_hook(b->m, on_grads_ready, b->c);
    model_backward(b->m, 1.0f);
    model_set_grad_ready_hook(b->m, NULL, NULL);
    comm_grads_finish(b->c);
    double sums[3] = {loss, (double)(B * T), 0};
    comm_sum_doubles(b->c, sums, 3);
    optim_clip_grad_norm(b->m, 1.0f);
    optim_step(b->o, b->m, 2e-5f);
    *exposed = comm_take_seconds(b->c);
    return MPI_Wtime() - t0;
}

/* The bucketed gradient all-reduce alone (comm_grads_begin + finish, no
 * backward to overlap with), after a barrier; max over ranks, median of 5. */
static double alone_seconds(bench *b)
{
    double t[5];
    for (int r = 0; r < 5; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        comm_grads_begin(b->c, model_grads(b->m), 0, model_param_count(b->m));
        comm_grads_finish(b->c);
        t[r] = MPI_Wtime() - t0;
        comm_take_seconds(b->c);
        MPI_Allreduce(MPI_IN_PLACE, &t[r], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    }
    return bench_median(t, 5);
}

static int run(bench *b, int steps, int warm)
{
    ft_error err;
    double *st = calloc((size_t)steps, sizeof *st), *ex = calloc((size_t)steps, sizeof *ex);
    if (!st || !ex) return 1;
    for (int s = 0; s < warm + steps; s++) {
        double e = 0, w = one_step(b, s, &e, &err);
        int bad = w < 0, any = 0;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        if (any) {
            if (bad) fprintf(stderr, "bench_allreduce: rank %d: %s\n", b->rank, err.msg);
            return 1;
        }
        double v[2] = {w, e / b->world};
        MPI_Allreduce(MPI_IN_PLACE, &v[0], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &v[1], 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        if (s >= warm) st[s - warm] = v[0], ex[s - warm] = v[1];
    }
    double alone = b->world > 1 ? alone_seconds(b) : 0.0;
    double mst = bench_median(st, steps), mex = bench_median(ex, steps);
    size_t n = model_param_count(b->m);
    if (b->rank == 0)
        printf("ranks=%d params=%zu grad_mb=%.1f batch=%d seq=%d steps=%d step_s=%.4f "
               "exposed_s=%.4f share_pct=%.1f alone_s=%.4f alone_gbps=%.2f\n",
               b->world, n, (double)n * 4 / 1e6, b->B, b->T, steps, mst, mex, 100.0 * mex / mst,
               alone, alone > 0 ? (double)n * 4 / 1e9 / alone : 0.0);
    free(st);
    free(ex);
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int a[7] = {256, 4, 8, 64, 6, 2, 25};
    for (int i = 1; i < argc && i <= 7; i++) a[i - 1] = atoi(argv[i]);
    bench b = {.B = a[2], .T = a[3]};
    MPI_Comm_rank(MPI_COMM_WORLD, &b.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &b.world);
    if (a[0] < 64 || a[0] % 64 || a[1] < 1 || b.B < 1 || b.T < 1 || b.T > 512 || a[4] < 1 ||
        a[5] < 0 || a[6] < 1) {
        if (b.rank == 0)
            fprintf(stderr, "usage: bench_allreduce [HIDDEN (multiple of 64)] [LAYERS] [BATCH] "
                            "[SEQ <= 512] [STEPS] [WARMUP] [BUCKET_MB]\n");
        MPI_Finalize();
        return 2;
    }
    model_config cfg = bench_model_config(MODEL_ARCH_BERT, a[0], a[1], 0.1f);
    ft_error err;
    optim_hparams h = optim_default_hparams(2e-5f);
    h.weight_decay = 0.01f;
    int rc = 1;
    size_t bucket = (size_t)a[6] * (1u << 20) / sizeof(float);
    if (model_create(&b.m, &cfg, &err) != FT_OK || model_plan(b.m, b.B, b.T, &err) != FT_OK ||
        optim_create(&b.o, b.m, &h, &err) != FT_OK ||
        comm_create(MPI_COMM_WORLD, bucket, &b.c, &err) != FT_OK) {
        fprintf(stderr, "bench_allreduce: %s\n", err.msg);
    } else {
        model_init_random(b.m, 1);
        b.ids = malloc((size_t)b.B * (size_t)b.T * sizeof *b.ids);
        b.len = malloc((size_t)b.B * sizeof *b.len);
        b.lab = malloc((size_t)b.B * sizeof *b.lab);
        b.idx = malloc((size_t)b.B * sizeof *b.idx);
        rc = b.ids && b.len && b.lab && b.idx ? run(&b, a[4], a[5]) : 1;
    }
    free(b.ids);
    free(b.len);
    free(b.lab);
    free(b.idx);
    comm_free(b.c);
    optim_free(b.o);
    model_free(b.m);
    MPI_Finalize();
    return rc;
}
