/* ops_cpu: the CPU back end of ops.h, OpenBLAS for matrix products and
 * OpenMP loops for everything else.
 *
 * Design: matrix products are one cblas_sgemm each (OpenBLAS threads them);
 * attention runs one (batch, head) pair per OpenMP iteration with
 * single-threaded sgemms inside (the OpenMP build of OpenBLAS does not nest
 * threads inside a parallel region). Reductions that feed parameter
 * gradients (bias, LayerNorm, embedding) split the work by column so that
 * every sum is taken in the same order whatever the thread count: results
 * are bit-identical across runs and thread counts.
 *
 * Not here: fused or bf16 kernels, anything GPU. */
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ft_error.h"
#include "rng.h"

#ifdef _OPENMP
#include <omp.h>
static int thread_id(void) { return omp_get_thread_num(); }
static int max_threads(void) { return omp_get_max_threads(); }
#else
static int thread_id(void) { return 0; }
static int max_threads(void) { return 1; }
#endif

/* ---- matrix products ----------------------------------------------------- */

void ops_matmul(float *c, const float *a, const float *b, int m, int n, int k,
                bool trans_a, bool trans_b, bool accumulate)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a,
                trans_a ? m : k, b, trans_b ? k : n, accumulate ? 1.0f : 0.0f,
                c, n);
}

void ops_linear_forward(float *out, const float *inp, const float *weight,
                        const float *bias, int n, int c, int oc,
                        ops_weight_layout layout)
{
    /* [out,in] weights: out = inp · Wᵀ; [in,out]: out = inp · W. */
    ops_matmul(out, inp, weight, n, oc, c, false, layout == OPS_W_OUT_IN,
               false);
    if (bias) ops_bias_forward(out, out, bias, n, oc);
}

void ops_linear_backward(float *dinp, float *dweight, float *dbias,
                         const float *dout, const float *inp,
                         const float *weight, int n, int c, int oc,
                         ops_weight_layout layout)
{
    bool out_in = layout == OPS_W_OUT_IN;
    /* dinp[N,C] += dout[N,OC] · W as [OC,C]. */
    if (dinp) ops_matmul(dinp, dout, weight, n, c, oc, false, !out_in, true);
    /* [out,in]: dW[OC,C] += doutᵀ · inp; [in,out]: dW[C,OC] += inpᵀ · dout. */
    if (dweight) {
        if (out_in)
            ops_matmul(dweight, dout, inp, oc, c, n, true, false, true);
        else
            ops_matmul(dweight, inp, dout, c, oc, n, true, false, true);
    }
    if (dbias) ops_bias_backward(dbias, dout, n, oc);
}

/* ---- element-wise ----------------------------------------------------------- */

void ops_bias_forward(float *out, const float *inp, const float *bias, int n,
                      int c)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            out[(size_t)i * c + j] = inp[(size_t)i * c + j] + bias[j];
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

void ops_bias_backward(float *dbias, const float *dout, int n, int c)
{
    column_sums(dbias, dout, n, c);
}

void ops_add(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void ops_accumulate(float *dst, const float *src, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void ops_scale(float *x, size_t n, float s)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

#define GELU_TANH_K 0.7978845608028654f /* sqrt(2/pi) */
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

void ops_gelu_forward(float *out, const float *inp, size_t n, ops_gelu_kind kind)
{
    if (kind == OPS_GELU_ERF) {
#pragma omp parallel for
        for (size_t i = 0; i < n; i++)
            out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * INV_SQRT2));
    } else {
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float u = GELU_TANH_K * (x + 0.044715f * x * x * x);
            out[i] = 0.5f * x * (1.0f + tanhf(u));
        }
    }
}

void ops_gelu_backward(float *dinp, const float *inp, const float *dout,
                       size_t n, ops_gelu_kind kind)
{
    if (kind == OPS_GELU_ERF) {
        /* d/dx x Φ(x) = Φ(x) + x φ(x). */
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
            float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += (cdf + x * pdf) * dout[i];
        }
    } else {
#pragma omp parallel for
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float th = tanhf(GELU_TANH_K * (x + 0.044715f * x * x * x));
            float du = GELU_TANH_K * (1.0f + 3.0f * 0.044715f * x * x);
            float d = 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du;
            dinp[i] += d * dout[i];
        }
    }
}

