/* test_ops_cpu: the fast kernels of the CPU back end against plain
 * references written here (double precision, libm, rng.h's scalar Philox).
 *
 * What it pins down: the vectorised Philox gives rng_block's numbers; the
 * dropout masks are exactly ops.h's (rng_uniform(seed, site, e*stride + i)
 * >= p) at unaligned counters, across chunk boundaries and in place; the
 * fused attention (softmax + dropout on a visible prefix) matches a naive
 * masked attention forward and backward with the same masks; GELU, exp, Φ,
 * LayerNorm, AdamW and the bias-first linear layer are within float
 * accuracy of double references; bf16 rounding is nearest-even by its
 * definition and the bf16 products match a double product of the same
 * bf16 operands; a back end without an operation is named in an error
 * (ops_backend_require) and a call of it stops the process with the same
 * words. test_model checks the whole models
 * against PyTorch; this one checks the pieces PyTorch cannot (masks). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ops/ops.h"
#include "ops/ops_backend.h"
#include "ops/ops_cpu.h"
#include "ops_cpu_simd.h"
#include "core/rng.h"

#define PI 3.14159265358979323846

static float frand(uint64_t i) { return rng_uniform(99, 1, i) * 2.0f - 1.0f; }

static void test_philox(void)
{
    const uint64_t counters[3] = {0, 7, 0xFFFFFFF9ull}; /* the last crosses 2^32 */
    for (int c = 0; c < 3; c++) {
        uint32_t w[OPS_PHILOX_WORDS];
        ops_philox16(w, 0x123456789ull, 0xABCDEF0123ull, counters[c]);
        int bad = 0;
        for (int i = 0; i < OPS_PHILOX_BLOCKS; i++) {
            rng_philox_out r = rng_block(0x123456789ull, 0xABCDEF0123ull, counters[c] + i);
            for (int j = 0; j < 4; j++) bad += w[4 * i + j] != r.v[j];
        }
        CHECK_EQ_INT(bad, 0);
    }
}

/* Dropout against the definition, copying and in place. */
static void test_dropout_case(size_t per, float p)
{
    const int b = 3;
    const int64_t idx[3] = {5, 0, 1000000007};
    size_t n = (size_t)b * per;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    float *z = malloc(n * sizeof *z);
    uint64_t seed = 42, site = ops_dropout_site(3, 2, 1), stride = ops_dropout_stride(per);
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) x[i] = frand(i);
    ops_dropout_forward(y, x, b, per, idx, p, seed, site);
    memcpy(z, x, n * sizeof *z);
    ops_dropout_forward(z, z, b, per, idx, p, seed, site);
    int bad = 0, kept = 0;
    for (int e = 0; e < b; e++)
        for (size_t k = 0; k < per; k++) {
            size_t i = (size_t)e * per + k;
            float u = rng_uniform(seed, site, (uint64_t)idx[e] * stride + k);
            float want = u >= p ? x[i] * scale : 0.0f;
            kept += u >= p;
            bad += y[i] != want || z[i] != want;
        }
    CHECK_MSG(bad == 0, "per_example %zu p %g: %d elements differ", per, (double)p, bad);
    double frac = (double)kept / (double)n;
    CHECK_MSG(n < 100 || fabs(frac - (1.0 - p)) < 0.05, "kept fraction %g for p %g", frac,
              (double)p);
    free(x);
    free(y);
    free(z);
}

static void test_dropout(void)
{
    test_dropout_case(37, 0.1f);
    test_dropout_case(37, 0.5f);
    test_dropout_case(5001, 0.1f); /* several chunks per example */
    test_dropout_case(1, 0.3f);
}

