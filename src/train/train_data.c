/* train_data.c: a split of a prepared dataset in memory, and micro-batches
 * cut from it. Every rank holds the whole split because the sampler may
 * hand any row to any rank (ids widened to int32: 4 bytes a token; a
 * 100k x 512 split takes 200 MB per rank). A micro-batch is as long as its
 * longest row, so short texts cost less; the choice depends only on the
 * rows, so it is the same in a resumed run.
 * Each file is checked as ftune-eval checks it (crc32 against the manifest,
 * row count, max_length) and every token id against the model's vocabulary
 * when it is loaded, before the first step: every rank loads the same rows,
 * so every rank finds the same bad row and the set-up's comm_agree stops all
 * of them with a message naming the file and the row. A bad id that reached
 * model_forward instead would fail only on the rank whose batch holds it,
 * in the middle of training. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ft_fs.h"
#include "train_impl.h"

void train_split_free(train_split *s)
{
    if (!s) return;
    free(s->ids);
    free(s->lengths);
    free(s->labels);
    free(s->example_index);
    memset(s, 0, sizeof *s);
}

static ft_status split_alloc(train_split *s, uint64_t rows, int32_t max_length, ft_error *err)
{
    s->rows = rows;
    s->max_length = max_length;
    s->ids = ft_malloc_array(rows ? rows : 1, (size_t)max_length * sizeof(int32_t));
    s->lengths = ft_malloc_array(rows ? rows : 1, sizeof(int32_t));
    s->labels = ft_malloc_array(rows ? rows : 1, sizeof(int32_t));
    s->example_index = ft_malloc_array(rows ? rows : 1, sizeof(int64_t));
    if (!s->ids || !s->lengths || !s->labels || !s->example_index)
        return ft_fail(err, FT_ENOMEM, "out of memory for %llu rows of %d tokens",
                       (unsigned long long)rows, max_length);
    return FT_OK;
}

/* The file's ids widened to int32 into dst; an id outside [0, vocab_size)
 * fails naming the file's row and position. The copy loop only ORs one
 * unsigned compare per token (it still vectorizes); the search for the
 * first bad id runs only when there is one. */
static ft_status copy_ids(int32_t *dst, const shard_rows *r, int32_t vocab_size, const char *path,
                          ft_error *err)
{
    size_t n = (size_t)r->rows * (size_t)r->max_length;
    uint32_t vocab = (uint32_t)vocab_size;
    bool bad = false;
    if (r->wide_ids) {
        const int32_t *src = r->input_ids;
        for (size_t i = 0; i < n; i++) {
            dst[i] = src[i];
            bad |= (uint32_t)src[i] >= vocab; /* a negative id is a huge unsigned one */
        }
    } else {
        const uint16_t *src = r->input_ids;
        for (size_t i = 0; i < n; i++) {
            dst[i] = src[i];
            bad |= src[i] >= vocab;
        }
    }
    if (!bad) return FT_OK;
    size_t i = 0;
    while ((uint32_t)dst[i] < vocab) i++;
    return ft_fail(err, FT_EFORMAT, "%s: row %zu, position %zu: token id %" PRId32 " not in "
                   "the model's vocabulary [0, %" PRId32 "): the file is damaged or was made "
                   "with another tokenizer", path, i / (size_t)r->max_length,
                   i % (size_t)r->max_length, dst[i], vocab_size);
}


