/* kern_dropout: dropout and the attention's row kernels (kern_common.cuh).
 *
 * Masks are ops.h's: element i of example e in site s is kept when
 * rng_uniform(seed, s, e * stride + i) >= p, i.e. when the top 24 bits of
 * Philox word (e * stride + i) are >= ceil(p 2^24). One Philox block gives
 * four words, so work goes by blocks of four counters (an example starts on
 * a block boundary: stride is a multiple of 4; an attention row need not, so
 * its loop walks the blocks that overlap the row). Results are bit-identical
 * to the CPU's (same integer test, same float product).
 *
 * Attention rows (one warp per row of B*NH*T): the visible keys of query t
 * are a prefix [0, lim), lim = min(length, t+1 if causal), as on the CPU. */
#ifndef KERN_DROPOUT_CUH
#define KERN_DROPOUT_CUH

#include "kern_common.cuh"

extern "C" {
#include "ops/ops.h"
}

struct kern_dropout_args {
    uint64_t seed, site, stride;
    uint32_t threshold;
    float scale;
};

/* out = keep ? inp * scale : 0 over b examples of per elements, written
 * (may be in place); backward is the same on the gradient. */
KERN_HD void kern_dropout(kern_idx ix, float *out, const float *inp, int b, size_t per,
                          const int64_t *example_index, kern_dropout_args a)
{
    size_t quads = (per + 3) / 4;
    KERN_FOR(ix, it, (size_t)b * quads)
    {
        size_t e = it / quads, k0 = (it % quads) * 4;
        uint64_t counter = (uint64_t)example_index[e] * a.stride + k0;
        kern_philox4 w = kern_philox(a.seed, a.site, counter >> 2);
        for (int q = 0; q < 4 && k0 + q < per; q++) {
            size_t at = e * per + k0 + q;
            out[at] = kern_keep(w.v[q], a.threshold) ? inp[at] * a.scale : 0.0f;
        }
    }
}

struct kern_attn_args {
    int b, t, nh;
    bool causal, drop;
    const int32_t *lengths;
    const int64_t *example_index;
    kern_dropout_args d;
};

/* The arguments of a dropout by ops.h's rule, and of an attention call:
 * host code (the CUDA back end, the host tests) builds them here. */
static inline kern_dropout_args kern_dropout_args_for(float p, uint64_t seed, uint64_t site,
                                                      size_t per_example)
{
    kern_dropout_args a = {seed, site, ops_dropout_stride(per_example), ops_dropout_threshold(p),
                           1.0f / (1.0f - p)};
    return a;
}

static inline kern_attn_args kern_attn_args_for(const ops_attention_shape *s)
{
    kern_attn_args a;
    a.b = s->b, a.t = s->t, a.nh = s->nh, a.causal = s->causal;
    a.drop = s->dropout_p > 0.0f;
    a.lengths = s->lengths;
    a.example_index = s->example_index;
    a.d = kern_dropout_args_for(s->dropout_p, s->seed, s->site, (size_t)s->nh * s->t * s->t);
    return a;
}

KERN_HD int kern_attn_visible(const kern_attn_args &s, size_t b, int t)
{
    int lim = s.lengths[b];
    if (s.causal && t + 1 < lim) lim = t + 1;
    return lim < 0 ? 0 : lim;
}

/* Counter of key 0 of query t in head h of example b (ops.h: per example
 * NH*T*T elements). */
KERN_HD uint64_t kern_attn_counter(const kern_attn_args &s, size_t b, int h, int t)
{
    return (uint64_t)s.example_index[b] * s.d.stride + ((uint64_t)h * s.t + t) * s.t;
}

/* y[j] = keep_j ? x[j] * scale : 0 and, when y2, y2[j] = keep_j ? y2[j] * scale : 0,
 * for j < lim with keys counted from `base`; each lane takes whole blocks. */