static void test_elementwise(void)
{
    double worst_exp = 0, worst_phi = 0, worst_gelu = 0, worst_dgelu = 0;
    enum { N = 4001 };
    float x[N], y[N], dy[N], dx[N];
    for (int i = 0; i < N; i++) x[i] = -12.0f + 24.0f * (float)i / (N - 1);
    for (int i = 0; i < N; i++) {
        float a = -87.0f + 175.0f * (float)i / (N - 1);
        double e = exp((double)a);
        worst_exp = fmax(worst_exp, fabs(ops_exp(a) - e) / e);
        double phi = 0.5 * erfc(-(double)x[i] / sqrt(2.0));
        double err = fabs(ops_phi(x[i]) - phi);
        worst_phi = fmax(worst_phi, phi < 1e-3 ? err / phi * 1e-3 : err);
    }
    for (int kind = 0; kind < 2; kind++) {
        ops_bias_gelu_forward(y, x, NULL, 1, N, kind ? OPS_GELU_TANH : OPS_GELU_ERF);
        for (int i = 0; i < N; i++) {
            dy[i] = 1.0f;
            dx[i] = 0.25f; /* overwritten: the backward writes, it does not add */
        }
        ops_gelu_bias_backward(dx, NULL, x, dy, 1, N, kind ? OPS_GELU_TANH : OPS_GELU_ERF);
        for (int i = 0; i < N; i++) {
            double v = x[i], g, dg;
            if (kind == 0) {
                double cdf = 0.5 * erfc(-v / sqrt(2.0)), pdf = exp(-0.5 * v * v) / sqrt(2 * PI);
                g = v * cdf;
                dg = cdf + v * pdf;
            } else {
                double k = sqrt(2.0 / PI), th = tanh(k * (v + 0.044715 * v * v * v));
                g = 0.5 * v * (1.0 + th);
                dg =
                    0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * k * (1.0 + 3 * 0.044715 * v * v);
            }
            worst_gelu = fmax(worst_gelu, fabs(y[i] - g) / fmax(1.0, fabs(g)));
            worst_dgelu = fmax(worst_dgelu, fabs(dx[i] - dg) / fmax(1.0, fabs(dg)));
        }
        fprintf(stderr, "gelu kind %d: worst gelu %.2g gelu' %.2g\n", kind, worst_gelu,
                worst_dgelu);
    }
    fprintf(stderr, "worst errors: exp %.2g, phi %.2g, gelu %.2g, gelu' %.2g\n", worst_exp,
            worst_phi, worst_gelu, worst_dgelu);
    CHECK(worst_exp < 3e-7);
    CHECK(worst_phi < 5e-7);
    CHECK(worst_gelu < 1e-6);
    CHECK(worst_dgelu < 1e-6);
}

/* The MLP's fused forms: bias then GELU is the biased pre-activation (by
 * hand, exactly) and GELU of it (exactly the bias-free call's); the
 * backward's bias gradient adds the column sums of what it wrote (double
 * reference, 1e-6 relative). */
static void test_bias_gelu(void)
{
    enum { R = 67, C = 9 };
    float x[R * C], pre[R * C], pre2[R * C], act[R * C], act2[R * C], bias[C];
    float dact[R * C], dpre[R * C], dpre2[R * C], dbias[C];
    for (int i = 0; i < R * C; i++) x[i] = 4.0f * frand(i), dact[i] = frand(5000 + i);
    for (int j = 0; j < C; j++) bias[j] = frand(9000 + j), dbias[j] = 0.5f;
    for (int kind = 0; kind < 2; kind++) {
        ops_gelu_kind k = kind ? OPS_GELU_TANH : OPS_GELU_ERF;
        memcpy(pre, x, sizeof pre);
        ops_bias_gelu_forward(act, pre, bias, R, C, k);
        int pre_wrong = 0;
        for (int i = 0; i < R * C; i++) pre_wrong += pre[i] != x[i] + bias[i % C];
        CHECK(pre_wrong == 0);
        memcpy(pre2, pre, sizeof pre);
        ops_bias_gelu_forward(act2, pre2, NULL, R, C, k);
        CHECK(memcmp(act, act2, sizeof act) == 0 && memcmp(pre, pre2, sizeof pre) == 0);
        for (int i = 0; i < R * C; i++) dpre[i] = 99.0f, dpre2[i] = -7.0f;
        for (int j = 0; j < C; j++) dbias[j] = 0.5f;
        ops_gelu_bias_backward(dpre, dbias, pre, dact, R, C, k);
        ops_gelu_bias_backward(dpre2, NULL, pre, dact, R, C, k);
        CHECK(memcmp(dpre, dpre2, sizeof dpre) == 0);
        double worst = 0.0;
        for (int j = 0; j < C; j++) {
            double s = 0.5;
            for (int r = 0; r < R; r++) s += dpre[r * C + j];
            worst = fmax(worst, fabs(dbias[j] - s) / fmax(1.0, fabs(s)));
        }
        CHECK(worst < 1e-6);
    }
}

