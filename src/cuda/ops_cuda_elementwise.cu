/* ops_cuda_elementwise: launchers of the element-wise, LayerNorm,
 * embedding, gather, loss and optimiser kernels (bodies in kern_*.cuh).
 * Grid-stride kernels get at most ops_cuda_ctx.max_blocks blocks of
 * OPS_THREADS; row kernels one warp per row. */
#include "ops_cuda_impl.h"

#include "kern_elementwise.cuh"
#include "kern_layernorm.cuh"
#include "kern_reduce.cuh"
#include "kern_rows.cuh"

#include <math.h>

KERN_GLOBAL(kern_add)
KERN_GLOBAL(kern_scale)
KERN_GLOBAL(kern_bias_gelu_forward)
KERN_GLOBAL(kern_gelu_backward)
KERN_GLOBAL(kern_tanh_forward)
KERN_GLOBAL(kern_tanh_backward)
KERN_GLOBAL(kern_to_bf16_all)
KERN_GLOBAL(kern_round_fp16_all)
KERN_GLOBAL_WARP(kern_layernorm_forward)
KERN_GLOBAL_WARP(kern_layernorm_backward_inputs)
KERN_GLOBAL(kern_embedding_forward)
KERN_GLOBAL(kern_gather_rows_forward)
KERN_GLOBAL(kern_gather_rows_backward)
KERN_GLOBAL(kern_crossentropy_forward)
KERN_GLOBAL(kern_mean_losses)
KERN_GLOBAL(kern_crossentropy_backward)
KERN_GLOBAL(kern_ssq_spans_partial)
KERN_GLOBAL(kern_ssq_spans_finish)
KERN_GLOBAL(kern_adamw_spans)

static int grid(size_t n) { return ops_cuda_grid(n, OPS_THREADS); }
static int warp_grid(size_t rows) { return ops_cuda_grid(rows, OPS_WARPS); }

void ops_cuda_add(float *out, const float *a, const float *b, size_t n)
{
    OPS_LAUNCH(kern_add, grid(n), OPS_THREADS, out, a, b, n);
}

void ops_cuda_scale(float *x, size_t n, float s)
{
    OPS_LAUNCH(kern_scale, grid(n), OPS_THREADS, x, n, s);
}

void ops_cuda_bias_gelu_forward(float *act, float *pre, const float *bias, int n, int c,
                                ops_gelu_kind kind)
{
    OPS_LAUNCH(kern_bias_gelu_forward, grid((size_t)n * c), OPS_THREADS, act, pre, bias, (size_t)n,
               c, kind == OPS_GELU_ERF);
}

/* With a bias: GELU's backward inside the column-sum partial pass
 * (kern_colvalue_gelu), then the partials' sum: two launches in all. */
void ops_cuda_gelu_bias_backward(float *dpre, float *dbias, const float *pre, const float *dact,
                                 int n, int c, ops_gelu_kind kind)
{
    bool erf_kind = kind == OPS_GELU_ERF;
    if (n == 0 || c == 0) return;
    if (!dbias) {
        OPS_LAUNCH(kern_gelu_backward, grid((size_t)n * c), OPS_THREADS, dpre, pre, dact,
                   (size_t)n * c, erf_kind);
        return;
    }
    kern_colvalue_gelu v = {dpre, pre, dact, c, erf_kind};
    ops_cuda_column_sums(dbias, (float *)NULL, v, n, c);
}

void ops_cuda_tanh_forward(float *out, const float *inp, size_t n)
{
    OPS_LAUNCH(kern_tanh_forward, grid(n), OPS_THREADS, out, inp, n);
}

void ops_cuda_tanh_backward(float *dinp, const float *out, const float *dout, size_t n)
{
    OPS_LAUNCH(kern_tanh_backward, grid(n), OPS_THREADS, dinp, out, dout, n);
}

void ops_cuda_to_bf16(ops_bf16 *out, const float *in, size_t n)
{
    OPS_LAUNCH(kern_to_bf16_all, grid(n), OPS_THREADS, out, in, n);
}

void ops_cuda_round_fp16(float *out, const float *in, size_t n)
{
    OPS_LAUNCH(kern_round_fp16_all, grid(n), OPS_THREADS, out, in, n);
}

/* ---- LayerNorm ------------------------------------------------------------------- */

void ops_cuda_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                const float *weight, const float *bias, int n, int c, float eps)
{
    OPS_LAUNCH(kern_layernorm_forward, warp_grid((size_t)n), OPS_THREADS, out, mean, rstd, inp,
               weight, bias, n, c, eps);
}

void ops_cuda_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                 const float *inp, const float *weight, const float *mean,
                                 const float *rstd, int n, int c)
{
    if (dinp)
        OPS_LAUNCH(kern_layernorm_backward_inputs, warp_grid((size_t)n), OPS_THREADS, dinp, dout,
                   inp, weight, mean, rstd, n, c);
    if (!dweight && !dbias) return;
    kern_colvalue_layernorm v = {dout, inp, mean, rstd, c};
    ops_cuda_column_sums(dweight, dbias, v, n, c);
}