void ops_tanh_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
}

void ops_tanh_backward(float *dinp, const float *out, const float *dout,
                       size_t n)
{
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) dinp[i] += (1.0f - out[i] * out[i]) * dout[i];
}

/* ---- normalisation --------------------------------------------------------- */

void ops_layernorm_forward(float *out, float *mean, float *rstd,
                           const float *inp, const float *weight,
                           const float *bias, int n, int c, float eps)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *x = inp + (size_t)i * c;
        double sum = 0.0, sq = 0.0;
        for (int j = 0; j < c; j++) sum += x[j];
        double mu = sum / c;
        for (int j = 0; j < c; j++) sq += (x[j] - mu) * (x[j] - mu);
        float r = (float)(1.0 / sqrt(sq / c + eps));
        float *y = out + (size_t)i * c;
        for (int j = 0; j < c; j++)
            y[j] = ((float)(x[j] - mu) * r) * weight[j] + bias[j];
        mean[i] = (float)mu;
        rstd[i] = r;
    }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * weight. */
static void layernorm_backward_inputs(float *dinp, const float *dout,
                                      const float *inp, const float *weight,
                                      const float *mean, const float *rstd,
                                      int n, int c)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *dy = dout + (size_t)i * c, *x = inp + (size_t)i * c;
        double g_mean = 0.0, gx_mean = 0.0;
        for (int j = 0; j < c; j++) {
            float xhat = (x[j] - mean[i]) * rstd[i];
            g_mean += dy[j] * weight[j];
            gx_mean += dy[j] * weight[j] * xhat;
        }
        g_mean /= c;
        gx_mean /= c;
        float *dx = dinp + (size_t)i * c;
        for (int j = 0; j < c; j++) {
            float xhat = (x[j] - mean[i]) * rstd[i];
            float g = dy[j] * weight[j];
            dx[j] += rstd[i] * (float)(g - g_mean - xhat * gx_mean);
        }
    }
}

void ops_layernorm_backward(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const float *mean,
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

void ops_embedding_forward(float *out, const int32_t *ids, const float *table,
                           int n, int c, bool accumulate)
{
#pragma omp parallel for
    for (int i = 0; i < n; i++) {
        const float *row = table + (size_t)ids[i] * c;
        float *y = out + (size_t)i * c;
        for (int j = 0; j < c; j++) y[j] = (accumulate ? y[j] : 0.0f) + row[j];
    }
}

void ops_embedding_backward(float *dtable, const int32_t *ids,
                            const float *dout, int n, int c)
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

void ops_gather_rows_forward(float *out, const float *inp, const int32_t *rows,
                             int r, int c)
{
    for (int i = 0; i < r; i++)
        memcpy(out + (size_t)i * c, inp + (size_t)rows[i] * c,
               (size_t)c * sizeof(float));
}

void ops_gather_rows_backward(float *dinp, const float *dout,
                              const int32_t *rows, int r, int c)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            dinp[(size_t)rows[i] * c + j] += dout[(size_t)i * c + j];
}

/* ---- dropout ----------------------------------------------------------------- */

/* Multiply x[per_example] of one example by its mask / (1 - p); element k
 * draws word (base + k) of the Philox stream, one block per 4 words. */
static void dropout_example(float *out, const float *x, size_t per_example,
                            uint64_t base, float p, uint64_t seed,
                            uint64_t site, bool accumulate)
{
    float scale = 1.0f / (1.0f - p);
    rng_philox_out r = rng_block(seed, site, base >> 2);
    for (size_t k = 0; k < per_example; k++) {
        uint64_t idx = base + k;
        if (k > 0 && (idx & 3u) == 0) r = rng_block(seed, site, idx >> 2);
        float u = (float)(r.v[idx & 3u] >> 8) * (1.0f / 16777216.0f);
        float y = u >= p ? x[k] * scale : 0.0f;
        out[k] = accumulate ? out[k] + y : y;
    }
}

