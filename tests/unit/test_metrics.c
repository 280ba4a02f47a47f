/* metrics: every figure against scikit-learn 1.2 (fixtures made by
 * tests/reference/make_metrics_fixtures.py), to 1e-12; and the reduction.
 *
 * Run alone it checks the formulas, the exact sums and the input errors.
 * Run under mpiexec (-n 2, -n 4) each rank takes a contiguous slice of a
 * fixture, slices of unequal sizes, the slices are reduced, and rank 0
 * checks the same figures and that report.json is byte-identical to the one
 * from all examples on one rank. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "metrics/metrics.h"
#include "report/report.h"

#define TOL 1e-12

typedef struct fixture {
    cJSON *root;
    int k, n;
    int *labels;
    float *probs; /* [n][k] */
    double *loss; /* sklearn's log_loss per example */
} fixture;

static int rank_, size_;
static double worst_dev; /* largest |ours - sklearn| / max(1, |sklearn|) */
static char worst_what[128];

/* CHECK_CLOSE against a reference figure, remembering the worst offender. */
#define CHECK_REF(ours, ref)                                                     \
    do {                                                                         \
        double d_ = fabs((double)(ours) - (double)(ref)) / fmax(1.0, fabs(ref)); \
        if (d_ >= worst_dev) {                                                   \
            worst_dev = d_;                                                      \
            snprintf(worst_what, sizeof worst_what, "%s", #ours);                \
        }                                                                        \
        CHECK_CLOSE(ours, ref, TOL);                                             \
    } while (0)

static void fixture_free(fixture *f)
{
    cJSON_Delete(f->root);
    free(f->labels);
    free(f->probs);
    free(f->loss);
}

/* sklearn.metrics.log_loss per example: clip to [eps, 1 - eps], renormalise
 * the row, -log of the true class's share. */
static double sklearn_loss(const float *p, int k, int label)
{
    double sum = 0, mine = 0;
    for (int c = 0; c < k; c++) {
        double v = fmin(fmax((double)p[c], DBL_EPSILON), 1.0 - DBL_EPSILON);
        sum += v;
        if (c == label) mine = v;
    }
    return -log(mine / sum);
}

static int fixture_load(const char *name, fixture *f)
{
    memset(f, 0, sizeof *f);
    char path[512];
    snprintf(path, sizeof path, "%s/metrics/%s.json", FTUNE_FIXTURES, name);
    char *text;
    size_t len;
    ft_error err;
    if (ft_read_file(path, &text, &len, &err) != FT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->root = cJSON_Parse(text);
    free(text);
    f->k = cJSON_GetObjectItem(f->root, "num_classes")->valueint;
    const cJSON *labels = cJSON_GetObjectItem(f->root, "labels");
    const cJSON *probs = cJSON_GetObjectItem(f->root, "probs");
    f->n = cJSON_GetArraySize(labels);
    f->labels = ft_malloc_array((size_t)f->n, sizeof *f->labels);
    f->probs = ft_malloc_array((size_t)f->n * (size_t)f->k, sizeof *f->probs);
    f->loss = ft_malloc_array((size_t)f->n, sizeof *f->loss);
    for (int i = 0; i < f->n; i++) {
        f->labels[i] = cJSON_GetArrayItem(labels, i)->valueint;
        const cJSON *row = cJSON_GetArrayItem(probs, i);
        for (int c = 0; c < f->k; c++)
            f->probs[i * f->k + c] = (float)cJSON_GetArrayItem(row, c)->valuedouble;
        f->loss[i] = sklearn_loss(&f->probs[i * f->k], f->k, f->labels[i]);
    }
    return 0;
}

static double num(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItem(obj, key)->valuedouble;
}

static double at(const cJSON *obj, const char *key, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(obj, key), i)->valuedouble;
}

static bool listed(const cJSON *list, int c)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, list) if (x->valueint == c) return true;
    return false;
}

