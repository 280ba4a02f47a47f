/* metrics: the accumulator, the exact fixed-point sums and the MPI reduction.
 *
 * Design: see metrics.h. The reduction packs every count and every limb of
 * the fixed-point sums into one int64 buffer and sums it with a single
 * MPI_Allreduce, so it is exact and order-free; the two-class scores and the
 * mistakes are gathered to rank 0 in rank order. The formulas live in
 * metrics_compute.c. Not here: anything that reads or writes files. */
#include "metrics/metrics.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "metrics_impl.h"

#define LIMB_MASK  ((int64_t)0xffffffff)
#define TWO_POW_32 4294967296.0

/* ---- exact fixed-point sums ------------------------------------------- */

static void fixed_carry(metrics_fixed_sum *s)
{
    s->limb[1] += s->limb[2] >> 32;
    s->limb[2] &= LIMB_MASK;
    s->limb[0] += s->limb[1] >> 32;
    s->limb[1] &= LIMB_MASK;
}

void metrics_fixed_add(metrics_fixed_sum *s, double value)
{
    /* Every step is exact: value < 2^31 has at most 53 significant bits, and
     * scaling by 2^32 and taking integer parts loses nothing but the bits
     * below 2^-64, which are dropped (truncation). */
    double whole = floor(value);
    double frac = (value - whole) * TWO_POW_32;
    double hi = floor(frac);
    double lo = floor((frac - hi) * TWO_POW_32);
    s->limb[0] += (int64_t)whole;
    s->limb[1] += (int64_t)hi;
    s->limb[2] += (int64_t)lo;
    fixed_carry(s);
}

double metrics_fixed_value(const metrics_fixed_sum *s)
{
    metrics_fixed_sum c = *s;
    fixed_carry(&c);
    double frac = ((double)c.limb[1] + (double)c.limb[2] / TWO_POW_32) / TWO_POW_32;
    return (double)c.limb[0] + frac;
}

/* ---- calibration bins --------------------------------------------------- */

double metrics_bin_lo(int b) { return (double)b * (1.0 / METRICS_ECE_BINS); }

double metrics_bin_hi(int b) { return b + 1 == METRICS_ECE_BINS ? 1.0 : metrics_bin_lo(b + 1); }

/* The bin (lo, hi] holding confidence c in [0, 1]; 0 goes to the first bin.
 * A first guess from c * 15, then corrected against the exact boundaries so
 * a value next to a boundary lands where the comparisons put it. */
static int bin_of(double c)
{
    int b = (int)ceil(c * METRICS_ECE_BINS) - 1;
    if (b < 0) b = 0;
    if (b >= METRICS_ECE_BINS) b = METRICS_ECE_BINS - 1;
    while (b > 0 && c <= metrics_bin_lo(b)) b--;
    while (b + 1 < METRICS_ECE_BINS && c > metrics_bin_hi(b)) b++;
    return b;
}

/* ---- the accumulator ---------------------------------------------------- */

ft_status metrics_acc_create(int num_classes, int keep_worst, metrics_acc **out, ft_error *err)
{
    *out = NULL;
    if (num_classes < 2 || num_classes > METRICS_MAX_CLASSES)
        return ft_fail(err, FT_EINVAL, "metrics: num_classes must be in [2, %d], got %d",
                       METRICS_MAX_CLASSES, num_classes);
    if (keep_worst < 0 || keep_worst > 1000000)
        return ft_fail(err, FT_EINVAL, "metrics: keep_worst must be in [0, 1000000], got %d",
                       keep_worst);
    metrics_acc *acc = ft_calloc_array(1, sizeof *acc);
    size_t cells = (size_t)num_classes * (size_t)num_classes;
    if (acc) acc->confusion = ft_calloc_array(cells, sizeof *acc->confusion);
    if (acc && keep_worst) acc->worst = ft_calloc_array((size_t)keep_worst, sizeof *acc->worst);
    if (!acc || !acc->confusion || (keep_worst && !acc->worst)) {
        metrics_acc_free(acc);
        return ft_fail(err, FT_ENOMEM, "metrics: out of memory for %d classes", num_classes);
    }
    acc->num_classes = num_classes;
    acc->keep_worst = keep_worst;
    acc->has_scores = true;
    *out = acc;
    return FT_OK;
}

