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
 * The same interface is meant for NCCL on GPUs (ncclAllReduce on a stream
 * per bucket); this file is the MPI implementation.
 * Not here: what the gradients are (model), clipping (optim). */
#ifndef COMM_H
#define COMM_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>

#include "ft_error.h"

typedef struct comm comm;

/* Wrap comm_world (not duplicated; MPI stays the caller's). bucket_floats
 * > 0 is the bucket size in floats. */
ft_status comm_create(MPI_Comm comm_world, size_t bucket_floats, comm **out, ft_error *err);
void comm_free(comm *c);

int comm_rank(const comm *c);
int comm_size(const comm *c);
MPI_Comm comm_mpi(const comm *c);

/* Start a gradient reduction of buf[lo, hi). */
void comm_grads_begin(comm *c, float *buf, size_t lo, size_t hi);
/* Gradients at offsets >= offset are final: start their buckets. */
void comm_grads_ready(comm *c, size_t offset);
/* Start the rest, wait for all, scale by 1/size. */
void comm_grads_finish(comm *c);
/* Seconds spent inside comm_grads_* since the last call (the exposed
 * communication time of a step: what overlap did not hide). */
double comm_take_seconds(comm *c);

/* In-place sum of n doubles over all ranks (blocking). */
void comm_sum_doubles(comm *c, double *v, int n);
/* Broadcast bytes from root (in chunks below 2 GiB). */
void comm_bcast(comm *c, void *data, size_t bytes, int root);
void comm_barrier(comm *c);

#endif
