/* sampler_order: the example order ftune-train's sampler gives, one line per
 * optimizer step, so a baseline (transformers' Trainer in
 * bench/pretrained_vs_trainer.py) can train on exactly the same batches.
 * Usage: sampler_order ROWS SEED BATCH STEPS   (one rank, no accumulation)
 * Prints STEPS lines, each a JSON array of BATCH example numbers (0-based
 * rows of the train split in shard order). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ft_alloc.h"
#include "sampler/sampler.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sampler_order ROWS SEED BATCH STEPS\n");
        return 2;
    }
    uint64_t rows = strtoull(argv[1], NULL, 10), seed = strtoull(argv[2], NULL, 10);
    int batch = atoi(argv[3]);
    long steps = atol(argv[4]);
    sampler s = {0};
    ft_error err;
    if (sampler_init(&s, rows, seed, batch, 1, 0, 1, &err) != FT_OK) {
        fprintf(stderr, "sampler_order: %s\n", err.msg);
        return 2;
    }
    uint64_t *idx = ft_malloc_array((size_t)batch, sizeof *idx);
    if (!idx) {
        fprintf(stderr, "sampler_order: out of memory\n");
        sampler_free(&s);
        return 1;
    }
    for (long step = 0; step < steps; step++) {
        sampler_micro_batch(&s, (uint64_t)step, 0, idx);
        for (int i = 0; i < batch; i++) printf(i ? ",%" PRIu64 : "[%" PRIu64, idx[i]);
        puts("]");
    }
    free(idx);
    sampler_free(&s);
    return 0;
}
