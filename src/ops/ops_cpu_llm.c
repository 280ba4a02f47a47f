/* ops_cpu_llm: the CPU bodies of the decoder-LLM operations (ops_list.h:
 * RMSNorm, rotary embedding, SwiGLU, causal grouped-query attention and the
 * token-level cross-entropy), float32 on host memory with OpenMP over rows.
 *
 * Design: each follows transformers' Llama modules' order of operations
 * where that order shows in float32 (RMSNorm multiplies weight * (x rstd);
 * RoPE's angle is the float32 product position * inv_freq; attention scales
 * the q·k sum after it is summed), so the fixtures agree to a few ulp.
 * Attention keeps its probabilities [B,NH,T,T] for backward as the BERT /
 * GPT-2 attention does; backward runs one task per (example, kv head), so
 * the query heads that share a key/value head add into it in turn, without
 * atomics. Packed rows (segment ids) restrict each query to its segment's
 * keys, visited in the same order as in a row of their own. Not here: a
 * sliding window, dropout on probabilities, reduced
 * precision (the CUDA back end leaves these operations NULL for now). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_error.h"
#include "ops/ops_cpu.h"

/* ---- RMSNorm ---------------------------------------------------------------- */

void ops_cpu_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int n,
                             int c, float eps)
{
#pragma omp parallel for if (n >= 64)
    for (int i = 0; i < n; i++) {
        const float *x = inp + (size_t)i * c;
        float *y = out + (size_t)i * c;
        double ss = 0.0; /* double: rows of 4096+ would lose bits in float */
        for (int j = 0; j < c; j++) ss += (double)x[j] * x[j];
        float r = 1.0f / sqrtf((float)(ss / c) + eps);
        for (int j = 0; j < c; j++) y[j] = weight[j] * (x[j] * r);
        rstd[i] = r;
    }
}

/* y = w ⊙ x r, r = (mean x² + eps)^-1/2:
 * dx = r (w ⊙ dy) - r³ x · sum(w ⊙ dy ⊙ x) / C; dw = sum over rows of dy ⊙ x r. */
void ops_cpu_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                              const float *weight, const float *rstd, int n, int c)
{
    if (dinp) {
#pragma omp parallel for if (n >= 64)
        for (int i = 0; i < n; i++) {
            const float *x = inp + (size_t)i * c, *dy = dout + (size_t)i * c;
            float *dx = dinp + (size_t)i * c, r = rstd[i];
            double dot = 0.0;
            for (int j = 0; j < c; j++) dot += (double)(weight[j] * dy[j]) * x[j];
            float k = r * r * r * (float)(dot / c);
            for (int j = 0; j < c; j++) dx[j] += r * weight[j] * dy[j] - k * x[j];
        }
    }
    if (dweight) {
#pragma omp parallel for if (c >= 256)
        for (int j = 0; j < c; j++) {
            double s = 0.0; /* a sum over every token of the batch */
            for (int i = 0; i < n; i++)
                s += dout[(size_t)i * c + j] * (inp[(size_t)i * c + j] * rstd[i]);
            dweight[j] += (float)s;
        }
    }
}

/* ---- rotary embedding --------------------------------------------------------- */

/* Turn each head's (x_i, x_{i+d/2}) by +angle (sign 1) or -angle (sign -1). */
static void rope_rows(float *x, const float *inv_freq, const int32_t *positions, int n, int heads,
                      int d, int stride, float sign)
{
    int half = d / 2;
#pragma omp parallel for if (n >= 64)
    for (int r = 0; r < n; r++) {
        float *row = x + (size_t)r * stride, pos = (float)positions[r];
        for (int i = 0; i < half; i++) {
            /* transformers: freqs = position.float() * inv_freq (float32),
             * cos/sin of it in float32 */
            float angle = pos * inv_freq[i];
            float cs = (float)cos((double)angle), sn = sign * (float)sin((double)angle);
            for (int h = 0; h < heads; h++) {
                float *a = row + (size_t)h * d, x1 = a[i], x2 = a[i + half];
                a[i] = x1 * cs - x2 * sn;
                a[i + half] = x2 * cs + x1 * sn;
            }
        }
    }
}

void ops_cpu_rope_forward(float *x, const float *inv_freq, const int32_t *positions, int n,
                          int heads, int d, int stride)
{
    rope_rows(x, inv_freq, positions, n, heads, d, stride, 1.0f);
}

