/* test_sampler.c: the distributed sampler. The order of a step must not
 * depend on the rank count (2 ranks x 1 micro == 1 rank x 2 micros), each
 * epoch must be a permutation with drop_last, and the order must be a pure
 * function of (seed, epoch): computing step s directly equals reaching it
 * step by step. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sampler/sampler.h"

enum { N = 103, PD = 4 };

/* The global batch of step `step` as rank-count `world` sees it, rank by
 * rank and micro by micro, in slot order. */
static void global_batch(uint64_t seed, int world, int accum, uint64_t step, uint64_t *out)
{
    int slot = 0;
    for (int micro = 0; micro < accum; micro++)
        for (int r = 0; r < world; r++) {
            sampler s;
            ft_error err;
            CHECK(sampler_init(&s, N, seed, PD, world, r, accum, &err) == FT_OK);
            sampler_micro_batch(&s, step, micro, out + slot);
            slot += PD;
            sampler_free(&s);
        }
}

static void test_rank_count_independent(void)
{
    uint64_t a[16], b[16], c[16];
    for (uint64_t step = 0; step < 20; step++) {
        global_batch(7, 2, 2, step, a); /* 2 ranks x 2 micro */
        global_batch(7, 1, 4, step, b); /* 1 rank x 4 micro */
        global_batch(7, 4, 1, step, c); /* 4 ranks x 1 micro */
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(memcmp(a, c, sizeof a) == 0);
    }
}

static void test_epoch_is_permutation_drop_last(void)
{
    sampler s;
    ft_error err;
    CHECK(sampler_init(&s, N, 3, PD, 2, 0, 1, &err) == FT_OK);
    CHECK_EQ_INT(s.global_batch, 8);
    CHECK_EQ_INT(s.steps_per_epoch, N / 8); /* 12: 7 examples dropped per epoch */
    for (uint64_t epoch = 0; epoch < 3; epoch++) {
        int seen[N] = {0};
        for (int r = 0; r < 2; r++) {
            sampler t;
            CHECK(sampler_init(&t, N, 3, PD, 2, r, 1, &err) == FT_OK);
            for (uint64_t k = 0; k < t.steps_per_epoch; k++) {
                uint64_t idx[PD];
                sampler_micro_batch(&t, epoch * t.steps_per_epoch + k, 0, idx);
                for (int i = 0; i < PD; i++) {
                    CHECK(idx[i] < N);
                    seen[idx[i]]++;
                }
            }
            sampler_free(&t);
        }
        int once = 0, twice = 0;
        for (int i = 0; i < N; i++) once += seen[i] == 1, twice += seen[i] > 1;
        CHECK_EQ_INT(once, 96);
        CHECK_EQ_INT(twice, 0);
    }
    sampler_free(&s);
}

static void test_pure_function_and_epochs_differ(void)
{
    sampler a, b;
    ft_error err;
    CHECK(sampler_init(&a, N, 11, PD, 1, 0, 1, &err) == FT_OK);
    CHECK(sampler_init(&b, N, 11, PD, 1, 0, 1, &err) == FT_OK);
    uint64_t x[PD], y[PD], e0[PD], e1[PD];
    for (uint64_t step = 0; step < 60; step++) sampler_micro_batch(&a, step, 0, x);
    sampler_micro_batch(&b, 59, 0, y); /* straight to step 59, no skipping loop */
    CHECK(memcmp(x, y, sizeof x) == 0);
    sampler_micro_batch(&b, 0, 0, e0);
    sampler_micro_batch(&b, b.steps_per_epoch, 0, e1);
    CHECK(memcmp(e0, e1, sizeof e0) != 0);
    sampler_free(&a);
    sampler_free(&b);
}

static void test_bad_sizes(void)
{
    sampler s;
    ft_error err;
    CHECK(sampler_init(&s, 5, 1, 4, 2, 0, 1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "fewer than one global batch");
    CHECK(sampler_init(&s, 50, 1, 0, 2, 0, 1, &err) == FT_EINVAL);
    CHECK(sampler_init(&s, 50, 1, 2, 2, 2, 1, &err) == FT_EINVAL);
}

int main(void)
{
    test_rank_count_independent();
    test_epoch_is_permutation_drop_last();
    test_pure_function_and_epochs_differ();
    test_bad_sizes();
    return check_finish();
}
