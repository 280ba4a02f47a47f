/* metrics_compute: the formulas, from a reduced accumulator to the figures.
 *
 * Design: each figure follows scikit-learn 1.2 (see metrics.h), written from
 * counts so it is exact up to the final divisions. ROC-AUC sums trapezoids in
 * int64 (twice the area under the count curve, divided once at the end);
 * average precision is the step sum over distinct thresholds. Equal scores
 * form one threshold, so the order of examples with equal scores, and hence
 * the rank count, cannot change a result. Not here: I/O, MPI. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "metrics/metrics.h"
#include "metrics_impl.h"

typedef struct scored {
    float score;
    uint8_t label;
} scored;

static int by_score_descending(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* ROC-AUC and average precision of the two-class scores (class 1 positive).
 * Walks the distinct thresholds from the highest score down; at each, tp and
 * fp count the examples scored at or above it. */
static ft_status binary_curves(const metrics_acc *acc, metrics_result *r, ft_error *err)
{
    int64_t n = acc->num_scores, positives = 0;
    for (int64_t i = 0; i < n; i++) positives += acc->score_labels[i];
    int64_t negatives = n - positives;
    r->has_roc_auc = positives > 0 && negatives > 0;
    r->roc_auc = r->average_precision = NAN;
    if (positives == 0) return FT_OK; /* recall undefined: no curve at all */
    scored *s = ft_malloc_array((size_t)n, sizeof *s);
    if (!s)
        return ft_fail(err, FT_ENOMEM,
                       "metrics: out of memory sorting %lld "
                       "scores",
                       (long long)n);
    for (int64_t i = 0; i < n; i++) s[i] = (scored){acc->scores[i], acc->score_labels[i]};
    qsort(s, (size_t)n, sizeof *s, by_score_descending);
    int64_t tp = 0, fp = 0, twice_area = 0;
    double ap = 0.0;
    for (int64_t i = 0; i < n;) {
        int64_t tp_before = tp, fp_before = fp;
        float threshold = s[i].score;
        for (; i < n && s[i].score == threshold; i++) {
            tp += s[i].label;
            fp += !s[i].label;
        }
        twice_area += (fp - fp_before) * (tp + tp_before);
        ap += (double)(tp - tp_before) / (double)positives * ((double)tp / (double)(tp + fp));
    }
    if (r->has_roc_auc)
        r->roc_auc = (double)twice_area / (2.0 * (double)positives * (double)negatives);
    r->average_precision = ap;
    free(s);
    return FT_OK;
}

/* sklearn's _prf_divide with zero_division="warn": 0.0 and a flag. */
static double divide_or_zero(int64_t num, int64_t den, bool *undefined)
{
    *undefined = den == 0;
    return den == 0 ? 0.0 : (double)num / (double)den;
}

static double f1_of(double precision, double recall)
{
    double den = precision + recall;
    return den == 0.0 ? 0.0 : 2.0 * precision * recall / den;
}

static void per_class(const metrics_acc *acc, metrics_result *r)
{
    int k = acc->num_classes;
    for (int c = 0; c < k; c++) {
        metrics_class *m = &r->classes[c];
        for (int o = 0; o < k; o++) {
            m->support += acc->confusion[(size_t)c * (size_t)k + (size_t)o];
            m->predicted += acc->confusion[(size_t)o * (size_t)k + (size_t)c];
        }
        m->true_positives = acc->confusion[(size_t)c * (size_t)k + (size_t)c];
        m->precision = divide_or_zero(m->true_positives, m->predicted, &m->precision_undefined);
        m->recall = divide_or_zero(m->true_positives, m->support, &m->recall_undefined);
        m->f1 = f1_of(m->precision, m->recall);
        m->f1_undefined = m->precision_undefined || m->recall_undefined;
        r->num_correct += m->true_positives;
    }
}

/* Macro: the plain mean over classes (undefined ones count as 0.0, as in
 * sklearn). Weighted: weighted by support. Micro: from the summed counts,
 * which for single-label data all equal the accuracy. */
