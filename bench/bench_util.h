/* bench_util.h: what the C benchmarks share: a monotonic clock, the median
 * of repeated timings, and the BERT/GPT-2 model shapes they time. Header
 * only (static inline), so each bench stays one .c file. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

#include "model/model.h"

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts x in place. */
static inline double bench_median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, bench_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* A randomly initialised BERT (bert-base-uncased's vocabulary) or GPT-2 of
 * the given width and depth: 64-wide heads, 4x feed-forward, 2 labels. */
static inline model_config bench_model_config(model_arch arch, int hidden, int layers,
                                              float dropout)
{
    bool bert = arch == MODEL_ARCH_BERT;
    model_config c = {0};
    c.arch = arch;
    c.vocab_size = bert ? 30522 : 50257;
    c.max_positions = bert ? 512 : 1024;
    c.type_vocab_size = 2;
    c.hidden = hidden;
    c.layers = layers;
    c.heads = hidden / 64 > 0 ? hidden / 64 : 1;
    c.intermediate = 4 * hidden;
    c.num_labels = 2;
    c.layer_norm_eps = bert ? 1e-12f : 1e-5f;
    c.initializer_range = 0.02f;
    c.hidden_dropout = c.attention_dropout = dropout;
    c.classifier_dropout = bert ? dropout : 0.0f;
    c.pad_token_id = bert ? 0 : 50256;
    c.gelu = bert ? OPS_GELU_ERF : OPS_GELU_TANH;
    return c;
}

#endif