void metrics_acc_free(metrics_acc *acc)
{
    if (!acc) return;
    free(acc->confusion);
    free(acc->scores);
    free(acc->score_labels);
    free(acc->worst);
    free(acc);
}

int64_t metrics_acc_count(const metrics_acc *acc) { return acc->count; }

bool metrics_mistake_before(const metrics_mistake *a, const metrics_mistake *b)
{
    if (a->confidence != b->confidence) return a->confidence > b->confidence;
    return a->example_index < b->example_index;
}

/* Insert m into the sorted list of at most keep_worst mistakes. */
static void keep_mistake(metrics_acc *acc, const metrics_mistake *m)
{
    int n = acc->num_worst;
    if (n == acc->keep_worst && (n == 0 || !metrics_mistake_before(m, &acc->worst[n - 1]))) return;
    if (n < acc->keep_worst) n++;
    int i = n - 1;
    for (; i > 0 && metrics_mistake_before(m, &acc->worst[i - 1]); i--)
        acc->worst[i] = acc->worst[i - 1];
    acc->worst[i] = *m;
    acc->num_worst = n;
}

static ft_status push_score(metrics_acc *acc, float score, int label, ft_error *err)
{
    if (acc->num_scores == acc->scores_cap) {
        size_t cap = acc->scores_cap ? (size_t)acc->scores_cap * 2 : 1024;
        float *s = ft_realloc_array(acc->scores, cap, sizeof *s);
        if (s) acc->scores = s;
        uint8_t *l = s ? ft_realloc_array(acc->score_labels, cap, 1) : NULL;
        if (l) acc->score_labels = l;
        if (!s || !l) return ft_fail(err, FT_ENOMEM, "metrics: out of memory for %zu scores", cap);
        acc->scores_cap = (int64_t)cap;
    }
    acc->scores[acc->num_scores] = score;
    acc->score_labels[acc->num_scores] = (uint8_t)label;
    acc->num_scores++;
    return FT_OK;
}

static ft_status check_example(const metrics_acc *acc, int64_t example_index, int label,
                               const float *probs, double loss, ft_error *err)
{
    if (acc->reduced)
        return ft_fail(err, FT_EINVAL,
                       "metrics: example %lld added after "
                       "metrics_reduce",
                       (long long)example_index);
    if (label < 0 || label >= acc->num_classes)
        return ft_fail(err, FT_EINVAL,
                       "metrics: example %lld: label %d is not "
                       "in [0, %d)",
                       (long long)example_index, label, acc->num_classes);
    if (!isfinite(loss) || loss < 0 || loss >= 2147483648.0)
        return ft_fail(err, FT_EINVAL,
                       "metrics: example %lld: loss must be "
                       "finite, >= 0 and < 2^31, got %g",
                       (long long)example_index, loss);
    for (int c = 0; c < acc->num_classes; c++)
        if (!(probs[c] >= 0.0f && probs[c] <= 1.0f)) /* also catches NaN */
            return ft_fail(err, FT_EINVAL,
                           "metrics: example %lld: probability "
                           "of class %d must be in [0, 1], got %g",
                           (long long)example_index, c, (double)probs[c]);
    return FT_OK;
}

ft_status metrics_acc_add(metrics_acc *acc, int64_t example_index, int label, const float *probs,
                          double loss, ft_error *err)
{
    ft_status st = check_example(acc, example_index, label, probs, loss, err);
    if (st != FT_OK) return st;
    int pred = 0;
    for (int c = 1; c < acc->num_classes; c++)
        if (probs[c] > probs[pred]) pred = c;
    if (acc->num_classes == 2) {
        st = push_score(acc, probs[1], label, err);
        if (st != FT_OK) return st;
    }
    double confidence = probs[pred];
    int b = bin_of(confidence);
    acc->bin_count[b]++;
    acc->bin_correct[b] += pred == label;
    metrics_fixed_add(&acc->bin_confidence[b], confidence);
    metrics_fixed_add(&acc->loss, loss);
    acc->confusion[(size_t)label * (size_t)acc->num_classes + (size_t)pred]++;
    acc->count++;
    if (pred != label && acc->keep_worst > 0) {
        metrics_mistake m = {example_index, label, pred, confidence};
        keep_mistake(acc, &m);
    }
    return FT_OK;
}

