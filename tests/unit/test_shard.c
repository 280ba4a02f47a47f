/* test_shard: HDF5 shard files and manifest.json (shard_file.c,
 * shard_manifest.c): round trips, byte-identical output for equal content,
 * no overwrite, hostile files and manifests that must be refused with a
 * message naming the attribute or key, and manifests of 100,000 labels (the
 * cap) read in O(n log n) with a repeat among them named. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <zlib.h>

#include "check.h"
#include "core/ft_fs.h"
#include "shard/shard.h"

static char work[256];

static char *in_work(const char *name) { return ft_path_join(work, name); }

static const char *const LABELS[] = {"ham", "spam", "unsure"};

static shard_meta test_meta(int32_t vocab_size)
{
    return (shard_meta){"train", 0,      2, 8, 0, vocab_size, "wordpiece", "0123456789abcdef",
                        3,       LABELS, 42};
}

/* rows x 8 ids with recognisable values; caller frees with shard_rows_free. */
static shard_rows test_rows(uint64_t rows, bool wide)
{
    shard_rows r = {rows, 8, wide, NULL, NULL, NULL, NULL};
    r.input_ids = calloc(rows * 8, wide ? 4 : 2);
    r.lengths = calloc(rows, 4);
    r.labels = calloc(rows, 4);
    r.example_index = calloc(rows, 8);
    for (uint64_t i = 0; i < rows; i++) {
        r.lengths[i] = 1 + (int32_t)(i % 8); /* at least one token (shard_rows_check) */
        r.labels[i] = (int32_t)(i % 3);
        r.example_index[i] = (int64_t)(1000 + 7 * i);
        for (int k = 0; k < 8; k++) {
            int64_t v =
                k < r.lengths[i] ? (int64_t)(i * 31 + (uint64_t)k) % (wide ? 100000 : 30522) : 0;
            if (wide)
                ((int32_t *)r.input_ids)[i * 8 + (uint64_t)k] = (int32_t)v;
            else
                ((uint16_t *)r.input_ids)[i * 8 + (uint64_t)k] = (uint16_t)v;
        }
    }
    return r;
}

static bool same_rows(const shard_rows *a, const shard_rows *b, bool with_ids)
{
    size_t n = (size_t)a->rows;
    if (a->rows != b->rows || a->max_length != b->max_length || a->wide_ids != b->wide_ids)
        return false;
    if (memcmp(a->lengths, b->lengths, n * 4) || memcmp(a->labels, b->labels, n * 4) ||
        memcmp(a->example_index, b->example_index, n * 8))
        return false;
    return !with_ids || !memcmp(a->input_ids, b->input_ids, n * 8 * (a->wide_ids ? 4 : 2));
}

static bool files_equal(const char *p, const char *q)
{
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    bool eq = ft_read_file(p, &a, &na, NULL) == FT_OK && ft_read_file(q, &b, &nb, NULL) == FT_OK &&
              na == nb && !memcmp(a, b, na);
    free(a);
    free(b);
    return eq;
}

