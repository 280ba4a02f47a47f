/* st: conversions between fp32 and the two 16-bit float formats.
 *
 * Design: pure bit manipulation on the IEEE-754 encodings, so the results do
 * not depend on the compiler's _Float16 support or the rounding mode. Widening
 * is exact (every F16 and BF16 value is an fp32 value); narrowing rounds to
 * nearest, ties to even, as torch's .half() and .bfloat16() do. NaN stays NaN
 * (made quiet, sign kept); overflow gives infinity.
 *
 * Not here: F8 formats; fp64 (a plain C cast). */
#include <string.h>

#include "st/st.h"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in fp32 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) /* infinity or NaN (payload kept) */
        return bits_f32(sign | 0x7F800000u | (mant << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

float st_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

/* Round m >> shift to nearest, ties to even. */
static uint32_t shift_round_even(uint32_t m, unsigned shift)
{
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return q;
}

uint16_t st_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    int exp = (int)((u >> 23) & 0xFF);
    uint32_t mant = u & 0x7FFFFF;
    if (exp == 255) /* infinity, or NaN made quiet */
        return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 | (mant >> 13) : 0));
    int e = exp - 127 + 15; /* the F16 biased exponent */
    if (e >= 31) return (uint16_t)(sign | 0x7C00);
    if (e >= 1) {
        /* normal: a carry out of the mantissa bumps the exponent, and out of
         * the largest exponent gives 0x7C00 = infinity, as it should */
        uint32_t h = ((uint32_t)e << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
        return (uint16_t)(sign | h);
    }
    /* subnormal result: value / 2^-24 = (1.mant * 2^23) >> (14 - e) */
    if (e < -10) return sign;
    return (uint16_t)(sign | shift_round_even(mant | 0x800000, (unsigned)(14 - e)));
}

uint16_t st_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7FFFFFFF) > 0x7F800000) /* NaN: keep it NaN and quiet */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7FFF + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