void ops_cpu_rope_backward(float *dx, const float *inv_freq, const int32_t *positions, int n,
                           int heads, int d, int stride)
{
    rope_rows(dx, inv_freq, positions, n, heads, d, stride, -1.0f);
}

/* ---- SwiGLU -------------------------------------------------------------------- */

static float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

void ops_cpu_silu_mul_forward(float *act, const float *gu, int n, int i)
{
#pragma omp parallel for if (n >= 64)
    for (int r = 0; r < n; r++) {
        const float *g = gu + (size_t)r * 2 * i, *u = g + i;
        float *y = act + (size_t)r * i;
        for (int j = 0; j < i; j++) y[j] = g[j] * sigmoid(g[j]) * u[j];
    }
}

/* silu(g) = g s, s = sigmoid(g); silu'(g) = s (1 + g (1 - s)). */
void ops_cpu_silu_mul_backward(float *dgu, const float *dact, const float *gu, int n, int i)
{
#pragma omp parallel for if (n >= 64)
    for (int r = 0; r < n; r++) {
        const float *g = gu + (size_t)r * 2 * i, *u = g + i, *dy = dact + (size_t)r * i;
        float *dg = dgu + (size_t)r * 2 * i, *du = dg + i;
        for (int j = 0; j < i; j++) {
            float s = sigmoid(g[j]);
            du[j] += dy[j] * g[j] * s;
            dg[j] += dy[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
        }
    }
}

/* ---- causal grouped-query attention ------------------------------------------------ */

/* Row stride of qkv and the column of query head h, key / value head g. */
static size_t gqa_width(const ops_gqa_shape *s) { return (size_t)(s->nh + 2 * s->nkv) * s->d; }
static size_t gqa_k_col(const ops_gqa_shape *s, int g) { return (size_t)(s->nh + g) * s->d; }
static size_t gqa_v_col(const ops_gqa_shape *s, int g)
{
    return (size_t)(s->nh + s->nkv + g) * s->d;
}

/* Keys first <= j < limit are visible from query t of example b: causal,
 * not padding, and in a packed row (segments) within the run of the
 * query's segment. */
static int gqa_limit(const ops_gqa_shape *s, int b, int t)
{
    int len = s->lengths[b];
    return t + 1 < len ? t + 1 : len;
}

static int gqa_first(const ops_gqa_shape *s, int b, int t)
{
    if (!s->segments) return 0;
    const int32_t *seg = s->segments + (size_t)b * s->t;
    int j = t;
    while (j > 0 && seg[j - 1] == seg[t]) j--;
    return j;
}

void ops_cpu_gqa_attention_forward(float *out, float *probs, const float *qkv,
                                   const ops_gqa_shape *s)
{
    int B = s->b, T = s->t, NH = s->nh, D = s->d, group = s->nh / s->nkv;
    size_t W = gqa_width(s), OC = (size_t)NH * D;
    float scale = 1.0f / sqrtf((float)D);
#pragma omp parallel for collapse(2)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            const float *base = qkv + (size_t)b * T * W;
            size_t kc = gqa_k_col(s, h / group), vc = gqa_v_col(s, h / group);
            for (int t = 0; t < T; t++) {
                const float *q = base + (size_t)t * W + (size_t)h * D;
                float *p = probs + (((size_t)b * NH + h) * T + t) * T;
                int first = gqa_first(s, b, t), lim = gqa_limit(s, b, t);
                float mx = -INFINITY;
                for (int j = first; j < lim; j++) {
                    const float *k = base + (size_t)j * W + kc;
                    float dot = 0.0f;
                    for (int e = 0; e < D; e++) dot += q[e] * k[e];
                    p[j] = dot * scale;
                    if (p[j] > mx) mx = p[j];
                }
                float sum = 0.0f;
                for (int j = first; j < lim; j++) {
                    p[j] = expf(p[j] - mx);
                    sum += p[j];
                }
                for (int j = first; j < lim; j++) p[j] /= sum;
                for (int j = 0; j < first; j++) p[j] = 0.0f;
                for (int j = lim > first ? lim : first; j < T; j++) p[j] = 0.0f;
                float *o = out + ((size_t)b * T + t) * OC + (size_t)h * D;
                memset(o, 0, (size_t)D * sizeof *o);
                for (int j = first; j < lim; j++) {
                    const float *v = base + (size_t)j * W + vc;
                    for (int e = 0; e < D; e++) o[e] += p[j] * v[e];
                }
            }
        }
}

