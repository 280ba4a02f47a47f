/* ops_cuda_attention: dropout and multi-head attention of the CUDA back end.
 * Dropout is one launch (kern_dropout.cuh); attention follows
 * kern_attention.cuh's plan: head split/merge kernels, one cuBLAS
 * strided-batched product over all (example, head) pairs per product, and
 * the warp-per-row softmax kernels. */
#include "ops_cuda_impl.h"

#include "kern_attention.cuh"
#include "kern_dropout.cuh"
#include "kern_elementwise.cuh"

#include <math.h>

KERN_GLOBAL(kern_dropout)
KERN_GLOBAL_WARP(kern_attn_softmax)
KERN_GLOBAL_WARP(kern_attn_softmax_backward)
KERN_GLOBAL(kern_heads_split)
KERN_GLOBAL(kern_heads_merge)

static void dropout_pass(float *out, const float *inp, int b, size_t per,
                         const int64_t *example_index, float p, uint64_t seed, uint64_t site)
{
    size_t quads = (size_t)b * ((per + 3) / 4);
    OPS_LAUNCH(kern_dropout, ops_cuda_grid(quads, OPS_THREADS), OPS_THREADS, out, inp, b, per,
               example_index, kern_dropout_args_for(p, seed, site, per));
}

void ops_cuda_dropout_forward(float *out, const float *inp, int b, size_t per_example,
                              const int64_t *example_index, float p, uint64_t seed, uint64_t site)
{
    size_t n = (size_t)b * per_example;
    if (p <= 0.0f) {
        if (out != inp && n)
            CUDA_OK(cudaMemcpyAsync(out, inp, n * sizeof(float), cudaMemcpyDeviceToDevice,
                                    ops_cuda_s()));
        return;
    }
    dropout_pass(out, inp, b, per_example, example_index, p, seed, site);
}

/* ---- attention ---------------------------------------------------------------------- */

size_t ops_cuda_attention_scratch_floats(int b, int t, int c, int nh)
{
    return kern_attention_scratch_floats(b, t, c, nh);
}

/* The batched product of kern_attention.cuh as one cuBLAS call. */
static void gemm_batched(bool ta, bool tb, int m, int n, int k, float alpha, kern_mat a, kern_mat b,
                         float beta, float *c, int ldc, long long sc, int batch)
{
    CUBLAS_OK(cublasSgemmStridedBatched(ops_cuda_ctx_get()->blas, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                        ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b.p, b.ld,
                                        b.stride, a.p, a.ld, a.stride, &beta, c, ldc, sc, batch));
}

static int row_grid(const kern_attn_args &a)
{
    return ops_cuda_grid((size_t)a.b * a.nh * a.t, OPS_WARPS);
}

static void softmax_rows(float *probs, float *scores, const kern_attn_args &a)
{
    OPS_LAUNCH(kern_attn_softmax, row_grid(a), OPS_THREADS, probs, scores, a);
}

static void softmax_backward_rows(float *ds, float *pd, const float *probs, const kern_attn_args &a)
{
    OPS_LAUNCH(kern_attn_softmax_backward, row_grid(a), OPS_THREADS, ds, pd, probs, a);
}

static void heads_split(float *dst, const float *src, kern_heads s)
{
    OPS_LAUNCH(kern_heads_split, ops_cuda_grid(kern_heads_count(s), OPS_THREADS), OPS_THREADS, dst,
               src, s);
}

static void heads_merge(float *dst, const float *src, kern_heads s, bool accumulate)
{
    OPS_LAUNCH(kern_heads_merge, ops_cuda_grid(kern_heads_count(s), OPS_THREADS), OPS_THREADS, dst,
               src, s, accumulate);
}

void ops_cuda_attention_forward(float *out, float *probs, const float *qkv,
                                const ops_attention_shape *s, float *scratch)
{
    kern_attention_forward_plan(out, probs, qkv, kern_attn_args_for(s), s->c, scratch, gemm_batched,
                                softmax_rows, heads_split, heads_merge);
}

void ops_cuda_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                 const float *probs, const ops_attention_shape *s, float *scratch)
{
    kern_attention_backward_plan(dqkv, dout, qkv, probs, kern_attn_args_for(s), s->c, scratch,
                                 gemm_batched, softmax_backward_rows, heads_split, heads_merge);
}
