/* ops_cpu_fp16: rounding float32 values to IEEE fp16 values (ops_round_fp16).
 *
 * Bits, not a library call, because the result must be the same on every
 * CPU and in the GPU kernel: in fp16's normal range ([2^-14, 65520)) drop the
 * 13 low significand bits with round-to-nearest-even (add 0xFFF plus the
 * lowest kept bit, then clear); below it fp16 is subnormal with a fixed
 * quantum of 2^-24, and (a + 0.5f) - 0.5f rounds a to that quantum (the ulp
 * of floats in [0.5, 1) is 2^-24) in the default rounding mode; from 65520,
 * the midpoint above the largest fp16 value 65504, ties-to-even gives inf. */
#include <string.h>

#include "ops/ops_cpu.h"
#include "ops_cpu_simd.h"

static float round_one(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint32_t sign = u & 0x80000000u, a = u ^ sign;
    if (a >= 0x7f800000u) return x; /* inf, NaN */
    if (a >= 0x477ff000u) {         /* 65520 */
        a = 0x7f800000u;
    } else if (a < 0x38800000u) { /* 2^-14 */
        float f;
        memcpy(&f, &a, sizeof f);
        f = (f + 0.5f) - 0.5f;
        memcpy(&a, &f, sizeof a);
    } else {
        a += 0xfffu + ((a >> 13) & 1u);
        a &= ~0x1fffu;
    }
    u = sign | a;
    memcpy(&x, &u, sizeof x);
    return x;
}

static void round_piece(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = round_one(in[i]);
}

void ops_cpu_round_fp16(float *out, const float *in, size_t n)
{
    CHUNKED(n, round_piece(out + i0, in + i0, len));
}
