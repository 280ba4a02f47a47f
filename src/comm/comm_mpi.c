/* comm_mpi.c: the implementation of comm.h: the bucket plan of the gradient
 * all-reduce started during backward, reduced by MPI (non-blocking, in
 * place) or by a plugged-in engine (comm_grad_engine, e.g. NCCL). */
#include "comm/comm.h"

#include <limits.h>
#include <stdlib.h>

#include "core/ft_alloc.h"

enum { COMM_MAX_BUCKETS = 4096 };

struct comm {
    MPI_Comm mpi;
    int rank, size;
    size_t bucket_floats;
    float *buf;
    size_t lo, hi;   /* the range being reduced */
    size_t next_top; /* buckets cover [next_top, hi) already started */
    int n_req;
    MPI_Request req[COMM_MAX_BUCKETS];
    double seconds;
    const comm_grad_engine *engine; /* NULL: MPI */
    void *engine_ctx;
    bool reducing; /* between comm_grads_begin and _finish */
};

ft_status comm_create(MPI_Comm comm_world, size_t bucket_floats, comm **out, ft_error *err)
{
    *out = NULL;
    if (bucket_floats == 0 || bucket_floats > INT_MAX)
        return ft_fail(err, FT_EINVAL, "comm: bucket size %zu floats out of range", bucket_floats);
    comm *c = ft_calloc_array(1, sizeof *c);
    if (!c) return ft_fail(err, FT_ENOMEM, "comm: out of memory");
    c->mpi = comm_world;
    MPI_Comm_rank(comm_world, &c->rank);
    MPI_Comm_size(comm_world, &c->size);
    c->bucket_floats = bucket_floats;
    *out = c;
    return FT_OK;
}

void comm_free(comm *c) { free(c); }

MPI_Comm comm_mpi(const comm *c) { return c->mpi; }

void comm_use_grad_engine(comm *c, const comm_grad_engine *e, void *ctx)
{
    FT_CHECK(!c->reducing && (!e || (e->start && e->finish)));
    c->engine = e;
    c->engine_ctx = e ? ctx : NULL;
}

const comm_grad_engine *comm_grad_engine_current(const comm *c) { return c->engine; }

/* Whether gradient reductions do anything: MPI skips a one-rank world. */
static bool comm_reduces(const comm *c) { return c->engine || c->size > 1; }

void comm_grads_begin(comm *c, float *buf, size_t lo, size_t hi)
{
    FT_CHECK(c->n_req == 0 && !c->reducing && lo <= hi);
    c->reducing = true;
    c->buf = buf;
    c->lo = lo;
    c->hi = hi;
    c->next_top = hi;
    /* Buckets are cut from the top; make sure they fit the request table. */
    size_t per = c->bucket_floats;
    while ((hi - lo + per - 1) / per > COMM_MAX_BUCKETS) per *= 2;
    c->bucket_floats = per;
}

/* Start the bucket just below next_top (never below c->lo). */
static void start_bucket(comm *c)
{
    size_t top = c->next_top;
    size_t bottom = top - c->lo > c->bucket_floats ? top - c->bucket_floats : c->lo;
    c->next_top = bottom;
    if (c->engine) {
        c->engine->start(c->engine_ctx, c->buf + bottom, top - bottom);
        return;
    }
    int rc = MPI_Iallreduce(MPI_IN_PLACE, c->buf + bottom, (int)(top - bottom), MPI_FLOAT, MPI_SUM,
                            c->mpi, &c->req[c->n_req++]);
    FT_CHECK_MSG(rc == MPI_SUCCESS, "MPI_Iallreduce of a gradient bucket");
}

void comm_grads_ready(comm *c, size_t offset)
{
    FT_CHECK(c->reducing);
    if (!comm_reduces(c)) return;
    double t0 = MPI_Wtime();
    if (offset < c->lo) offset = c->lo;
    /* A bucket starts when its bottom is final. */
    while (c->next_top > c->lo) {
        size_t bottom =
            c->next_top - c->lo > c->bucket_floats ? c->next_top - c->bucket_floats : c->lo;
        if (bottom < offset) break;
        start_bucket(c);
    }
    if (c->n_req > 0) {
        int done = 0;
        MPI_Testall(c->n_req, c->req, &done, MPI_STATUSES_IGNORE);
    }
    c->seconds += MPI_Wtime() - t0;
}

/* MPI's end of a reduction: wait for every bucket, then sum -> mean. */
static void wait_and_average(comm *c)
{
    int rc = MPI_Waitall(c->n_req, c->req, MPI_STATUSES_IGNORE);
    FT_CHECK_MSG(rc == MPI_SUCCESS, "MPI_Waitall of the gradient buckets");
    c->n_req = 0;
    float inv = 1.0f / (float)c->size;
    float *g = c->buf;
    for (size_t i = c->lo; i < c->hi; i++) g[i] *= inv;
}

void comm_grads_finish(comm *c)
{
    FT_CHECK(c->reducing);
    c->reducing = false;
    if (!comm_reduces(c)) return;
    double t0 = MPI_Wtime();
    while (c->next_top > c->lo) start_bucket(c);
    if (c->engine)
        c->engine->finish(c->engine_ctx); /* the engine averages */
    else
        wait_and_average(c);
    c->seconds += MPI_Wtime() - t0;
}

double comm_take_seconds(comm *c)
{
    double s = c->seconds;
    c->seconds = 0;
    return s;
}

void comm_sum_doubles(comm *c, double *v, int n)
{
    if (c->size == 1) return;
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, c->mpi);
    FT_CHECK_MSG(rc == MPI_SUCCESS, "MPI_Allreduce of a small sum");
}

void comm_bcast(comm *c, void *data, size_t bytes, int root)
{
    if (c->size == 1) return;
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < bytes; off += chunk) {
        size_t n = bytes - off < chunk ? bytes - off : chunk;
        int rc = MPI_Bcast((char *)data + off, (int)n, MPI_BYTE, root, c->mpi);
        FT_CHECK_MSG(rc == MPI_SUCCESS, "MPI_Bcast");
    }
}