/* Query head h's gradient into the (b, kv head) task's rows: with P the
 * probabilities and dO the output gradient, dV += Pᵀ dO, dP = dO Vᵀ,
 * dS = P ⊙ (dP - rowsum(P ⊙ dP)), dQ += dS K / sqrt(D), dK += dSᵀ Q / sqrt(D).
 * dp: T floats of scratch. */
static void gqa_head_backward(float *dqkv, const float *dout, const float *qkv, const float *probs,
                              const ops_gqa_shape *s, int b, int h, float *dp)
{
    int T = s->t, NH = s->nh, D = s->d, g = h / (s->nh / s->nkv);
    size_t W = gqa_width(s), OC = (size_t)NH * D, kc = gqa_k_col(s, g), vc = gqa_v_col(s, g);
    float scale = 1.0f / sqrtf((float)D);
    const float *base = qkv + (size_t)b * T * W;
    float *dbase = dqkv + (size_t)b * T * W;
    for (int t = 0; t < T; t++) {
        const float *p = probs + (((size_t)b * NH + h) * T + t) * T;
        const float *dO = dout + ((size_t)b * T + t) * OC + (size_t)h * D;
        const float *q = base + (size_t)t * W + (size_t)h * D;
        float *dq = dbase + (size_t)t * W + (size_t)h * D;
        int first = gqa_first(s, b, t), lim = gqa_limit(s, b, t);
        float rowsum = 0.0f;
        for (int j = first; j < lim; j++) {
            const float *v = base + (size_t)j * W + vc;
            float *dv = dbase + (size_t)j * W + vc;
            float acc = 0.0f;
            for (int e = 0; e < D; e++) {
                acc += dO[e] * v[e];
                dv[e] += p[j] * dO[e];
            }
            dp[j] = acc;
            rowsum += p[j] * acc;
        }
        for (int j = first; j < lim; j++) {
            float ds = p[j] * (dp[j] - rowsum) * scale;
            const float *k = base + (size_t)j * W + kc;
            float *dk = dbase + (size_t)j * W + kc;
            for (int e = 0; e < D; e++) {
                dq[e] += ds * k[e];
                dk[e] += ds * q[e];
            }
        }
    }
}

void ops_cpu_gqa_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                    const float *probs, const ops_gqa_shape *s)
{
    int B = s->b, NKV = s->nkv, group = s->nh / s->nkv;
#pragma omp parallel
    {
        float *dp = ft_calloc_array((size_t)s->t, sizeof(float));
        FT_CHECK_MSG(dp != NULL, "gqa_attention_backward: out of memory for its scratch");
#pragma omp for collapse(2)
        for (int b = 0; b < B; b++)
            for (int g = 0; g < NKV; g++)
                for (int h = g * group; h < (g + 1) * group; h++)
                    gqa_head_backward(dqkv, dout, qkv, probs, s, b, h, dp);
        free(dp);
    }
}

/* ---- token-level cross-entropy ------------------------------------------------------ */

double ops_cpu_lm_crossentropy_forward(float *losses, float *lse, const float *logits,
                                       const int32_t *targets, int n, int v)
{
    double sum = 0.0;
    long counted = 0;
#pragma omp parallel for reduction(+ : sum, counted) if (n >= 16)
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * v;
        float mx = -INFINITY;
        double s = 0.0; /* a vocabulary of 10^5 terms: summed in double */
        for (int j = 0; j < v; j++) mx = z[j] > mx ? z[j] : mx;
        for (int j = 0; j < v; j++) s += expf(z[j] - mx);
        lse[i] = mx + (float)log(s);
        losses[i] = 0.0f;
        if (targets[i] < 0) continue;
        losses[i] = lse[i] - z[targets[i]];
        sum += losses[i];
        counted++;
    }
    return counted ? sum / (double)counted : 0.0;
}

void ops_cpu_lm_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                                      const int32_t *targets, int n, int v, float dloss)
{
#pragma omp parallel for if (n >= 16)
    for (int i = 0; i < n; i++) {
        if (targets[i] < 0) continue;
        const float *z = logits + (size_t)i * v;
        float *dz = dlogits + (size_t)i * v;
        for (int j = 0; j < v; j++) dz[j] += dloss * expf(z[j] - lse[i]);
        dz[targets[i]] -= dloss;
    }
}