static int count_temp_files(void)
{
    int n = 0;
    DIR *d = opendir(work);
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_round_trip(bool wide)
{
    shard_meta meta = test_meta(wide ? 100000 : 30522);
    shard_rows rows = test_rows(37, wide), back = {0};
    char *path = in_work(wide ? "wide.h5" : "narrow.h5");
    ft_error err = {0};
    CHECK_MSG(shard_write_file(path, &meta, &rows, &err) == FT_OK, "%s", err.msg);
    CHECK_MSG(shard_read_file(path, true, &back, &err) == FT_OK, "%s", err.msg);
    CHECK(same_rows(&rows, &back, true));
    shard_rows_free(&back);
    CHECK(shard_read_file(path, false, &back, &err) == FT_OK);
    CHECK(back.input_ids == NULL && same_rows(&rows, &back, false));
    shard_rows_free(&back);
    /* crc32 and size agree with zlib over the bytes. */
    char *data = NULL;
    size_t len = 0;
    uint32_t crc = 0;
    uint64_t bytes = 0;
    CHECK(ft_read_file(path, &data, &len, NULL) == FT_OK);
    CHECK(shard_file_crc32(path, &crc, &bytes, &err) == FT_OK);
    CHECK_EQ_INT(bytes, len);
    CHECK_EQ_INT(crc, (uint32_t)crc32_z(0, (const unsigned char *)data, len));
    free(data);
    shard_rows_free(&rows);
    free(path);
}

/* Equal content gives equal bytes, also a second later (no timestamps). */
static void test_byte_identical(void)
{
    shard_meta meta = test_meta(30522);
    shard_rows rows = test_rows(100, false);
    char *a = in_work("same-a.h5"), *b = in_work("same-b.h5");
    CHECK(shard_write_file(a, &meta, &rows, NULL) == FT_OK);
    sleep(1);
    CHECK(shard_write_file(b, &meta, &rows, NULL) == FT_OK);
    CHECK_MSG(files_equal(a, b), "%s and %s differ", a, b);
    /* Different content, different bytes (the comparison can fail). */
    rows.labels[5] = 2 - rows.labels[5] % 3;
    char *c = in_work("same-c.h5");
    CHECK(shard_write_file(c, &meta, &rows, NULL) == FT_OK);
    CHECK(!files_equal(a, c));
    /* Never overwrites; the existing file is untouched. */
    ft_error err = {0};
    CHECK(shard_write_file(a, &meta, &rows, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "exists");
    CHECK(files_equal(a, b));
    CHECK_EQ_INT(count_temp_files(), 0);
    shard_rows_free(&rows);
    free(a);
    free(b);
    free(c);
}

/* Zero rows is a valid file (a reader gets rows == 0). */
static void test_empty(void)
{
    shard_meta meta = test_meta(30522);
    shard_rows rows = test_rows(0, false), back = {0};
    char *p = in_work("empty.h5");
    ft_error err = {0};
    CHECK_MSG(shard_write_file(p, &meta, &rows, &err) == FT_OK, "%s", err.msg);
    CHECK_MSG(shard_read_file(p, true, &back, &err) == FT_OK, "%s", err.msg);
    CHECK_EQ_INT(back.rows, 0);
    shard_rows_free(&back);
    shard_rows_free(&rows);
    free(p);
}

static void expect_read_error(const char *path, ft_status want, const char *needle)
{
    shard_rows back = {0};
    ft_error err = {0};
    ft_status st = shard_read_file(path, true, &back, &err);
    CHECK_MSG(st == want, "%s: status %s, wanted %s (%s)", path, ft_status_name(st),
              ft_status_name(want), err.msg);
    CHECK_STR_CONTAINS(err.msg, needle);
    CHECK(back.lengths == NULL && back.input_ids == NULL);
}

/* An HDF5 file with one integer attribute and nothing else. */
static void write_foreign_h5(const char *path)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate(H5S_SCALAR);
    int v = 1;
    hid_t a = H5Acreate2(f, "format_version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Sclose(s);
    H5Fclose(f);
}

static void test_hostile_files(void)
{
    shard_meta meta = test_meta(30522);
    shard_rows rows = test_rows(20, false);
    char *missing = in_work("missing.h5"), *garbage = in_work("garbage.h5"),
         *cut = in_work("cut.h5");
    char *foreign = in_work("foreign.h5"), *badlen = in_work("badlen.h5"),
         *badlab = in_work("badlabel.h5");
    expect_read_error(missing, FT_ENOTFOUND, "no such shard");
    CHECK(ft_write_file_atomic(garbage, "not hdf5 at all\n", 16, true, NULL) == FT_OK);
    expect_read_error(garbage, FT_EFORMAT, "not a readable HDF5 file");
    /* A truncated copy of a good file (what a killed writer would leave). */
    char *good = in_work("narrow.h5"), *data = NULL;
    size_t len = 0;
    CHECK(ft_read_file(good, &data, &len, NULL) == FT_OK);
    CHECK(ft_write_file_atomic(cut, data, len / 2, true, NULL) == FT_OK);
    shard_rows back = {0};
    CHECK(shard_read_file(cut, true, &back, NULL) != FT_OK);
    free(data);
    write_foreign_h5(foreign);
    expect_read_error(foreign, FT_EFORMAT, "attribute 'format'");
    rows.lengths[3] = 9; /* > max_length 8 */
    CHECK(shard_write_file(badlen, &meta, &rows, NULL) == FT_OK);
    expect_read_error(badlen, FT_EFORMAT, "row 3: length 9");
    rows.lengths[3] = 8;
    rows.labels[7] = 3; /* 3 labels */
    CHECK(shard_write_file(badlab, &meta, &rows, NULL) == FT_OK);
    expect_read_error(badlab, FT_EFORMAT, "row 7: label 3");
    /* Writer-side checks: width must match the vocabulary. */
    ft_error err = {0};
    char *w = in_work("wrongwidth.h5");
    meta.vocab_size = 70000;
    CHECK(shard_write_file(w, &meta, &rows, &err) == FT_EINVAL);
    CHECK(!ft_path_exists(w));
    shard_rows_free(&rows);
    free(missing);
    free(garbage);
    free(cut);
    free(foreign);
    free(badlen);
    free(badlab);
    free(good);
    free(w);
}

/* --- manifest -------------------------------------------------------------- */

static char *label_copies[3];

static void fill_manifest(shard_manifest *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->tokenizer_kind, sizeof m->tokenizer_kind, "wordpiece");
    snprintf(m->tokenizer_fingerprint, sizeof m->tokenizer_fingerprint, "00ff00ff12345678");
    m->tokenizer_path = "models/bert-tiny";
    m->vocab_size = 30522;
    m->pad_id = 0;
    m->max_length = 128;
    for (int i = 0; i < 3; i++) label_copies[i] = (char *)LABELS[i];
    m->n_labels = 3;
    m->labels = label_copies;
    m->n_sources = 2;
    m->sources[0] = (shard_manifest_source){
        "input", "data/x.jsonl", "jsonl", "text", "label", 1234, 1, 10, 0xdeadbeef};
    m->sources[1] =
        (shard_manifest_source){"test", "data/t.csv", "csv", "column 2", "column 1", 99, 1, 3, 0x1};
    m->seed = 42;
    m->fractions[0] = 0.8;
    m->fractions[1] = 0.2;
    m->stratify = true;
    m->undersample = true;
    static uint64_t cr[3][3] = {{3, 3, 2}, {1, 1, 0}, {1, 1, 1}};
    static shard_manifest_file files[4] = {{"train-00000-of-00002.h5", 0, 4, 100, 0xabc},
                                           {"train-00001-of-00002.h5", 0, 4, 100, 0xabd},
                                           {"validation-00000-of-00001.h5", 1, 2, 50, 0x1234},
                                           {"test-00000-of-00001.h5", 2, 3, 60, 0xffffffff}};
    for (int s = 0; s < 3; s++) m->class_rows[s] = cr[s];
    m->split_rows[0] = 8;
    m->split_rows[1] = 2;
    m->split_rows[2] = 3;
    m->split_truncated[0] = 1;
    m->n_files = 4;
    m->files = files;
    static char *reasons[2] = {"malformed_json", "empty_text"};
    static uint64_t skipped[2] = {2, 0};
    m->n_skip_reasons = 2;
    m->skip_reasons = reasons;
    m->skipped = skipped;
    m->balanced_out = 5;
}

static char *manifest_dir(const char *name, const char *text)
{
    char *dir = in_work(name), *path = ft_path_join(dir, "manifest.json");
    CHECK(ft_mkdir_p(dir, NULL) == FT_OK);
    CHECK(ft_write_file_atomic(path, text, strlen(text), true, NULL) == FT_OK);
    free(path);
    return dir;
}

static void test_manifest_round_trip(void)
{
    shard_manifest m, back;
    fill_manifest(&m);
    char *text = shard_manifest_to_json(&m);
    CHECK(text != NULL);
    char *dir = manifest_dir("m-good", text);
    ft_error err = {0};
    CHECK_MSG(shard_manifest_read(dir, &back, &err) == FT_OK, "%s", err.msg);
    CHECK(!strcmp(back.tokenizer_kind, "wordpiece") &&
          !strcmp(back.tokenizer_fingerprint, "00ff00ff12345678"));
    CHECK(back.vocab_size == 30522 && back.max_length == 128 && back.n_labels == 3);
    CHECK(back.labels && !strcmp(back.labels[2], "unsure"));
    CHECK(back.n_sources == 2 && back.sources[0].crc32 == 0xdeadbeef &&
          back.sources[1].bytes == 99);
    CHECK(!strcmp(back.sources[1].text_field, "column 2"));
    CHECK(back.seed == 42 && back.fractions[0] == 0.8 && back.fractions[2] == 0 && back.stratify &&
          back.undersample);
    CHECK(back.n_files == 4 && back.files[3].crc32 == 0xffffffff && back.files[2].split == 1);
    CHECK(back.split_rows[0] == 8 && back.class_rows[2][2] == 1 && back.split_truncated[0] == 1);
    CHECK(back.n_skip_reasons == 2 && back.skipped[0] == 2 &&
          !strcmp(back.skip_reasons[1], "empty_text"));
    CHECK(back.balanced_out == 5);
    /* Writing what was read gives the same text. */
    char *again = shard_manifest_to_json(&back);
    CHECK(again && !strcmp(text, again));
    free(again);
    shard_manifest_free(&back);
    shard_manifest_free(NULL);
    free(text);
    free(dir);
}

/* Replaces the first `from` in text by `to`; fails the test when absent. */
static char *mutate(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CHECK_MSG(at != NULL, "mutation '%s' does not apply", from);
    if (!at) return strdup(text);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t pre = (size_t)(at - text);
    memcpy(out, text, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static void test_hostile_manifests(void)
{
    static const struct {
        const char *from, *to, *needle;
    } cases[] = {
        {"\"format\":\t\"ftune-shards\"", "\"format\":\t\"other\"", "key 'format'"},
        {"\"version\":\t1", "\"version\":\t2", "format version 1, the dataset has 2"},
        {"\"max_length\":\t128", "\"max_length\":\t\"128x\"",
         "key 'max_length': expected an integer"},
        {"\"max_length\":\t128", "\"max_length\":\t0", "key 'max_length'"},
        {"\"vocab_size\":\t30522", "\"vocab_size\":\t-3", "key 'tokenizer.vocab_size'"},
        {"\"pad_id\":\t0", "\"pad_id\":\t30522", "key 'tokenizer.pad_id'"},
        {"00ff00ff12345678", "00FF00FF12345678", "key 'tokenizer.fingerprint'"},
        {"\"kind\":\t\"wordpiece\"", "\"kind\":\t\"sentencepiece\"", "key 'tokenizer.kind'"},
        {"\"ham\", \"spam\"", "\"ham\", \"ham\"", "key 'labels[1]'"},
        {"\"ham\", \"spam\"", "\"ham\", 7", "key 'labels[1]'"},
        {"train-00000-of-00002.h5", "../../etc/passwd", "key 'splits.train.files[0].name'"},
        {"train-00001-of-00002.h5", "train-00000-of-00002.h5", "key 'splits.train.files[1].name'"},
        {"\"rows\":\t4,", "\"rows\":\t5,", "key 'splits.train.files'"},
        {"\"rows\":\t4,", "\"rows\":\t-4,", "key 'splits.train.files[0].rows'"},
        {"\"rows\":\t4,", "\"rows\":\t4.5,", "key 'splits.train.files[0].rows'"},
        {"\"rows\":\t8,", "\"rows\":\t9,", "key 'splits.train.class_rows'"},
        {"\"crc32\":\t\"00000abc\"", "\"crc32\":\t\"abc\"", "key 'splits.train.files[0].crc32'"},
        {"[0.8, 0.2, 0]", "[0.8, 0.3, 0]", "key 'split.fractions'"},
        {"\"stratify\":\ttrue", "\"stratify\":\t1", "key 'split.stratify'"},
        {"\"balance\":\t\"undersample\"", "\"balance\":\t\"oversample\"", "key 'split.balance'"},
        {"\"malformed_json\":\t2", "\"malformed_json\":\t\"2\"", "key 'skipped.malformed_json'"},
        {"\"role\":\t\"test\"", "\"role\":\t\"extra\"", "key 'sources[1]'"},
        {"\"validation\":", "\"valid\":", "key 'splits.validation'"},
        {"\"seed\":\t42", "\"seed\":\t1e300", "key 'seed'"},
        {"\"labels\":", "\"labels\": 3, \"x\":", "key 'labels'"},
        {"\"format\":", "\"format\" ", "not valid JSON"},
    };
    shard_manifest m, back;
    fill_manifest(&m);
    char *text = shard_manifest_to_json(&m);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = mutate(text, cases[i].from, cases[i].to), name[32];
        snprintf(name, sizeof name, "m-bad-%zu", i);
        char *dir = manifest_dir(name, bad);
        ft_error err = {0};
        ft_status st = shard_manifest_read(dir, &back, &err);
        CHECK_MSG(st == FT_EFORMAT, "case %zu (%s): status %s", i, cases[i].to, ft_status_name(st));
        CHECK_MSG(strstr(err.msg, cases[i].needle) && strstr(err.msg, "manifest.json"),
                  "case %zu: \"%s\" lacks \"%s\"", i, err.msg, cases[i].needle);
        CHECK(back.labels == NULL && back.files == NULL);
        free(bad);
        free(dir);
    }
    ft_error err = {0};
    char *none = in_work("m-none");
    CHECK(shard_manifest_read(none, &back, &err) != FT_OK);
    CHECK_STR_CONTAINS(err.msg, "manifest.json");
    free(none);
    free(text);
}

/* fill_manifest with n labels "class 0".."class n-1" (the test rows stay
 * in the first three). Frees with manifest_labels_free. */
static void fill_manifest_labels(shard_manifest *m, int n)
{
    fill_manifest(m);
    m->n_labels = n;
    m->labels = calloc((size_t)n, sizeof *m->labels);
    for (int i = 0; m->labels && i < n; i++) {
        m->labels[i] = malloc(24);
        if (m->labels[i]) snprintf(m->labels[i], 24, "class %d", i);
    }
    for (int s = 0; s < 3; s++) {
        uint64_t *rows = calloc((size_t)n, sizeof *rows);
        if (rows) memcpy(rows, m->class_rows[s], 3 * sizeof *rows);
        m->class_rows[s] = rows;
    }
}

static void manifest_labels_free(shard_manifest *m)
{
    for (int i = 0; m->labels && i < m->n_labels; i++) free(m->labels[i]);
    free(m->labels);
    for (int s = 0; s < 3; s++) free(m->class_rows[s]);
}

/* SHARD_MAX_LABELS labels read back (their names checked sorted, not
 * pairwise: 5 * 10^9 strcmp calls before), a repeat among them is named by
 * its index, and one label more is refused. */
static void test_manifest_many_labels(void)
{
    shard_manifest m, back;
    fill_manifest_labels(&m, SHARD_MAX_LABELS);
    char *text = shard_manifest_to_json(&m);
    CHECK(text != NULL);
    char *dir = manifest_dir("m-many", text ? text : "");
    ft_error err = {0};
    CHECK_MSG(shard_manifest_read(dir, &back, &err) == FT_OK, "%s", err.msg);
    CHECK(back.n_labels == SHARD_MAX_LABELS && back.labels &&
          !strcmp(back.labels[99999], "class 99999"));
    shard_manifest_free(&back);
    free(dir);
    char *bad = text ? mutate(text, "\"class 99998\"", "\"class 4\"") : NULL;
    dir = manifest_dir("m-many-repeat", bad ? bad : "");
    CHECK(shard_manifest_read(dir, &back, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(
        err.msg, "key 'labels[99998]': expected a name not already in 'labels', got \"class 4\"");
    free(bad);
    free(dir);
    free(text);
    manifest_labels_free(&m);
    fill_manifest_labels(&m, SHARD_MAX_LABELS + 1);
    text = shard_manifest_to_json(&m);
    dir = manifest_dir("m-too-many", text ? text : "");
    CHECK(shard_manifest_read(dir, &back, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg,
                       "key 'labels': expected a non-empty array of at most 100000 label names");
    free(dir);
    free(text);
    manifest_labels_free(&m);
}

int main(void)
{
    snprintf(work, sizeof work, "/tmp/test_shard.%d", (int)getpid());
    CHECK(ft_mkdir_p(work, NULL) == FT_OK);
    test_round_trip(false);
    test_round_trip(true);
    test_byte_identical();
    test_empty();
    test_hostile_files();
    test_manifest_round_trip();
    test_hostile_manifests();
    test_manifest_many_labels();
    if (!getenv("KEEP")) ft_remove_tree(work, NULL);
    return check_finish();
}
