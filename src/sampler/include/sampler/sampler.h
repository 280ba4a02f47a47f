/* sampler: the deterministic distributed order of training examples.
 *
 * Design: one global order per epoch, rng_permutation(seed, stream of the
 * epoch), fixed before it is split across ranks. An optimizer step takes the
 * next global_batch = per_device * world * accumulation examples of that
 * order; inside the step, slot j = (micro * world + rank) * per_device + i
 * goes to rank `rank`, micro-batch `micro`, row i. So the examples of global
 * step s are the same whatever the rank count, and the position in training
 * is one integer: the global step (epoch = s / steps_per_epoch, step in the
 * epoch = s % steps_per_epoch). Resuming at step s reads exactly the batches
 * an uninterrupted run would, with no skipping loop.
 *
 * drop_last: an epoch has floor(n / global_batch) steps; the last
 * n % global_batch examples of each epoch's order are not used in that epoch
 * (they are different examples each epoch, as the order changes). Every
 * micro-batch therefore has exactly per_device rows on every rank, so the
 * mean of the per-rank means is the mean over the global batch.
 *
 * Not here: reading the rows (train_data), evaluation order (contiguous
 * slices, no shuffle). */
#ifndef SAMPLER_H
#define SAMPLER_H

#include <stdint.h>

#include "core/ft_error.h"

/* Stream base of the epoch permutations (the rng stream is base + epoch). */
#define SAMPLER_STREAM_BASE UINT64_C(0x53414d5000000000)

typedef struct sampler {
    uint64_t n, seed;
    int per_device, world, rank, accumulation;
    uint64_t global_batch, steps_per_epoch;
    uint64_t *perm;     /* the order of perm_epoch, n entries */
    int64_t perm_epoch; /* -1: none computed yet */
} sampler;

/* FT_EINVAL when a size is not positive or n < global batch (no full step). */
ft_status sampler_init(sampler *s, uint64_t n, uint64_t seed, int per_device, int world, int rank,
                       int accumulation, ft_error *err);
void sampler_free(sampler *s); /* NULL and zeroed samplers are fine */

/* Epoch and step in the epoch of global step `step`. */
static inline uint64_t sampler_epoch(const sampler *s, uint64_t step)
{
    return step / s->steps_per_epoch;
}
static inline uint64_t sampler_step_in_epoch(const sampler *s, uint64_t step)
{
    return step % s->steps_per_epoch;
}

/* The global example numbers (0..n-1) of this rank's micro-batch `micro` of
 * global step `step`: per_device entries into out. */
void sampler_micro_batch(sampler *s, uint64_t step, int micro, uint64_t *out);

#endif
