/* ops_cpu_dropout: dropout of the CPU back end, masks drawn 64 words at a
 * time from a vectorised Philox (ops_cpu_simd.h).
 *
 * Semantics are ops.h's: element i of example e in site s is kept when
 * rng_uniform(seed, s, e * stride + i) >= p, i.e. when the top 24 bits of
 * the Philox word are >= ceil(p * 2^24), an integer test that gives the
 * same answer as the float one. Masks are never stored: backward redraws
 * them (the model's backward is this forward on the gradient). Work is split into (example, chunk) pieces so two threads share
 * even a batch of one. */
#if defined(__GNUC__) && !defined(__clang__)
/* No trapping-math: selects may evaluate both sides, which lets the
 * loops vectorise (if-conversion); results do not change. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <math.h>
#include <string.h>

#include "ops/ops_cpu.h"
#include "ops_cpu_simd.h"

enum { DROPOUT_CHUNK = 2048 };

/* Multipliers for one group of 64 counter words starting at block `block`,
 * words [lo, hi) of the group into mask[0 .. hi-lo). */
OPS_CLONES
static void mask_group(float *restrict mask, uint64_t block, size_t lo, size_t hi,
                       uint32_t threshold, float scale, uint64_t seed, uint64_t site)
{
    uint32_t words[OPS_PHILOX_WORDS];
    ops_philox16(words, seed, site, block);
    int32_t thr = (int32_t)threshold;
    for (size_t j = lo; j < hi; j++) mask[j - lo] = (int32_t)(words[j] >> 8) >= thr ? scale : 0.0f;
}

void ops_dropout_mask(float *mask, size_t n, uint64_t base, uint32_t threshold, float scale,
                      uint64_t seed, uint64_t site)
{
    uint64_t first = base & ~(uint64_t)3; /* first word of base's block */
    size_t skip = (size_t)(base - first), total = skip + n;
    for (size_t w0 = 0; w0 < total; w0 += OPS_PHILOX_WORDS) {
        size_t lo = w0 < skip ? skip - w0 : 0;
        size_t hi = total - w0 < OPS_PHILOX_WORDS ? total - w0 : OPS_PHILOX_WORDS;
        mask_group(mask + (w0 + lo - skip), (first + w0) >> 2, lo, hi, threshold, scale, seed,
                   site);
    }
}

OPS_CLONES
static void apply_mask(float *restrict out, const float *restrict x, const float *restrict mask,
                       size_t n)
{
    for (size_t k = 0; k < n; k++) out[k] = mask[k] != 0.0f ? x[k] * mask[k] : 0.0f;
}

OPS_CLONES
static void mask_in_place(float *restrict x, const float *restrict mask, size_t n)
{
    for (size_t k = 0; k < n; k++) x[k] = mask[k] != 0.0f ? x[k] * mask[k] : 0.0f;
}

/* One pass over b examples in chunks, written; it may run in place (out ==
 * inp): a chunk reads its input before writing the same elements. */
static void dropout_pass(float *out, const float *inp, int b, size_t per_example,
                         const int64_t *example_index, float p, uint64_t seed, uint64_t site)
{
    uint64_t stride = ops_dropout_stride(per_example);
    uint32_t threshold = ops_dropout_threshold(p);
    float scale = 1.0f / (1.0f - p);
    long chunks = (long)((per_example + DROPOUT_CHUNK - 1) / DROPOUT_CHUNK);
    long pieces = (long)b * chunks;
#pragma omp parallel for schedule(static)
    for (long piece = 0; piece < pieces; piece++) {
        float mask[DROPOUT_CHUNK];
        int e = (int)(piece / chunks);
        size_t k0 = (size_t)(piece % chunks) * DROPOUT_CHUNK;
        size_t n = per_example - k0 < DROPOUT_CHUNK ? per_example - k0 : DROPOUT_CHUNK;
        size_t at = (size_t)e * per_example + k0;
        ops_dropout_mask(mask, n, (uint64_t)example_index[e] * stride + k0, threshold, scale, seed,
                         site);
        if (out == inp)
            mask_in_place(out + at, mask, n);
        else
            apply_mask(out + at, inp + at, mask, n);
    }
}

void ops_cpu_dropout_forward(float *out, const float *inp, int b, size_t per_example,
                             const int64_t *example_index, float p, uint64_t seed, uint64_t site)
{
    if (p <= 0.0f) {
        if (out != inp) memmove(out, inp, (size_t)b * per_example * sizeof(float));
        return;
    }
    dropout_pass(out, inp, b, per_example, example_index, p, seed, site);
}
