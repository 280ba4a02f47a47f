/* ops_cpu: the CPU back end of ops.h, an sgemm for matrix products and
 * OpenMP loops for everything else (attention: ops_cpu_attention.c,
 * dropout: ops_cpu_dropout.c).
 *
 * Design: matrix products are one sgemm each (ops_cpu_gemm.c: OpenBLAS or
 * oneDNN, whichever runs at this CPU's speed; both thread them);
 * a linear layer's bias is written first and the product added onto it
 * (beta = 1), which saves OpenBLAS's zeroing pass and a bias pass.
 * Element-wise kernels are branch-free loops over ops_cpu_simd.h's exp and
 * Φ, compiled per ISA (OPS_CLONES), called on row or chunk pieces
 * from OpenMP loops. Reductions that feed parameter gradients (bias,
 * LayerNorm, embedding) split the work by column so that every sum is taken
 * in the same order whatever the thread count: results are bit-identical
 * across runs and thread counts (on one machine).
 *
 * Not here: bf16 products (ops_cpu_bf16.c), anything GPU. */
#if defined(__GNUC__) && !defined(__clang__)
/* No trapping-math: selects may evaluate both sides, which lets the
 * loops vectorise (if-conversion); results do not change. */
#pragma GCC optimize("no-trapping-math")
#endif
#include "ops/ops_cpu.h"

#include <math.h>
#include <string.h>

#include "ops_cpu_simd.h"

/* ---- matrix products ----------------------------------------------------- */

void ops_cpu_matmul(float *c, const float *a, const float *b, int m, int n, int k, bool trans_a,
                    bool trans_b, bool accumulate)
{
    ops_cpu_sgemm(trans_a, trans_b, m, n, k, 1.0f, a, trans_a ? m : k, b, trans_b ? k : n,
                  accumulate ? 1.0f : 0.0f, c, n);
}

void ops_cpu_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                            int n, int c, int oc, ops_weight_layout layout)
{
    /* [out,in] weights: out = inp · Wᵀ; [in,out]: out = inp · W, added
     * onto rows of bias. */
    if (bias) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < n; i++) memcpy(out + (size_t)i * oc, bias, (size_t)oc * sizeof(float));
    }
    ops_cpu_matmul(out, inp, weight, n, oc, c, false, layout == OPS_W_OUT_IN, bias != NULL);
}

void ops_cpu_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *weight, int n, int c, int oc,
                             ops_weight_layout layout)
{
    bool out_in = layout == OPS_W_OUT_IN;
    /* dinp[N,C] += dout[N,OC] · W as [OC,C]. */
    if (dinp) ops_cpu_matmul(dinp, dout, weight, n, c, oc, false, !out_in, true);
    /* [out,in]: dW[OC,C] += doutᵀ · inp; [in,out]: dW[C,OC] += inpᵀ · dout. */
    if (dweight) {
        if (out_in)
            ops_cpu_matmul(dweight, dout, inp, oc, c, n, true, false, true);
        else
            ops_cpu_matmul(dweight, inp, dout, c, oc, n, true, false, true);
    }
    if (dbias) ops_cpu_bias_backward(dbias, dout, n, oc);
}

/* ---- element-wise ----------------------------------------------------------- */

/* out[N,C] = inp + bias[C] (out may equal inp). */
static void bias_forward(float *out, const float *inp, const float *bias, int n, int c)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) out[(size_t)i * c + j] = inp[(size_t)i * c + j] + bias[j];
}

enum { COLUMN_BLOCK = 64 };

/* Column sums of x[N,C] added to sum[C]: threads own blocks of 64 columns
 * and walk the rows in order inside their block, so memory is read row by
 * row and every sum is taken in the same order (deterministic). */