KERN_HD void kern_dropout_row(kern_idx ix, float *y, const float *x, float *y2, int lim,
                              uint64_t base, const kern_dropout_args &a)
{
    if (lim <= 0) return;
    uint64_t first = base >> 2, last = (base + (uint64_t)lim - 1) >> 2;
    for (uint64_t blk = first + ix.thread; blk <= last; blk += ix.nthreads) {
        kern_philox4 w = kern_philox(a.seed, a.site, blk);
        for (int q = 0; q < 4; q++) {
            uint64_t ctr = blk * 4 + q;
            if (ctr < base || ctr >= base + (uint64_t)lim) continue;
            int j = (int)(ctr - base);
            bool keep = kern_keep(w.v[q], a.threshold);
            y[j] = keep ? x[j] * a.scale : 0.0f;
            if (y2) y2[j] = keep ? y2[j] * a.scale : 0.0f;
        }
    }
}

/* Row (b, h, t) of the scores: probs = masked softmax (zeros from lim);
 * with dropout the dropped-out row replaces the scores (as on the CPU). */
KERN_HD void kern_attn_softmax(kern_idx ix, float *probs, float *scores, kern_attn_args s)
{
    int T = s.t;
    KERN_FOR_GROUP(ix, row, (size_t)s.b * s.nh * T)
    {
        size_t b = row / ((size_t)s.nh * T);
        int h = (int)(row / T % s.nh), t = (int)(row % T);
        float *z = scores + row * T, *p = probs + row * T;
        int lim = kern_attn_visible(s, b, t);
        float zmax = -INFINITY;
        for (int j = ix.thread; j < lim; j += ix.nthreads) zmax = fmaxf(zmax, z[j]);
        zmax = kern_warp_max(zmax);
        float sum = 0.0f;
        for (int j = ix.thread; j < lim; j += ix.nthreads) sum += expf(z[j] - zmax);
        float inv = 1.0f / kern_warp_sum(sum);
        for (int j = ix.thread; j < T; j += ix.nthreads)
            p[j] = j < lim ? expf(z[j] - zmax) * inv : 0.0f;
        if (!s.drop) continue;
        kern_warp_sync(); /* p[] of other lanes, z[] all read */
        kern_dropout_row(ix, z, p, NULL, lim, kern_attn_counter(s, b, h, t), s.d);
        for (int j = lim + ix.thread; j < T; j += ix.nthreads) z[j] = 0.0f;
    }
}

/* Row (b, h, t) of backward: ds holds dPd = dY Vᵀ. With dropout, pd = the
 * dropped-out probabilities and dP = dPd ⊙ mask; then the softmax backward
 * ds = p (dP - <dP, p>) on the visible part, 0 beyond. */
KERN_HD void kern_attn_softmax_backward(kern_idx ix, float *ds, float *pd, const float *probs,
                                        kern_attn_args s)
{
    int T = s.t;
    KERN_FOR_GROUP(ix, row, (size_t)s.b * s.nh * T)
    {
        size_t b = row / ((size_t)s.nh * T);
        int h = (int)(row / T % s.nh), t = (int)(row % T);
        float *d = ds + row * T;
        const float *p = probs + row * T;
        int lim = kern_attn_visible(s, b, t);
        if (s.drop) {
            float *y = pd + row * T;
            kern_dropout_row(ix, y, p, d, lim, kern_attn_counter(s, b, h, t), s.d);
            for (int j = lim + ix.thread; j < T; j += ix.nthreads) y[j] = 0.0f;
            kern_warp_sync(); /* d[] written by other lanes */
        }
        float dot = 0.0f;
        for (int j = ix.thread; j < lim; j += ix.nthreads) dot += d[j] * p[j];
        dot = kern_warp_sum(dot);
        for (int j = ix.thread; j < T; j += ix.nthreads)
            d[j] = j < lim ? p[j] * (d[j] - dot) : 0.0f;
    }
}

#endif
