/* comm_nccl: the NCCL gradient engine for comm (CUDA builds only).
 *
 * comm (src/comm/include/comm/comm.h) cuts the gradient buffer into buckets and starts
 * each as soon as backward has made it final; with this engine plugged in
 * (comm_use_grad_engine(c, comm_nccl_engine(), e)) a bucket is reduced on
 * the GPU by NCCL, in place, without the host ever waiting:
 *   start:  record an event on the compute stream (the stream backward runs
 *           on), make the NCCL stream wait for it, ncclAllReduce(sum) the
 *           bucket on the NCCL stream, then scale it by 1/ranks there too;
 *   finish: record an event on the NCCL stream and make the compute stream
 *           wait for it, so clipping and AdamW, queued next on the compute
 *           stream, see the mean. The host returns at once.
 * The NCCL stream has the highest priority, so the reduction of a bucket is
 * not starved by the backward kernels it overlaps.
 *
 * Sum then multiply by 1.0f/ranks is the MPI path's arithmetic (comm_mpi.c),
 * not ncclAvg (which pre-multiplies each rank's input). NCCL's reductions do
 * not use atomics: for a fixed rank count, bucket sizes (comm's plan is the
 * same every step), NCCL version, topology and NCCL_ALGO/NCCL_PROTO choice
 * the sums are the same bits run to run, which exact resume needs. With two
 * ranks the sum is a + b in any algorithm. Moving a run to other hardware
 * (another topology) may change the last bits from 3 ranks up.
 *
 * The communicator is made from a unique id that rank 0 creates afresh and
 * broadcasts over MPI (as gpu_device.h does): no id file, nothing stale on
 * requeue. Each rank must have chosen its GPU first (gpu_device_select);
 * NCCL refuses two ranks of one communicator on one GPU.
 *
 * This header has no CUDA types, so C code can include it.
 * Not here: the bucket plan (comm), choosing the GPU (gpu_device). */
#ifndef COMM_NCCL_H
#define COMM_NCCL_H

#include <mpi.h>
#include <stddef.h>

#include "comm/comm.h"
#include "core/ft_error.h"

typedef struct comm_nccl comm_nccl;

/* Collective over mpi's ranks, on the current GPU. compute_stream is the
 * cudaStream_t the gradients are produced on (ops_cuda_stream() in the CUDA
 * back end); NULL means the legacy default stream. */
ft_status comm_nccl_create(MPI_Comm mpi, void *compute_stream, comm_nccl **out, ft_error *err);
/* Waits for the reductions in flight, then frees. NULL is a no-op. */
void comm_nccl_free(comm_nccl *e);

/* The engine table; its ctx is a comm_nccl *. */
const comm_grad_engine *comm_nccl_engine(void);

/* Buckets and floats started since creation (tests and logs). */
void comm_nccl_stats(const comm_nccl *e, long *buckets, size_t *floats);

#endif
