/* test_shard_plan: which example goes to which split, file and row
 * (shard_plan.c): sizes from the fractions, stratification, undersampling,
 * a separate test source kept in order, bad records left out, every used
 * example in exactly one (file, row), determinism, and refused options. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shard/shard.h"

/* Every used example has a distinct (file, row) inside its file; files of a
 * split are consecutive and their rows add up. Returns the used count. */
static size_t check_placement(const shard_plan *p)
{
    size_t n = p->n_main + p->n_test, used = 0;
    uint64_t total = 0;
    for (int f = 0; f < p->n_files; f++) total += p->files[f].rows;
    char *seen = calloc(total + 1, 1);
    uint64_t *start = calloc((size_t)p->n_files + 1, sizeof *start);
    for (int f = 1; f < p->n_files; f++) start[f] = start[f - 1] + p->files[f - 1].rows;
    for (size_t i = 0; i < n; i++) {
        if (p->file_of[i] < 0) continue;
        used++;
        int f = p->file_of[i];
        CHECK(f < p->n_files && p->row_of[i] < p->files[f].rows);
        if (f < p->n_files && p->row_of[i] < p->files[f].rows) {
            uint64_t slot = start[f] + p->row_of[i];
            CHECK_MSG(!seen[slot], "file %d row %llu used twice", f,
                      (unsigned long long)p->row_of[i]);
            seen[slot] = 1;
        }
    }
    CHECK_EQ_INT(used, total);
    uint64_t split_sum[SHARD_N_SPLITS] = {0};
    for (int f = 0; f < p->n_files; f++) {
        split_sum[p->files[f].split] += p->files[f].rows;
        CHECK(f == 0 || p->files[f].split >= p->files[f - 1].split);
        CHECK(p->files[f].rows > 0 && p->files[f].index < p->files[f].count);
    }
    for (int s = 0; s < SHARD_N_SPLITS; s++) CHECK_EQ_INT(split_sum[s], p->split_rows[s]);
    free(seen);
    free(start);
    return used;
}

static int32_t *labels_of(size_t n, int classes, unsigned skew)
{
    int32_t *l = malloc(n * sizeof *l);
    for (size_t i = 0; i < n; i++) l[i] = (int32_t)((i * 7 + i / 3) % (size_t)classes);
    for (size_t i = 0; i < n && skew; i += skew) l[i] = 0; /* class 0 more frequent */
    return l;
}

static void test_fractions(void)
{
    int32_t *l = labels_of(1000, 3, 0);
    l[17] = -1; /* a bad record */
    shard_plan_options opt = {42, {0.8, 0.1, 0.1}, false, false, 3};
    shard_plan p;
    ft_error err = {0};
    CHECK_MSG(shard_plan_make(l, 1000, NULL, 0, 3, &opt, &p, &err) == FT_OK, "%s", err.msg);
    CHECK_EQ_INT(p.split_rows[0], 799);
    CHECK_EQ_INT(p.split_rows[1], 100);
    CHECK_EQ_INT(p.split_rows[2], 100);
    CHECK_EQ_INT(p.file_of[17], -1);
    CHECK_EQ_INT(check_placement(&p), 999);
    CHECK_EQ_INT(p.n_files, 9);
    CHECK_EQ_INT(p.files[0].rows + p.files[1].rows + p.files[2].rows, 799);
    /* Same inputs, same plan; another seed, another order. */
    shard_plan q, r;
    CHECK(shard_plan_make(l, 1000, NULL, 0, 3, &opt, &q, NULL) == FT_OK);
    CHECK(!memcmp(p.file_of, q.file_of, 1000 * sizeof *p.file_of) &&
          !memcmp(p.row_of, q.row_of, 1000 * 8));
    opt.seed = 43;
    CHECK(shard_plan_make(l, 1000, NULL, 0, 3, &opt, &r, NULL) == FT_OK);
    CHECK(memcmp(p.row_of, r.row_of, 1000 * 8) != 0);
    shard_plan_free(&p);
    shard_plan_free(&q);
    shard_plan_free(&r);
    free(l);
}