/* ---- attention against a naive double reference with the same masks ---- */

enum { AB = 2, AT = 7, AC = 8, ANH = 2, AD = AC / ANH };

typedef struct attn_ref {
    double out[AB * AT * AC], dqkv[AB * AT * 3 * AC];
} attn_ref;

static double mask_of(const ops_attention_shape *s, int b, int h, int t, int j)
{
    if (s->dropout_p <= 0.0f) return 1.0;
    uint64_t stride = ops_dropout_stride((size_t)ANH * AT * AT);
    uint64_t i = (uint64_t)s->example_index[b] * stride + (uint64_t)(h * AT * AT + t * AT + j);
    return rng_uniform(s->seed, s->site, i) >= s->dropout_p ? 1.0 / (1.0 - s->dropout_p) : 0.0;
}

/* One (b, h): forward into r->out, backward (from dout) into r->dqkv. */
static void ref_head(attn_ref *r, const float *qkv, const float *dout, const ops_attention_shape *s,
                     int b, int h)
{
    double P[AT][AT] = {{0}}, dS[AT][AT] = {{0}}, sc = 1.0 / sqrt((double)AD);
#define Q(t, d)  qkv[((size_t)b * AT + (t)) * 3 * AC + (size_t)h * AD + (d)]
#define K(t, d)  Q(t, (d) + AC)
#define V(t, d)  Q(t, (d) + 2 * AC)
#define DQ(t, d) r->dqkv[((size_t)b * AT + (t)) * 3 * AC + (size_t)h * AD + (d)]
    for (int t = 0; t < AT; t++) {
        int lim = s->lengths[b];
        if (s->causal && t + 1 < lim) lim = t + 1;
        double zmax = -1e300, sum = 0.0, z[AT];
        for (int j = 0; j < lim; j++) {
            z[j] = 0.0;
            for (int d = 0; d < AD; d++) z[j] += Q(t, d) * K(j, d) * sc;
            zmax = fmax(zmax, z[j]);
        }
        for (int j = 0; j < lim; j++) sum += P[t][j] = exp(z[j] - zmax);
        for (int j = 0; j < lim; j++) P[t][j] /= sum;
        double dot = 0.0;
        for (int j = 0; j < AT; j++) {
            double m = mask_of(s, b, h, t, j), dpd = 0.0;
            for (int d = 0; d < AD; d++) {
                r->out[((size_t)b * AT + t) * AC + h * AD + d] += P[t][j] * m * V(j, d);
                double g = dout[((size_t)b * AT + t) * AC + h * AD + d];
                dpd += g * V(j, d);
                DQ(j, d + 2 * AC) += P[t][j] * m * g; /* dV */
            }
            dS[t][j] = dpd * m;
            dot += dS[t][j] * P[t][j];
        }
        for (int j = 0; j < AT; j++) dS[t][j] = P[t][j] * (dS[t][j] - dot);
    }
    for (int t = 0; t < AT; t++)
        for (int j = 0; j < AT; j++)
            for (int d = 0; d < AD; d++) {
                DQ(t, d) += dS[t][j] * K(j, d) * sc;
                DQ(j, d + AC) += dS[t][j] * Q(t, d) * sc;
            }
#undef Q
#undef K
#undef V
#undef DQ
}

