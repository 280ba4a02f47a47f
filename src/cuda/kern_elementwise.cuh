/* kern_elementwise: bodies of the element-wise kernels (kern_common.cuh):
 * bias rows, add, scale, bias+GELU (erf and tanh forms) and GELU's
 * backward with the bias gradient, tanh, bf16 conversions. One grid-stride
 * loop each; the maths is ops_cpu.c's, with libm's (or CUDA's)
 * expf/erfcf/tanhf in place of the CPU's polynomials. */
#ifndef KERN_ELEMENTWISE_CUH
#define KERN_ELEMENTWISE_CUH

#include "kern_common.cuh"
#include "kern_reduce.cuh"

/* out[N,C] = bias[C] on every row (a product then adds onto it). */
KERN_HD void kern_fill_rows(kern_idx ix, float *out, const float *bias, size_t n, int c)
{
    KERN_FOR(ix, i, n * (size_t)c) out[i] = bias[i % (size_t)c];
}

KERN_HD void kern_add(kern_idx ix, float *out, const float *a, const float *b, size_t n)
{
    KERN_FOR(ix, i, n) out[i] = a[i] + b[i];
}

KERN_HD void kern_scale(kern_idx ix, float *x, size_t n, float s) { KERN_FOR(ix, i, n) x[i] *= s; }

/* Φ(x) = erfc(-x/√2)/2 (accurate in both tails). */
KERN_HD float kern_phi(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }

/* e/(e+1) with e = exp(2u) is 0.5 (1 + tanh u), without cancellation. */
KERN_HD float kern_gelu_tanh_e(float v)
{
    return expf(2.0f * KERN_GELU_TANH_K * (v + 0.044715f * v * v * v));
}

KERN_HD float kern_gelu(float v, bool erf_kind)
{
    if (erf_kind) return v * kern_phi(v);
    float e = kern_gelu_tanh_e(v);
    return isinf(e) ? v : v * (e / (e + 1.0f));
}

/* pre[N,C] += bias (when bias), act = gelu(pre): ops_bias_gelu_forward. */
KERN_HD void kern_bias_gelu_forward(kern_idx ix, float *act, float *pre, const float *bias,
                                    size_t n, int c, bool erf_kind)
{
    KERN_FOR(ix, i, n * (size_t)c)
    {
        float v = pre[i];
        if (bias) {
            v += bias[i % (size_t)c];
            pre[i] = v;
        }
        act[i] = kern_gelu(v, erf_kind);
    }
}

/* d/dx x Φ(x) = Φ(x) + x φ(x); for the tanh form with e = exp(2u):
 * 0.5 (1 + tanh u) = e/(e+1) and 1 - tanh² u = 4e/(e+1)². */
KERN_HD float kern_gelu_grad(float v, bool erf_kind)
{
    if (erf_kind) return kern_phi(v) + v * KERN_INV_SQRT_2PI * expf(-0.5f * v * v);
    float e = kern_gelu_tanh_e(v), e1 = e + 1.0f;
    float du = KERN_GELU_TANH_K * (1.0f + 3.0f * 0.044715f * v * v);
    float sech2 = e1 < 1e18f ? 4.0f * e / (e1 * e1) : 0.0f;
    float half = isinf(e) ? 1.0f : e / e1;
    return half + 0.5f * v * sech2 * du;
}

/* dinp = gelu'(inp) dout, written (ops_gelu_bias_backward without a bias). */
KERN_HD void kern_gelu_backward(kern_idx ix, float *dinp, const float *inp, const float *dout,
                                size_t n, bool erf_kind)
{
    KERN_FOR(ix, i, n) dinp[i] = kern_gelu_grad(inp[i], erf_kind) * dout[i];
}

/* The bias-gradient pass of ops_gelu_bias_backward as a column value of
 * kern_colsum_partial: it computes dinp = gelu'(inp) dout for (r, j),
 * writes it (the partial pass visits every element exactly once) and
 * returns it to be summed, so GELU's backward and the bias gradient are
 * one read of inp and dout. */
struct kern_colvalue_gelu {
    enum { outs = 1 };
    float *dinp;
    const float *inp, *dout;
    int c;
    bool erf_kind;
    KERN_HD kern_pair operator()(int r, int j) const
    {
        size_t at = (size_t)r * c + j;
        float g = kern_gelu_grad(inp[at], erf_kind) * dout[at];
        dinp[at] = g;
        kern_pair p = {g, 0.0f};
        return p;
    }
};

KERN_HD void kern_tanh_forward(kern_idx ix, float *out, const float *inp, size_t n)
{
    KERN_FOR(ix, i, n) out[i] = tanhf(inp[i]);
}

KERN_HD void kern_tanh_backward(kern_idx ix, float *dinp, const float *out, const float *dout,
                                size_t n)
{
    KERN_FOR(ix, i, n) dinp[i] += (1.0f - out[i] * out[i]) * dout[i];
}

KERN_HD void kern_to_bf16_all(kern_idx ix, uint16_t *out, const float *in, size_t n)
{
    KERN_FOR(ix, i, n) out[i] = kern_to_bf16(in[i]);
}

/* x rounded to the nearest IEEE fp16 value, held as float32: the bit
 * recipe of ops_cpu_fp16.c (normal range: round-to-nearest-even on the 13
 * low bits; subnormal range: (a + 0.5) - 0.5 rounds to the 2^-24 quantum;
 * from 65520: inf; NaN and inf kept), so both back ends agree bit for bit. */
KERN_HD float kern_round_fp16(float x)
{
    uint32_t u = kern_f2u(x), sign = u & 0x80000000u, a = u ^ sign;
    if (a >= 0x7f800000u) return x;
    if (a >= 0x477ff000u) {
        a = 0x7f800000u;
    } else if (a < 0x38800000u) {
#ifdef __CUDA_ARCH__
        a = kern_f2u(__fadd_rn(__fadd_rn(kern_u2f(a), 0.5f), -0.5f));
#else
        volatile float f = kern_u2f(a) + 0.5f; /* two roundings, not folded */
        a = kern_f2u(f - 0.5f);
#endif
    } else {
        a += 0xfffu + ((a >> 13) & 1u);
        a &= ~0x1fffu;
    }
    return kern_u2f(sign | a);
}

KERN_HD void kern_round_fp16_all(kern_idx ix, float *out, const float *in, size_t n)
{
    KERN_FOR(ix, i, n) out[i] = kern_round_fp16(in[i]);
}

#endif