/* ---- embeddings and gathers --------------------------------------------------------- */

void ops_cuda_embedding_forward(float *out, const int32_t *ids, const float *table, int n, int c,
                                bool accumulate)
{
    OPS_LAUNCH(kern_embedding_forward, grid((size_t)n * c), OPS_THREADS, out, ids, table, n, c,
               accumulate);
}

void ops_cuda_gather_rows_forward(float *out, const float *inp, const int32_t *rows, int r, int c)
{
    OPS_LAUNCH(kern_gather_rows_forward, grid((size_t)r * c), OPS_THREADS, out, inp, rows, r, c);
}

void ops_cuda_gather_rows_backward(float *dinp, const float *dout, const int32_t *rows, int r,
                                   int c)
{
    OPS_LAUNCH(kern_gather_rows_backward, grid((size_t)c), OPS_THREADS, dinp, dout, rows, r, c);
}

/* ---- loss ---------------------------------------------------------------------------- */

double ops_cuda_crossentropy_forward(float *losses, float *probs, const float *logits,
                                     const int32_t *labels, int b, int l)
{
    if (b == 0) return NAN; /* 0/0, as the CPU's mean of no losses */
    double *mean = (double *)ops_cuda_scratch(sizeof(double)), host = 0.0;
    OPS_LAUNCH(kern_crossentropy_forward, grid((size_t)b), OPS_THREADS, losses, probs, logits,
               labels, b, l);
    OPS_LAUNCH(kern_mean_losses, 1, 32, mean, (const float *)losses, b);
    CUDA_OK(cudaMemcpyAsync(&host, mean, sizeof host, cudaMemcpyDeviceToHost, ops_cuda_s()));
    CUDA_OK(cudaStreamSynchronize(ops_cuda_s()));
    return host;
}

void ops_cuda_crossentropy_backward(float *dlogits, const float *probs, const int32_t *labels,
                                    int b, int l, float dloss)
{
    OPS_LAUNCH(kern_crossentropy_backward, grid((size_t)b * l), OPS_THREADS, dlogits, probs, labels,
               b, l, dloss);
}

/* ---- optimiser ------------------------------------------------------------------------ */

/* Each span's sum as kern_ssq_partial + kern_ssq_finish make it over the
 * span alone (kern_reduce.cuh), in two launches for
 * all spans (kern_reduce.cuh): the plan goes up through ops_cuda_upload,
 * the per-span sums come back in one copy and are added here in span
 * order (as the CPU adds them): one wait for all the tensors of a norm. */
double ops_cuda_sum_squares_spans(const float *x, const ops_span *spans, int count)
{
    if (count <= 0) return 0.0;
    kern_ssq_span *plan = (kern_ssq_span *)malloc((size_t)count * sizeof *plan);
    double *host = (double *)malloc((size_t)count * sizeof(double));
    FT_CHECK(plan != NULL && host != NULL);
    int total = kern_ssq_spans_plan(plan, spans, count);
    const kern_ssq_span *dplan =
        (const kern_ssq_span *)ops_cuda_upload(plan, (size_t)count * sizeof *plan);
    double *sums = (double *)ops_cuda_scratch(((size_t)count + total) * sizeof(double));
    double *partial = sums + count;
    if (total > 0)
        OPS_LAUNCH(kern_ssq_spans_partial, grid((size_t)total * OPS_THREADS), OPS_THREADS, partial,
                   x, dplan, count, total);
    OPS_LAUNCH(kern_ssq_spans_finish, grid((size_t)count * OPS_THREADS), OPS_THREADS, sums,
               (const double *)partial, dplan, count);
    CUDA_OK(cudaMemcpyAsync(host, sums, (size_t)count * sizeof(double), cudaMemcpyDeviceToHost,
                            ops_cuda_s()));
    CUDA_OK(cudaStreamSynchronize(ops_cuda_s()));
    double sum = 0.0;
    for (int i = 0; i < count; i++) sum += host[i];
    free(host);
    free(plan);
    return sum;
}

/* The span table goes to the device through ops_cuda_upload. */
void ops_cuda_adamw_spans(float *param, const float *grad, float *m, float *v,
                          const ops_adamw_span *spans, int count, const ops_adamw_hparams *h)
{
    if (count <= 0) return;
    kern_adamw_span *table = (kern_adamw_span *)malloc((size_t)count * sizeof *table);
    FT_CHECK_MSG(table != NULL, "out of memory for the AdamW span table");
    size_t total = kern_adamw_spans_table(table, spans, count, h->lr);
    const void *dev = ops_cuda_upload(table, (size_t)count * sizeof *table);
    free(table);
    OPS_LAUNCH(kern_adamw_spans, grid(total), OPS_THREADS, param, grad, m, v,
               (const kern_adamw_span *)dev, count, total, kern_adamw_step_for(h));
}
