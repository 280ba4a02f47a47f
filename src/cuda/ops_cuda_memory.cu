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
    CUBLAS_OK(cublasSetMathMode(ops_cuda_ctx_get()->blas, allow ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                 : CUBLAS_DEFAULT_MATH));
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
    if (bytes)
        CUDA_OK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, ops_cuda_s()));
}

static void cuda_to_host(void *host_dst, const void *src, size_t bytes)
{
    if (bytes)
        CUDA_OK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, ops_cuda_s()));
    CUDA_OK(cudaStreamSynchronize(ops_cuda_s()));
}

static void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src)
        CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ops_cuda_s()));
}

static void cuda_synchronize(void) { CUDA_OK(cudaStreamSynchronize(ops_cuda_s())); }

static const ops_backend cuda_backend = {
    .name = "cuda",
    .host_memory = false,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .zero = cuda_zero,
    .to_device = cuda_to_device,
    .to_host = cuda_to_host,
    .copy = cuda_copy,
    .synchronize = cuda_synchronize,
    .matmul = ops_cuda_matmul,
    .linear_forward = ops_cuda_linear_forward,
    .linear_backward = ops_cuda_linear_backward,
    .to_bf16 = ops_cuda_to_bf16,
    .from_bf16 = ops_cuda_from_bf16,
    .round_fp16 = ops_cuda_round_fp16,
    .matmul_bf16 = ops_cuda_matmul_bf16,
    .bf16_native = ops_cuda_bf16_native,
    .bf16_isa = ops_cuda_bf16_isa,
    .linear_forward_bf16 = ops_cuda_linear_forward_bf16,
    .linear_backward_bf16 = ops_cuda_linear_backward_bf16,
    .bias_forward = ops_cuda_bias_forward,
    .bias_backward = ops_cuda_bias_backward,
    .add = ops_cuda_add,
    .accumulate = ops_cuda_accumulate,
    .scale = ops_cuda_scale,
    .bias_gelu_forward = ops_cuda_bias_gelu_forward,
    .gelu_bias_backward = ops_cuda_gelu_bias_backward,
    .tanh_forward = ops_cuda_tanh_forward,
    .tanh_backward = ops_cuda_tanh_backward,
    .layernorm_forward = ops_cuda_layernorm_forward,
    .layernorm_backward = ops_cuda_layernorm_backward,
    .embedding_forward = ops_cuda_embedding_forward,
    .embedding_backward = ops_cuda_embedding_backward,
    .gather_rows_forward = ops_cuda_gather_rows_forward,
    .gather_rows_backward = ops_cuda_gather_rows_backward,
    .dropout_forward = ops_cuda_dropout_forward,
    .dropout_backward = ops_cuda_dropout_backward,
    .attention_scratch_floats = ops_cuda_attention_scratch_floats,
    .attention_forward = ops_cuda_attention_forward,
    .attention_backward = ops_cuda_attention_backward,
    .crossentropy_forward = ops_cuda_crossentropy_forward,
    .crossentropy_backward = ops_cuda_crossentropy_backward,
    .sum_squares = ops_cuda_sum_squares,
    .sum_squares_spans = ops_cuda_sum_squares_spans,
    .adamw = ops_cuda_adamw,
    .adamw_spans = ops_cuda_adamw_spans,
};

extern "C" const ops_backend *ops_cuda_backend(void)
{
    ops_cuda_ctx_get();
    return &cuda_backend;
}
