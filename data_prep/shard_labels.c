/* shard_labels: the label names every rank agrees on, and their ids.
 *
 * Design: each rank sorts and de-duplicates the labels of its own good
 * records, all ranks exchange those short lists (MPI_Allgatherv of
 * NUL-separated names) and sort the union the same way, so the ids do not
 * depend on which rank read what. The order is by value when every label is
 * an integer ("2" before "10", so labels 0..K-1 keep their ids), else by
 * bytes (strcmp, no locale).
 * Not here: test-set labels (they must be among these; shard_run.c checks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "shard_prog.h"

static bool is_integer(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return !errno && end != s && *end == '\0' && s[0] != ' ' && s[0] != '+';
}

static bool numeric_order;

static int cmp_labels(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    long long x, y;
    if (numeric_order && is_integer(a, &x) && is_integer(b, &y) && x != y) return x < y ? -1 : 1;
    return strcmp(a, b);
}

/* Sorts names and drops repeats; returns the new count. */
static int sort_unique(char **names, int n, bool numeric)
{
    numeric_order = numeric;
    if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_labels);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || strcmp(names[k - 1], names[i])) names[k++] = names[i];
    return k;
}

/* This rank's distinct labels as "a\0b\0..." (caller frees). */
static ft_status local_names(const dataset_records *recs, char **buf, int *len, ft_error *err)
{
    char **names = ft_malloc_array(recs->n + 1, sizeof *names);
    if (!names) return ft_fail(err, FT_ENOMEM, "out of memory for %zu labels", recs->n);
    int n = 0;
    const char *last = NULL; /* records run in long stretches of few labels */
    for (size_t i = 0; i < recs->n; i++) {
        const char *name = recs->arena + recs->items[i].label_off;
        if (recs->items[i].reason != DATASET_OK || (last && !strcmp(last, name))) continue;
        names[n++] = (char *)(last = name);
        if (n >= 4096) n = sort_unique(names, n, false); /* keep the list short */
    }
    n = sort_unique(names, n, false);
    size_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(names[i]) + 1;
    ft_status st = FT_OK;
    if (total > (size_t)INT32_MAX / 2 || !(*buf = ft_malloc_array(total + 1, 1))) {
        st = ft_fail(err, FT_ENOMEM, "out of memory for %zu bytes of labels", total);
    } else {
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            size_t l = strlen(names[i]) + 1;
            memcpy(*buf + off, names[i], l);
            off += l;
        }
        *len = (int)total;
    }
    free(names);
    return st;
}

/* Splits the gathered "a\0b\0..." into a sorted, unique, owned list. */
static ft_status build_set(const char *all, size_t total, shard_label_set *out, ft_error *err)
{
    size_t count = 0;
    for (size_t i = 0; i < total; i++) count += all[i] == '\0';
    char **names = ft_calloc_array(count + 1, sizeof *names);
    if (!names) return ft_fail(err, FT_ENOMEM, "out of memory for %zu labels", count);
    int n = 0;
    bool numeric = true;
    long long v;
    for (size_t i = 0; i < total; i += strlen(all + i) + 1) {
        names[n] = (char *)(all + i);
        numeric = numeric && is_integer(names[n], &v);
        n++;
    }
    n = sort_unique(names, n, numeric);
    for (int i = 0; i < n; i++)
        if (!(names[i] = ft_strdup(names[i]))) {
            for (int j = 0; j < i; j++) free(names[j]);
            free(names);
            return ft_fail(err, FT_ENOMEM, "out of memory");
        }
    *out = (shard_label_set){n, names, numeric};
    return FT_OK;
}

ft_status shard_labels_agree(const dataset_records *recs, shard_label_set *out, ft_error *err)
{
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    *out = (shard_label_set){0};
    char *mine = NULL, *all = NULL;
    int len = 0;
    int *counts = ft_calloc_array((size_t)size, sizeof *counts),
        *displs = ft_calloc_array((size_t)size, sizeof *displs);
    ft_status st = counts && displs ? local_names(recs, &mine, &len, err)
                                    : ft_fail(err, FT_ENOMEM, "out of memory");
    st = comm_agree(MPI_COMM_WORLD, st, err);
    if (st != FT_OK) goto cleanup;
    MPI_Allgather(&len, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    size_t total = 0;
    for (int r = 0; r < size; r++) {
        displs[r] = (int)total;
        total += (size_t)counts[r];
    }
    FT_CHECK_MSG(total < (size_t)INT32_MAX, "label names above 2 GB");
    all = ft_malloc_array(total + 1, 1);
    FT_CHECK_MSG(all != NULL, "out of memory gathering label names");
    MPI_Allgatherv(mine, len, MPI_CHAR, all, counts, displs, MPI_CHAR, MPI_COMM_WORLD);
    st = comm_agree(MPI_COMM_WORLD, build_set(all, total, out, err), err);
cleanup:
    free(mine);
    free(all);
    free(counts);
    free(displs);
    return st;
}

int32_t shard_labels_find(const shard_label_set *set, const char *name)
{
    numeric_order = set->numeric;
    char *const *hit = bsearch(&name, set->names, (size_t)set->n, sizeof *set->names, cmp_labels);
    return hit ? (int32_t)(hit - set->names) : -1;
}

void shard_labels_free(shard_label_set *set)
{
    if (!set) return;
    for (int i = 0; i < set->n; i++) free(set->names[i]);
    free(set->names);
    *set = (shard_label_set){0};
}