static void averages(metrics_result *r)
{
    int k = r->num_classes;
    double p = 0, rc = 0, f = 0, wp = 0, wr = 0, wf = 0;
    for (int c = 0; c < k; c++) {
        const metrics_class *m = &r->classes[c];
        p += m->precision;
        rc += m->recall;
        f += m->f1;
        wp += m->precision * (double)m->support;
        wr += m->recall * (double)m->support;
        wf += m->f1 * (double)m->support;
    }
    double n = (double)r->num_examples;
    r->macro = (metrics_average){p / k, rc / k, f / k, r->num_examples};
    r->weighted = (metrics_average){wp / n, wr / n, wf / n, r->num_examples};
    double micro = (double)r->num_correct / n;
    r->micro = (metrics_average){micro, micro, f1_of(micro, micro), r->num_examples};
}

static void calibration(const metrics_acc *acc, metrics_result *r)
{
    double ece = 0.0, n = (double)acc->count;
    for (int b = 0; b < METRICS_ECE_BINS; b++) {
        metrics_bin *bin = &r->bins[b];
        bin->lo = metrics_bin_lo(b);
        bin->hi = metrics_bin_hi(b);
        bin->count = acc->bin_count[b];
        bin->correct = acc->bin_correct[b];
        bin->confidence_sum = metrics_fixed_value(&acc->bin_confidence[b]);
        if (bin->count == 0) continue;
        double accuracy = (double)bin->correct / (double)bin->count;
        double confidence = bin->confidence_sum / (double)bin->count;
        ece += fabs(accuracy - confidence) * ((double)bin->count / n);
    }
    r->ece = ece;
}

static ft_status result_alloc(const metrics_acc *acc, metrics_result **out, ft_error *err)
{
    size_t k = (size_t)acc->num_classes;
    metrics_result *r = ft_calloc_array(1, sizeof *r);
    if (r) {
        r->confusion = ft_malloc_array(k * k, sizeof *r->confusion);
        r->classes = ft_calloc_array(k, sizeof *r->classes);
        r->worst = ft_calloc_array(acc->num_worst ? (size_t)acc->num_worst : 1, sizeof *r->worst);
    }
    if (!r || !r->confusion || !r->classes || !r->worst) {
        metrics_result_free(r);
        return ft_fail(err, FT_ENOMEM, "metrics: out of memory");
    }
    *out = r;
    return FT_OK;
}

ft_status metrics_compute(const metrics_acc *acc, metrics_result **out, ft_error *err)
{
    *out = NULL;
    if (!acc->has_scores)
        return ft_fail(err, FT_EINVAL,
                       "metrics_compute: after metrics_reduce "
                       "only rank 0 can compute the metrics");
    if (acc->count == 0)
        return ft_fail(err, FT_EINVAL,
                       "metrics_compute: no examples were "
                       "evaluated");
    metrics_result *r = NULL;
    ft_status st = result_alloc(acc, &r, err);
    if (st != FT_OK) return st;
    size_t k = (size_t)acc->num_classes;
    r->num_classes = acc->num_classes;
    r->num_examples = acc->count;
    memcpy(r->confusion, acc->confusion, k * k * sizeof *r->confusion);
    per_class(acc, r);
    r->accuracy = (double)r->num_correct / (double)r->num_examples;
    r->loss = metrics_fixed_value(&acc->loss) / (double)r->num_examples;
    averages(r);
    calibration(acc, r);
    r->num_worst = acc->num_worst;
    if (acc->num_worst) memcpy(r->worst, acc->worst, (size_t)acc->num_worst * sizeof *r->worst);
    r->has_roc_auc = false;
    r->roc_auc = r->average_precision = NAN;
    if (acc->num_classes == 2) st = binary_curves(acc, r, err);
    r->eval_seconds = r->examples_per_s = r->tokens_per_s = NAN;
    if (st != FT_OK) {
        metrics_result_free(r);
        return st;
    }
    *out = r;
    return FT_OK;
}

void metrics_result_free(metrics_result *r)
{
    if (!r) return;
    free(r->confusion);
    free(r->classes);
    free(r->worst);
    free(r);
}
