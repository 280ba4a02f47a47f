/* test_shard_split: the one data path of train, eval and predict
 * (shard_split.c, shard_batch.c, shard_rows_check): a split read in shard
 * order whatever order the manifest lists its files in, the whole split in
 * memory equal to its files' rows, a cursor across file boundaries, batches
 * cut to their longest row, every file checked against the manifest (crc32,
 * rows, max_length, labels, vocabulary) with a message naming the file, the
 * row validator's rules, the rank slices (every row exactly once,
 * contiguous, balanced) and the data fingerprint (zlib crc32 of a known
 * string). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "shard/shard.h"

enum { LEN = 8, VOCAB = 50 };

static char work[256];
static const char *const LABELS[] = {"neg", "pos"};

/* rows x LEN ids: row i of file `file` has length 1 + (i + file) % LEN,
 * label i % 2, example_index 100 * file + i, ids 1 + (i + k) % (VOCAB - 1). */
static shard_rows make_rows(uint64_t rows, int file)
{
    shard_rows r = {rows,
                    LEN,
                    false,
                    calloc(rows * LEN + 1, 2),
                    calloc(rows + 1, 4),
                    calloc(rows + 1, 4),
                    calloc(rows + 1, 8)};
    for (uint64_t i = 0; i < rows; i++) {
        r.lengths[i] = 1 + (int32_t)((i + (uint64_t)file) % LEN);
        r.labels[i] = (int32_t)(i % 2);
        r.example_index[i] = 100 * file + (int64_t)i;
        for (uint64_t k = 0; k < (uint64_t)r.lengths[i]; k++)
            ((uint16_t *)r.input_ids)[i * LEN + k] = (uint16_t)(1 + (i + k) % (VOCAB - 1));
    }
    return r;
}

static void write_file(const char *name, int index, int count, const shard_rows *r,
                       shard_manifest_file *mf)
{
    shard_meta meta = {"train", index,  count, LEN, 0, VOCAB, "wordpiece", "0123456789abcdef",
                       2,       LABELS, 7};
    char *path = ft_path_join(work, name);
    ft_error err = {0};
    unlink(path);
    CHECK_MSG(shard_write_file(path, &meta, r, &err) == FT_OK, "%s", err.msg);
    uint64_t bytes = 0;
    snprintf(mf->name, sizeof mf->name, "%s", name);
    mf->split = SHARD_TRAIN;
    mf->rows = r->rows;
    CHECK(shard_file_crc32(path, &mf->crc32, &bytes, &err) == FT_OK);
    mf->bytes = bytes;
    free(path);
}

/* Three train files of 5, 7 and 4 rows, listed out of order. */
static shard_manifest_file files[3];
static shard_rows truth[3];

static shard_manifest make_dataset(void)
{
    const uint64_t rows[3] = {5, 7, 4};
    shard_manifest_file f[3];
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "train-%05d-of-00003.h5", i);
        truth[i] = make_rows(rows[i], i);
        write_file(name, i, 3, &truth[i], &f[i]);
    }
    files[0] = f[2], files[1] = f[0], files[2] = f[1];
    shard_manifest m = {0};
    m.vocab_size = VOCAB;
    m.max_length = LEN;
    m.n_labels = 2;
    m.n_files = 3;
    m.files = files;
    return m;
}