static void attention_case(bool causal, float p)
{
    static float qkv[AB * AT * 3 * AC], out[AB * AT * AC], dout[AB * AT * AC];
    static float dqkv[AB * AT * 3 * AC], probs[AB * ANH * AT * AT];
    static attn_ref r;
    const int32_t lengths[AB] = {AT, 4};
    const int64_t idx[AB] = {3, 11};
    ops_attention_shape s = {AB, AT, AC, ANH, causal, lengths, idx, p, 9, 77};
    for (size_t i = 0; i < sizeof qkv / sizeof *qkv; i++) qkv[i] = 2.0f * frand(i);
    for (size_t i = 0; i < sizeof dout / sizeof *dout; i++) dout[i] = frand(i + 5000);
    for (size_t i = 0; i < sizeof dqkv / sizeof *dqkv; i++) dqkv[i] = 0.125f;
    float *scratch = malloc(ops_attention_scratch_floats(AB, AT, AC, ANH) * sizeof(float));
    ops_attention_forward(out, probs, qkv, &s, scratch);
    ops_attention_backward(dqkv, dout, qkv, probs, &s, scratch);
    free(scratch);
    memset(&r, 0, sizeof r);
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < ANH; h++) ref_head(&r, qkv, dout, &s, b, h);
    double worst_out = 0.0, worst_d = 0.0;
    for (size_t i = 0; i < sizeof out / sizeof *out; i++)
        worst_out = fmax(worst_out, fabs(out[i] - r.out[i]) / fmax(1.0, fabs(r.out[i])));
    for (size_t i = 0; i < sizeof dqkv / sizeof *dqkv; i++) {
        double want = 0.125 + r.dqkv[i];
        worst_d = fmax(worst_d, fabs(dqkv[i] - want) / fmax(1.0, fabs(want)));
    }
    CHECK_MSG(worst_out < 1e-5 && worst_d < 1e-5, "causal %d p %g: out %.3g dqkv %.3g", causal,
              (double)p, worst_out, worst_d);
}

static void test_attention(void)
{
    for (int causal = 0; causal < 2; causal++) {
        attention_case(causal, 0.0f);
        attention_case(causal, 0.3f);
    }
}

/* ---- LayerNorm, AdamW, linear against double references ----------------- */

static void test_layernorm(void)
{
    enum { N = 5, C = 67 };
    float x[N * C], w[C], bias[C], y[N * C], mean[N], rstd[N], dy[N * C], dx[N * C];
    float dw[C] = {0}, db[C] = {0};
    for (int i = 0; i < N * C; i++)
        x[i] = 3.0f * frand(i) + 1.0f, dy[i] = frand(i + 999), dx[i] = 0;
    for (int j = 0; j < C; j++) w[j] = 1.0f + 0.5f * frand(j + 77), bias[j] = frand(j + 55);
    ops_layernorm_forward(y, mean, rstd, x, w, bias, N, C, 1e-5f);
    ops_layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, N, C);
    double worst = 0.0, worst_d = 0.0;
    for (int i = 0; i < N; i++) {
        double mu = 0, var = 0, gm = 0, gxm = 0;
        for (int j = 0; j < C; j++) mu += x[i * C + j] / (double)C;
        for (int j = 0; j < C; j++) var += (x[i * C + j] - mu) * (x[i * C + j] - mu) / C;
        double rs = 1.0 / sqrt(var + 1e-5);
        for (int j = 0; j < C; j++) {
            double xh = (x[i * C + j] - mu) * rs;
            worst = fmax(worst, fabs(y[i * C + j] - (xh * w[j] + bias[j])));
            gm += dy[i * C + j] * w[j] / C;
            gxm += dy[i * C + j] * w[j] * xh / C;
        }
        for (int j = 0; j < C; j++) {
            double xh = (x[i * C + j] - mu) * rs;
            double want = rs * (dy[i * C + j] * w[j] - gm - xh * gxm);
            worst_d = fmax(worst_d, fabs(dx[i * C + j] - want) / fmax(1.0, fabs(want)));
        }
    }
    CHECK_MSG(worst < 1e-5 && worst_d < 1e-5, "layernorm: y %.3g dx %.3g", worst, worst_d);
}