static void column_sums(float *sum, const float *x, int n, int c)
{
    int blocks = (c + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COLUMN_BLOCK;
        int w = j0 + COLUMN_BLOCK < c ? COLUMN_BLOCK : c - j0;
        float acc[COLUMN_BLOCK] = {0};
        for (int i = 0; i < n; i++) {
            const float *row = x + (size_t)i * c + j0;
            for (int j = 0; j < w; j++) acc[j] += row[j];
        }
        for (int j = 0; j < w; j++) sum[j0 + j] += acc[j];
    }
}

void ops_cpu_bias_backward(float *dbias, const float *dout, int n, int c)
{
    column_sums(dbias, dout, n, c);
}

void ops_cpu_add(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void ops_cpu_scale(float *x, size_t n, float s)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

#define GELU_TANH_K  0.7978845608028654f /* sqrt(2/pi) */
#define INV_SQRT_2PI 0.3989422804014327f

OPS_CLONES
static void gelu_erf_fwd(float *restrict y, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] * ops_phi(x[i]);
}

OPS_CLONES
static void gelu_tanh_fwd(float *restrict y, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* 0.5 (1 + tanh u) = e / (e + 1), e = exp(2u): no cancellation */
        float e = ops_exp(2.0f * GELU_TANH_K * (x[i] + 0.044715f * x[i] * x[i] * x[i]));
        y[i] = x[i] * (e / (e + 1.0f));
    }
}

void ops_cpu_bias_gelu_forward(float *out, float *inp, const float *bias, int rows, int c,
                               ops_gelu_kind kind)
{
    size_t n = (size_t)rows * c;
    if (bias) bias_forward(inp, inp, bias, rows, c);
    if (kind == OPS_GELU_ERF)
        CHUNKED(n, gelu_erf_fwd(out + i0, inp + i0, len));
    else
        CHUNKED(n, gelu_tanh_fwd(out + i0, inp + i0, len));
}

/* d/dx x Φ(x) = Φ(x) + x φ(x). */
OPS_CLONES
static void gelu_erf_bwd(float *restrict dx, const float *restrict x, const float *restrict dy,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float pdf = INV_SQRT_2PI * ops_exp(-0.5f * x[i] * x[i]);
        dx[i] = (ops_phi(x[i]) + x[i] * pdf) * dy[i];
    }
}

OPS_CLONES
static void gelu_tanh_bwd(float *restrict dx, const float *restrict x, const float *restrict dy,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        /* with e = exp(2u): 0.5 (1 + tanh u) = e/(e+1), 1 - tanh² u = 4e/(e+1)² */
        float e = ops_exp(2.0f * GELU_TANH_K * (v + 0.044715f * v * v * v)), e1 = e + 1.0f;
        float du = GELU_TANH_K * (1.0f + 3.0f * 0.044715f * v * v);
        float sech2 = e1 < 1e18f ? 4.0f * e / (e1 * e1) : 0.0f;
        dx[i] = (e / e1 + 0.5f * v * sech2 * du) * dy[i];
    }
}

void ops_cpu_gelu_bias_backward(float *dinp, float *dbias, const float *inp, const float *dout,
                                int rows, int c, ops_gelu_kind kind)
{
    size_t n = (size_t)rows * c;
    if (kind == OPS_GELU_ERF)
        CHUNKED(n, gelu_erf_bwd(dinp + i0, inp + i0, dout + i0, len));
    else
        CHUNKED(n, gelu_tanh_bwd(dinp + i0, inp + i0, dout + i0, len));
    if (dbias) column_sums(dbias, dinp, rows, c);
}

void ops_cpu_tanh_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void ops_cpu_tanh_backward(float *dinp, const float *out, const float *dout, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) dinp[i] += (1.0f - out[i] * out[i]) * dout[i];
}

/* ---- normalisation --------------------------------------------------------- */

/* One row: mean and variance in double (as before: two passes). */
OPS_CLONES
static void layernorm_row(float *restrict y, float *mean, float *rstd, const float *restrict x,
                          const float *restrict w, const float *restrict bias, int c, float eps)
{
    double sum = 0.0, sq = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < c; j++) sum += x[j];
    double mu = sum / c;