static void test_load_all_and_cursor(const shard_manifest *m)
{
    shard_reader r;
    ft_error err = {0};
    CHECK_MSG(shard_reader_open(work, m, SHARD_TRAIN, &r, &err) == FT_OK, "%s", err.msg);
    CHECK_EQ_INT(r.n_files, 3);
    CHECK_EQ_INT(r.rows, 16);
    CHECK_EQ_INT(r.first_row[1], 5);
    CHECK_EQ_INT(r.first_row[2], 12);
    CHECK_STR_CONTAINS(r.paths[0], "train-00000-of-00003.h5"); /* shard order */
    CHECK_EQ_INT(shard_reader_file_of(&r, 4), 0);
    CHECK_EQ_INT(shard_reader_file_of(&r, 5), 1);
    CHECK_EQ_INT(shard_reader_file_of(&r, 15), 2);
    shard_rows all;
    CHECK_MSG(shard_reader_load_all(&r, &all, &err) == FT_OK, "%s", err.msg);
    CHECK(all.wide_ids && all.rows == 16);
    /* Split row 7 is row 2 of file 1. */
    CHECK_EQ_INT(all.example_index[7], 102);
    CHECK_EQ_INT(all.lengths[7], truth[1].lengths[2]);
    CHECK_EQ_INT(((int32_t *)all.input_ids)[7 * LEN + 1],
                 ((uint16_t *)truth[1].input_ids)[2 * LEN + 1]);
    /* A cursor over rows [3, 14) crosses both file boundaries. */
    shard_batch b;
    CHECK(shard_batch_init(&b, 16, LEN, &err) == FT_OK);
    shard_cursor c;
    shard_cursor_init(&c, &r, 3, 14);
    CHECK_MSG(shard_cursor_next(&c, &b, &err) == FT_OK, "%s", err.msg);
    CHECK_EQ_INT(b.n, 11);
    for (int i = 0; i < b.n; i++) {
        CHECK_EQ_INT(b.example_index[i], all.example_index[3 + i]);
        CHECK(!memcmp(b.ids + i * LEN, (int32_t *)all.input_ids + (3 + i) * LEN, LEN * 4));
    }
    shard_cursor_free(&c);
    /* Gather: t is the longest row chosen, rows packed with stride t. */
    uint64_t idx[3] = {7, 0, 12};
    shard_batch_gather(&b, &all, idx, 3);
    int32_t longest = all.lengths[7];
    for (int i = 1; i < 3; i++)
        longest = all.lengths[idx[i]] > longest ? all.lengths[idx[i]] : longest;
    CHECK_EQ_INT(b.t, longest);
    CHECK_EQ_INT(b.n, 3);
    CHECK_EQ_INT(b.example_index[2], 200);
    CHECK(!memcmp(b.ids + 2 * b.t, (int32_t *)all.input_ids + 12 * LEN, (size_t)b.t * 4));
    shard_batch_free(&b);
    shard_rows_free(&all);
    shard_reader_close(&r);
}