static void test_adamw_linear(void)
{
    enum { N = 1003, M = 5, C = 9, OC = 13 };
    float p[N], g[N], m[N], v[N];
    for (int i = 0; i < N; i++)
        p[i] = frand(i), g[i] = frand(i + N), m[i] = 0.1f * frand(i + 2 * N),
        v[i] = 0.01f * fabsf(frand(i + 3 * N));
    float p0[N], m0[N], v0[N];
    memcpy(p0, p, sizeof p);
    memcpy(m0, m, sizeof m);
    memcpy(v0, v, sizeof v);
    ops_adamw_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3};
    const ops_adamw_span all = {0, N, 0.01f};
    ops_adamw_spans(p, g, m, v, &all, 1, &h);
    double worst = 0.0, bc1 = 1 - pow(0.9, 3), bc2 = 1 - pow(0.999, 3);
    for (int i = 0; i < N; i++) {
        double mi = 0.9 * m0[i] + 0.1 * g[i], vi = 0.999 * v0[i] + 0.001 * g[i] * (double)g[i];
        double want = p0[i] * (1 - 1e-5) - 1e-3 / bc1 * mi / (sqrt(vi) / sqrt(bc2) + 1e-8);
        worst = fmax(worst, fabs(p[i] - want));
    }
    CHECK_MSG(worst < 1e-6, "adamw: %.3g", worst);
    float x[M * C], w[OC * C], b[OC], y[M * OC];
    for (int i = 0; i < M * C; i++) x[i] = frand(i + 7);
    for (int i = 0; i < OC * C; i++) w[i] = frand(i + 70);
    for (int i = 0; i < OC; i++) b[i] = frand(i + 700);
    ops_linear_forward(y, x, w, b, M, C, OC, OPS_W_OUT_IN);
    worst = 0.0;
    for (int i = 0; i < M; i++)
        for (int o = 0; o < OC; o++) {
            double want = b[o];
            for (int k = 0; k < C; k++) want += (double)x[i * C + k] * w[o * C + k];
            worst = fmax(worst, fabs(y[i * OC + o] - want));
        }
    CHECK_MSG(worst < 1e-5, "linear: %.3g", worst);
}

/* bf16 rounding by its definition: the result is one of the two bf16
 * neighbours of x (found by truncation and the next step up), the nearer one
 * in double arithmetic, the even one on a tie; NaN stays NaN, infinities and
 * values that round past the largest bf16 go to infinity. */
static float bf16_value(ops_bf16 h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static ops_bf16 bf16_reference(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    ops_bf16 lo = (ops_bf16)(u >> 16), hi = (ops_bf16)(lo + 1); /* same sign, |hi| > |lo| */
    if (x != x) return 0;                                       /* checked separately */
    if ((u & 0xffffu) == 0) return lo;
    /* Past the largest bf16 the next step up is 2^128 (unbounded exponent,
     * IEEE's rule), which becomes infinity. */
    double vh = (hi & 0x7fffu) == 0x7f80u ? copysign(ldexp(1.0, 128), x) : bf16_value(hi);
    double dl = fabs((double)x - bf16_value(lo)), dh = fabs((double)x - vh);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1u) ? hi : lo;
}

static void test_bf16_rounding(void)
{
    enum { N = 200003 };
    float *x = malloc(N * sizeof *x);
    ops_bf16 *h = malloc(N * sizeof *h);
    for (size_t i = 0; i < N; i++) {
        /* random bit patterns (every exponent), and exact ties below */
        uint32_t u = rng_u32(5, 2, i);
        memcpy(&x[i], &u, sizeof u);
    }
    const uint32_t specials[] = {0x3f808000u, /* 1 + 2^-8: a tie, rounds down to even 0x3f80 */
                                 0x3f818000u, /* a tie above an odd mantissa: up to 0x3f82 */
                                 0xbf818000u, /* its negative */
                                 0x7f7fffffu, /* FLT_MAX: rounds to +inf */
                                 0x7f800000u, 0xff800000u, 0x00000001u, 0x80000000u, 0x3f80ffffu};
    for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++)
        memcpy(&x[k], &specials[k], sizeof(float));
    ops_to_bf16(h, x, N);
    int bad = 0, nan_bad = 0;
    for (size_t i = 0; i < N; i++) {
        if (x[i] != x[i]) {
            bool h_nan = (h[i] & 0x7f80u) == 0x7f80u && (h[i] & 0x7fu) != 0;
            nan_bad += !h_nan || (h[i] >> 15) != (((uint32_t *)x)[i] >> 31);
            continue;
        }
        if (h[i] != bf16_reference(x[i]) && bad++ < 5)
            fprintf(stderr, "bf16(%a) = %04x, expected %04x\n", (double)x[i], h[i],
                    bf16_reference(x[i]));
    }
    CHECK_MSG(bad == 0, "%d of %d values not rounded to the nearest even bf16", bad, N);
    CHECK_MSG(nan_bad == 0, "%d NaNs lost or changed sign", nan_bad);
    CHECK(h[0] == 0x3f80u && h[1] == 0x3f82u && h[2] == 0xbf82u && h[3] == 0x7f80u);
    free(x);
    free(h);
}

