/* rng: Philox4x32-10. See rng.h for why ftune draws from a counter-based
 * generator. Constants are those of Random123 (multipliers from the paper,
 * Weyl increments from the golden ratio and sqrt(3)). */
#include "core/rng.h"

#include <math.h>

enum {
    PHILOX_M0 = 0xD2511F53u,
    PHILOX_M1 = 0xCD9E8D57u,
    PHILOX_W0 = 0x9E3779B9u,
    PHILOX_W1 = 0xBB67AE85u
};

static inline void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(product >> 32);
    *lo = (uint32_t)product;
}

rng_philox_out rng_philox4x32(const uint32_t ctr_in[4], const uint32_t key_in[2])
{
    uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo32(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo32(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    rng_philox_out out = {{c0, c1, c2, c3}};
    return out;
}

rng_philox_out rng_block(uint64_t seed, uint64_t stream, uint64_t counter)
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)stream,
                       (uint32_t)(stream >> 32)};
    return rng_philox4x32(ctr, key);
}

uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t index)
{
    return rng_block(seed, stream, index >> 2).v[index & 3];
}

float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    /* The top 24 bits fill a float's mantissa exactly: values k / 2^24. */
    return (float)(rng_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

/* Retries of a rejected draw use a stream no caller uses (top bit set). */
static uint64_t retry_stream(uint64_t stream, uint64_t attempt)
{
    return (stream ^ (attempt << 56)) | (1ull << 63);
}

uint64_t rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint64_t bound)
{
    if (bound <= 1) return 0;
    uint64_t threshold = (0 - bound) % bound;
    for (uint64_t attempt = 0;; attempt++) {
        uint64_t s = attempt ? retry_stream(stream, attempt) : stream;
        rng_philox_out b = rng_block(seed, s, index);
        uint64_t x = ((uint64_t)b.v[0] << 32) | b.v[1];
        unsigned __int128 m = (unsigned __int128)x * bound;
        if ((uint64_t)m >= threshold) return (uint64_t)(m >> 64);
    }
}

float rng_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
    rng_philox_out b = rng_block(seed, stream, index);
    /* u1 in (0, 1] so log(u1) is finite; 53-bit uniforms from two words. */
    double u1 = ((double)(((uint64_t)b.v[0] << 21) ^ (b.v[1] >> 11)) + 1.0) / 9007199254740992.0;
    double u2 = (double)(((uint64_t)b.v[2] << 21) ^ (b.v[3] >> 11)) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_permutation(uint64_t seed, uint64_t stream, uint64_t *perm, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) perm[i] = i;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rng_below(seed, stream, i - 1, i);
        uint64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