static void expect_load_error(const shard_manifest *m, const char *needle)
{
    shard_reader r;
    shard_rows all;
    ft_error err = {0};
    CHECK(shard_reader_open(work, m, SHARD_TRAIN, &r, &err) == FT_OK);
    CHECK(shard_reader_load_all(&r, &all, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, needle);
    CHECK(all.input_ids == NULL);
    shard_reader_close(&r);
}

/* Every file is checked against the manifest as it is loaded. */
static void test_checks_against_manifest(shard_manifest *m)
{
    files[1].crc32 ^= 1;
    expect_load_error(m, "train-00000-of-00003.h5: crc32");
    files[1].crc32 ^= 1;
    files[2].rows = 8; /* file 1 holds 7 */
    expect_load_error(m, "train-00001-of-00003.h5: rows 7, but manifest.json says 8");
    files[2].rows = 7;
    m->n_labels = 3;
    expect_load_error(m, "n_labels 2, but manifest.json says 3");
    m->n_labels = 2;
    m->vocab_size = VOCAB + 1;
    expect_load_error(m, "vocab_size 50, but manifest.json says 51");
    m->vocab_size = VOCAB;
    /* A token id out of the vocabulary in a file whose crc32 matches. */
    ((uint16_t *)truth[1].input_ids)[3 * LEN + 2] = VOCAB;
    write_file("train-00001-of-00003.h5", 1, 3, &truth[1], &files[2]);
    expect_load_error(m, "train-00001-of-00003.h5: row 3, position 2: token id 50 not in the "
                         "model's vocabulary [0, 50)");
}

/* The validator's rules, one by one (lengths: at least one token). */
static void test_rows_check(void)
{
    shard_rows r = make_rows(4, 0);
    ft_error err = {0};
    CHECK(shard_rows_check("f.h5", &r, 2, VOCAB, &err) == FT_OK);
    r.lengths[1] = 0;
    CHECK(shard_rows_check("f.h5", &r, 2, VOCAB, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "f.h5: row 1: length 0 not in [1, 8]");
    r.lengths[1] = LEN;
    r.labels[2] = 2;
    CHECK(shard_rows_check("f.h5", &r, 2, VOCAB, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "f.h5: row 2: label 2 not in [0, 2)");
    r.labels[2] = 0;
    r.example_index[3] = -1;
    CHECK(shard_rows_check("f.h5", &r, 2, VOCAB, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "row 3: negative example_index");
    r.example_index[3] = 3;
    CHECK(shard_rows_check("f.h5", &r, 2, 2, &err) == FT_EFORMAT); /* ids up to 49 */
    CHECK_STR_CONTAINS(err.msg, "f.h5: row 1, position 0: token id 2 not in");
    shard_rows_free(&r);
}

static void test_slices(void)
{
    for (uint64_t n = 0; n <= 60; n++) {
        for (int size = 1; size <= 9; size++) {
            uint64_t expect = 0, lo = n, hi = 0;
            for (int r = 0; r < size; r++) {
                uint64_t b, e;
                shard_slice(n, r, size, &b, &e);
                CHECK_MSG(b == expect, "n=%llu size=%d rank=%d starts at %llu, want %llu",
                          (unsigned long long)n, size, r, (unsigned long long)b,
                          (unsigned long long)expect);
                CHECK(e >= b);
                lo = e - b < lo ? e - b : lo;
                hi = e - b > hi ? e - b : hi;
                expect = e;
            }
            CHECK_MSG(expect == n, "n=%llu size=%d covers %llu", (unsigned long long)n, size,
                      (unsigned long long)expect);
            CHECK(hi - lo <= 1);
        }
    }
    uint64_t b, e; /* large splits do not overflow */
    shard_slice(3000000000ULL, 2, 3, &b, &e);
    CHECK(b == 2000000000ULL && e == 3000000000ULL);
}

static void test_fingerprint_and_names(void)
{
    char *path = ft_path_join(work, "manifest.json");
    ft_error err = {0};
    /* crc32("123456789") = cbf43926, the standard check value */
    CHECK(ft_write_file_atomic(path, "123456789", 9, true, &err) == FT_OK);
    char fp[SHARD_FINGERPRINT_BYTES] = "";
    CHECK(shard_manifest_fingerprint(work, fp, &err) == FT_OK);
    CHECK(!strcmp(fp, "crc32:cbf43926"));
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nothing", work);
    CHECK(shard_manifest_fingerprint(missing, fp, &err) != FT_OK);
    CHECK_STR_CONTAINS(err.msg, "manifest.json");
    free(path);
    CHECK_EQ_INT(shard_split_of_name("validation"), SHARD_VALIDATION);
    CHECK_EQ_INT(shard_split_of_name("test"), SHARD_TEST);
    CHECK_EQ_INT(shard_split_of_name("dev"), -1);
}

int main(void)
{
    snprintf(work, sizeof work, "/tmp/test_shard_split_XXXXXX");
    CHECK(mkdtemp(work) != NULL);
    shard_manifest m = make_dataset();
    test_load_all_and_cursor(&m);
    test_checks_against_manifest(&m);
    test_rows_check();
    test_slices();
    test_fingerprint_and_names();
    for (int i = 0; i < 3; i++) shard_rows_free(&truth[i]);
    ft_error err;
    ft_remove_tree(work, &err);
    return check_finish();
}
