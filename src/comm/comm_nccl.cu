/* comm_nccl: see comm_nccl.h. Per bucket: event on the compute stream, the
 * NCCL stream waits, ncclAllReduce(sum) in place, scale by 1/ranks; at the
 * end the compute stream waits for the NCCL stream. CUDA and NCCL failures
 * are bugs or a broken node: FT_CHECK aborts every rank. */
#include <mpi.h> /* before extern "C": it pulls C++ headers */
extern "C" {
#include "comm/comm_nccl.h"
}

#include <nccl.h>
#include <stdlib.h>

#include <cuda_runtime.h>

#include "core/ft_error.h"

struct comm_nccl {
    ncclComm_t comm;
    int ranks;
    cudaStream_t compute; /* the caller's; not owned */
    cudaStream_t stream;  /* NCCL's and the scaling's */
    cudaEvent_t ready;    /* recorded on compute: a bucket is final */
    cudaEvent_t done;     /* recorded on stream: every bucket is reduced */
    long buckets;
    size_t floats;
};

#define NCCL_OK(call) FT_CHECK((call) == ncclSuccess)

#define CUDA_OK(call) FT_CHECK((call) == cudaSuccess)

enum { SCALE_THREADS = 256 };

/* x[0, n) *= s on the NCCL stream, a grid-stride loop: the float product
 * the MPI path's mean computes, so both paths give the same bits. */
__global__ static void comm_nccl_scale(float *x, size_t n, float s)
{
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) x[i] *= s;
}

static void comm_nccl_start(void *ctx, float *bucket, size_t n)
{
    comm_nccl *e = (comm_nccl *)ctx;
    CUDA_OK(cudaEventRecord(e->ready, e->compute));
    CUDA_OK(cudaStreamWaitEvent(e->stream, e->ready, 0));
    NCCL_OK(ncclAllReduce(bucket, bucket, n, ncclFloat, ncclSum, e->comm, e->stream));
    if (e->ranks > 1 && n > 0) {
        /* The MPI path's mean: the sum times 1.0f / ranks (not a division). */
        size_t want = (n + SCALE_THREADS - 1) / SCALE_THREADS;
        unsigned blocks = want < 4096 ? (unsigned)want : 4096u;
        comm_nccl_scale<<<blocks, SCALE_THREADS, 0, e->stream>>>(bucket, n, 1.0f / (float)e->ranks);
        CUDA_OK(cudaGetLastError());
    }
    e->buckets++;
    e->floats += n;
}

static void comm_nccl_finish(void *ctx)
{
    comm_nccl *e = (comm_nccl *)ctx;
    CUDA_OK(cudaEventRecord(e->done, e->stream));
    CUDA_OK(cudaStreamWaitEvent(e->compute, e->done, 0));
}

static const comm_grad_engine comm_nccl_table = {"nccl", comm_nccl_start, comm_nccl_finish};

extern "C" const comm_grad_engine *comm_nccl_engine(void) { return &comm_nccl_table; }

/* The NCCL stream and the two events, on the current GPU. */
static void comm_nccl_make_streams(comm_nccl *e)
{
    int least = 0, greatest = 0;
    CUDA_OK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
    CUDA_OK(cudaStreamCreateWithPriority(&e->stream, cudaStreamNonBlocking, greatest));
    CUDA_OK(cudaEventCreateWithFlags(&e->ready, cudaEventDisableTiming));
    CUDA_OK(cudaEventCreateWithFlags(&e->done, cudaEventDisableTiming));
}

extern "C" ft_status comm_nccl_create(MPI_Comm mpi, void *compute_stream, comm_nccl **out,
                                      ft_error *err)
{
    *out = NULL;
    int rank = 0, ranks = 0;
    MPI_Comm_rank(mpi, &rank);
    MPI_Comm_size(mpi, &ranks);
    /* A fresh id every start, broadcast over MPI (never a file). */
    ncclUniqueId id;
    if (rank == 0) NCCL_OK(ncclGetUniqueId(&id));
    FT_CHECK(MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, mpi) == MPI_SUCCESS);
    comm_nccl *e = (comm_nccl *)calloc(1, sizeof *e);
    /* Every rank must join ncclCommInitRank or the others hang: a rank out
     * of memory here cannot return alone. */
    FT_CHECK_MSG(e != NULL, "comm_nccl: out of memory");
    e->ranks = ranks;
    e->compute = (cudaStream_t)compute_stream;
    comm_nccl_make_streams(e);
    NCCL_OK(ncclCommInitRank(&e->comm, ranks, id, rank));
    (void)err;
    *out = e;
    return FT_OK;
}

extern "C" void comm_nccl_free(comm_nccl *e)
{
    if (!e) return;
    CUDA_OK(cudaStreamSynchronize(e->stream));
    ncclCommDestroy(e->comm);
    cudaEventDestroy(e->done);
    cudaEventDestroy(e->ready);
    cudaStreamDestroy(e->stream);
    free(e);
}

extern "C" void comm_nccl_stats(const comm_nccl *e, long *buckets, size_t *floats)
{
    *buckets = e->buckets;
    *floats = e->floats;
}
