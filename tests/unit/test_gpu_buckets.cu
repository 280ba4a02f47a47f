// comm's bucketed gradient reduction through the NCCL engine (comm_nccl.h)
// on real GPUs, with a simulated backward: the gradient buffer (NaN at
// first) is written chunk by chunk on a compute stream, each chunk after a
// 2 ms spin, and comm_grads_ready is called after each, so buckets start
// while "backward" still runs. Checked:
//   - the result equals one ncclAllReduce of [lo, hi) scaled by 1.0f/ranks,
//     and equals comm's MPI path on the same floats (bit for bit up to 2
//     ranks, where a + b has one answer; within 1e-5 above);
//   - [0, lo) (frozen tensors) is left alone;
//   - a second reduction of the same gradients gives the same bits;
//   - comm_grads_finish returns while the compute stream is still busy (the
//     host never waits) and the engine saw every bucket once;
//   - an empty range starts no bucket.
// From 2 ranks a missing stream ordering shows as NaN or stale values; with
// 1 rank the all-reduce is the identity, so that part is only exercised
// there. NCCL needs a GPU per rank: fewer GPUs than ranks on a node -> 77.
#include <mpi.h> /* before extern "C": it pulls C++ headers */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <vector>

extern "C" {
#include "check.h"
#include "comm/comm.h"
#include "comm/comm_nccl.h"
#include "cuda/gpu_device.h"
#include "gpu_test_util.h"
#include "core/rng.h"
}

#define CUDA_OK(call) FT_CHECK_MSG((call) == cudaSuccess, #call)

enum { N = 100003, LO = 1234, BUCKET = 1000, CHUNK = 7001 };
static const unsigned long long SPIN_NS = 2000000ull; /* per chunk of backward */

static __global__ void spin_kernel(unsigned long long ns)
{
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    } while (t - t0 < ns);
}

typedef struct fixture {
    int rank, ranks;
    cudaStream_t compute;
    float *src, *grads; /* device */
    std::vector<float> host_src;
} fixture;

/* This rank's gradients: normals times powers of two from 2^-8 to 2^8, so
 * the sums round (an order-sensitive reduction would show). */
