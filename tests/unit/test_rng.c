/* rng: Philox4x32-10 against Random123's published known-answer vectors
 * (kat_vectors: philox4x32 10 rounds), and the properties ftune relies on. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"

static void check_kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
                      uint32_t e0, uint32_t e1, uint32_t e2, uint32_t e3)
{
    uint32_t ctr[4] = {c0, c1, c2, c3}, key[2] = {k0, k1};
    rng_philox_out o = rng_philox4x32(ctr, key);
    CHECK_MSG(o.v[0] == e0 && o.v[1] == e1 && o.v[2] == e2 && o.v[3] == e3,
              "got %08x %08x %08x %08x", o.v[0], o.v[1], o.v[2], o.v[3]);
}

int main(void)
{
    check_kat(0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
    check_kat(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
              0x41c83b0e, 0xa20bc7c6, 0x6d5451fd);
    check_kat(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
              0x94fdcceb, 0x5001e420, 0x24126ea1);

    /* A pure function of (seed, stream, index). */
    CHECK(rng_u32(42, 7, 1000) == rng_u32(42, 7, 1000));
    CHECK(rng_u32(42, 7, 1000) != rng_u32(42, 8, 1000));
    CHECK(rng_u32(42, 7, 1000) != rng_u32(43, 7, 1000));

    /* Uniforms in [0,1) with mean near 1/2; normals with mean 0, var 1.
     * n = 200000: the standard error of the mean is 0.00065 (uniform) and
     * 0.0022 (normal), so 0.005 and 0.01 are > 4 standard errors. */
    enum { N = 200000 };
    double sum_u = 0, sum_n = 0, sum_n2 = 0;
    int in_range = 1;
    for (uint64_t i = 0; i < N; i++) {
        float u = rng_uniform(1, 2, i);
        in_range &= u >= 0.0f && u < 1.0f;
        sum_u += u;
        double z = rng_normal(1, 3, i);
        sum_n += z;
        sum_n2 += z * z;
    }
    CHECK(in_range);
    CHECK_CLOSE(sum_u / N, 0.5, 0.005);
    CHECK_CLOSE(sum_n / N, 0.0, 0.01);
    CHECK_CLOSE(sum_n2 / N, 1.0, 0.02);

    /* rng_below: in range, every value reached, roughly uniform. */
    int counts[7] = {0};
    for (uint64_t i = 0; i < 70000; i++) {
        uint64_t v = rng_below(5, 6, i, 7);
        CHECK(v < 7);
        if (v < 7) counts[v]++;
    }
    for (int v = 0; v < 7; v++)
        CHECK_MSG(abs(counts[v] - 10000) < 500, "value %d: %d", v, counts[v]);

    /* Permutations: a bijection, reproducible, different per stream. */
    enum { P = 1000 };
    uint64_t a[P], b[P], c[P];
    rng_permutation(42, 0, a, P);
    rng_permutation(42, 0, b, P);
    rng_permutation(42, 1, c, P);
    int seen[P] = {0}, same_ab = 1, same_ac = 1;
    for (int i = 0; i < P; i++) {
        if (a[i] < P) seen[a[i]]++;
        same_ab &= a[i] == b[i];
        same_ac &= a[i] == c[i];
    }
    int bijection = 1;
    for (int i = 0; i < P; i++) bijection &= seen[i] == 1;
    CHECK(bijection);
    CHECK(same_ab);
    CHECK(!same_ac);
    return check_finish();
}
