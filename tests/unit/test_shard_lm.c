/* test_shard_lm: causal_lm rows of a prepared dataset (shard_lm.c and the
 * causal_lm parts of shard_file.c, shard_manifest.c, shard_batch.c): one
 * example's ids and labels for each rule (EOS appended unless present,
 * labels -100 on the prompt unless the loss covers it, on padding and on the
 * first token; truncation of the prompt's start or of the end, an example
 * without a completion token dropped), packing (next fit in order, segment
 * and position ids, example_index of the first example), files written and
 * read back, the validator's rules on hostile columns, a reader of the
 * other task refused, the manifest round trip and its checks, and batches
 * carrying the token columns. Expected values are written out by hand. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "shard/shard.h"

enum { L = 8, VOCAB = 100, EOS = 99, PAD = 0, X = SHARD_IGNORE_INDEX };

static char work[256];

static void check_row(const int32_t *got, const int32_t *want, int n, const char *what)
{
    for (int j = 0; j < n; j++)
        CHECK_MSG(got[j] == want[j], "%s[%d]: %d, want %d", what, j, got[j], want[j]);
}

static shard_lm_options opts(int32_t max_length, bool completion_only, shard_truncation t)
{
    return (shard_lm_options){max_length, PAD, EOS, completion_only, t};
}

static void test_example_rules(void)
{
    const int32_t prompt[] = {10, 11, 12}, completion[] = {20, 21}, ends_eos[] = {20, EOS},
                  text[] = {5, 6, 7};
    int32_t ids[L], labels[L], length = 0;
    bool truncated = true;
    shard_lm_options o = opts(L, true, SHARD_TRUNCATE_PROMPT_LEFT);
    /* EOS appended; prompt and padding -100. */
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){10, 11, 12, 20, 21, EOS, PAD, PAD}, L, "ids");
    check_row(labels, (const int32_t[]){X, X, X, 20, 21, EOS, X, X}, L, "labels");
    CHECK_EQ_INT(length, 6);
    CHECK(!truncated);
    /* completion_only_loss off: the prompt is trained, except the first token. */
    o.completion_only_loss = false;
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    check_row(labels, (const int32_t[]){X, 11, 12, 20, 21, EOS, X, X}, L, "labels (all)");
    o.completion_only_loss = true;
    /* A completion that ends with the EOS gets no second one; no EOS id: none. */
    CHECK(shard_lm_example(prompt, 3, ends_eos, 2, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){10, 11, 12, 20, EOS, PAD, PAD, PAD}, L, "ids (eos given)");
    o.eos_id = -1;
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    CHECK_EQ_INT(length, 5);
    check_row(labels, (const int32_t[]){X, X, X, 20, 21, X, X, X}, L, "labels (no eos)");
    o.eos_id = EOS;
    /* Plain text: labels = ids but the first; EOS appended. */
    CHECK(shard_lm_example(NULL, 0, text, 3, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){5, 6, 7, EOS, PAD, PAD, PAD, PAD}, L, "ids (text)");
    check_row(labels, (const int32_t[]){X, 6, 7, EOS, X, X, X, X}, L, "labels (text)");
    /* One token and no EOS: nothing to train, dropped. */
    o.eos_id = -1;
    CHECK(!shard_lm_example(NULL, 0, text, 1, &o, ids, labels, &length, &truncated));
}