static void check_average(const cJSON *ref, const metrics_average *a)
{
    CHECK_REF(a->precision, num(ref, "precision"));
    CHECK_REF(a->recall, num(ref, "recall"));
    CHECK_REF(a->f1, num(ref, "f1"));
}

static void check_per_class(const fixture *f, const metrics_result *r)
{
    const cJSON *pc = cJSON_GetObjectItem(f->root, "per_class");
    const cJSON *pu = cJSON_GetObjectItem(f->root, "precision_undefined");
    const cJSON *ru = cJSON_GetObjectItem(f->root, "recall_undefined");
    const cJSON *cm = cJSON_GetObjectItem(f->root, "confusion");
    for (int c = 0; c < f->k; c++) {
        const metrics_class *m = &r->classes[c];
        CHECK_REF(m->precision, at(pc, "precision", c));
        CHECK_REF(m->recall, at(pc, "recall", c));
        CHECK_REF(m->f1, at(pc, "f1", c));
        CHECK_EQ_INT(m->support, at(pc, "support", c));
        CHECK(m->precision_undefined == listed(pu, c));
        CHECK(m->recall_undefined == listed(ru, c));
        for (int p = 0; p < f->k; p++)
            CHECK_EQ_INT(r->confusion[c * f->k + p],
                         cJSON_GetArrayItem(cJSON_GetArrayItem(cm, c), p)->valueint);
    }
}

static void check_against_sklearn(const fixture *f, const metrics_result *r)
{
    const cJSON *root = f->root;
    CHECK_EQ_INT(r->num_examples, f->n);
    CHECK_REF(r->accuracy, num(root, "accuracy"));
    CHECK_REF(r->loss, num(root, "log_loss"));
    check_per_class(f, r);
    check_average(cJSON_GetObjectItem(root, "macro"), &r->macro);
    check_average(cJSON_GetObjectItem(root, "weighted"), &r->weighted);
    check_average(cJSON_GetObjectItem(root, "micro"), &r->micro);
    CHECK_REF(r->ece, num(root, "ece"));
    const cJSON *bins = cJSON_GetObjectItem(root, "bins");
    for (int b = 0; b < METRICS_ECE_BINS; b++) {
        const cJSON *bin = cJSON_GetArrayItem(bins, b);
        CHECK_EQ_INT(r->bins[b].count, num(bin, "count"));
        CHECK_EQ_INT(r->bins[b].correct, num(bin, "correct"));
        CHECK_REF(r->bins[b].confidence_sum, num(bin, "confidence_sum"));
    }
    if (f->k == 2) {
        CHECK(r->has_roc_auc);
        CHECK_REF(r->roc_auc, num(root, "roc_auc"));
        CHECK_REF(r->average_precision, num(root, "average_precision"));
    } else {
        CHECK(!r->has_roc_auc && isnan(r->roc_auc));
    }
}

/* Examples [from, to) of f into acc. */
static void feed(metrics_acc *acc, const fixture *f, int from, int to)
{
    ft_error err;
    for (int i = from; i < to; i++)
        CHECK(metrics_acc_add(acc, i, f->labels[i], &f->probs[i * f->k], f->loss[i], &err) ==
              FT_OK);
}

/* Rank r's contiguous slice: sizes grow with the rank (1 : 2 : 3 ...), so
 * they differ whenever there is more than one rank. */
static void slice_of(int n, int r, int *from, int *to)
{
    long total = (long)size_ * (size_ + 1) / 2;
    *from = (int)((long)n * ((long)r * (r + 1) / 2) / total);
    *to = (int)((long)n * ((long)(r + 1) * (r + 2) / 2) / total);
}

/* report.json of r into dir/name; returns its bytes (caller frees). */
static char *json_of(const metrics_result *r, const char *dir, const char *name)
{
    static const char *const labels[4] = {"neg", "pos", "third", "fourth"};
    report_input in = {.metrics = r,
                       .label_names = r->num_classes <= 4 ? labels : NULL,
                       .model_path = "models/tiny",
                       .manifest_fingerprint = "abc123",
                       .command_line = "ftune-eval --model models/tiny"};
    char *path = ft_path_join(dir, name), *data = NULL;
    size_t len;
    ft_error err;
    CHECK(report_write_json(&in, path, true, &err) == FT_OK);
    CHECK(ft_read_file(path, &data, &len, &err) == FT_OK);
    free(path);
    return data;
}

