/* ops_cpu_simd: inline pieces the CPU back end's loops vectorise.
 *
 * Why: the library is compiled for baseline x86-64 (SSE2), and libm's erff,
 * expf, tanhf and rng_block are out-of-line scalar calls, so element-wise
 * kernels ran one element at a time. These are branch-free versions the
 * compiler turns into vector code, and OPS_CLONES compiles a kernel for
 * AVX-512, AVX2 and baseline, picked at load time (GCC target_clones; off
 * under ASan and for other compilers, where the baseline loop runs);
 * CHUNKED splits an element-wise loop over the OpenMP threads.
 *
 * Accuracy (tests/unit/test_ops_cpu.c measures it): ops_exp (Cephes expf)
 * relative error < 1e-7 on [-87, 88], 0 below -87; ops_phi (the normal
 * CDF, from Numerical Recipes' erfc) absolute error ~1e-7, relative error
 * of the lower tail < 1e-6. Far inside what the exactness tests against
 * PyTorch allow (test_model's errors did not move).
 *
 * ops_philox16 is rng.c's Philox4x32-10 on 16 consecutive counters at once,
 * bit-identical to rng_block (tests/unit/test_ops_cpu.c checks it). */
#ifndef OPS_CPU_SIMD_H
#define OPS_CPU_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__)
#define OPS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OPS_CLONES
#endif

enum { ELEM_CHUNK = 16384 };

/* Run body over [0, n) in chunks of ELEM_CHUNK on the OpenMP threads; body
 * sees its chunk as [i0, i0 + len). */
#define CHUNKED(n, body)                                                                     \
    do {                                                                                     \
        size_t n_ = (n), chunks_ = (n_ + ELEM_CHUNK - 1) / ELEM_CHUNK;                       \
        _Pragma("omp parallel for schedule(static)") for (size_t c_ = 0; c_ < chunks_; c_++) \
        {                                                                                    \
            size_t i0 = c_ * ELEM_CHUNK;                                                     \
            size_t len = n_ - i0 < ELEM_CHUNK ? n_ - i0 : ELEM_CHUNK;                        \
            body;                                                                            \
        }                                                                                    \
    } while (0)

static inline float ops_bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* e^x (Cephes expf: Cody-Waite reduction, degree-6 polynomial). */
static inline float ops_exp(float x)
{
    float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    /* round to nearest by the 1.5 * 2^23 trick (no libm call) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    float scale = ops_bits_to_float((uint32_t)((int32_t)n + 127) << 23);
    return x < -87.0f ? 0.0f : e * scale;
}

/* Φ(x) = P(N(0,1) <= x) = erfc(-x/√2)/2, erfc(z) for z >= 0 as
 * t exp(-z² + poly(t)), t = 1/(1 + z/2) (Numerical Recipes' erfcc). */
static inline float ops_phi(float x)
{
    float z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.5f * z);
    float q = 0.17087277f;
    q = q * t - 0.82215223f;
    q = q * t + 1.48851587f;
    q = q * t - 1.13520398f;
    q = q * t + 0.27886807f;
    q = q * t - 0.18628806f;
    q = q * t + 0.09678418f;
    q = q * t + 0.37409196f;
    q = q * t + 1.00002368f;
    q = q * t - 1.26551223f;
    float half_erfc = 0.5f * t * ops_exp(q - z * z);
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

enum { OPS_PHILOX_BLOCKS = 16, OPS_PHILOX_WORDS = 64 };

/* words[4 i + j] = word j of Philox block (seed, stream, counter + i),
 * i < 16: the same numbers as rng_block, 16 blocks in vector lanes. */
static inline void ops_philox16(uint32_t *words, uint64_t seed, uint64_t stream, uint64_t counter)
{
    uint32_t c0[OPS_PHILOX_BLOCKS], c1[OPS_PHILOX_BLOCKS];
    uint32_t c2[OPS_PHILOX_BLOCKS], c3[OPS_PHILOX_BLOCKS];
    for (int i = 0; i < OPS_PHILOX_BLOCKS; i++) {
        uint64_t c = counter + (uint64_t)i;
        c0[i] = (uint32_t)c;
        c1[i] = (uint32_t)(c >> 32);
        c2[i] = (uint32_t)stream;
        c3[i] = (uint32_t)(stream >> 32);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < OPS_PHILOX_BLOCKS; i++) {
            uint64_t p0 = (uint64_t)0xD2511F53u * c0[i];
            uint64_t p1 = (uint64_t)0xCD9E8D57u * c2[i];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[i] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[i] ^ k1;
            c1[i] = (uint32_t)p1;
            c3[i] = (uint32_t)p0;
            c0[i] = n0;
            c2[i] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int i = 0; i < OPS_PHILOX_BLOCKS; i++) {
        words[4 * i] = c0[i];
        words[4 * i + 1] = c1[i];
        words[4 * i + 2] = c2[i];
        words[4 * i + 3] = c3[i];
    }
}

/* Dropout multipliers of counter words base .. base+n-1 (ops_cpu_dropout.c):
 * mask[k] = keep ? 1/(1-p) : 0, keep = rng_uniform(seed, site, base+k) >= p,
 * the semantics of ops.h; threshold from ops_dropout_threshold(p) (ops.h). */
void ops_dropout_mask(float *mask, size_t n, uint64_t base, uint32_t threshold, float scale,
                      uint64_t seed, uint64_t site);

#endif