/* fp16 rounding by its definition: the value of half-precision bit pattern
 * h (IEEE 754 binary16: 5-bit exponent, bias 15, 10-bit significand,
 * subnormals below 2^-14), decoded in double. */
static double fp16_value(uint16_t h)
{
    int e = (h >> 10) & 31, f = h & 1023;
    double v = e == 0 ? ldexp(f, -24) : ldexp(1024 + f, e - 25);
    return (h & 0x8000u) ? -v : v;
}

/* The nearest fp16 value to x by search over the 31,744 finite non-negative
 * patterns (ordered as their values), ties to the even pattern; past the
 * midpoint between 65504 and 2^16 (the next step of an unbounded exponent),
 * infinity. */
static double fp16_reference(float x)
{
    double a = fabs((double)x);
    if (a >= 65520.0) return copysign(INFINITY, x);
    uint16_t lo = 0, hi = 0x7bffu; /* largest pattern <= a: binary search */
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if (fp16_value(mid) <= a)
            lo = mid;
        else
            hi = (uint16_t)(mid - 1);
    }
    double vl = fp16_value(lo), vh = lo == 0x7bffu ? 65536.0 : fp16_value((uint16_t)(lo + 1));
    double r = a - vl < vh - a ? vl : vh - a < a - vl ? vh : (lo & 1u) ? vh : vl;
    return copysign(r, x);
}

static void test_fp16_rounding(void)
{
    enum { N = 100003 };
    float *x = malloc(N * sizeof *x), *r = malloc(N * sizeof *r);
    for (size_t i = 0; i < N; i++) {
        /* every exponent from fp16's subnormals to past its range */
        uint32_t m = rng_u32(6, 1, i) & 0x807fffffu, e = 100 + rng_u32(6, 2, i) % 46;
        uint32_t u = m | e << 23;
        memcpy(&x[i], &u, sizeof u);
    }
    const float specials[] = {1.0f + 0x1p-11f,     /* a tie: down to even 1.0 */
                              1.0f + 3 * 0x1p-11f, /* a tie above an odd one: up */
                              65504.0f,
                              65519.0f,
                              65520.0f,
                              -65520.0f,
                              0x1p-25f, /* half the smallest subnormal: to 0 */
                              0x3p-25f, /* 1.5 quanta: to 2 quanta (even) */
                              0x1p-14f - 0x1p-30f,
                              INFINITY,
                              -0.0f};
    memcpy(x, specials, sizeof specials);
    ops_round_fp16(r, x, N);
    int bad = 0;
    for (size_t i = 0; i < N; i++) {
        double want = fp16_reference(x[i]);
        if ((double)r[i] != want || !signbit(r[i]) != !signbit(want)) {
            if (bad++ < 5)
                fprintf(stderr, "fp16(%a) = %a, expected %a\n", (double)x[i], (double)r[i], want);
        }
    }
    CHECK_MSG(bad == 0, "%d of %d values not rounded to the nearest even fp16", bad, N);
    CHECK(r[0] == 1.0f && r[1] == 1.0f + 0x1p-9f && r[3] == 65504.0f && isinf(r[4]) && r[5] < 0 &&
          isinf(r[5]) && r[6] == 0.0f && r[7] == 0x1p-23f);
    float nan_in = NAN, nan_out = 0;
    ops_round_fp16(&nan_out, &nan_in, 1);
    CHECK(nan_out != nan_out);
    free(x);
    free(r);
}

/* ops_cpu_matmul_bf16 against a double-precision product of the same bf16
 * operands, every transpose combination, with and without accumulation.
 * The products of two bf16 values are exact in float32, so only the float32
 * sum's rounding remains: bound 1e-5 relative to the largest |c|. */