void ops_dropout_forward(float *out, const float *inp, int b,
                         size_t per_example, const int64_t *example_index,
                         float p, uint64_t seed, uint64_t site)
{
    if (p <= 0.0f) {
        if (out != inp) memmove(out, inp, (size_t)b * per_example * sizeof(float));
        return;
    }
    uint64_t stride = ops_dropout_stride(per_example);
#pragma omp parallel for
    for (int e = 0; e < b; e++)
        dropout_example(out + (size_t)e * per_example,
                        inp + (size_t)e * per_example, per_example,
                        (uint64_t)example_index[e] * stride, p, seed, site,
                        false);
}

void ops_dropout_backward(float *dinp, const float *dout, int b,
                          size_t per_example, const int64_t *example_index,
                          float p, uint64_t seed, uint64_t site)
{
    if (p <= 0.0f) {
        ops_accumulate(dinp, dout, (size_t)b * per_example);
        return;
    }
    uint64_t stride = ops_dropout_stride(per_example);
#pragma omp parallel for
    for (int e = 0; e < b; e++)
        dropout_example(dinp + (size_t)e * per_example,
                        dout + (size_t)e * per_example, per_example,
                        (uint64_t)example_index[e] * stride, p, seed, site,
                        true);
}

/* ---- loss ------------------------------------------------------------------ */

double ops_crossentropy_forward(float *losses, float *probs,
                                const float *logits, const int32_t *labels,
                                int b, int l)
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

void ops_crossentropy_backward(float *dlogits, const float *probs,
                               const int32_t *labels, int b, int l,
                               float dloss)
{
    for (int i = 0; i < b; i++)
        for (int j = 0; j < l; j++)
            dlogits[(size_t)i * l + j] +=
                dloss * (probs[(size_t)i * l + j] - (j == labels[i] ? 1.0f : 0.0f));
}

/* ---- optimiser ------------------------------------------------------------- */

double ops_sum_squares(const float *x, size_t n)
{
    double sum = 0.0;
#pragma omp parallel for reduction(+ : sum)
    for (size_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return sum;
}

void ops_adamw(float *param, const float *grad, float *m, float *v, size_t n,
               const ops_adamw_hparams *h)
{
    /* The scalars as torch computes them: in double, then used as floats. */
    double bc1 = 1.0 - pow(h->beta1, (double)h->step);
    double bc2 = 1.0 - pow(h->beta2, (double)h->step);
    float step_size = (float)(h->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)h->lr * h->weight_decay);
    float b1 = h->beta1, b2 = h->beta2;
#pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        param[i] *= decay;
        m[i] = m[i] * b1 + g * (1.0f - b1);
        v[i] = v[i] * b2 + (1.0f - b2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + h->eps;
        param[i] -= step_size * (m[i] / denom);
    }
}

/* ---- attention ------------------------------------------------------------- */

size_t ops_attention_scratch_floats(int t)
{
    return (size_t)max_threads() * 2u * (size_t)t * (size_t)t;
}

static bool key_visible(const ops_attention_shape *s, int b, int t, int j)
{
    return j < s->lengths[b] && (!s->causal || j <= t);
}

/* Row-wise masked softmax of scores[T,T] into probs (masked keys exactly 0). */
static void masked_softmax(float *probs, const float *scores,
                           const ops_attention_shape *s, int b)
{
    int T = s->t;
    for (int t = 0; t < T; t++) {
        const float *z = scores + (size_t)t * T;
        float *p = probs + (size_t)t * T;
        float zmax = -INFINITY;
        for (int j = 0; j < T; j++)
            if (key_visible(s, b, t, j) && z[j] > zmax) zmax = z[j];
        float sum = 0.0f;
        for (int j = 0; j < T; j++) {
            p[j] = key_visible(s, b, t, j) ? expf(z[j] - zmax) : 0.0f;
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < T; j++) p[j] *= inv;
    }
}

/* Index of the (b, h) attention matrix in the dropout counter space. */
static int64_t head_example(const ops_attention_shape *s, int b)
{
    return s->example_index[b];
}