#pragma omp simd reduction(+ : sq)
    for (int j = 0; j < c; j++) sq += (x[j] - mu) * (x[j] - mu);
    float r = (float)(1.0 / sqrt(sq / c + eps)), muf = (float)mu;
    for (int j = 0; j < c; j++) y[j] = ((x[j] - muf) * r) * w[j] + bias[j];
    *mean = muf;
    *rstd = r;
}

void ops_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                               const float *weight, const float *bias, int n, int c, float eps)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        layernorm_row(out + (size_t)i * c, mean + i, rstd + i, inp + (size_t)i * c, weight, bias, c,
                      eps);
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * weight. */
OPS_CLONES
static void layernorm_row_backward(float *restrict dx, const float *restrict dy,
                                   const float *restrict x, const float *restrict w, float mean,
                                   float rstd, int c)
{
    double g_sum = 0.0, gx_sum = 0.0;
#pragma omp simd reduction(+ : g_sum, gx_sum)
    for (int j = 0; j < c; j++) {
        float xhat = (x[j] - mean) * rstd, g = dy[j] * w[j];
        g_sum += g;
        gx_sum += g * xhat;
    }
    float g_mean = (float)(g_sum / c), gx_mean = (float)(gx_sum / c);
    for (int j = 0; j < c; j++) {
        float xhat = (x[j] - mean) * rstd, g = dy[j] * w[j];
        dx[j] += rstd * (g - g_mean - xhat * gx_mean);
    }
}

static void layernorm_backward_inputs(float *dinp, const float *dout, const float *inp,
                                      const float *weight, const float *mean, const float *rstd,
                                      int n, int c)
{
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        layernorm_row_backward(dinp + (size_t)i * c, dout + (size_t)i * c, inp + (size_t)i * c,
                               weight, mean[i], rstd[i], c);
}

void ops_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, const float *mean,
                                const float *rstd, int n, int c)
{
    if (dinp) layernorm_backward_inputs(dinp, dout, inp, weight, mean, rstd, n, c);
    if (!dweight && !dbias) return;
    int blocks = (c + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COLUMN_BLOCK;
        int w = j0 + COLUMN_BLOCK < c ? COLUMN_BLOCK : c - j0;
        float dw[COLUMN_BLOCK] = {0}, db[COLUMN_BLOCK] = {0};
        for (int i = 0; i < n; i++) {
            const float *dy = dout + (size_t)i * c + j0, *x = inp + (size_t)i * c + j0;
            for (int j = 0; j < w; j++) {
                dw[j] += dy[j] * (x[j] - mean[i]) * rstd[i];
                db[j] += dy[j];
            }
        }
        for (int j = 0; j < w; j++) {
            if (dweight) dweight[j0 + j] += dw[j];
            if (dbias) dbias[j0 + j] += db[j];
        }
    }
}

/* ---- embeddings ------------------------------------------------------------ */

void ops_cpu_embedding_forward(float *out, const int32_t *ids, const float *table, int n, int c,
                               bool accumulate)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *row = table + (size_t)ids[i] * c;
        float *y = out + (size_t)i * c;
        for (int j = 0; j < c; j++) y[j] = (accumulate ? y[j] : 0.0f) + row[j];
    }
}

void ops_cpu_embedding_backward(float *dtable, const int32_t *ids, const float *dout, int n, int c)
{
    int blocks = (c + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
#pragma omp parallel for
    for (int blk = 0; blk < blocks; blk++) {
        int j0 = blk * COLUMN_BLOCK;
        int j1 = j0 + COLUMN_BLOCK < c ? j0 + COLUMN_BLOCK : c;
        for (int i = 0; i < n; i++) {
            float *row = dtable + (size_t)ids[i] * c;
            const float *dy = dout + (size_t)i * c;
            for (int j = j0; j < j1; j++) row[j] += dy[j];
        }
    }
}

void ops_cpu_gather_rows_forward(float *out, const float *inp, const int32_t *rows, int r, int c)
{
    for (int i = 0; i < r; i++)
        memcpy(out + (size_t)i * c, inp + (size_t)rows[i] * c, (size_t)c * sizeof(float));
}

void ops_cpu_gather_rows_backward(float *dinp, const float *dout, const int32_t *rows, int r, int c)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) dinp[(size_t)rows[i] * c + j] += dout[(size_t)i * c + j];
}

