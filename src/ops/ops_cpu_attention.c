/* ops_cpu_attention: multi-head attention of the CPU back end.
 *
 * One (example, head) pair per OpenMP iteration, with single-threaded
 * sgemms inside (the OpenMP build of OpenBLAS does not nest threads in a
 * parallel region): scores = q kᵀ/√D, then one pass per row that does the
 * masked softmax, saves the probabilities and applies dropout, then
 * out = P v. The keys a query sees are always a prefix [0, lim) (padding
 * and causality both cut from the right), so rows need no per-key mask
 * tests and dropout draws only the visible part (masked weights are 0
 * whatever the draw). Backward redraws each row's mask once and uses it for
 * both Pd and dPd.
 *
 * Scratch per thread: 2·T·T floats (ops_attention_scratch_floats). */
#if defined(__GNUC__) && !defined(__clang__)
/* No trapping-math: selects may evaluate both sides, which lets the
 * loops vectorise (if-conversion); results do not change. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>

#include "ops/ops_cpu.h"
#include "ops_cpu_simd.h"

#ifdef _OPENMP
#include <omp.h>
static int thread_id(void) { return omp_get_thread_num(); }
static int max_threads(void) { return omp_get_max_threads(); }
#else
static int thread_id(void) { return 0; }
static int max_threads(void) { return 1; }
#endif

enum { MASK_CHUNK = 256 };

size_t ops_cpu_attention_scratch_floats(int b, int t, int c, int nh)
{
    (void)b, (void)c, (void)nh;
    return (size_t)max_threads() * 2u * (size_t)t * (size_t)t;
}

/* Keys j < lim are visible to query t of example b. */
static int visible(const ops_attention_shape *s, int b, int t)
{
    int lim = s->lengths[b];
    if (s->causal && t + 1 < lim) lim = t + 1;
    return lim;
}

/* p[0..lim) = softmax(z[0..lim)), p[lim..T) = 0. */
OPS_CLONES
static void softmax_row(float *restrict p, const float *restrict z, int lim, int T)
{
    float zmax = z[0];
#pragma omp simd reduction(max : zmax)
    for (int j = 1; j < lim; j++) zmax = z[j] > zmax ? z[j] : zmax;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < lim; j++) {
        p[j] = ops_exp(z[j] - zmax);
        sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < lim; j++) p[j] *= inv;
    for (int j = lim; j < T; j++) p[j] = 0.0f;
}

/* y[j] = x[j] * mask[j] (0 where dropped) for j < n. */
OPS_CLONES
static void masked_copy(float *restrict y, const float *restrict x, const float *restrict mask,
                        int n)
{
    for (int j = 0; j < n; j++) y[j] = mask[j] != 0.0f ? x[j] * mask[j] : 0.0f;
}

OPS_CLONES
static void mask_in_place(float *restrict y, const float *restrict mask, int n)
{
    for (int j = 0; j < n; j++) y[j] = mask[j] != 0.0f ? y[j] * mask[j] : 0.0f;
}

/* Counter word of element (t, 0) of head h of example b. */
static uint64_t head_base(const ops_attention_shape *s, int b, int h)
{
    uint64_t stride = ops_dropout_stride((size_t)s->nh * s->t * s->t);
    return (uint64_t)s->example_index[b] * stride + (uint64_t)h * s->t * s->t;
}

/* Dropout on a row's visible part: y[j] = x[j] * mask (and y2[j] *= mask
 * when y2 is given), zeros from lim on. */
static void dropout_row(float *y, const float *x, float *y2, int lim, int T, uint64_t base,
                        const ops_attention_shape *s)
{
    uint32_t thr = ops_dropout_threshold(s->dropout_p);
    float scale = 1.0f / (1.0f - s->dropout_p), mask[MASK_CHUNK];
    for (int j0 = 0; j0 < lim; j0 += MASK_CHUNK) {
        int n = lim - j0 < MASK_CHUNK ? lim - j0 : MASK_CHUNK;
        ops_dropout_mask(mask, (size_t)n, base + (uint64_t)j0, thr, scale, s->seed, s->site);
        masked_copy(y + j0, x + j0, mask, n);
        if (y2) mask_in_place(y2 + j0, mask, n);
    }
    for (int j = lim; j < T; j++) {
        y[j] = 0.0f;
        if (y2) y2[j] = 0.0f;
    }
}

