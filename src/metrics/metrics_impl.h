/* metrics_impl.h: what metrics.c (accumulate, reduce) and metrics_compute.c
 * (the formulas) share: the accumulator's layout. Not an API. */
#ifndef METRICS_IMPL_H
#define METRICS_IMPL_H

#include "metrics/metrics.h"

struct metrics_acc {
    int num_classes, keep_worst;
    int64_t count;
    int64_t *confusion; /* [true][pred] */
    metrics_fixed_sum loss;
    int64_t bin_count[METRICS_ECE_BINS], bin_correct[METRICS_ECE_BINS];
    metrics_fixed_sum bin_confidence[METRICS_ECE_BINS];
    /* Two classes only: probability of class 1 and the true label of every
     * example (on rank 0 after a reduce: of all examples, in rank order). */
    float *scores;
    uint8_t *score_labels;
    int64_t num_scores, scores_cap;
    metrics_mistake *worst; /* sorted, most confident first */
    int num_worst;
    bool reduced;    /* metrics_reduce ran: no more adds */
    bool has_scores; /* may compute (false on ranks other than 0 after reduce) */
};

/* Lower and upper boundary of calibration bin b, as numpy.linspace(0, 1, 16). */
double metrics_bin_lo(int b);
double metrics_bin_hi(int b);

/* Ordering of the mistakes list: true when a comes before b (higher
 * confidence, then lower example index). */
bool metrics_mistake_before(const metrics_mistake *a, const metrics_mistake *b);

#endif
