/* sampler.c: the epoch order and its split (see sampler.h). The permutation
 * of the current epoch is cached; moving to another epoch recomputes it from
 * (seed, epoch) alone. */
#include "sampler/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/rng.h"

ft_status sampler_init(sampler *s, uint64_t n, uint64_t seed, int per_device, int world, int rank,
                       int accumulation, ft_error *err)
{
    memset(s, 0, sizeof *s);
    s->perm_epoch = -1;
    if (per_device < 1 || world < 1 || accumulation < 1 || rank < 0 || rank >= world)
        return ft_fail(err, FT_EINVAL,
                       "sampler: per_device (%d), world (%d) and accumulation (%d) must be "
                       "positive and rank (%d) below world",
                       per_device, world, accumulation, rank);
    uint64_t gb = (uint64_t)per_device * (uint64_t)world * (uint64_t)accumulation;
    if (n < gb)
        return ft_fail(err, FT_EINVAL,
                       "the training split has %llu examples, fewer than one global batch "
                       "(per_device_train_batch_size %d x %d ranks x gradient_accumulation_steps "
                       "%d = %llu)",
                       (unsigned long long)n, per_device, world, accumulation,
                       (unsigned long long)gb);
    s->perm = ft_malloc_array(n, sizeof *s->perm);
    if (!s->perm)
        return ft_fail(err, FT_ENOMEM, "sampler: out of memory for %llu examples",
                       (unsigned long long)n);
    s->n = n;
    s->seed = seed;
    s->per_device = per_device;
    s->world = world;
    s->rank = rank;
    s->accumulation = accumulation;
    s->global_batch = gb;
    s->steps_per_epoch = n / gb;
    return FT_OK;
}

void sampler_free(sampler *s)
{
    if (!s) return;
    free(s->perm);
    s->perm = NULL;
}

void sampler_micro_batch(sampler *s, uint64_t step, int micro, uint64_t *out)
{
    uint64_t epoch = sampler_epoch(s, step);
    if (s->perm_epoch != (int64_t)epoch) {
        rng_permutation(s->seed, SAMPLER_STREAM_BASE + epoch, s->perm, s->n);
        s->perm_epoch = (int64_t)epoch;
    }
    uint64_t base =
        sampler_step_in_epoch(s, step) * s->global_batch +
        ((uint64_t)micro * (uint64_t)s->world + (uint64_t)s->rank) * (uint64_t)s->per_device;
    for (int i = 0; i < s->per_device; i++) out[i] = s->perm[base + (uint64_t)i];
}
