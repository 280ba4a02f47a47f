/* rng: counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * A Philox draw is a pure function of (key, counter): no state advances, so
 * the numbers for dropout and shuffling depend only on what they are for, not
 * on how many numbers some rank drew before. ftune keys the generator with
 * (seed, stream) and puts the position of the draw in the counter, e.g.
 * dropout of (step, example index, layer) or the shuffle of (epoch). This is
 * what makes resume exact and results independent of the rank count.
 *
 * Not cryptographic. Same algorithm and constants as Random123 / cuRAND's
 * Philox4_32_10, so a CUDA back end can draw identical numbers on the GPU. */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct rng_philox_out {
    uint32_t v[4];
} rng_philox_out;

/* The raw block function: 10 rounds of Philox4x32 on ctr with key. */
rng_philox_out rng_philox4x32(const uint32_t ctr[4], const uint32_t key[2]);

/* Four 32-bit words for (seed, stream, counter). */
rng_philox_out rng_block(uint64_t seed, uint64_t stream, uint64_t counter);

/* One 32-bit word: word (index % 4) of block index / 4. */
uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t index);

/* Uniform float in [0, 1) with 24 random bits, from rng_u32. */
float rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

/* Uniform integer in [0, bound) without modulo bias (Lemire's method with
 * rejection; rejected draws move to the next index of a side counter). */
uint64_t rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint64_t bound);

/* Standard normal (Box-Muller on two uniforms of one block). */
float rng_normal(uint64_t seed, uint64_t stream, uint64_t index);

/* Fisher-Yates permutation of 0..n-1 as a pure function of (seed, stream). */
void rng_permutation(uint64_t seed, uint64_t stream, uint64_t *perm, uint64_t n);

#endif
