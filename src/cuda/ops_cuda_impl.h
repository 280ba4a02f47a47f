/* ops_cuda_impl: what the files of the CUDA back end share (CUDA C++ only).
 *
 * One context per process: the back end's stream (non-blocking), the
 * cuBLAS and cuBLASLt handles bound to it, the cuBLASLt workspace and a
 * growing scratch buffer for the kernels' partial results (column-sum
 * partials, sort buffers, AdamW span tables). Everything runs on the one
 * stream, so scratch is reused by the next operation only after the
 * previous one is done with it (stream order); growing it frees the old
 * buffer with cudaFree, which waits for the device.
 *
 * KERN_GLOBAL / KERN_GLOBAL_WARP turn a body of kern_*.cuh into a
 * __global__ wrapper (a block or a warp per group), OPS_LAUNCH launches it
 * on the stream and checks the launch; ops_cuda_column_sums is the two
 * launches of every deterministic column sum. */
#ifndef OPS_CUDA_IMPL_H
#define OPS_CUDA_IMPL_H

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "core/ft_error.h"
#include "ops/ops_backend.h"
#include "cuda/ops_cuda.h"
}
#include "kern_common.cuh"
#include "kern_reduce.cuh"

struct ops_cuda_ctx {
    cudaStream_t stream;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *lt_workspace;
    size_t lt_workspace_bytes;
    void *scratch;
    size_t scratch_bytes;
    /* ops_cuda_upload: pinned staging, its device copy, and the event of
     * the last copy out of the staging buffer */
    void *up_host, *up_dev;
    size_t up_bytes;
    cudaEvent_t up_done;
    bool up_pending;
    int max_blocks; /* grid cap for grid-stride kernels */
};

/* The context (created by ops_cuda_backend()). */
ops_cuda_ctx *ops_cuda_ctx_get(void);
static inline cudaStream_t ops_cuda_s(void) { return ops_cuda_ctx_get()->stream; }

/* At least `bytes` of device scratch, valid until the next call. */
void *ops_cuda_scratch(size_t bytes);

/* A small host table (span lists) copied to the device on the stream; the
 * device copy is valid for work queued before the next call. The host
 * bytes are taken at once (src may be freed on return). */
const void *ops_cuda_upload(const void *src, size_t bytes);

#define CUDA_OK(call)   FT_CHECK((call) == cudaSuccess)
#define CUBLAS_OK(call) FT_CHECK((call) == CUBLAS_STATUS_SUCCESS)

enum { OPS_THREADS = 256, OPS_WARPS = OPS_THREADS / 32 };

/* Blocks for a grid-stride loop over n items (0 when there is nothing). */
static inline int ops_cuda_grid(size_t n, int per_block)
{
    size_t g = (n + (size_t)per_block - 1) / (size_t)per_block;
    size_t cap = (size_t)ops_cuda_ctx_get()->max_blocks;
    return (int)(g < cap ? g : cap);
}

__device__ inline kern_idx kern_block_idx(void)
{
    kern_idx ix = {(int)blockIdx.x, (int)gridDim.x, (int)threadIdx.x, (int)blockDim.x};
    return ix;
}

__device__ inline kern_idx kern_warp_idx(void)
{
    int warps = (int)blockDim.x / 32;
    kern_idx ix = {(int)blockIdx.x * warps + (int)threadIdx.x / 32, (int)gridDim.x * warps,
                   (int)threadIdx.x % 32, 32};
    return ix;
}

#define KERN_GLOBAL(body) \
    template <class... A> __global__ void body##_global(A... a) { body(kern_block_idx(), a...); }
#define KERN_GLOBAL_WARP(body) \
    template <class... A> __global__ void body##_global(A... a) { body(kern_warp_idx(), a...); }

#define OPS_LAUNCH(body, grid, threads, ...)                                   \
    do {                                                                       \
        int grid_ = (grid);                                                    \
        if (grid_ > 0) {                                                       \
            body##_global<<<grid_, (threads), 0, ops_cuda_s()>>>(__VA_ARGS__); \
            FT_CHECK(cudaPeekAtLastError() == cudaSuccess);                    \
        }                                                                      \
    } while (0)

KERN_GLOBAL(kern_colsum_partial)
KERN_GLOBAL(kern_colsum_finish)

/* dst_a[C] (and dst_b[C], for a two-value V) += the column sums of value
 * over [N,C], deterministic (kern_reduce.cuh): bias, GELU-bias and
 * LayerNorm parameter gradients. dst_a or dst_b may be NULL. */
template <class V>
inline void ops_cuda_column_sums(float *dst_a, float *dst_b, V value, int n, int c)
{
    if (n == 0 || c == 0) return;
    int chunks = kern_colsum_chunks(n);
    float *partial = (float *)ops_cuda_scratch((size_t)V::outs * chunks * c * sizeof(float));
    OPS_LAUNCH(kern_colsum_partial, chunks * kern_colsum_tiles(c), OPS_THREADS, partial, value, n,
               c);
    OPS_LAUNCH(kern_colsum_finish, ops_cuda_grid((size_t)c, OPS_THREADS), OPS_THREADS, dst_a, dst_b,
               (const float *)partial, n, c);
}

/* ---- the operations: ops_cuda_<name> for each entry of ops_list.h, in
 * ops_cuda_{matmul,elementwise,embedding,attention}.cu; the table is in
 * ops_cuda_memory.cu ---- */
#define OPS_CUDA_PROTO(name, params, args)          void ops_cuda_##name params;
#define OPS_CUDA_PROTO_RET(ret, name, params, args) ret ops_cuda_##name params;
OPS_LIST_CORE(OPS_CUDA_PROTO, OPS_CUDA_PROTO_RET)
#undef OPS_CUDA_PROTO
#undef OPS_CUDA_PROTO_RET

#endif