static void make_gradients(fixture *f)
{
    f->host_src.resize(N);
    for (size_t i = 0; i < N; i++) {
        int e = (int)rng_below(11, (uint64_t)f->rank, i, 17) - 8;
        f->host_src[i] = ldexpf(rng_normal(7, (uint64_t)f->rank, i), e);
    }
    CUDA_OK(cudaMalloc(&f->src, N * sizeof(float)));
    CUDA_OK(cudaMalloc(&f->grads, N * sizeof(float)));
    CUDA_OK(cudaMemcpy(f->src, f->host_src.data(), N * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_OK(cudaDeviceSynchronize()); /* the copy may return before its data has landed */
}

/* Backward, top chunk first, then comm_grads_finish; returns the reduced
 * buffer. *busy: the compute stream was still running when finish returned. */
static std::vector<float> reduce_by_buckets(fixture *f, comm *c, bool *busy)
{
    CUDA_OK(cudaMemsetAsync(f->grads, 0xff, N * sizeof(float), f->compute)); /* NaN */
    comm_grads_begin(c, f->grads, LO, N);
    for (size_t top = N, bottom; top > 0; top = bottom) {
        bottom = top > CHUNK ? top - CHUNK : 0;
        spin_kernel<<<1, 1, 0, f->compute>>>(SPIN_NS);
        CUDA_OK(cudaGetLastError());
        CUDA_OK(cudaMemcpyAsync(f->grads + bottom, f->src + bottom, (top - bottom) * sizeof(float),
                                cudaMemcpyDeviceToDevice, f->compute));
        comm_grads_ready(c, bottom);
    }
    comm_grads_finish(c);
    *busy = cudaStreamQuery(f->compute) == cudaErrorNotReady;
    std::vector<float> out(N);
    CUDA_OK(cudaMemcpyAsync(out.data(), f->grads, N * sizeof(float), cudaMemcpyDeviceToHost,
                            f->compute));
    CUDA_OK(cudaStreamSynchronize(f->compute));
    return out;
}

/* One ncclAllReduce of [LO, N) of the same gradients, times 1.0f/ranks. */
static std::vector<float> reference_one_allreduce(fixture *f)
{
    gpu_nccl *nccl = NULL;
    ft_error err;
    FT_CHECK(gpu_nccl_create(MPI_COMM_WORLD, &nccl, &err) == FT_OK);
    float *ref = NULL;
    CUDA_OK(cudaMalloc(&ref, N * sizeof(float)));
    CUDA_OK(cudaMemcpy(ref, f->src, N * sizeof(float), cudaMemcpyDeviceToDevice));
    FT_CHECK(gpu_nccl_allreduce_sum(nccl, ref + LO, N - LO, &err) == FT_OK);
    std::vector<float> out(N);
    CUDA_OK(cudaMemcpy(out.data(), ref, N * sizeof(float), cudaMemcpyDeviceToHost));
    float inv = 1.0f / (float)f->ranks;
    for (size_t i = LO; i < N; i++) out[i] *= inv;
    CUDA_OK(cudaFree(ref));
    gpu_nccl_free(nccl);
    return out;
}

/* comm's MPI path (no engine) on a host copy of the same gradients. */
static std::vector<float> reference_mpi_path(fixture *f)
{
    comm *c = NULL;
    ft_error err;
    FT_CHECK(comm_create(MPI_COMM_WORLD, BUCKET, &c, &err) == FT_OK);
    std::vector<float> out = f->host_src;
    comm_grads_begin(c, out.data(), LO, N);
    comm_grads_ready(c, 0);
    comm_grads_finish(c);
    comm_free(c);
    return out;
}

/* Elements of [lo, hi) where a and b differ: bitwise, or beyond rel_tol. */
static size_t count_differences(const std::vector<float> &a, const std::vector<float> &b, size_t lo,
                                size_t hi, double rel_tol)
{
    size_t bad = 0;
    for (size_t i = lo; i < hi; i++) {
        if (rel_tol == 0)
            bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        else
            bad += !(fabs((double)a[i] - b[i]) <= rel_tol * fmax(1e-3, fabs((double)b[i])));
    }
    return bad;
}

static void check_reductions(fixture *f, comm *c, comm_nccl *e)
{
    bool busy1 = false, busy2 = false;
    std::vector<float> got = reduce_by_buckets(f, c, &busy1);
    std::vector<float> again = reduce_by_buckets(f, c, &busy2);
    std::vector<float> one = reference_one_allreduce(f), mpi = reference_mpi_path(f);
    double tol = f->ranks <= 2 ? 0.0 : 1e-5;
    CHECK_EQ_INT(count_differences(got, one, LO, N, tol), 0);
    CHECK_EQ_INT(count_differences(got, mpi, LO, N, tol), 0);
    CHECK_EQ_INT(count_differences(got, f->host_src, 0, LO, 0.0), 0);
    CHECK_EQ_INT(count_differences(got, again, 0, N, 0.0), 0);
    CHECK_MSG(busy1 && busy2, "comm_grads_finish waited for the GPU on the host");
    long buckets = 0;
    size_t floats = 0;
    comm_nccl_stats(e, &buckets, &floats);
    CHECK_EQ_INT(buckets, 2 * ((N - LO + BUCKET - 1) / BUCKET));
    CHECK_EQ_INT(floats, 2 * (size_t)(N - LO));
    /* An empty range (everything frozen) starts nothing. */
    comm_grads_begin(c, f->grads, N, N);
    comm_grads_ready(c, 0);
    comm_grads_finish(c);
    comm_nccl_stats(e, &buckets, &floats);
    CHECK_EQ_INT(buckets, 2 * ((N - LO + BUCKET - 1) / BUCKET));
    fprintf(stderr, "rank %d of %d: %ld buckets reduced, g[%d] = %.9g\n", f->rank, f->ranks,
            buckets, LO, (double)got[LO]);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    fixture f;
    MPI_Comm_rank(MPI_COMM_WORLD, &f.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &f.ranks);
    int skip = gpu_test_skip_code(MPI_COMM_WORLD, 1);
    if (skip) {
        MPI_Finalize();
        return skip;
    }
    gpu_device_info info;
    ft_error err;
    FT_CHECK(gpu_device_select(MPI_COMM_WORLD, &info, &err) == FT_OK);
    CUDA_OK(cudaStreamCreateWithFlags(&f.compute, cudaStreamNonBlocking));
    make_gradients(&f);
    comm *c = NULL;
    comm_nccl *e = NULL;
    FT_CHECK(comm_create(MPI_COMM_WORLD, BUCKET, &c, &err) == FT_OK);
    FT_CHECK(comm_nccl_create(MPI_COMM_WORLD, f.compute, &e, &err) == FT_OK);
    comm_use_grad_engine(c, comm_nccl_engine(), e);
    CHECK(comm_grad_engine_current(c) == comm_nccl_engine());
    check_reductions(&f, c, e);
    comm_free(c);
    comm_nccl_free(e);
    CUDA_OK(cudaFree(f.src));
    CUDA_OK(cudaFree(f.grads));
    CUDA_OK(cudaStreamDestroy(f.compute));
    int failed = check_finish();
    MPI_Finalize();
    return failed;
}