static void head_forward(float *out, float *probs, const float *qkv, const ops_attention_shape *s,
                         int b, int h, float *scratch)
{
    int T = s->t, C = s->c, D = C / s->nh, ld = 3 * C;
    const float *q = qkv + (size_t)b * T * ld + (size_t)h * D;
    const float *k = q + C, *v = q + 2 * C;
    float *p = probs + ((size_t)b * s->nh + h) * T * T, *sc = scratch;
    bool drop = s->dropout_p > 0.0f;
    uint64_t base = drop ? head_base(s, b, h) : 0;
    ops_cpu_sgemm(false, true, T, T, D, 1.0f / sqrtf((float)D), q, ld, k, ld, 0.0f, sc, T);
    for (int t = 0; t < T; t++) {
        float *z = sc + (size_t)t * T, *pr = p + (size_t)t * T;
        int lim = visible(s, b, t);
        softmax_row(pr, z, lim, T);
        /* the row's scores are spent: the dropped-out row goes in their place */
        if (drop) dropout_row(z, pr, NULL, lim, T, base + (uint64_t)t * T, s);
    }
    ops_cpu_sgemm(false, false, T, D, T, 1.0f, drop ? sc : p, T, v, ld, 0.0f,
                  out + (size_t)b * T * C + (size_t)h * D, C);
}

void ops_cpu_attention_forward(float *out, float *probs, const float *qkv,
                               const ops_attention_shape *s, float *scratch)
{
    int pairs = s->b * s->nh;
    size_t tt = (size_t)s->t * s->t;
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < pairs; bh++)
        head_forward(out, probs, qkv, s, bh / s->nh, bh % s->nh,
                     scratch + (size_t)thread_id() * 2 * tt);
}

/* ds[0..lim) = p (ds - <ds, p>) (softmax backward in place), 0 from lim. */
OPS_CLONES
static void softmax_backward_row(float *restrict ds, const float *restrict p, int lim, int T)
{
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int j = 0; j < lim; j++) dot += ds[j] * p[j];
    for (int j = 0; j < lim; j++) ds[j] = p[j] * (ds[j] - dot);
    for (int j = lim; j < T; j++) ds[j] = 0.0f;
}

static void head_backward(float *dqkv, const float *dout, const float *qkv, const float *probs,
                          const ops_attention_shape *s, int b, int h, float *scratch)
{
    int T = s->t, C = s->c, D = C / s->nh, ld = 3 * C;
    size_t head = (size_t)b * T * ld + (size_t)h * D;
    const float *q = qkv + head, *k = q + C, *v = q + 2 * C;
    float *dq = dqkv + head, *dk = dq + C, *dv = dq + 2 * C;
    const float *p = probs + ((size_t)b * s->nh + h) * T * T;
    const float *dy = dout + (size_t)b * T * C + (size_t)h * D;
    float *pd = scratch, *ds = scratch + (size_t)T * T;
    bool drop = s->dropout_p > 0.0f;
    uint64_t base = drop ? head_base(s, b, h) : 0;
    /* dPd = dY Vᵀ into ds; then per row dP = dPd ⊙ mask, Pd = P ⊙ mask. */
    ops_cpu_sgemm(false, true, T, T, D, 1.0f, dy, C, v, ld, 0.0f, ds, T);
    for (int t = 0; t < T; t++) {
        const float *pr = p + (size_t)t * T;
        float *dsr = ds + (size_t)t * T;
        int lim = visible(s, b, t);
        if (drop) dropout_row(pd + (size_t)t * T, pr, dsr, lim, T, base + (uint64_t)t * T, s);
        softmax_backward_row(dsr, pr, lim, T);
    }
    const float *pused = drop ? pd : p;
    float scale = 1.0f / sqrtf((float)D);
    /* dV += Pdᵀ dY; dQ += scale dS K; dK += scale dSᵀ Q. */
    ops_cpu_sgemm(true, false, T, D, T, 1.0f, pused, T, dy, C, 1.0f, dv, ld);
    ops_cpu_sgemm(false, false, T, D, T, scale, ds, T, k, ld, 1.0f, dq, ld);
    ops_cpu_sgemm(true, false, T, D, T, scale, ds, T, q, ld, 1.0f, dk, ld);
}

void ops_cpu_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                const float *probs, const ops_attention_shape *s, float *scratch)
{
    int pairs = s->b * s->nh;
    size_t tt = (size_t)s->t * s->t;
    /* Heads of one example write disjoint columns of dqkv: no races. */
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < pairs; bh++)
        head_backward(dqkv, dout, qkv, probs, s, bh / s->nh, bh % s->nh,
                      scratch + (size_t)thread_id() * 2 * tt);
}