static void check_fixture(const char *name, const char *dir)
{
    fixture f;
    CHECK(fixture_load(name, &f) == 0);
    if (!f.root) return;
    int from, to;
    slice_of(f.n, rank_, &from, &to);
    metrics_acc *acc = NULL, *whole = NULL;
    metrics_result *r = NULL, *w = NULL;
    ft_error err;
    CHECK(metrics_acc_create(f.k, 5, &acc, &err) == FT_OK);
    feed(acc, &f, from, to);
    CHECK(metrics_reduce(acc, MPI_COMM_WORLD, &err) == FT_OK);
    if (rank_ == 0) {
        CHECK(metrics_compute(acc, &r, &err) == FT_OK);
        check_against_sklearn(&f, r);
        CHECK(metrics_acc_create(f.k, 5, &whole, &err) == FT_OK);
        feed(whole, &f, 0, f.n);
        CHECK(metrics_reduce(whole, MPI_COMM_SELF, &err) == FT_OK);
        CHECK(metrics_compute(whole, &w, &err) == FT_OK);
        char *a = json_of(r, dir, "sliced.json"), *b = json_of(w, dir, "whole.json");
        CHECK_MSG(a && b && strcmp(a, b) == 0, "%s: report.json differs with %d ranks", name,
                  size_);
        free(a);
        free(b);
    } else {
        CHECK(metrics_compute(acc, &r, &err) == FT_EINVAL);
        CHECK_STR_CONTAINS(err.msg, "only rank 0");
        CHECK_EQ_INT(metrics_acc_count(acc), f.n); /* counts are all-reduced */
    }
    metrics_result_free(r);
    metrics_result_free(w);
    metrics_acc_free(acc);
    metrics_acc_free(whole);
    fixture_free(&f);
}

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(mix(s) >> 11) * 0x1.0p-53; }

/* 10007 random examples with losses of full double precision: the reduced
 * result equals the one-rank result bit for bit, report.json byte for byte. */
static void check_synthetic(int k, const char *dir)
{
    enum { N = 10007 };
    int from, to;
    slice_of(N, rank_, &from, &to);
    metrics_acc *acc = NULL, *whole = NULL;
    metrics_result *r = NULL, *w = NULL;
    ft_error err;
    CHECK(metrics_acc_create(k, 7, &acc, &err) == FT_OK);
    CHECK(metrics_acc_create(k, 7, &whole, &err) == FT_OK);
    uint64_t seed = 42;
    double naive = 0;
    float p[3];
    for (int i = 0; i < N; i++) {
        float sum = 0;
        for (int c = 0; c < k; c++) sum += p[c] = (float)uniform(&seed) + 0.01f;
        for (int c = 0; c < k; c++) p[c] /= sum;
        int label = (int)(mix(&seed) % (uint64_t)k);
        double loss = -log((double)p[label]) * (1 + 1e-3 * uniform(&seed));
        naive += loss;
        if (i >= from && i < to) CHECK(metrics_acc_add(acc, i, label, p, loss, &err) == FT_OK);
        if (rank_ == 0) CHECK(metrics_acc_add(whole, i, label, p, loss, &err) == FT_OK);
    }
    CHECK(metrics_reduce(acc, MPI_COMM_WORLD, &err) == FT_OK);
    CHECK(metrics_reduce(whole, MPI_COMM_SELF, &err) == FT_OK);
    if (rank_ == 0) {
        CHECK(metrics_compute(acc, &r, &err) == FT_OK);
        CHECK(metrics_compute(whole, &w, &err) == FT_OK);
        CHECK(r->loss == w->loss && r->ece == w->ece);
        CHECK_CLOSE(r->loss, naive / N, 1e-14);
        CHECK(memcmp(r->bins, w->bins, sizeof r->bins) == 0);
        CHECK(k != 2 || (r->roc_auc == w->roc_auc && r->average_precision == w->average_precision));
        CHECK(r->num_worst == 7 && w->num_worst == 7 &&
              memcmp(r->worst, w->worst, 7 * sizeof *r->worst) == 0);
        for (int i = 1; i < r->num_worst; i++)
            CHECK(r->worst[i - 1].confidence >= r->worst[i].confidence);
        char *a = json_of(r, dir, "sliced.json"), *b = json_of(w, dir, "whole.json");
        CHECK_MSG(a && b && strcmp(a, b) == 0, "synthetic k=%d: report.json differs", k);
        free(a);
        free(b);
    }
    metrics_result_free(r);
    metrics_result_free(w);
    metrics_acc_free(acc);
    metrics_acc_free(whole);
}

