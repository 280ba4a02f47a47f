/* ops_cuda_memory: the CUDA back end's context, memory functions and table
 * (ops_cuda.h). Memory is cudaMalloc'ed (the model plans its buffers once,
 * so no pool is needed) and zeroed on the stream; moves are cudaMemcpyAsync
 * on the stream, to_host waits for it. A failed cudaMalloc is an ordinary
 * NULL (out of memory); any other CUDA failure is a bug or a broken GPU and
 * aborts through FT_CHECK. */
#include "ops_cuda_impl.h"

#include <stdlib.h>
#include <string.h>

static ops_cuda_ctx ctx;
static bool ctx_ready;

enum { LT_WORKSPACE_BYTES = 32 << 20 };

static void ctx_create(void)
{
    CUDA_OK(cudaStreamCreateWithFlags(&ctx.stream, cudaStreamNonBlocking));
    CUBLAS_OK(cublasCreate(&ctx.blas));
    CUBLAS_OK(cublasSetStream(ctx.blas, ctx.stream));
    CUBLAS_OK(cublasSetMathMode(ctx.blas, CUBLAS_DEFAULT_MATH)); /* no TF32 */
    CUBLAS_OK(cublasLtCreate(&ctx.lt));
    ctx.lt_workspace_bytes = LT_WORKSPACE_BYTES;
    CUDA_OK(cudaMalloc(&ctx.lt_workspace, ctx.lt_workspace_bytes));
    int device, sms;
    CUDA_OK(cudaGetDevice(&device));
    CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    ctx.max_blocks = sms * 16;
    CUDA_OK(cudaEventCreateWithFlags(&ctx.up_done, cudaEventDisableTiming));
    ctx_ready = true;
}

ops_cuda_ctx *ops_cuda_ctx_get(void)
{
    if (!ctx_ready) ctx_create();
    return &ctx;
}

void *ops_cuda_scratch(size_t bytes)
{
    ops_cuda_ctx *c = ops_cuda_ctx_get();
    if (bytes <= c->scratch_bytes) return c->scratch;
    size_t want = c->scratch_bytes * 2 > bytes ? c->scratch_bytes * 2 : bytes;
    /* Stream-ordered: the old buffer goes after its last users on the
     * stream, and the host does not wait. cudaFree would wait for the whole
     * device, NCCL's all-reduces of the buckets in flight included (the
     * scratch first grows inside the first backward). */
    if (c->scratch) CUDA_OK(cudaFreeAsync(c->scratch, ops_cuda_s()));
    c->scratch = NULL;
    c->scratch_bytes = 0;
    CUDA_OK(cudaMallocAsync(&c->scratch, want, ops_cuda_s()));
    c->scratch_bytes = want;
    return c->scratch;
}

/* Through pinned memory, because an asynchronous copy from pageable memory
 * is only said to MAY stage the bytes before returning. The staging buffer
 * is rewritten only after the previous copy out of it has finished (its
 * event); the device buffer is reused in stream order, after the work that
 * read it. Growing frees both (cudaFree waits for the device): rare, the
 * tables have a fixed size per model. */
const void *ops_cuda_upload(const void *src, size_t bytes)
{
    ops_cuda_ctx *c = ops_cuda_ctx_get();
    if (c->up_pending) CUDA_OK(cudaEventSynchronize(c->up_done));
    c->up_pending = false;
    if (bytes > c->up_bytes) {
        size_t want = bytes > 2 * c->up_bytes ? bytes : 2 * c->up_bytes;
        if (c->up_host) CUDA_OK(cudaFreeHost(c->up_host));
        if (c->up_dev) CUDA_OK(cudaFree(c->up_dev));
        c->up_host = c->up_dev = NULL;
        c->up_bytes = 0;
        CUDA_OK(cudaHostAlloc(&c->up_host, want, cudaHostAllocDefault));
        CUDA_OK(cudaMalloc(&c->up_dev, want));
        c->up_bytes = want;
    }
    if (bytes == 0) return c->up_dev;
    memcpy(c->up_host, src, bytes);
    CUDA_OK(cudaMemcpyAsync(c->up_dev, c->up_host, bytes, cudaMemcpyHostToDevice, ops_cuda_s()));
    CUDA_OK(cudaEventRecord(c->up_done, ops_cuda_s()));
    c->up_pending = true;
    return c->up_dev;
}

extern "C" void *ops_cuda_stream(void) { return (void *)ops_cuda_s(); }

extern "C" void ops_cuda_allow_tf32(bool allow)
{
    CUBLAS_OK(cublasSetMathMode(ops_cuda_ctx_get()->blas,
                                allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

/* ---- memory ------------------------------------------------------------------- */

static void *cuda_alloc(size_t bytes)
{
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); /* clear it: out of memory is not sticky */
        return NULL;
    }
    CUDA_OK(cudaMemsetAsync(p, 0, bytes, ops_cuda_s()));
    return p;
}

static void cuda_free(void *p, size_t bytes)
{
    (void)bytes;
    if (p) CUDA_OK(cudaFree(p));
}

static void cuda_zero(void *p, size_t bytes)
{
    if (bytes) CUDA_OK(cudaMemsetAsync(p, 0, bytes, ops_cuda_s()));
}

static void cuda_to_device(void *dst, const void *host_src, size_t bytes)
{
    /* from pageable memory the copy has taken the bytes when it returns */
    if (bytes) CUDA_OK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, ops_cuda_s()));
}

static void cuda_to_host(void *host_dst, const void *src, size_t bytes)
{
    if (bytes) CUDA_OK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, ops_cuda_s()));
    CUDA_OK(cudaStreamSynchronize(ops_cuda_s()));
}

static void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ops_cuda_s()));
}

static void cuda_synchronize(void) { CUDA_OK(cudaStreamSynchronize(ops_cuda_s())); }

static const ops_backend cuda_backend = {.name = "cuda",
                                         .host_memory = false,
                                         .alloc = cuda_alloc,
                                         .free = cuda_free,
                                         .zero = cuda_zero,
                                         .to_device = cuda_to_device,
                                         .to_host = cuda_to_host,
                                         .copy = cuda_copy,
                                         .synchronize = cuda_synchronize,
#define OPS_CUDA_ENTRY(name, params, args)          .name = ops_cuda_##name,
#define OPS_CUDA_ENTRY_RET(ret, name, params, args) .name = ops_cuda_##name,
                                         OPS_LIST_CORE(OPS_CUDA_ENTRY, OPS_CUDA_ENTRY_RET)
/* The decoder LLMs' operations: not on the GPU yet (NULL, ops_list.h). */
#define OPS_CUDA_NONE(name, params, args)          .name = NULL,
#define OPS_CUDA_NONE_RET(ret, name, params, args) .name = NULL,
                                             OPS_LIST_LLM(OPS_CUDA_NONE, OPS_CUDA_NONE_RET)
#undef OPS_CUDA_NONE
#undef OPS_CUDA_NONE_RET
#undef OPS_CUDA_ENTRY
#undef OPS_CUDA_ENTRY_RET
};

extern "C" const ops_backend *ops_cuda_backend(void)
{
    ops_cuda_ctx_get();
    return &cuda_backend;
}