static void test_bf16_matmul(void)
{
    enum { M = 37, N = 53, K = 300 };
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int acc = 0; acc < 2; acc++) {
                float a[M * K], b[K * N], c[M * N];
                ops_bf16 a16[M * K], b16[K * N];
                for (size_t i = 0; i < M * K; i++) a[i] = frand(i);
                for (size_t i = 0; i < K * N; i++) b[i] = frand(100000 + i);
                for (size_t i = 0; i < M * N; i++) c[i] = frand(200000 + i);
                ops_to_bf16(a16, a, M * K);
                ops_to_bf16(b16, b, K * N);
                double worst = 0.0, scale = 0.0;
                float c0[M * N];
                memcpy(c0, c, sizeof c);
                ops_cpu_matmul_bf16(c, a16, b16, M, N, K, ta, tb, acc);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double r = acc ? c0[i * N + j] : 0.0;
                        for (int p = 0; p < K; p++)
                            r += (double)bf16_value(a16[ta ? p * M + i : i * K + p]) *
                                 bf16_value(b16[tb ? j * K + p : p * N + j]);
                        worst = fmax(worst, fabs(r - c[i * N + j]));
                        scale = fmax(scale, fabs(r));
                    }
                CHECK_MSG(worst <= 1e-5 * scale,
                          "bf16 matmul ta=%d tb=%d acc=%d: error %.3g of %.3g", ta, tb, acc, worst,
                          scale);
            }
}

/* Both float32 GEMM libraries, every transpose, alpha/beta and leading
 * dimensions wider than the matrices, against a double product. Bound: a
 * float32 dot product of K terms is within K·2^-24·Σ|a||b| of the exact one
 * (|terms| <= 1 here, so 300·6e-8 = 1.8e-5 of K); 1e-5·K covers it with
 * room for any summation order. */
static void test_sgemm_libraries(void)
{
    enum { M = 29, N = 41, K = 300, PAD = 3 };
    static float a[(M + PAD) * (K + PAD)], b[(K + PAD) * (N + PAD)], c[M * (N + PAD)];
    for (size_t i = 0; i < sizeof a / sizeof *a; i++) a[i] = frand(i);
    for (size_t i = 0; i < sizeof b / sizeof *b; i++) b[i] = frand(500000 + i);
    for (int lib = OPS_GEMM_OPENBLAS; lib <= OPS_GEMM_ONEDNN; lib++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
                for (size_t i = 0; i < sizeof c / sizeof *c; i++) c[i] = frand(900000 + i);
                float c0[M * (N + PAD)];
                memcpy(c0, c, sizeof c);
                ops_cpu_sgemm_with((ops_cpu_gemm_lib)lib, ta, tb, M, N, K, 0.5f, a, lda, b, ldb,
                                   2.0f, c, ldc);
                double worst = 0.0;
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double r = 0.0;
                        for (int p = 0; p < K; p++)
                            r += (double)a[ta ? p * lda + i : i * lda + p] *
                                 b[tb ? j * ldb + p : p * ldb + j];
                        r = 0.5 * r + 2.0 * c0[i * ldc + j];
                        worst = fmax(worst, fabs(r - c[i * ldc + j]));
                    }
                bool pad_kept = c[ldc - 1] == c0[ldc - 1];
                CHECK_MSG(worst <= 1e-5 * K && pad_kept,
                          "sgemm lib=%d ta=%d tb=%d: error %.3g (bound %.3g), padding kept %d", lib,
                          ta, tb, worst, 1e-5 * K, pad_kept);
            }
}

/* FTUNE_GEMM's values: the two libraries by name, auto by rule, anything
 * else an error that names the variable and the value. */
