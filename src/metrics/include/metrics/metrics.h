/* metrics: streaming evaluation metrics, reduced exactly across MPI ranks.
 *
 * Each rank feeds its examples into a metrics_acc (metrics_acc_add), then all
 * ranks call metrics_reduce and rank 0 calls metrics_compute. The accumulator
 * keeps only what the metrics need: a confusion matrix of int64 counts, an
 * exact loss sum, 15 calibration bins, for two classes one (score, label) per
 * example for ROC-AUC and average precision, and the N most confident
 * mistakes. Nothing holds logits or probabilities of every example.
 *
 * Design choice: results do not depend on the rank count, to the last bit.
 * Counts are int64 and summed with MPI_Allreduce. Real-valued sums (the loss
 * and each bin's confidence) are not summed in double, whose result depends on
 * the order of additions; each value is truncated to a multiple of 2^-64 and
 * added into three 32-bit limbs held in int64 (an exact fixed-point sum,
 * METRICS_FIXED_FRAC_BITS below), which integer all-reduce sums exactly in any
 * order. The truncation error is below 2^-64 per example, far under the
 * 1e-12 the tests ask for. Scores are gathered to rank 0 in rank order
 * (MPI_Gatherv); the curves group equal scores, so their order does not
 * matter either. So report.json is byte-identical for any rank count when
 * each rank holds a contiguous slice (and equal for any split at all).
 *
 * Definitions are scikit-learn's (1.2): precision_recall_fscore_support with
 * zero_division="warn" (an undefined value is 0.0 and is flagged), the macro,
 * weighted and micro averages, roc_auc_score (trapezoid over distinct
 * thresholds, ties grouped), average_precision_score (step-wise:
 * sum over thresholds of (R_k - R_{k-1}) * P_k, no interpolation). The
 * expected calibration error uses 15 equal-width bins on the top-class
 * probability, bins (lo, hi] with a confidence of exactly 0 in the first
 * bin, boundaries i * (1.0/15) as numpy.linspace computes them, and
 * ECE = sum over bins of (n_b / N) * |accuracy_b - mean confidence_b|
 * (Guo et al. 2017, "On Calibration of Modern Neural Networks").
 *
 * The predicted class is the first index of the largest probability (like
 * numpy.argmax). The loss is the caller's per-example cross-entropy, computed
 * from the logits by a stable log-softmax; this module only averages it.
 *
 * Not here: multi-class ROC-AUC (one-vs-rest), sample weights, multi-label
 * problems, writing files (that is report_). */
#ifndef METRICS_H
#define METRICS_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"

enum {
    METRICS_ECE_BINS = 15,
    METRICS_FIXED_FRAC_BITS = 64, /* resolution of the exact real sums: 2^-64 */
    METRICS_MAX_CLASSES = 100000
};

/* An exact sum of non-negative reals below 2^31, as limbs of 32 bits each:
 * value = limb[0] + limb[1] * 2^-32 + limb[2] * 2^-64 (before carrying, a limb
 * may exceed 32 bits; int64 holds 2^31 additions of 32-bit values). */
typedef struct metrics_fixed_sum {
    int64_t limb[3];
} metrics_fixed_sum;

/* One calibration bin: examples whose top probability lies in (lo, hi]. */
typedef struct metrics_bin {
    double lo, hi;
    int64_t count;   /* examples in the bin */
    int64_t correct; /* of which the prediction was right */
    double confidence_sum;
} metrics_bin;

/* A misclassified example, kept for the report's "most confident mistakes". */
typedef struct metrics_mistake {
    int64_t example_index;
    int32_t true_label, pred_label;
    double confidence; /* probability the model gave pred_label */
} metrics_mistake;

typedef struct metrics_acc metrics_acc;

/* An accumulator for num_classes >= 2 classes that also keeps the keep_worst
 * (>= 0) most confident mistakes. */
ft_status metrics_acc_create(int num_classes, int keep_worst, metrics_acc **out, ft_error *err);
void metrics_acc_free(metrics_acc *acc);

/* Add one example: its global index (position in the dataset, for the
 * mistakes list), true label in [0, num_classes), probs[num_classes] (the
 * softmax, each in [0, 1]) and loss = -log p(label) >= 0 (finite, < 2^31).
 * A value out of range is FT_EINVAL naming the example; nothing is added. */
ft_status metrics_acc_add(metrics_acc *acc, int64_t example_index, int label, const float *probs,
                          double loss, ft_error *err);

/* Number of examples added (on this rank; after reduce, on all ranks). */
int64_t metrics_acc_count(const metrics_acc *acc);

/* Collective over comm: after it, rank 0's accumulator holds the totals of
 * all ranks (scores in rank order, mistakes merged), the others hold the
 * totals of the counts only and can no longer compute. Ranks that created
 * their accumulators with different num_classes or keep_worst get FT_EINVAL
 * on every rank. Adding after a reduce is FT_EINVAL. MPI failures abort. */
ft_status metrics_reduce(metrics_acc *acc, MPI_Comm comm, ft_error *err);

/* Per-class figures. support: examples of the class in the truth;
 * predicted: examples predicted as the class. An undefined precision
 * (predicted == 0) or recall (support == 0) is 0.0 with its flag set; F1 is
 * flagged when either is, and is 0.0 when precision + recall == 0. */
typedef struct metrics_class {
    double precision, recall, f1;
    int64_t support, predicted, true_positives;
    bool precision_undefined, recall_undefined, f1_undefined;
} metrics_class;

typedef struct metrics_average {
    double precision, recall, f1;
    int64_t support;
} metrics_average;

typedef struct metrics_result {
    int num_classes;
    int64_t num_examples, num_correct;
    double accuracy;
    double loss;        /* mean cross-entropy (sklearn.metrics.log_loss) */
    int64_t *confusion; /* [true][pred], num_classes^2 */
    metrics_class *classes;
    metrics_average macro, weighted, micro;
    /* Two classes only, with class 1 as the positive class. ROC-AUC is
     * undefined (has_roc_auc false, NaN) when the truth holds one class only,
     * where sklearn raises; average precision is NaN when no example is
     * positive (sklearn warns and returns a meaningless value there). */
    bool has_roc_auc;
    double roc_auc, average_precision;
    metrics_bin bins[METRICS_ECE_BINS];
    double ece;
    metrics_mistake *worst; /* most confident first, ties by example index */
    int num_worst;
    /* Filled by the caller (NaN when not measured): the only figures that
     * change from run to run. */
    double eval_seconds, examples_per_s, tokens_per_s;
} metrics_result;

/* Compute every metric from a (reduced) accumulator: on rank 0 after
 * metrics_reduce, or on any accumulator never reduced. No examples is
 * FT_EINVAL. The caller frees the result with metrics_result_free. */
ft_status metrics_compute(const metrics_acc *acc, metrics_result **out, ft_error *err);
void metrics_result_free(metrics_result *r);

/* Exact fixed-point sums (exposed for the tests and for other exact
 * reductions): add a value in [0, 2^31), truncated to a multiple of 2^-64;
 * read the sum as a double (within a few roundings of the exact sum, and the
 * same double for the same limbs). */
void metrics_fixed_add(metrics_fixed_sum *s, double value);
double metrics_fixed_value(const metrics_fixed_sum *s);

#endif