/* ---- loss ------------------------------------------------------------------ */

double ops_cpu_crossentropy_forward(float *losses, float *probs, const float *logits,
                                    const int32_t *labels, int b, int l)
{
    double total = 0.0;
    for (int i = 0; i < b; i++) {
        const float *z = logits + (size_t)i * l;
        float *pr = probs + (size_t)i * l;
        float zmax = z[0];
        for (int j = 1; j < l; j++) zmax = z[j] > zmax ? z[j] : zmax;
        double sum = 0.0;
        for (int j = 0; j < l; j++) sum += exp((double)z[j] - zmax);
        for (int j = 0; j < l; j++) pr[j] = (float)(exp((double)z[j] - zmax) / sum);
        losses[i] = (float)(log(sum) + zmax - z[labels[i]]);
        total += losses[i];
    }
    return total / b;
}

void ops_cpu_crossentropy_backward(float *dlogits, const float *probs, const int32_t *labels, int b,
                                   int l, float dloss)
{
    for (int i = 0; i < b; i++)
        for (int j = 0; j < l; j++)
            dlogits[(size_t)i * l + j] +=
                dloss * (probs[(size_t)i * l + j] - (j == labels[i] ? 1.0f : 0.0f));
}

/* ---- optimiser ------------------------------------------------------------- */

OPS_CLONES
static double sum_squares_chunk(const float *restrict x, size_t n)
{
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (size_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return sum;
}

static double sum_squares(const float *x, size_t n)
{
    size_t chunks = (n + ELEM_CHUNK - 1) / ELEM_CHUNK;
    double sum = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t c = 0; c < chunks; c++) {
        size_t i0 = c * ELEM_CHUNK;
        sum += sum_squares_chunk(x + i0, n - i0 < ELEM_CHUNK ? n - i0 : ELEM_CHUNK);
    }
    return sum;
}

OPS_CLONES
static void adamw_chunk(float *restrict param, const float *restrict grad, float *restrict m,
                        float *restrict v, size_t n, float decay, float b1, float b2,
                        float step_size, float bc2_sqrt, float eps)
{
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float p = param[i] * decay;
        float mi = m[i] * b1 + g * (1.0f - b1);
        float vi = v[i] * b2 + (1.0f - b2) * g * g;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        param[i] = p - step_size * (mi / denom);
    }
}

static void adamw(float *param, const float *grad, float *m, float *v, size_t n,
                  const ops_adamw_hparams *h)
{
    /* The scalars as torch computes them: in double, then used as floats. */
    double bc1 = 1.0 - pow(h->beta1, (double)h->step);
    double bc2 = 1.0 - pow(h->beta2, (double)h->step);
    float step_size = (float)(h->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)h->lr * h->weight_decay);
    CHUNKED(n, adamw_chunk(param + i0, grad + i0, m + i0, v + i0, len, decay, h->beta1, h->beta2,
                           step_size, bc2_sqrt, h->eps));
}

double ops_cpu_sum_squares_spans(const float *x, const ops_span *spans, int count)
{
    double sum = 0.0;
    for (int i = 0; i < count; i++) sum += sum_squares(x + spans[i].offset, spans[i].n);
    return sum;
}

void ops_cpu_adamw_spans(float *param, const float *grad, float *m, float *v,
                         const ops_adamw_span *spans, int count, const ops_adamw_hparams *h)
{
    for (int i = 0; i < count; i++) {
        ops_adamw_hparams hi = *h;
        hi.weight_decay = spans[i].weight_decay;
        size_t o = spans[i].offset;
        adamw(param + o, grad + o, m + o, v + o, spans[i].n, &hi);
    }
}