static void check_fixed_sums(void)
{
    metrics_fixed_sum a = {{0}}, b = {{0}};
    double v[5] = {0.1, 1e-3, 12345.678901234567, 0x1.0p-60, 3.0};
    for (int i = 0; i < 5; i++) metrics_fixed_add(&a, v[i]);
    for (int i = 4; i >= 0; i--) metrics_fixed_add(&b, v[i]);
    CHECK(memcmp(&a, &b, sizeof a) == 0); /* order-free */
    CHECK_CLOSE(metrics_fixed_value(&a), 0.1 + 1e-3 + 12345.678901234567 + 3.0, 1e-15);
    metrics_fixed_sum c = {{0}};
    metrics_fixed_add(&c, 0x1.0p-64);
    metrics_fixed_add(&c, 0x1.0p-65); /* below the resolution: dropped */
    CHECK(c.limb[0] == 0 && c.limb[1] == 0 && c.limb[2] == 1);
    for (int i = 0; i < (1 << 20); i++) metrics_fixed_add(&c, 0.75);
    CHECK_EQ_INT(c.limb[0], 786432);
    CHECK(metrics_fixed_value(&c) == 786432.0 + 0x1.0p-64);
}

static void check_input_errors(void)
{
    metrics_acc *acc = NULL;
    metrics_result *r = NULL;
    ft_error err;
    CHECK(metrics_acc_create(1, 0, &acc, &err) == FT_EINVAL && !acc);
    CHECK_STR_CONTAINS(err.msg, "num_classes");
    CHECK(metrics_acc_create(2, 3, &acc, &err) == FT_OK);
    float good[2] = {0.25f, 0.75f}, nan2[2] = {NAN, 0.5f}, big[2] = {1.5f, 0.0f};
    CHECK(metrics_compute(acc, &r, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "no examples");
    CHECK(metrics_acc_add(acc, 7, 2, good, 0.1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "example 7: label 2");
    CHECK(metrics_acc_add(acc, 8, 0, nan2, 0.1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "probability of class 0");
    CHECK(metrics_acc_add(acc, 9, 0, big, 0.1, &err) == FT_EINVAL);
    CHECK(metrics_acc_add(acc, 10, 0, good, -1.0, &err) == FT_EINVAL);
    CHECK(metrics_acc_add(acc, 11, 0, good, INFINITY, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "loss");
    CHECK_EQ_INT(metrics_acc_count(acc), 0);
    /* One class only in the truth: ROC-AUC undefined, as sklearn raises. */
    float tie[2] = {0.5f, 0.5f};
    CHECK(metrics_acc_add(acc, 1, 0, good, 1.386, &err) == FT_OK);
    CHECK(metrics_acc_add(acc, 2, 0, tie, 0.693, &err) == FT_OK);
    CHECK(metrics_compute(acc, &r, &err) == FT_OK);
    CHECK(r && !r->has_roc_auc && isnan(r->roc_auc) && isnan(r->average_precision));
    CHECK(r && r->confusion[0] == 1 && r->confusion[1] == 1); /* tie -> class 0 */
    CHECK(r && r->classes[1].recall_undefined && !r->classes[0].recall_undefined);
    metrics_result_free(r);
    metrics_acc *pos = NULL; /* positives only: AP defined (1.0), ROC-AUC not */
    CHECK(metrics_acc_create(2, 0, &pos, &err) == FT_OK);
    CHECK(metrics_acc_add(pos, 1, 1, good, 0.29, &err) == FT_OK);
    CHECK(metrics_acc_add(pos, 2, 1, tie, 0.69, &err) == FT_OK);
    CHECK(metrics_compute(pos, &r, &err) == FT_OK);
    CHECK(r && !r->has_roc_auc && isnan(r->roc_auc) && r->average_precision == 1.0);
    metrics_result_free(r);
    metrics_acc_free(pos);
    CHECK(metrics_reduce(acc, MPI_COMM_SELF, &err) == FT_OK);
    CHECK(metrics_acc_add(acc, 3, 0, good, 0.1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "after metrics_reduce");
    CHECK(metrics_reduce(acc, MPI_COMM_SELF, &err) == FT_EINVAL);
    metrics_acc_free(acc);
    metrics_acc_free(NULL);
    metrics_result_free(NULL);
}

static void check_mistakes_and_bins(void)
{
    metrics_acc *acc = NULL;
    metrics_result *r = NULL;
    ft_error err;
    CHECK(metrics_acc_create(2, 3, &acc, &err) == FT_OK);
    const struct {
        int64_t index;
        float p1;
        int label;
    } ex[] = {{5, 0.9f, 0}, {2, 0.9f, 0}, {9, 0.05f, 1}, {1, 0.6f, 0}, {4, 1.0f, 1}, {6, 0.0f, 0}};
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        float p[2] = {1.0f - ex[i].p1, ex[i].p1};
        CHECK(metrics_acc_add(acc, ex[i].index, ex[i].label, p, 0.5, &err) == FT_OK);
    }
    CHECK(metrics_compute(acc, &r, &err) == FT_OK);
    if (r) {
        CHECK_EQ_INT(r->num_worst, 3);
        CHECK_EQ_INT(r->worst[0].example_index, 9); /* 0.95 */
        CHECK_EQ_INT(r->worst[1].example_index, 2); /* 0.9, lower index first */
        CHECK_EQ_INT(r->worst[2].example_index, 5);
        CHECK_EQ_INT(r->bins[METRICS_ECE_BINS - 1].count, 3); /* 1.0 (x2), 0.95 */
        CHECK(r->bins[0].lo == 0.0 && r->bins[METRICS_ECE_BINS - 1].hi == 1.0);
        CHECK(r->bins[7].lo == 7 * (1.0 / 15) && r->bins[6].hi == r->bins[7].lo);
    }
    metrics_result_free(r);
    metrics_acc_free(acc);
}

static void check_rank_disagreement(void)
{
    metrics_acc *acc = NULL;
    ft_error err;
    CHECK(metrics_acc_create(rank_ == 0 ? 3 : 2, 0, &acc, &err) == FT_OK);
    CHECK(metrics_reduce(acc, MPI_COMM_WORLD, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "ranks disagree");
    metrics_acc_free(acc);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    char dir[] = "/tmp/ftune-test-metrics-XXXXXX";
    if (rank_ == 0) CHECK(mkdtemp(dir) != NULL);
    check_fixture("binary_ties", dir);
    check_fixture("binary_large", dir);
    check_fixture("multiclass", dir);
    check_synthetic(2, dir);
    check_synthetic(3, dir);
    if (size_ == 1) {
        check_fixed_sums();
        check_input_errors();
        check_mistakes_and_bins();
    } else {
        check_rank_disagreement();
    }
    ft_error err;
    if (rank_ == 0) CHECK(ft_remove_tree(dir, &err) == FT_OK);
    if (rank_ == 0)
        fprintf(stderr, "largest relative deviation from scikit-learn: %.3g (%s)\n", worst_dev,
                worst_what);
    int failed = check_finish();
    MPI_Finalize();
    return failed;
}