static void test_gemm_choice(void)
{
    ops_cpu_gemm_lib lib = OPS_GEMM_ONEDNN;
    char why[192];
    ft_error err;
    CHECK(ops_cpu_gemm_parse("openblas", &lib, why, sizeof why, &err) == FT_OK &&
          lib == OPS_GEMM_OPENBLAS);
    CHECK(ops_cpu_gemm_parse("onednn", &lib, why, sizeof why, &err) == FT_OK &&
          lib == OPS_GEMM_ONEDNN);
    CHECK(ops_cpu_gemm_parse(NULL, &lib, why, sizeof why, &err) == FT_OK &&
          strncmp(why, "auto: oneDNN's kernels use ", 27) == 0);
    CHECK(ops_cpu_gemm_parse("", &lib, why, sizeof why, &err) == FT_OK);
    /* Auto takes oneDNN unless OpenBLAS's kernels use a wider ISA: parse the
     * two levels back out of the reason and apply the rule independently. */
    static const char *const levels[] = {"SSE", "AVX", "AVX2", "AVX-512"};
    char dnnl[16] = "", blas[16] = "";
    CHECK(sscanf(why, "auto: oneDNN's kernels use %15[^,], OpenBLAS's %*s kernels %15[^,]", dnnl,
                 blas) == 2);
    int ld = -1, lb = -1;
    for (int i = 0; i < 4; i++) {
        if (!strcmp(dnnl, levels[i])) ld = i;
        if (!strcmp(blas, levels[i])) lb = i;
    }
    CHECK_MSG(ld >= 0 && lb >= 0 && (lib == OPS_GEMM_ONEDNN) == (ld >= lb), "auto chose %d: %s",
              (int)lib, why);
    CHECK(ops_cpu_gemm_parse("mkl", &lib, why, sizeof why, &err) == FT_EINVAL &&
          strstr(err.msg, "FTUNE_GEMM") && strstr(err.msg, "\"mkl\""));
    fprintf(stderr, "gemm: %s; OpenBLAS core %s\n", why, ops_cpu_gemm_openblas_core());
}

/* Runs fn in a child with stderr into buf; whether the child died (did not
 * exit 0). */
static bool dies_in_child(void (*fn)(void), char *buf, size_t size)
{
    int fd[2];
    FT_CHECK(pipe(fd) == 0);
    pid_t pid = fork();
    FT_CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        fn();
        _exit(0);
    }
    close(fd[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < size && (r = read(fd[0], buf + got, size - 1 - got)) > 0) got += (size_t)r;
    buf[got] = '\0';
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static ops_backend without_bf16; /* the CPU's table less linear_forward_bf16 */

static void call_missing_op(void)
{
    ops_backend_use(&without_bf16);
    ops_linear_forward_bf16(NULL, NULL, NULL, NULL, NULL, 0, 0, 0, OPS_W_OUT_IN);
}

/* A back end may leave an operation out (a NULL pointer). */
static void test_unsupported_op(void)
{
    const ops_backend *cpu = ops_cpu_backend();
    for (int op = 0; op < OPS_OP_COUNT; op++)
        CHECK_MSG(ops_backend_has(cpu, (ops_op)op), "cpu lacks %s", ops_op_name((ops_op)op));
    CHECK(strcmp(ops_op_name(OPS_OP_linear_forward), "linear_forward") == 0 &&
          strcmp(ops_op_name(OPS_OP_adamw_spans), "adamw_spans") == 0);
    without_bf16 = *cpu;
    without_bf16.name = "cpu-without-bf16";
    without_bf16.linear_forward_bf16 = NULL;
    const ops_op bf16[] = {OPS_OP_to_bf16, OPS_OP_linear_forward_bf16};
    ft_error err = {0};
    CHECK(ops_backend_require(cpu, bf16, 2, &err) == FT_OK);
    CHECK(!ops_backend_has(&without_bf16, OPS_OP_linear_forward_bf16) &&
          ops_backend_has(&without_bf16, OPS_OP_to_bf16));
    CHECK(ops_backend_require(&without_bf16, bf16, 1, &err) == FT_OK);
    const char *want = "unsupported op linear_forward_bf16 on back end cpu-without-bf16";
    CHECK(ops_backend_require(&without_bf16, bf16, 2, &err) == FT_EINVAL);
    CHECK_MSG(strcmp(err.msg, want) == 0, "message: %s", err.msg);
    char out[2048];
    fprintf(stderr, "a missing operation: one child must die now (message expected):\n");
    CHECK_MSG(dies_in_child(call_missing_op, out, sizeof out) && strstr(out, want),
              "calling a missing operation: child stderr \"%s\"", out);
}

int main(void)
{
    test_philox();
    test_dropout();
    test_elementwise();
    test_bias_gelu();
    test_attention();
    test_layernorm();
    test_adamw_linear();
    test_bf16_rounding();
    test_fp16_rounding();
    test_bf16_matmul();
    test_sgemm_libraries();
    test_gemm_choice();
    test_unsupported_op();
    return check_finish();
}