static void attention_head_forward(float *out, float *probs, const float *qkv,
                                   const ops_attention_shape *s, int b, int h,
                                   float *scratch)
{
    int T = s->t, C = s->c, D = C / s->nh, ld = 3 * C;
    const float *q = qkv + (size_t)b * T * ld + (size_t)h * D;
    const float *k = q + C, *v = q + 2 * C;
    float *p = probs + ((size_t)b * s->nh + h) * T * T;
    float scale = 1.0f / sqrtf((float)D);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, scale, q, ld,
                k, ld, 0.0f, scratch, T);
    masked_softmax(p, scratch, s, b);
    const float *pd = p;
    if (s->dropout_p > 0.0f) {
        /* Head h of example e uses counters e*stride + h*T*T + ... */
        int64_t e = head_example(s, b);
        uint64_t stride = ops_dropout_stride((size_t)s->nh * T * T);
        dropout_example(scratch, p, (size_t)T * T,
                        (uint64_t)e * stride + (uint64_t)h * T * T,
                        s->dropout_p, s->seed, s->site, false);
        pd = scratch;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, 1.0f, pd, T,
                v, ld, 0.0f, out + (size_t)b * T * C + (size_t)h * D, C);
}

void ops_attention_forward(float *out, float *probs, const float *qkv,
                           const ops_attention_shape *s, float *scratch)
{
    int pairs = s->b * s->nh;
    size_t tt = (size_t)s->t * s->t;
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < pairs; bh++)
        attention_head_forward(out, probs, qkv, s, bh / s->nh, bh % s->nh,
                               scratch + (size_t)thread_id() * 2 * tt);
}

/* dS = P ⊙ (dP - rowsum(dP ⊙ P)), in place on dp[T,T]. */
static void softmax_backward_rows(float *dp, const float *p, int T)
{
    for (int t = 0; t < T; t++) {
        float *d = dp + (size_t)t * T;
        const float *pr = p + (size_t)t * T;
        float dot = 0.0f;
        for (int j = 0; j < T; j++) dot += d[j] * pr[j];
        for (int j = 0; j < T; j++) d[j] = pr[j] * (d[j] - dot);
    }
}

static void attention_head_backward(float *dqkv, const float *dout,
                                    const float *qkv, const float *probs,
                                    const ops_attention_shape *s, int b, int h,
                                    float *scratch)
{
    int T = s->t, C = s->c, D = C / s->nh, ld = 3 * C;
    size_t head = (size_t)b * T * ld + (size_t)h * D;
    const float *q = qkv + head, *k = q + C, *v = q + 2 * C;
    float *dq = dqkv + head, *dk = dq + C, *dv = dq + 2 * C;
    const float *p = probs + ((size_t)b * s->nh + h) * T * T;
    const float *dy = dout + (size_t)b * T * C + (size_t)h * D;
    float *pd = scratch, *dp = scratch + (size_t)T * T;
    uint64_t base = 0;
    if (s->dropout_p > 0.0f) {
        base = (uint64_t)head_example(s, b) *
                   ops_dropout_stride((size_t)s->nh * T * T) +
               (uint64_t)h * T * T;
        dropout_example(pd, p, (size_t)T * T, base, s->dropout_p, s->seed,
                        s->site, false);
    } else {
        pd = (float *)p; /* read only below */
    }
    /* dV += Pdᵀ dY; dPd = dY Vᵀ. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, 1.0f, pd, T,
                dy, C, 1.0f, dv, ld);
    float *dpd = s->dropout_p > 0.0f ? scratch : dp;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, D, 1.0f, dy, C,
                v, ld, 0.0f, dpd, T);
    if (s->dropout_p > 0.0f) {
        memset(dp, 0, (size_t)T * T * sizeof(float));
        dropout_example(dp, dpd, (size_t)T * T, base, s->dropout_p, s->seed,
                        s->site, true);
    }
    softmax_backward_rows(dp, p, T);
    float scale = 1.0f / sqrtf((float)D);
    /* dQ += scale dS K; dK += scale dSᵀ Q. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, D, T, scale, dp,
                T, k, ld, 1.0f, dq, ld);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, D, T, scale, dp, T,
                q, ld, 1.0f, dk, ld);
}

void ops_attention_backward(float *dqkv, const float *dout, const float *qkv,
                            const float *probs, const ops_attention_shape *s,
                            float *scratch)
{
    int pairs = s->b * s->nh;
    size_t tt = (size_t)s->t * s->t;
    /* Heads of one example write disjoint columns of dqkv: no races. */
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < pairs; bh++)
        attention_head_backward(dqkv, dout, qkv, probs, s, bh / s->nh,
                                bh % s->nh,
                                scratch + (size_t)thread_id() * 2 * tt);
}