static void test_stratify_and_balance(void)
{
    int32_t *l = labels_of(900, 3, 4);
    uint64_t count[3] = {0};
    for (int i = 0; i < 900; i++) count[l[i]]++;
    shard_plan_options opt = {7, {0.7, 0.1, 0.2}, true, false, 2};
    shard_plan p;
    CHECK(shard_plan_make(l, 900, NULL, 0, 3, &opt, &p, NULL) == FT_OK);
    for (int c = 0; c < 3; c++) { /* each class cut by the fractions (rounded) */
        CHECK_EQ_INT(p.class_rows[0][c], (uint64_t)llround(0.7 * (double)count[c]));
        CHECK_EQ_INT(p.class_rows[0][c] + p.class_rows[1][c] + p.class_rows[2][c], count[c]);
    }
    check_placement(&p);
    shard_plan_free(&p);
    opt.undersample = true;
    CHECK(shard_plan_make(l, 900, NULL, 0, 3, &opt, &p, NULL) == FT_OK);
    uint64_t min = count[0] < count[1] ? count[0] : count[1];
    min = min < count[2] ? min : count[2];
    for (int c = 0; c < 3; c++)
        CHECK_EQ_INT(p.class_rows[0][c] + p.class_rows[1][c] + p.class_rows[2][c], min);
    CHECK_EQ_INT(p.balanced_out, 900 - 3 * min);
    CHECK_EQ_INT(check_placement(&p), 3 * min);
    shard_plan_free(&p);
    free(l);
}

static void test_separate_test_source(void)
{
    int32_t *l = labels_of(100, 2, 0), t[10] = {0, 1, -1, 1, 0, 0, 1, 1, 0, 1};
    shard_plan_options opt = {42, {0.9, 0.1, 0}, false, false, 4};
    shard_plan p;
    CHECK(shard_plan_make(l, 100, t, 10, 2, &opt, &p, NULL) == FT_OK);
    CHECK_EQ_INT(p.split_rows[2], 9);
    CHECK_EQ_INT(p.file_of[100 + 2], -1);
    /* The test source keeps its order across its files. */
    int64_t last_key = -1;
    for (int i = 0; i < 10; i++) {
        if (t[i] < 0) continue;
        int64_t key = (int64_t)p.file_of[100 + i] * 1000 + (int64_t)p.row_of[100 + i];
        CHECK(p.files[p.file_of[100 + i]].split == SHARD_TEST && key > last_key);
        last_key = key;
    }
    check_placement(&p);
    shard_plan_free(&p);
    /* A separate test source and a test fraction: refused. */
    shard_plan_options both = {42, {0.8, 0.1, 0.1}, false, false, 1};
    ft_error err = {0};
    CHECK(shard_plan_make(l, 100, t, 10, 2, &both, &p, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "separate test source");
    free(l);
}

static void test_refused(void)
{
    int32_t l[3] = {0, 1, 0};
    shard_plan p;
    ft_error err = {0};
    shard_plan_options sum = {1, {0.5, 0.4, 0}, false, false, 1};
    CHECK(shard_plan_make(l, 3, NULL, 0, 2, &sum, &p, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "add up");
    shard_plan_options shards = {1, {1, 0, 0}, false, false, 0};
    CHECK(shard_plan_make(l, 3, NULL, 0, 2, &shards, &p, &err) == FT_EINVAL);
    shard_plan_options tiny = {1, {0.9, 0.05, 0.05}, false, false, 1};
    CHECK(shard_plan_make(l, 3, NULL, 0, 2, &tiny, &p, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "gets no examples");
    /* More shards than rows: one file per row. */
    shard_plan_options many = {1, {1, 0, 0}, false, false, 10};
    CHECK(shard_plan_make(l, 3, NULL, 0, 2, &many, &p, NULL) == FT_OK);
    CHECK_EQ_INT(p.n_files, 3);
    char name[64];
    shard_file_name(&p.files[2], name, sizeof name);
    CHECK(!strcmp(name, "train-00002-of-00003.h5"));
    shard_plan_free(&p);
    shard_plan_free(NULL);
}

int main(void)
{
    test_fractions();
    test_stratify_and_balance();
    test_separate_test_source();
    test_refused();
    return check_finish();
}