/* Append the rows of one file at row `at`. */
static ft_status append_file(train_split *s, uint64_t at, const char *path,
                             const shard_manifest_file *mf, int32_t vocab_size, ft_error *err)
{
    shard_rows r;
    /* The file's bytes against the manifest, as ftune-eval checks them: one
     * more read (page cache) once per run, about 0.3 s per GB. */
    ft_status st = shard_file_check_crc32(path, mf->crc32, err);
    if (st == FT_OK) st = shard_read_file(path, true, &r, err);
    if (st != FT_OK) return st;
    if (r.rows != mf->rows || r.max_length != s->max_length)
        st = ft_fail(err, FT_EFORMAT, "%s: %llu rows of %d tokens, the manifest says %llu of %d",
                     path, (unsigned long long)r.rows, r.max_length,
                     (unsigned long long)mf->rows, s->max_length);
    if (st == FT_OK) st = copy_ids(s->ids + at * (uint64_t)s->max_length, &r, vocab_size, path, err);
    if (st == FT_OK) {
        memcpy(s->lengths + at, r.lengths, r.rows * sizeof(int32_t));
        memcpy(s->labels + at, r.labels, r.rows * sizeof(int32_t));
        memcpy(s->example_index + at, r.example_index, r.rows * sizeof(int64_t));
    }
    shard_rows_free(&r);
    return st;
}

ft_status train_split_load(const char *data_dir, const shard_manifest *man, int split,
                           int32_t vocab_size, train_split *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t rows = 0;
    for (int i = 0; i < man->n_files; i++)
        if (man->files[i].split == split) rows += man->files[i].rows;
    ft_status st = split_alloc(out, rows, man->max_length, err);
    uint64_t at = 0;
    for (int i = 0; st == FT_OK && i < man->n_files; i++) {
        if (man->files[i].split != split) continue;
        char *path = ft_path_join(data_dir, man->files[i].name);
        if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
        st = append_file(out, at, path, &man->files[i], vocab_size, err);
        at += man->files[i].rows;
        free(path);
    }
    for (uint64_t i = 0; st == FT_OK && i < rows; i++)
        if (out->lengths[i] < 1 || out->lengths[i] > out->max_length || out->labels[i] < 0 ||
            out->labels[i] >= man->n_labels)
            st = ft_fail(err, FT_EFORMAT, "%s: %s row %llu: length %d or label %d out of range",
                         data_dir, shard_split_name(split), (unsigned long long)i,
                         out->lengths[i], out->labels[i]);
    if (st != FT_OK) train_split_free(out);
    return st;
}

ft_status train_batch_init(train_batch *b, int cap_b, int32_t max_length, ft_error *err)
{
    memset(b, 0, sizeof *b);
    b->cap_b = cap_b;
    b->ids = ft_malloc_array((size_t)cap_b, (size_t)max_length * sizeof(int32_t));
    b->lengths = ft_malloc_array((size_t)cap_b, sizeof(int32_t));
    b->labels = ft_malloc_array((size_t)cap_b, sizeof(int32_t));
    b->example_index = ft_malloc_array((size_t)cap_b, sizeof(int64_t));
    if (!b->ids || !b->lengths || !b->labels || !b->example_index)
        return ft_fail(err, FT_ENOMEM, "out of memory for a batch of %d", cap_b);
    return FT_OK;
}

void train_batch_fill(train_batch *b, const train_split *s, const uint64_t *idx, int n)
{
    int t = 1;
    b->tokens = 0;
    for (int i = 0; i < n; i++) {
        int32_t len = s->lengths[idx[i]];
        if (len > t) t = len;
        b->tokens += len;
    }
    for (int i = 0; i < n; i++) {
        memcpy(b->ids + (size_t)i * (size_t)t, s->ids + idx[i] * (uint64_t)s->max_length,
               (size_t)t * sizeof(int32_t));
        b->lengths[i] = s->lengths[idx[i]];
        b->labels[i] = s->labels[idx[i]];
        b->example_index[i] = s->example_index[idx[i]];
    }
    b->mb = (model_batch){.b = n, .t = t, .input_ids = b->ids, .lengths = b->lengths,
                          .labels = b->labels, .example_index = b->example_index};
}

void train_batch_free(train_batch *b)
{
    if (!b) return;
    free(b->ids);
    free(b->lengths);
    free(b->labels);
    free(b->example_index);
}