static void test_truncation(void)
{
    const int32_t prompt[] = {10, 11, 12}, completion[] = {20, 21};
    int32_t ids[L], labels[L], length = 0;
    bool truncated = false;
    /* prompt_left, 4 tokens: the prompt's start goes, the completion stays. */
    shard_lm_options o = opts(4, true, SHARD_TRUNCATE_PROMPT_LEFT);
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){12, 20, 21, EOS}, 4, "ids (prompt_left 4)");
    check_row(labels, (const int32_t[]){X, 20, 21, EOS}, 4, "labels (prompt_left 4)");
    CHECK(truncated);
    /* 2 tokens: no prompt left, the completion's end cut. */
    o.max_length = 2;
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){20, 21}, 2, "ids (prompt_left 2)");
    check_row(labels, (const int32_t[]){X, 21}, 2, "labels (prompt_left 2)");
    /* right, 4 tokens: one completion token left. */
    o = opts(4, true, SHARD_TRUNCATE_RIGHT);
    CHECK(shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    check_row(ids, (const int32_t[]){10, 11, 12, 20}, 4, "ids (right 4)");
    check_row(labels, (const int32_t[]){X, X, X, 20}, 4, "labels (right 4)");
    CHECK(truncated);
    /* right, 3 tokens: the completion is gone: dropped (the caller counts). */
    o.max_length = 3;
    CHECK(!shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
    /* Even without completion_only_loss a row without completion is dropped. */
    o.completion_only_loss = false;
    CHECK(!shard_lm_example(prompt, 3, completion, 2, &o, ids, labels, &length, &truncated));
}

/* Examples of lengths n[i] (ids 1.., prompt of one token), one per row. */
static void make_examples(const int32_t *n, int count, shard_rows *ex, shard_lm *lm)
{
    ft_error err = {0};
    CHECK(shard_rows_alloc(ex, (uint64_t)count, L, false, &err) == FT_OK);
    CHECK(shard_lm_alloc(lm, (uint64_t)count, L, false, &err) == FT_OK);
    shard_lm_options o = opts(L, true, SHARD_TRUNCATE_PROMPT_LEFT);
    o.eos_id = -1;
    for (int i = 0; i < count; i++) {
        int32_t prompt[1] = {1 + 10 * i}, completion[L], ids[L], length = 0;
        bool truncated = false;
        for (int j = 0; j + 1 < n[i]; j++) completion[j] = 2 + 10 * i + j;
        CHECK(shard_lm_example(prompt, 1, completion, n[i] - 1, &o, ids, lm->labels + i * L,
                               &length, &truncated));
        CHECK_EQ_INT(length, n[i]);
        for (int j = 0; j < L; j++) ((uint16_t *)ex->input_ids)[i * L + j] = (uint16_t)ids[j];
        ex->lengths[i] = length;
        ex->labels[i] = 0;
        ex->example_index[i] = 100 + i;
    }
}

static int32_t id_at(const shard_rows *r, int row, int j)
{
    return ((const uint16_t *)r->input_ids)[row * L + j];
}

static void test_packing(void)
{
    const int32_t n[] = {3, 4, 2, 6, 2};
    shard_rows ex, out;
    shard_lm lm, out_lm;
    ft_error err = {0};
    make_examples(n, 5, &ex, &lm);
    bool keep[] = {true, true, true, true, true};
    /* Next fit: [3 4] [2 6] [2]. */
    CHECK(shard_lm_pack(&ex, &lm, keep, true, PAD, &out, &out_lm, &err) == FT_OK);
    CHECK_EQ_INT(out.rows, 3);
    check_row(out.lengths, (const int32_t[]){7, 8, 2}, 3, "lengths");
    CHECK(out.example_index[0] == 100 && out.example_index[1] == 102 &&
          out.example_index[2] == 104);
    check_row(out_lm.segment_ids, (const int32_t[]){1, 1, 1, 2, 2, 2, 2, 0}, L, "segments row 0");
    check_row(out_lm.position_ids, (const int32_t[]){0, 1, 2, 0, 1, 2, 3, 0}, L, "positions row 0");
    check_row(out_lm.labels, (const int32_t[]){X, 2, 3, X, 12, 13, 14, X}, L, "labels row 0");
    check_row(out_lm.position_ids + L, (const int32_t[]){0, 1, 0, 1, 2, 3, 4, 5}, L,
              "positions row 1");
    check_row(out_lm.segment_ids + 2 * L, (const int32_t[]){1, 1, 0, 0, 0, 0, 0, 0}, L,
              "segments row 2");
    CHECK(id_at(&out, 0, 3) == 11 && id_at(&out, 1, 2) == 31 && id_at(&out, 2, 7) == PAD);
    CHECK_EQ_INT(out_lm.segments, 5);
    for (int k = 0; k < 5; k++) CHECK_EQ_INT(out_lm.segment_example_index[k], 100 + k);
    CHECK_MSG(shard_lm_check("p.h5", &out, &out_lm, VOCAB, &err) == FT_OK, "%s", err.msg);
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    /* A dropped example leaves no trace: [3 4] [6 2]. */
    keep[2] = false;
    CHECK(shard_lm_pack(&ex, &lm, keep, true, PAD, &out, &out_lm, &err) == FT_OK);
    CHECK_EQ_INT(out.rows, 2);
    check_row(out.lengths, (const int32_t[]){7, 8}, 2, "lengths (dropped)");
    CHECK(out.example_index[1] == 103);
    CHECK(out_lm.segments == 4 && out_lm.segment_example_index[2] == 103 &&
          out_lm.segment_example_index[3] == 104);
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    /* Unpacked: one kept example per row, no segment or position ids. */
    CHECK(shard_lm_pack(&ex, &lm, keep, false, PAD, &out, &out_lm, &err) == FT_OK);
    CHECK_EQ_INT(out.rows, 4);
    check_row(out.lengths, (const int32_t[]){3, 4, 6, 2}, 4, "lengths (unpacked)");
    CHECK(!out_lm.position_ids && !out_lm.segment_ids && !out.labels);
    CHECK(out.example_index[2] == 103 && id_at(&out, 2, 0) == 31);
    CHECK_MSG(shard_lm_check("u.h5", &out, &out_lm, VOCAB, &err) == FT_OK, "%s", err.msg);
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    shard_rows_free(&ex);
    shard_lm_free(&lm);
}

/* A packed file (rows of test_packing) under name, for the file tests. */
static char *write_packed(const char *name, shard_rows *out, shard_lm *out_lm)
{
    const int32_t n[] = {3, 4, 2, 6, 2};
    shard_rows ex;
    shard_lm lm;
    ft_error err = {0};
    make_examples(n, 5, &ex, &lm);
    bool keep[] = {true, true, true, true, true};
    CHECK(shard_lm_pack(&ex, &lm, keep, true, PAD, out, out_lm, &err) == FT_OK);
    shard_meta meta = {"train", 0, 1, L, PAD, VOCAB, "byte_bpe", "0123456789abcdef", 0, NULL, 7};
    char *path = ft_path_join(work, name);
    unlink(path);
    CHECK_MSG(shard_write_lm_file(path, &meta, out, out_lm, &err) == FT_OK, "%s", err.msg);
    shard_rows_free(&ex);
    shard_lm_free(&lm);
    return path;
}

static void test_file_round_trip(void)
{
    shard_rows out, back;
    shard_lm out_lm, back_lm;
    ft_error err = {0};
    char *path = write_packed("lm.h5", &out, &out_lm);
    shard_expect want = {3, L, 0, VOCAB, SHARD_TASK_CAUSAL_LM, true};
    CHECK_MSG(shard_read_lm(path, true, &want, &back, &back_lm, &err) == FT_OK, "%s", err.msg);
    CHECK(back.rows == 3 && back_lm.packed && !back.labels);
    CHECK(!memcmp(back.input_ids, out.input_ids, 3 * L * 2));
    CHECK(!memcmp(back_lm.labels, out_lm.labels, 3 * L * 4));
    CHECK(!memcmp(back_lm.position_ids, out_lm.position_ids, 3 * L * 4));
    CHECK(!memcmp(back_lm.segment_ids, out_lm.segment_ids, 3 * L * 4));
    CHECK(!memcmp(back.example_index, out.example_index, 3 * 8));
    CHECK(back_lm.segments == 5 &&
          !memcmp(back_lm.segment_example_index, out_lm.segment_example_index, 5 * 8));
    shard_rows_free(&back);
    shard_lm_free(&back_lm);
    /* The classification reader refuses it, naming the task; and the reverse. */
    CHECK(shard_read_file(path, true, &back, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "a causal_lm shard");
    want.packed = false;
    CHECK(shard_read_lm(path, true, &want, &back, &back_lm, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "packed");
    /* Equal content, equal bytes. */
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    char *again = write_packed("lm2.h5", &out, &out_lm);
    uint32_t c1 = 0, c2 = 1;
    uint64_t b1 = 0, b2 = 0;
    CHECK(shard_file_crc32(path, &c1, &b1, &err) == FT_OK &&
          shard_file_crc32(again, &c2, &b2, &err) == FT_OK);
    CHECK(c1 == c2 && b1 == b2);
    free(again);
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    free(path);
}

/* Each rule of shard_lm_check broken once, on rows of test_packing. */
static void test_validator(void)
{
    shard_rows out;
    shard_lm lm;
    ft_error err = {0};
    char *path = write_packed("v.h5", &out, &lm);
    struct {
        int32_t *col;
        int at;
        int32_t value;
        const char *says;
    } cases[] = {
        {lm.labels, 1, 77, "the token's own id"},
        {lm.labels, 1, VOCAB, "token id of the vocabulary"},
        {lm.labels, 1, -5, "token id of the vocabulary"},
        {lm.labels, 7, 0, "padding must have label -100"},
        {lm.labels, 0, 1, "first token"},
        {lm.labels, 3, 11, "first token of a segment"},
        {lm.segment_ids, 3, 3, "segment ids"},
        {lm.segment_ids, 7, 1, "padding"},
        {lm.position_ids, 3, 3, "position ids must restart"},
        {lm.position_ids, 2, 5, "count up by one"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int32_t keep = cases[k].col[cases[k].at];
        cases[k].col[cases[k].at] = cases[k].value;
        CHECK_MSG(shard_lm_check("f.h5", &out, &lm, VOCAB, &err) == FT_EFORMAT, "case %zu passed",
                  k);
        CHECK_STR_CONTAINS(err.msg, cases[k].says);
        CHECK_STR_CONTAINS(err.msg, "f.h5: row 0, position");
        cases[k].col[cases[k].at] = keep;
    }
    CHECK(shard_lm_check("f.h5", &out, &lm, VOCAB, &err) == FT_OK);
    lm.segment_example_index[2] = 7; /* row 1's first segment */
    CHECK(shard_lm_check("f.h5", &out, &lm, VOCAB, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(
        err.msg, "f.h5: row 1: segment_example_index[2] is 7, not the row's example_index 102");
    lm.segment_example_index[2] = 102;
    lm.segments = 4;
    CHECK(shard_lm_check("f.h5", &out, &lm, VOCAB, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "5 segments in the rows, but segment_example_index holds 4");
    lm.segments = 5;
    shard_rows_free(&out);
    shard_lm_free(&lm);
    free(path);
}

static shard_manifest lm_manifest(shard_manifest_file *file)
{
    shard_manifest m = {0};
    snprintf(m.tokenizer_kind, sizeof m.tokenizer_kind, "byte_bpe");
    snprintf(m.tokenizer_fingerprint, sizeof m.tokenizer_fingerprint, "0123456789abcdef");
    m.tokenizer_path = "models/x";
    m.vocab_size = VOCAB;
    m.pad_id = PAD;
    m.max_length = L;
    m.n_sources = 1;
    m.sources[0] = (shard_manifest_source){"input", "in.jsonl", "jsonl", "prompt", "completion",
                                           10,      1,          5,       0xabc};
    m.seed = 7;
    m.fractions[0] = 1;
    m.split_rows[0] = 3;
    m.split_examples[0] = 5;
    m.split_truncated[0] = 1;
    m.split_dropped[0] = 2;
    m.n_files = 1;
    m.files = file;
    m.task = SHARD_TASK_CAUSAL_LM;
    snprintf(m.lm_mode, sizeof m.lm_mode, "prompt_completion");
    m.completion_only_loss = m.packed = true;
    m.eos_id = EOS;
    m.truncation = SHARD_TRUNCATE_RIGHT;
    return m;
}

static void write_text(const char *dir, const char *text)
{
    ft_error err = {0};
    char *p = ft_path_join(dir, "manifest.json");
    CHECK(ft_write_file_atomic(p, text, strlen(text), true, &err) == FT_OK);
    free(p);
}

/* Replace the first `from` of text with `to` (one edit of a good manifest). */
static char *edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    CHECK_MSG(at != NULL, "no '%s' to edit", from);
    if (!at) return strdup(text);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = calloc(n + 1, 1);
    memcpy(out, text, (size_t)(at - text));
    strcat(out, to);
    strcat(out, at + strlen(from));
    return out;
}

static void test_manifest(void)
{
    shard_manifest_file file = {"train-00000-of-00001.h5", SHARD_TRAIN, 3, 4096, 0x1234};
    shard_manifest m = lm_manifest(&file), back;
    char *text = shard_manifest_to_json(&m);
    CHECK(text && strstr(text, "\"task\":\t\"causal_lm\"") && !strstr(text, "\"labels\"") &&
          strstr(text, "\"prompt_field\":\t\"prompt\"") && strstr(text, "\"dropped\":\t2"));
    char dir[300];
    snprintf(dir, sizeof dir, "%s/man", work);
    ft_error err = {0};
    CHECK(ft_mkdir_p(dir, &err) == FT_OK);
    write_text(dir, text);
    CHECK_MSG(shard_manifest_read(dir, &back, &err) == FT_OK, "%s", err.msg);
    CHECK(back.task == SHARD_TASK_CAUSAL_LM && back.n_labels == 0 && back.packed &&
          back.completion_only_loss);
    CHECK(back.eos_id == EOS && back.truncation == SHARD_TRUNCATE_RIGHT &&
          !strcmp(back.lm_mode, "prompt_completion"));
    CHECK(back.split_rows[0] == 3 && back.split_examples[0] == 5 && back.split_dropped[0] == 2);
    CHECK(!strcmp(back.sources[0].text_field, "prompt") &&
          !strcmp(back.sources[0].label_field, "completion"));
    char *again = shard_manifest_to_json(&back);
    CHECK(again && !strcmp(again, text));
    free(again);
    shard_manifest_free(&back);
    struct {
        const char *from, *to, *says;
    } bad[] = {
        {"\"causal_lm\"", "\"regression\"", "key 'task'"},
        {"\"examples\":\t5", "\"examples\":\t2", "'examples'"},
        {"\"truncation\":\t\"right\"", "\"truncation\":\t\"left\"", "key 'lm.truncation'"},
        {"\"mode\":\t\"prompt_completion\"", "\"mode\":\t\"chat\"", "key 'lm.mode'"},
        {"\"packing\":\ttrue", "\"packing\":\t1", "key 'lm.packing'"},
        {"\"eos_id\":\t99", "\"eos_id\":\t100", "key 'lm.eos_id'"},
        {"\"truncated\":\t1", "\"truncated\":\t6", "truncated"},
        {"\"completion_field\"", "\"label_field\"", "completion_field"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *t = edit(text, bad[k].from, bad[k].to);
        write_text(dir, t);
        CHECK_MSG(shard_manifest_read(dir, &back, &err) == FT_EFORMAT, "case %zu read", k);
        CHECK_STR_CONTAINS(err.msg, bad[k].says);
        free(t);
    }
    free(text);
}

static void test_batch(void)
{
    shard_rows out;
    shard_lm lm;
    shard_batch b;
    ft_error err = {0};
    char *path = write_packed("b.h5", &out, &lm);
    CHECK(shard_batch_init_lm(&b, 4, L, true, &err) == FT_OK);
    b.t = L;
    shard_batch_put_lm(&b, &out, &lm, 1);
    CHECK(b.n == 1 && b.lengths[0] == 8 && b.example_index[0] == 102);
    check_row(b.token_labels, lm.labels + L, L, "batch labels");
    check_row(b.position_ids, (const int32_t[]){0, 1, 0, 1, 2, 3, 4, 5}, L, "batch positions");
    check_row(b.segment_ids, (const int32_t[]){1, 1, 2, 2, 2, 2, 2, 2}, L, "batch segments");
    CHECK(b.ids[2] == 31);
    shard_batch_free(&b);
    shard_batch_free(&b); /* twice: a no-op */
    shard_rows_free(&out);
    shard_lm_free(&lm);
    free(path);
}

/* A packed split of two files through the one reader: the whole split in
 * memory and a cursor across the file boundary; a classification reader
 * and a classification batch refused. */
static void test_reader(void)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/split", work);
    ft_error err = {0};
    CHECK(ft_mkdir_p(dir, &err) == FT_OK);
    shard_manifest_file files[2] = {{"train-00000-of-00002.h5", SHARD_TRAIN, 3, 0, 0},
                                    {"train-00001-of-00002.h5", SHARD_TRAIN, 3, 0, 0}};
    shard_rows rows;
    shard_lm lm;
    for (int f = 0; f < 2; f++) {
        char name[320];
        snprintf(name, sizeof name, "split/%s", files[f].name);
        char *path = write_packed(name, &rows, &lm);
        CHECK(shard_file_crc32(path, &files[f].crc32, &files[f].bytes, &err) == FT_OK);
        free(path);
        if (f == 0) {
            shard_rows_free(&rows);
            shard_lm_free(&lm);
            continue;
        }
        shard_manifest m = lm_manifest(files);
        m.n_files = 2;
        m.split_rows[0] = 6;
        m.split_examples[0] = 10;
        char *text = shard_manifest_to_json(&m);
        write_text(dir, text);
        free(text);
    }
    shard_manifest man;
    shard_reader r;
    CHECK_MSG(shard_manifest_read(dir, &man, &err) == FT_OK, "%s", err.msg);
    CHECK_MSG(shard_reader_open(dir, &man, SHARD_TRAIN, &r, &err) == FT_OK, "%s", err.msg);
    shard_rows all;
    shard_lm all_lm;
    CHECK_MSG(shard_reader_load_all_lm(&r, &all, &all_lm, &err) == FT_OK, "%s", err.msg);
    CHECK(all.rows == 6 && all.lengths[3] == 7 && all.lengths[5] == 2 && !all.labels);
    CHECK(!memcmp(all_lm.labels + 3 * L, lm.labels, 3 * L * 4));
    CHECK(!memcmp(all_lm.position_ids + 3 * L, lm.position_ids, 3 * L * 4));
    CHECK(((int32_t *)all.input_ids)[4 * L + 2] == 31);
    shard_rows_free(&all);
    shard_lm_free(&all_lm);
    CHECK(shard_reader_load_all(&r, &all, &err) == FT_EFORMAT);
    CHECK_STR_CONTAINS(
        err.msg,
        "a causal_lm shard (attribute 'task'), but this reader reads sequence_classification");
    shard_batch b;
    shard_cursor c;
    CHECK(shard_batch_init(&b, 4, L, &err) == FT_OK);
    shard_cursor_init(&c, &r, 1, 5);
    CHECK(shard_cursor_next(&c, &b, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "shard_batch_init_lm");
    shard_batch_free(&b);
    CHECK(shard_batch_init_lm(&b, 4, L, true, &err) == FT_OK);
    CHECK_MSG(shard_cursor_next(&c, &b, &err) == FT_OK, "%s", err.msg);
    CHECK(b.n == 4 && b.example_index[0] == 102 && b.example_index[2] == 100 && b.lengths[3] == 8);
    check_row(b.segment_ids + 2 * L, lm.segment_ids, L, "cursor segments (second file)");
    check_row(b.token_labels + 3 * L, lm.labels + L, L, "cursor labels (second file)");
    shard_cursor_free(&c);
    shard_batch_free(&b);
    shard_reader_close(&r);
    shard_manifest_free(&man);
    shard_rows_free(&rows);
    shard_lm_free(&lm);
}

static void test_names(void)
{
    CHECK(shard_task_of_name("causal_lm") == SHARD_TASK_CAUSAL_LM);
    CHECK(shard_task_of_name("sequence_classification") == SHARD_TASK_CLASSIFICATION);
    CHECK(shard_task_of_name("lm") == -1 && shard_task_of_name(NULL) == -1);
    CHECK(shard_truncation_of_name(shard_truncation_name(SHARD_TRUNCATE_RIGHT)) ==
          SHARD_TRUNCATE_RIGHT);
    CHECK(shard_truncation_of_name("left") == -1);
}

int main(void)
{
    snprintf(work, sizeof work, "%s/test_shard_lm.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(work)) return 1;
    test_example_rules();
    test_truncation();
    test_packing();
    test_file_round_trip();
    test_validator();
    test_manifest();
    test_batch();
    test_reader();
    test_names();
    ft_remove_tree(work, NULL);
    return check_finish();
}
