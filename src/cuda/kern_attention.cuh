/* kern_attention: the order of work of an attention forward and backward,
 * shared by the GPU (cuBLAS strided-batched products, launched kernels) and
 * the host test (a plain product, the host runner).
 *
 * Every product is ONE strided-batched call over all B·NH (example, head)
 * pairs. The qkv layout [B,T,3C] gives no single stride between the heads
 * of one example and those of the next (h·D, then T·3C), so the plan first
 * copies q, k and v into head-major blocks [B,NH,T,D] (kern_heads_split)
 * and at the end adds the head-major results back into the token-major
 * layout (kern_heads_merge). Per layer that is 5 launches forward and 8
 * backward where a product per head made 2·NH + 1 and 4·NH + 1: at
 * BERT-base's NH = 12, 13 instead of 74, and each product is B·NH blocks
 * big instead of B.
 * Between the products, one warp per row does the masked softmax and the
 * dropout (kern_dropout.cuh), writing the dropped-out probabilities over
 * the scores, as the CPU does.
 *
 * Scratch (kern_attention_scratch_floats), with BTC = B·T·C, S = B·NH·T·T:
 *   forward:  q,k,v [3 BTC] | scores S | y [BTC]
 *   backward: q,k,v [3 BTC] | dy [BTC] | dS S | dropped-out P S | dq,dk,dv [3 BTC]
 *
 * gemm(ta, tb, m, n, k, alpha, A, B, beta, C, ldc, stride_c, batch):
 * row-major C_i[M,N] = alpha op(A_i)·op(B_i) + beta C_i for i < batch.
 * split(dst, src, parts) / merge(dst, src, parts, accumulate): the launches
 * of kern_heads_split / kern_heads_merge below. */
#ifndef KERN_ATTENTION_CUH
#define KERN_ATTENTION_CUH

#include "kern_dropout.cuh"

/* A row-major operand of a batched product: base, row stride, batch stride. */
struct kern_mat {
    const float *p;
    int ld;
    long long stride;
};

/* The sizes of a head split: B examples of T tokens, C = NH·D columns per
 * part, `parts` parts side by side per token (3 for qkv, 1 for y). */
struct kern_heads {
    int b, t, c, nh, parts;
};

KERN_HD size_t kern_heads_count(const kern_heads &s) { return (size_t)s.parts * s.b * s.t * s.c; }

/* Token-major index (b, t, part, h, d) of head-major index i of
 * [parts, B, NH, T, D]. */
KERN_HD size_t kern_heads_token_index(const kern_heads &s, size_t i)
{
    size_t D = (size_t)(s.c / s.nh), T = (size_t)s.t;
    size_t d = i % D, r = i / D;
    size_t t = r % T;
    r /= T;
    size_t h = r % (size_t)s.nh;
    r /= (size_t)s.nh;
    size_t b = r % (size_t)s.b, p = r / (size_t)s.b;
    return ((b * T + t) * (size_t)s.parts + p) * (size_t)s.c + h * D + d;
}

/* dst[parts,B,NH,T,D] = src[B,T,parts·C] regrouped by head. */
KERN_HD void kern_heads_split(kern_idx ix, float *dst, const float *src, kern_heads s)
{
    KERN_FOR(ix, i, kern_heads_count(s)) dst[i] = src[kern_heads_token_index(s, i)];
}

/* dst[B,T,parts·C] (+)= src[parts,B,NH,T,D]. Each dst element has exactly
 * one source, so adding needs no atomics and is the same every run. */
KERN_HD void kern_heads_merge(kern_idx ix, float *dst, const float *src, kern_heads s,
                              bool accumulate)
{
    KERN_FOR(ix, i, kern_heads_count(s))
    {
        size_t j = kern_heads_token_index(s, i);
        dst[j] = accumulate ? dst[j] + src[i] : src[i];
    }
}

/* Scratch floats of the plan (the backward's, the larger). */
static inline size_t kern_attention_scratch_floats(int b, int t, int c, int nh)
{
    size_t btc = (size_t)b * t * c, s = (size_t)b * nh * t * t;
    return 7 * btc + 2 * s;
}

template <class Gemm, class Rows, class Split, class Merge>
void kern_attention_forward_plan(float *out, float *probs, const float *qkv,
                                 const kern_attn_args &a, int c, float *scratch, Gemm gemm,
                                 Rows softmax_rows, Split split, Merge merge)
{
    int T = a.t, NH = a.nh, D = c / NH, BH = a.b * NH;
    if (a.b == 0 || T == 0) return;
    kern_heads one = {a.b, T, c, NH, 1}, three = {a.b, T, c, NH, 3};
    size_t btc = (size_t)a.b * T * c;
    long long td = (long long)T * D, tt = (long long)T * T;
    float *qh = scratch, *kh = qh + btc, *vh = kh + btc, *scores = vh + btc;
    float *yh = scores + (size_t)BH * tt;
    split(qh, qkv, three);
    float scale = 1.0f / sqrtf((float)D);
    kern_mat q = {qh, D, td}, k = {kh, D, td}, v = {vh, D, td};
    gemm(false, true, T, T, D, scale, q, k, 0.0f, scores, T, tt, BH); /* S = q kᵀ/√D */
    softmax_rows(probs, scores, a);
    kern_mat p = {a.drop ? scores : probs, T, tt};
    gemm(false, false, T, D, T, 1.0f, p, v, 0.0f, yh, D, td, BH); /* y = P v */
    merge(out, yh, one, false);
}

template <class Gemm, class Rows, class Split, class Merge>
void kern_attention_backward_plan(float *dqkv, const float *dout, const float *qkv,
                                  const float *probs, const kern_attn_args &a, int c,
                                  float *scratch, Gemm gemm, Rows softmax_backward_rows,
                                  Split split, Merge merge)
{
    int T = a.t, NH = a.nh, D = c / NH, BH = a.b * NH;
    if (a.b == 0 || T == 0) return;
    kern_heads one = {a.b, T, c, NH, 1}, three = {a.b, T, c, NH, 3};
    size_t btc = (size_t)a.b * T * c, s = (size_t)BH * T * T;
    long long td = (long long)T * D, tt = (long long)T * T;
    float *qh = scratch, *kh = qh + btc, *vh = kh + btc, *dyh = vh + btc;
    float *ds = dyh + btc, *pd = ds + s, *dqh = pd + s, *dkh = dqh + btc, *dvh = dkh + btc;
    split(qh, qkv, three);
    split(dyh, dout, one);
    kern_mat q = {qh, D, td}, k = {kh, D, td}, v = {vh, D, td}, dy = {dyh, D, td};
    gemm(false, true, T, T, D, 1.0f, dy, v, 0.0f, ds, T, tt, BH); /* dPd = dy vᵀ */
    softmax_backward_rows(ds, pd, probs, a);
    float scale = 1.0f / sqrtf((float)D);
    kern_mat p = {a.drop ? pd : probs, T, tt}, dsm = {ds, T, tt};
    gemm(true, false, T, D, T, 1.0f, p, dy, 0.0f, dvh, D, td, BH);    /* dv = Pdᵀ dy */
    gemm(false, false, T, D, T, scale, dsm, k, 0.0f, dqh, D, td, BH); /* dq = dS k/√D */
    gemm(true, false, T, D, T, scale, dsm, q, 0.0f, dkh, D, td, BH);  /* dk = dSᵀ q/√D */
    merge(dqkv, dqh, three, true);
}

#endif
