/* comm (MPI, 1/2/4 ranks): the bucketed gradient all-reduce against one
 * MPI_Allreduce, and the plug-in engine interface (comm_use_grad_engine)
 * that the NCCL engine uses: which buckets comm hands over, when, and in
 * what order. The engine here is a real reducer on host memory (a blocking
 * MPI_Allreduce then * 1/ranks, like the NCCL engine) that also records
 * every call, so the bucket plan is checked exactly. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "comm/comm.h"
#include "core/rng.h"

enum { N = 50021, LO = 777, BUCKET = 1000, CHUNK = 3001, MAX_CALLS = 256 };

typedef struct recorder {
    MPI_Comm mpi;
    int ranks;
    const float *base;
    size_t ready, prev_ready; /* the last two comm_grads_ready offsets */
    size_t bottom[MAX_CALLS], n[MAX_CALLS];
    size_t ready_at[MAX_CALLS], prev_at[MAX_CALLS]; /* when each bucket started */
    int starts, finishes, starts_at_finish;
} recorder;

static void rec_start(void *ctx, float *bucket, size_t n)
{
    recorder *r = ctx;
    if (r->starts < MAX_CALLS) {
        r->bottom[r->starts] = (size_t)(bucket - r->base);
        r->n[r->starts] = n;
        r->ready_at[r->starts] = r->ready;
        r->prev_at[r->starts] = r->prev_ready;
    }
    r->starts++;
    MPI_Allreduce(MPI_IN_PLACE, bucket, (int)n, MPI_FLOAT, MPI_SUM, r->mpi);
    float inv = 1.0f / (float)r->ranks;
    for (size_t i = 0; i < n; i++) bucket[i] *= inv;
}

static void rec_finish(void *ctx)
{
    recorder *r = ctx;
    r->finishes++;
    r->starts_at_finish = r->starts;
}

static const comm_grad_engine rec_engine = {"recorder", rec_start, rec_finish};

static float *make_grads(int rank)
{
    float *g = malloc(N * sizeof *g);
    for (size_t i = 0; i < N; i++) g[i] = rng_normal(3, (uint64_t)rank, i) * (float)(1 + i % 7);
    return g;
}

/* Backward in chunks from the top, telling comm (and r, if any) each time. */
static void reduce(comm *c, float *g, recorder *r)
{
    comm_grads_begin(c, g, LO, N);
    for (size_t top = N, bottom; top > 0; top = bottom) {
        bottom = top > CHUNK ? top - CHUNK : 0;
        if (r) {
            r->prev_ready = r->ready;
            r->ready = bottom;
        }
        comm_grads_ready(c, bottom);
    }
    comm_grads_finish(c);
}

/* Elements of [lo, hi) where a and b differ (bitwise, or beyond rel_tol). */
static size_t differences(const float *a, const float *b, size_t lo, size_t hi, double tol)
{
    size_t bad = 0;
    for (size_t i = lo; i < hi; i++) {
        if (tol == 0)
            bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        else
            bad += !(fabs((double)a[i] - b[i]) <= tol * fmax(1e-3, fabs((double)b[i])));
    }
    return bad;
}

/* MPI path: == one MPI_Allreduce of [LO, N) times 1/ranks; [0, LO) kept. */
static void test_mpi_path(int rank, int ranks, float *want)
{
    comm *c = NULL;
    ft_error err;
    CHECK(comm_create(MPI_COMM_WORLD, BUCKET, &c, &err) == FT_OK);
    CHECK(comm_grad_engine_current(c) == NULL);
    float *g = make_grads(rank), *mine = make_grads(rank);
    memcpy(want, mine, N * sizeof *want);
    MPI_Allreduce(MPI_IN_PLACE, want + LO, N - LO, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    for (size_t i = LO; i < N; i++) want[i] *= 1.0f / (float)ranks;
    reduce(c, g, NULL);
    double tol = ranks <= 2 ? 0.0 : 1e-5; /* 4 ranks: MPI's order may differ */
    CHECK_EQ_INT(differences(g, want, LO, N, tol), 0);
    CHECK_EQ_INT(differences(g, mine, 0, LO, 0.0), 0);
    double s = comm_take_seconds(c);
    CHECK(s >= 0.0 && (ranks == 1 || s > 0.0));
    CHECK(comm_take_seconds(c) == 0.0); /* taken: reset */
    free(g);
    free(mine);
    comm_free(c);
}

/* The plan: top first, contiguous, each float once, BUCKET wide except the
 * lowest, started as soon as (and not before) its bottom was ready. */
static void check_plan(const recorder *r)
{
    int want_buckets = (N - LO + BUCKET - 1) / BUCKET;
    CHECK_EQ_INT(r->starts, want_buckets);
    CHECK_EQ_INT(r->finishes, 1);
    CHECK_EQ_INT(r->starts_at_finish, want_buckets);
    size_t top = N;
    for (int i = 0; i < r->starts && i < MAX_CALLS; i++) {
        CHECK_EQ_INT(r->bottom[i] + r->n[i], top);
        CHECK(r->n[i] == BUCKET || (i == r->starts - 1 && r->bottom[i] == LO));
        CHECK_MSG(r->bottom[i] >= r->ready_at[i], "bucket %d [%zu,+%zu) before ready %zu", i,
                  r->bottom[i], r->n[i], r->ready_at[i]);
        /* not late: at the previous ready offset it was not final yet */
        CHECK_MSG(r->bottom[i] < r->prev_at[i], "bucket %d [%zu,+%zu) started late", i,
                  r->bottom[i], r->n[i]);
        top = r->bottom[i];
    }
    CHECK_EQ_INT(top, LO);
}

static void test_engine(int rank, int ranks, const float *want)
{
    comm *c = NULL;
    ft_error err;
    CHECK(comm_create(MPI_COMM_WORLD, BUCKET, &c, &err) == FT_OK);
    recorder r;
    memset(&r, 0, sizeof r);
    r.mpi = MPI_COMM_WORLD;
    r.ranks = ranks;
    float *g = make_grads(rank);
    r.base = g;
    r.ready = N;
    comm_use_grad_engine(c, &rec_engine, &r);
    CHECK(comm_grad_engine_current(c) == &rec_engine);
    reduce(c, g, &r);
    check_plan(&r);
    CHECK_EQ_INT(differences(g, want, 0, N, ranks <= 2 ? 0.0 : 1e-5), 0);
    /* An empty range: finish still called, no bucket started. */
    comm_grads_begin(c, g, N, N);
    comm_grads_finish(c);
    CHECK_EQ_INT(r.finishes, 2);
    CHECK_EQ_INT(r.starts, (N - LO + BUCKET - 1) / BUCKET);
    /* Back to MPI: the engine is not called any more. */
    comm_use_grad_engine(c, NULL, &r);
    CHECK(comm_grad_engine_current(c) == NULL);
    reduce(c, g, NULL);
    CHECK_EQ_INT(r.finishes, 2);
    free(g);
    comm_free(c);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    float *want = malloc(N * sizeof *want);
    test_mpi_path(rank, ranks, want);
    test_engine(rank, ranks, want);
    free(want);
    int failed = check_finish();
    MPI_Finalize();
    return failed;
}
