/* shard_plan: which example goes to which split, file and row (see shard.h).
 *
 * Design: everything is decided from the labels in source order and the
 * options alone; permutations come from rng_permutation(seed, stream), so the
 * plan is the same on every rank and for every rank count. Cut points of a
 * split are rounded cumulative fractions, so the splits always add up.
 * Not here: tokens, files, MPI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/rng.h"
#include "shard/shard.h"

enum { STREAM_SHUFFLE = 1, STREAM_BALANCE = 2 };

const char *shard_split_name(int split)
{
    static const char *const names[SHARD_N_SPLITS] = {"train", "validation", "test"};
    return split >= 0 && split < SHARD_N_SPLITS ? names[split] : "unknown";
}

void shard_file_name(const shard_plan_file *f, char *buf, size_t size)
{
    snprintf(buf, size, "%s-%05d-of-%05d.h5", shard_split_name(f->split), f->index, f->count);
}

void shard_plan_free(shard_plan *plan)
{
    if (!plan) return;
    free(plan->file_of);
    free(plan->row_of);
    free(plan->files);
    for (int s = 0; s < SHARD_N_SPLITS; s++) free(plan->class_rows[s]);
    memset(plan, 0, sizeof *plan);
}

/* Cut points: end[k] = round(n * (f0 + ... + fk)), the last one n. */
static void cut_points(uint64_t n, const double *fractions, uint64_t end[SHARD_N_SPLITS])
{
    double cum = 0;
    int last = 0;
    for (int k = 0; k < SHARD_N_SPLITS; k++)
        if (fractions[k] > 0) last = k;
    for (int k = 0; k < SHARD_N_SPLITS; k++) {
        cum += fractions[k];
        end[k] = k >= last ? n : (uint64_t)llround((double)n * cum);
        if (end[k] > n) end[k] = n;
    }
}

/* The kept main-source examples in shuffled order; undersampling first. */
static ft_status shuffled_examples(const int32_t *labels, size_t n, int n_classes,
                                   const shard_plan_options *opt, uint64_t **order, size_t *n_kept,
                                   uint64_t *dropped, ft_error *err)
{
    uint64_t *perm = ft_malloc_array(n ? n : 1, sizeof *perm);
    uint64_t *count = ft_calloc_array((size_t)n_classes + 1, sizeof *count);
    uint64_t *kept_per = ft_calloc_array((size_t)n_classes + 1, sizeof *kept_per);
    bool *keep = ft_calloc_array(n ? n : 1, sizeof *keep);
    ft_status st = FT_OK;
    if (!perm || !count || !kept_per || !keep) {
        st = ft_fail(err, FT_ENOMEM, "out of memory planning %zu examples", n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= 0) count[labels[i]]++;
    uint64_t limit = UINT64_MAX;
    for (int c = 0; opt->undersample && c < n_classes; c++)
        if (count[c] && count[c] < limit) limit = count[c];
    rng_permutation(opt->seed, STREAM_BALANCE, perm, n);
    for (size_t i = 0; i < n; i++) {
        int32_t c = labels[perm[i]];
        if (c >= 0 && kept_per[c] < limit) {
            kept_per[c]++;
            keep[perm[i]] = true;
        } else if (c >= 0)
            (*dropped)++;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i]) perm[k++] = i; /* kept examples in source order */
    *n_kept = k;
    uint64_t *shuffle = ft_malloc_array(k ? k : 1, sizeof *shuffle);
    if (!shuffle) {
        st = ft_fail(err, FT_ENOMEM, "out of memory planning %zu examples", n);
        goto cleanup;
    }
    rng_permutation(opt->seed, STREAM_SHUFFLE, shuffle, k);
    for (size_t i = 0; i < k; i++) shuffle[i] = perm[shuffle[i]];
    *order = shuffle;
cleanup:
    free(perm);
    free(count);
    free(kept_per);
    free(keep);
    return st;
}