/* ---- the reduction ------------------------------------------------------ */

#define MPI_OK(call) FT_CHECK_MSG((call) == MPI_SUCCESS, #call)

/* Same shape on every rank? One all-reduce of (x, -x) under MPI_MIN gives the
 * minimum and the maximum of each field. */
static ft_status check_same_shape(const metrics_acc *acc, MPI_Comm comm, ft_error *err)
{
    int v[6] = {acc->num_classes, -acc->num_classes, acc->keep_worst,
                -acc->keep_worst, !acc->reduced,     acc->count <= INT_MAX};
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, v, 6, MPI_INT, MPI_MIN, comm));
    if (v[0] != -v[1] || v[2] != -v[3])
        return ft_fail(err, FT_EINVAL,
                       "metrics_reduce: ranks disagree: "
                       "num_classes %d..%d, keep_worst %d..%d",
                       v[0], -v[1], v[2], -v[3]);
    if (!v[4]) return ft_fail(err, FT_EINVAL, "metrics_reduce: called twice");
    if (!v[5])
        return ft_fail(err, FT_EINVAL,
                       "metrics_reduce: a rank holds more than "
                       "%d examples",
                       INT_MAX);
    return FT_OK;
}

/* Copy every integer of acc into (to_buf) or out of (!to_buf) buf; returns
 * the number of int64 values (buf NULL: count only). */
static size_t pack_counts(metrics_acc *acc, int64_t *buf, bool to_buf)
{
    size_t cells = (size_t)acc->num_classes * (size_t)acc->num_classes, n = 0;
    int64_t *fields[4 + 2 * METRICS_ECE_BINS];
    size_t sizes[4 + 2 * METRICS_ECE_BINS], k = 0;
    fields[k] = &acc->count, sizes[k++] = 1;
    fields[k] = acc->confusion, sizes[k++] = cells;
    fields[k] = acc->loss.limb, sizes[k++] = 3;
    fields[k] = acc->bin_count, sizes[k++] = METRICS_ECE_BINS;
    for (int b = 0; b < METRICS_ECE_BINS; b++) {
        fields[k] = &acc->bin_correct[b], sizes[k++] = 1;
        fields[k] = acc->bin_confidence[b].limb, sizes[k++] = 3;
    }
    for (size_t i = 0; i < k; i++) {
        if (buf && to_buf) memcpy(buf + n, fields[i], sizes[i] * sizeof *buf);
        if (buf && !to_buf) memcpy(fields[i], buf + n, sizes[i] * sizeof *buf);
        n += sizes[i];
    }
    return n;
}

static ft_status reduce_counts(metrics_acc *acc, MPI_Comm comm, ft_error *err)
{
    size_t n = pack_counts(acc, NULL, true);
    int64_t *buf = ft_malloc_array(n, sizeof *buf);
    int ok = buf != NULL;
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm));
    if (!ok) {
        free(buf);
        return ft_fail(err, FT_ENOMEM, "metrics_reduce: out of memory");
    }
    pack_counts(acc, buf, true);
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_INT64_T, MPI_SUM, comm));
    pack_counts(acc, buf, false);
    free(buf);
    fixed_carry(&acc->loss);
    for (int b = 0; b < METRICS_ECE_BINS; b++) fixed_carry(&acc->bin_confidence[b]);
    return FT_OK;
}

/* Counts and displacements (in units of unit bytes) of each rank's share for
 * a Gatherv; fails on every rank alike when the total exceeds INT_MAX. */
static ft_status gather_layout(int64_t mine, int unit, MPI_Comm comm, int **counts, int **displs,
                               int *total, ft_error *err)
{
    int size;
    MPI_OK(MPI_Comm_size(comm, &size));
    int64_t *all = ft_malloc_array((size_t)size, sizeof *all);
    *counts = ft_malloc_array((size_t)size, sizeof **counts);
    *displs = ft_malloc_array((size_t)size, sizeof **displs);
    int ok = all && *counts && *displs;
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm));
    ft_status st = FT_OK;
    if (!ok) {
        st = ft_fail(err, FT_ENOMEM, "metrics_reduce: out of memory");
        goto cleanup;
    }
    MPI_OK(MPI_Allgather(&mine, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm));
    int64_t sum = 0;
    for (int r = 0; r < size; r++) sum += all[r];
    if (sum > INT_MAX / unit) {
        st = ft_fail(err, FT_EINVAL,
                     "metrics_reduce: more than %d values to "
                     "gather on rank 0",
                     INT_MAX / unit);
        goto cleanup;
    }
    for (int r = 0, at = 0; r < size; r++) {
        (*counts)[r] = (int)all[r] * unit;
        (*displs)[r] = at * unit;
        at += (int)all[r];
    }
    *total = (int)sum;
