/* comm: what data-parallel training needs from the processes: the gradient
 * all-reduce, small agreements (the stop flag, loss sums) and broadcasts.
 *
 * Design: the gradient buffer is one contiguous array (model.h), cut into
 * buckets of bucket_floats from its END, because backward produces the
 * gradients of the head first and of the embeddings last. During backward
 * the model reports (model_set_grad_ready_hook) the lowest offset from which
 * every gradient is final; comm_grads_ready then starts a non-blocking
 * all-reduce (MPI_Iallreduce, in place, sum) for each bucket that lies
 * entirely above it and pokes the ones in flight (MPI_Testall) so Open MPI,
 * which has no progress thread, moves them on while the next block's
 * backward runs. comm_grads_finish starts what is left, waits, and divides
 * by the number of ranks. Only the range [lo, hi) given to comm_grads_begin
 * is reduced: frozen tensors sit below the trainable ones, so their zeros
 * are never sent.
 *
 * Sums are in float, in MPI's own order; with 2 ranks a + b == b + a, so the
 * result is the same on both ranks and from run to run (what exact resume
 * needs). Small reductions are in double.
 *
 * A device reducer plugs in underneath (comm_use_grad_engine): the same
 * buckets, cut at the same offsets and started at the same moments, are
 * handed to the engine instead of MPI, e.g. the NCCL engine
 * (comm_nccl.h, a CUDA build's) when the gradients live on a GPU. Without one the
 * MPI path runs unchanged. comm_mpi.c is the implementation.
 * Not here: what the gradients are (model), clipping (optim). */
#ifndef COMM_H
#define COMM_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/ft_error.h"

typedef struct comm comm;

/* Wrap comm_world (not duplicated; MPI stays the caller's). bucket_floats
 * > 0 is the bucket size in floats. */
ft_status comm_create(MPI_Comm comm_world, size_t bucket_floats, comm **out, ft_error *err);
void comm_free(comm *c);

MPI_Comm comm_mpi(const comm *c);

/* Start a gradient reduction of buf[lo, hi). */
void comm_grads_begin(comm *c, float *buf, size_t lo, size_t hi);
/* Gradients at offsets >= offset are final: start their buckets. */
void comm_grads_ready(comm *c, size_t offset);
/* Start the rest, wait for all, scale by 1/size. */
void comm_grads_finish(comm *c);
/* Seconds spent inside comm_grads_* since the last call (the exposed
 * communication time of a step: what overlap did not hide). With an engine
 * that does not block (NCCL), only the host's cost of starting buckets. */
double comm_take_seconds(comm *c);

/* A gradient reducer for buffers MPI cannot (or should not) touch, e.g.
 * GPU memory. comm keeps the bucket plan; the engine moves the bytes.
 *   start(ctx, bucket, n): bucket[0, n) is final on this rank (in the order
 *     of the work queued before the call); start an in-place all-reduce whose
 *     result is the MEAN over the ranks. Called top bucket first, each
 *     offset once per reduction. Must not block on the reduction.
 *   finish(ctx): every started bucket is reduced before any later work that
 *     uses the gradients (on a GPU: the compute stream waits; the host need
 *     not). Called once per reduction, after the last start.
 * Engines are called at every world size (a one-rank reduction is cheap and
 * keeps the path the same); the MPI path skips one-rank reductions. */
typedef struct comm_grad_engine {
    const char *name;
    void (*start)(void *ctx, float *bucket, size_t n);
    void (*finish)(void *ctx);
} comm_grad_engine;

/* Reduce gradients through e (with its ctx) from now on; e == NULL goes back
 * to MPI. e and ctx must outlive their use; not during a reduction. */
void comm_use_grad_engine(comm *c, const comm_grad_engine *e, void *ctx);
/* The engine in use, or NULL for MPI. */
const comm_grad_engine *comm_grad_engine_current(const comm *c);

/* In-place sum of n doubles over all ranks (blocking). */
void comm_sum_doubles(comm *c, double *v, int n);
/* Broadcast bytes from root (in chunks below 2 GiB). */
void comm_bcast(comm *c, void *data, size_t bytes, int root);

#endif
