/* kern_attention: the order of work of an attention forward and backward,
 * shared by the GPU (cuBLAS strided-batched products, launched row
 * kernels) and the host test (a plain product, the host runner).
 *
 * The products work on the qkv layout [B,T,3C] as it is: for each head h,
 * one strided-batched product over the B examples (a head's q, k and v are
 * column blocks at h*D of rows 3C apart, examples T*3C apart; its scores
 * are [T,T] blocks NH*T*T apart), so NH calls per product and no copies.
 * Between the products, one warp per row does the masked softmax and the
 * dropout (kern_dropout.cuh), writing the dropped-out probabilities over
 * the scores, as the CPU does. Scratch: scores (forward) or dS (backward)
 * [B,NH,T,T], plus the dropped-out probabilities [B,NH,T,T] in backward.
 *
 * gemm(ta, tb, m, n, k, alpha, A, B, beta, C, ldc, stride_c, batch):
 * row-major C_i[M,N] = alpha op(A_i)·op(B_i) + beta C_i for i < batch. */
#ifndef KERN_ATTENTION_CUH
#define KERN_ATTENTION_CUH

#include "kern_dropout.cuh"

/* A row-major operand of a batched product: base, row stride, batch stride. */
struct kern_mat {
    const float *p;
    int ld;
    long long stride;
};

template <class Gemm, class Rows>
void kern_attention_forward_plan(float *out, float *probs, const float *qkv,
                                 const kern_attn_args &a, int c, float *scratch, Gemm gemm,
                                 Rows softmax_rows)
{
    int T = a.t, C = c, NH = a.nh, D = C / NH, B = a.b;
    if (B == 0 || T == 0) return;
    long long tt = (long long)T * T, hs = (long long)NH * tt, ex = (long long)T * 3 * C;
    float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < NH; h++) { /* scores = q kᵀ / √D */
        kern_mat q = {qkv + (size_t)h * D, 3 * C, ex}, k = {q.p + C, 3 * C, ex};
        gemm(false, true, T, T, D, scale, q, k, 0.0f, scratch + h * tt, T, hs, B);
    }
    softmax_rows(probs, scratch, a);
    const float *used = a.drop ? scratch : probs;
    for (int h = 0; h < NH; h++) { /* out = P v */
        kern_mat p = {used + h * tt, T, hs}, v = {qkv + (size_t)h * D + 2 * C, 3 * C, ex};
        gemm(false, false, T, D, T, 1.0f, p, v, 0.0f, out + (size_t)h * D, C, (long long)T * C,
             B);
    }
}

template <class Gemm, class Rows>
void kern_attention_backward_plan(float *dqkv, const float *dout, const float *qkv,
                                  const float *probs, const kern_attn_args &a, int c,
                                  float *scratch, Gemm gemm, Rows softmax_backward_rows)
{
    int T = a.t, C = c, NH = a.nh, D = C / NH, B = a.b;
    if (B == 0 || T == 0) return;
    long long tt = (long long)T * T, hs = (long long)NH * tt, ex = (long long)T * 3 * C;
    long long ey = (long long)T * C;
    float *ds = scratch, *pd = scratch + (size_t)B * hs;
    for (int h = 0; h < NH; h++) { /* dPd = dY vᵀ */
        kern_mat dy = {dout + (size_t)h * D, C, ey}, v = {qkv + (size_t)h * D + 2 * C, 3 * C, ex};
        gemm(false, true, T, T, D, 1.0f, dy, v, 0.0f, ds + h * tt, T, hs, B);
    }
    softmax_backward_rows(ds, pd, probs, a);
    const float *used = a.drop ? pd : probs;
    float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < NH; h++) {
        size_t col = (size_t)h * D;
        kern_mat dy = {dout + col, C, ey}, p = {used + h * tt, T, hs}, dsh = {ds + h * tt, T, hs};
        kern_mat q = {qkv + col, 3 * C, ex}, k = {qkv + col + C, 3 * C, ex};
        float *dq = dqkv + col;
        gemm(true, false, T, D, T, 1.0f, p, dy, 1.0f, dq + 2 * C, 3 * C, ex, B); /* dv += Pdᵀ dY */
        gemm(false, false, T, D, T, scale, dsh, k, 1.0f, dq, 3 * C, ex, B);     /* dq += dS k/√D */
        gemm(true, false, T, D, T, scale, dsh, q, 1.0f, dq + C, 3 * C, ex, B);  /* dk += dSᵀ q/√D */
    }
}

#endif