cleanup:
    free(all);
    if (st != FT_OK) {
        free(*counts);
        free(*displs);
        *counts = *displs = NULL;
    }
    return st;
}

static ft_status gather_scores(metrics_acc *acc, int rank, MPI_Comm comm, ft_error *err)
{
    int *counts = NULL, *displs = NULL, total = 0;
    ft_status st = gather_layout(acc->num_scores, 1, comm, &counts, &displs, &total, err);
    if (st != FT_OK) return st;
    size_t room = rank == 0 && total > 0 ? (size_t)total : 1;
    float *scores = ft_malloc_array(room, sizeof *scores);
    uint8_t *labels = ft_malloc_array(room, 1);
    int ok = scores && labels;
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm));
    if (!ok) {
        st = ft_fail(err, FT_ENOMEM,
                     "metrics_reduce: out of memory for %d "
                     "scores",
                     total);
        goto cleanup;
    }
    int mine = (int)acc->num_scores;
    MPI_OK(MPI_Gatherv(acc->scores, mine, MPI_FLOAT, scores, counts, displs, MPI_FLOAT, 0, comm));
    MPI_OK(MPI_Gatherv(acc->score_labels, mine, MPI_UINT8_T, labels, counts, displs, MPI_UINT8_T, 0,
                       comm));
    free(acc->scores);
    free(acc->score_labels);
    acc->scores = scores;
    acc->score_labels = labels;
    acc->num_scores = acc->scores_cap = rank == 0 ? total : 0;
    scores = NULL;
    labels = NULL;
cleanup:
    free(scores);
    free(labels);
    free(counts);
    free(displs);
    return st;
}

static int mistake_order(const void *a, const void *b)
{
    if (metrics_mistake_before(a, b)) return -1;
    return metrics_mistake_before(b, a) ? 1 : 0;
}

static ft_status gather_mistakes(metrics_acc *acc, int rank, MPI_Comm comm, ft_error *err)
{
    int unit = (int)sizeof(metrics_mistake);
    int *counts = NULL, *displs = NULL, total = 0;
    ft_status st = gather_layout(acc->num_worst, unit, comm, &counts, &displs, &total, err);
    if (st != FT_OK) return st;
    size_t room = rank == 0 && total > 0 ? (size_t)total : 1;
    metrics_mistake *all = ft_calloc_array(room, sizeof *all);
    int ok = all != NULL;
    MPI_OK(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm));
    if (!ok) {
        st = ft_fail(err, FT_ENOMEM, "metrics_reduce: out of memory");
        goto cleanup;
    }
    MPI_OK(MPI_Gatherv(acc->worst, acc->num_worst * unit, MPI_BYTE, all, counts, displs, MPI_BYTE,
                       0, comm));
    if (rank == 0) {
        qsort(all, (size_t)total, sizeof *all, mistake_order);
        acc->num_worst = total < acc->keep_worst ? total : acc->keep_worst;
        if (acc->num_worst > 0) memcpy(acc->worst, all, (size_t)acc->num_worst * sizeof *all);
    }
cleanup:
    free(all);
    free(counts);
    free(displs);
    return st;
}

ft_status metrics_reduce(metrics_acc *acc, MPI_Comm comm, ft_error *err)
{
    int rank;
    MPI_OK(MPI_Comm_rank(comm, &rank));
    ft_status st = check_same_shape(acc, comm, err);
    if (st != FT_OK) return st;
    st = reduce_counts(acc, comm, err);
    if (st == FT_OK && acc->num_classes == 2) st = gather_scores(acc, rank, comm, err);
    if (st == FT_OK) st = gather_mistakes(acc, rank, comm, err);
    acc->reduced = true;
    acc->has_scores = st == FT_OK && rank == 0;
    return st;
}