/* split_of[i] for each position of order: by global or per-class cuts. */
static ft_status assign_splits(const int32_t *labels, const uint64_t *order, size_t k,
                               int n_classes, const shard_plan_options *opt, int8_t *split_of,
                               ft_error *err)
{
    size_t groups = opt->stratify ? (size_t)n_classes : 1;
    uint64_t *size = ft_calloc_array(groups, sizeof *size);
    uint64_t *seen = ft_calloc_array(groups, sizeof *seen);
    uint64_t(*end)[SHARD_N_SPLITS] = ft_calloc_array(groups, sizeof *end);
    ft_status st = FT_OK;
    if (!size || !seen || !end) {
        st = ft_fail(err, FT_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < k; i++) size[opt->stratify ? (size_t)labels[order[i]] : 0]++;
    for (size_t g = 0; g < groups; g++) cut_points(size[g], opt->fractions, end[g]);
    for (size_t i = 0; i < k; i++) {
        size_t g = opt->stratify ? (size_t)labels[order[i]] : 0;
        uint64_t r = seen[g]++;
        int8_t s = 0;
        while (s < SHARD_N_SPLITS - 1 && r >= end[g][s]) s++;
        split_of[i] = s;
    }
cleanup:
    free(size);
    free(seen);
    free(end);
    return st;
}

static ft_status plan_files(shard_plan *plan, const shard_plan_options *opt, ft_error *err)
{
    plan->files =
        ft_calloc_array((size_t)SHARD_N_SPLITS * (size_t)opt->shards, sizeof *plan->files);
    if (!plan->files) return ft_fail(err, FT_ENOMEM, "out of memory");
    for (int s = 0; s < SHARD_N_SPLITS; s++) {
        uint64_t rows = plan->split_rows[s];
        int count = rows < (uint64_t)opt->shards ? (int)rows : opt->shards;
        for (int k = 0; k < count; k++) {
            shard_plan_file *f = &plan->files[plan->n_files++];
            *f = (shard_plan_file){s, k, count,
                                   rows * (uint64_t)(k + 1) / (uint64_t)count -
                                       rows * (uint64_t)k / (uint64_t)count};
        }
    }
    return FT_OK;
}

/* Walks the examples of each split in order and gives each its file and row. */
static void place_rows(shard_plan *plan, const uint64_t *members, const int8_t *split_of, size_t k)
{
    int first_file[SHARD_N_SPLITS + 1] = {0};
    for (int f = plan->n_files - 1; f >= 0; f--) first_file[plan->files[f].split] = f;
    for (int s = 0; s < SHARD_N_SPLITS; s++) {
        int f = first_file[s];
        uint64_t row = 0;
        for (size_t i = 0; i < k; i++) {
            if (split_of[i] != s) continue;
            while (row >= plan->files[f].rows) {
                f++;
                row = 0;
            }
            plan->file_of[members[i]] = f;
            plan->row_of[members[i]] = row++;
        }
    }
}

static ft_status check_options(const shard_plan_options *opt, size_t n_test, ft_error *err)
{
    double sum = 0;
    for (int s = 0; s < SHARD_N_SPLITS; s++) {
        if (!(opt->fractions[s] >= 0 && opt->fractions[s] <= 1))
            return ft_fail(err, FT_EINVAL, "split fraction %g is not in [0, 1]", opt->fractions[s]);
        sum += opt->fractions[s];
    }
    if (fabs(sum - 1) > 1e-6)
        return ft_fail(err, FT_EINVAL, "split fractions add up to %g, not 1", sum);
    if (n_test && opt->fractions[SHARD_TEST] > 0)
        return ft_fail(err, FT_EINVAL, "a separate test source and a test fraction of the input");
    if (opt->shards < 1)
        return ft_fail(err, FT_EINVAL, "shards must be at least 1, got %d", opt->shards);
    return FT_OK;
}

ft_status shard_plan_make(const int32_t *labels, size_t n_main, const int32_t *test_labels,
                          size_t n_test, int n_classes, const shard_plan_options *opt,
                          shard_plan *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    ft_status st = check_options(opt, n_test, err);
    if (st != FT_OK) return st;
    size_t n = n_main + n_test, k = 0;
    out->n_main = n_main;
    out->n_test = n_test;
    out->n_classes = n_classes;
    out->file_of = ft_malloc_array(n ? n : 1, sizeof *out->file_of);
    out->row_of = ft_calloc_array(n ? n : 1, sizeof *out->row_of);
    uint64_t *members = NULL;
    int8_t *split_of = ft_malloc_array(n ? n : 1, sizeof *split_of);
    for (int s = 0; s < SHARD_N_SPLITS; s++)
        out->class_rows[s] = ft_calloc_array((size_t)n_classes + 1, sizeof(uint64_t));
    if (!out->file_of || !out->row_of || !split_of || !out->class_rows[0] || !out->class_rows[1] ||
        !out->class_rows[2]) {
        st = ft_fail(err, FT_ENOMEM, "out of memory planning %zu examples", n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) out->file_of[i] = -1;
    st = shuffled_examples(labels, n_main, n_classes, opt, &members, &k, &out->balanced_out, err);
    if (st == FT_OK) st = assign_splits(labels, members, k, n_classes, opt, split_of, err);
    if (st != FT_OK) goto cleanup;
    uint64_t *grown = ft_realloc_array(members, n ? n : 1, sizeof *members);
    if (!grown) {
        st = ft_fail(err, FT_ENOMEM, "out of memory");
        goto cleanup;
    }
    members = grown;
    for (size_t i = 0; i < n_test; i++) /* the test source keeps its order */
        if (test_labels[i] >= 0) {
            members[k] = n_main + i;
            split_of[k++] = SHARD_TEST;
        }
    for (size_t i = 0; i < k; i++) {
        int32_t c = members[i] < n_main ? labels[members[i]] : test_labels[members[i] - n_main];
        out->split_rows[split_of[i]]++;
        out->class_rows[split_of[i]][c]++;
    }
    for (int s = 0; s < SHARD_N_SPLITS && st == FT_OK; s++)
        if (out->split_rows[s] == 0 && (opt->fractions[s] > 0 || (s == SHARD_TEST && n_test)))
            st = ft_fail(err, FT_EINVAL,
                         "split '%s' gets no examples (%zu usable examples, fraction %g)",
                         shard_split_name(s), k, opt->fractions[s]);
    if (st == FT_OK) st = plan_files(out, opt, err);
    if (st == FT_OK) place_rows(out, members, split_of, k);
cleanup:
    free(members);
    free(split_of);
    if (st != FT_OK) shard_plan_free(out);
    return st;
}
