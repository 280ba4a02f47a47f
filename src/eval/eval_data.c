/* eval_data: the rows of one split of a prepared dataset, read in order.
 *
 * The split is the concatenation of its shard files in shard order
 * (SPLIT-00000-of-N, SPLIT-00001-of-N, ...); a row's position in that
 * concatenation is its split row, the unit eval_slice cuts. A cursor walks
 * a range of split rows holding one file in memory at a time, and checks
 * each file against the manifest (row count, crc32, max_length, labels)
 * when it loads it, so a damaged or swapped shard is an error naming it,
 * not a silently wrong metric. Not here: MPI, the model. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "eval_impl.h"
#include "ft_alloc.h"
#include "ft_fs.h"

ft_status eval_manifest_fingerprint(const char *data_dir, char *buf, ft_error *err)
{
    char *path = ft_path_join(data_dir, "manifest.json"), *text = NULL;
    size_t len = 0;
    ft_status st = path ? ft_read_file(path, &text, &len, err)
                        : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) {
        uLong crc = crc32(0L, Z_NULL, 0);
        size_t done = 0;
        while (done < len) { /* crc32 takes uInt lengths */
            uInt piece = len - done > (1u << 30) ? (1u << 30) : (uInt)(len - done);
            crc = crc32(crc, (const Bytef *)text + done, piece);
            done += piece;
        }
        snprintf(buf, 16, "crc32:%08lx", (unsigned long)crc);
    }
    free(text);
    free(path);
    return st;
}

static int split_of_name(const char *name)
{
    if (!name || !strcmp(name, "test")) return SHARD_TEST;
    if (!strcmp(name, "validation")) return SHARD_VALIDATION;
    if (!strcmp(name, "train")) return SHARD_TRAIN;
    return -1;
}

static int compare_files(const void *a, const void *b)
{
    const shard_manifest_file *x = *(const shard_manifest_file *const *)a;
    const shard_manifest_file *y = *(const shard_manifest_file *const *)b;
    return strcmp(x->name, y->name);
}

/* The split's files in shard order, with their row ranges. */
static ft_status collect_files(const char *dir, eval_split *s, ft_error *err)
{
    const shard_manifest *m = &s->manifest;
    const shard_manifest_file **mine = ft_calloc_array((size_t)m->n_files + 1, sizeof *mine);
    if (!mine) return ft_fail(err, FT_ENOMEM, "out of memory");
    for (int i = 0; i < m->n_files; i++)
        if (m->files[i].split == s->split) mine[s->n_files++] = &m->files[i];
    qsort(mine, (size_t)s->n_files, sizeof *mine, compare_files);
    size_t n = (size_t)s->n_files;
    s->paths = ft_calloc_array(n + 1, sizeof *s->paths);
    s->expected_rows = ft_calloc_array(n + 1, sizeof *s->expected_rows);
    s->expected_crc = ft_calloc_array(n + 1, sizeof *s->expected_crc);
    s->first_row = ft_calloc_array(n + 1, sizeof *s->first_row);
    ft_status st = s->paths && s->expected_rows && s->expected_crc && s->first_row
                       ? FT_OK : ft_fail(err, FT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && st == FT_OK; i++) {
        s->paths[i] = ft_path_join(dir, mine[i]->name);
        if (!s->paths[i]) st = ft_fail(err, FT_ENOMEM, "out of memory");
        s->expected_rows[i] = mine[i]->rows;
        s->expected_crc[i] = mine[i]->crc32;
        s->first_row[i + 1] = s->first_row[i] + (int64_t)mine[i]->rows;
    }
    if (st == FT_OK) s->rows = s->first_row[n];
    free(mine);
    return st;
}

ft_status eval_split_open(const char *data_dir, const char *split_name,
                          eval_split *s, ft_error *err)
{
    memset(s, 0, sizeof *s);
    s->split = split_of_name(split_name);
    if (s->split < 0)
        return ft_fail(err, FT_EINVAL, "--split: expected test or validation (or train), "
                       "got \"%s\"", split_name);
    ft_status st = shard_manifest_read(data_dir, &s->manifest, err);
    if (st != FT_OK) return st;
    st = eval_manifest_fingerprint(data_dir, s->fingerprint, err);
    if (st == FT_OK) st = collect_files(data_dir, s, err);
    if (st == FT_OK && s->rows == 0)
        st = ft_fail(err, FT_EINVAL, "%s/manifest.json: the %s split has no rows "
                     "(prepare the dataset with a %s fraction above 0)", data_dir,
                     shard_split_name(s->split), shard_split_name(s->split));
    if (st == FT_OK && s->manifest.n_labels < 2)
        st = ft_fail(err, FT_EINVAL, "%s/manifest.json: %d label(s); a classifier needs "
                     "at least 2", data_dir, s->manifest.n_labels);
    if (st != FT_OK) eval_split_free(s);
    return st;
}

void eval_split_free(eval_split *s)
{
    if (!s) return;
    for (int i = 0; s->paths && i < s->n_files; i++) free(s->paths[i]);
    free(s->paths);
    free(s->expected_rows);
    free(s->expected_crc);
    free(s->first_row);
    shard_manifest_free(&s->manifest);
    memset(s, 0, sizeof *s);
}

/* Check a loaded file against the manifest. */
static ft_status check_rows(const eval_split *s, int file, const shard_rows *r,
                            ft_error *err)
{
    const char *path = s->paths[file];
    const shard_manifest *m = &s->manifest;
    if (r->rows != s->expected_rows[file])
        return ft_fail(err, FT_EFORMAT, "%s: %" PRIu64 " rows, but manifest.json says %"
                       PRIu64, path, r->rows, s->expected_rows[file]);
    if (r->input_ids && r->max_length != m->max_length)
        return ft_fail(err, FT_EFORMAT, "%s: max_length %d, but manifest.json says %d",
                       path, (int)r->max_length, (int)m->max_length);
    for (uint64_t i = 0; i < r->rows; i++) {
        if (r->labels[i] < 0 || r->labels[i] >= m->n_labels)
            return ft_fail(err, FT_EFORMAT, "%s: row %" PRIu64 ": label %d not in [0, %d)",
                           path, i, (int)r->labels[i], m->n_labels);
        if (r->input_ids && (r->lengths[i] < 1 || r->lengths[i] > r->max_length))
            return ft_fail(err, FT_EFORMAT, "%s: row %" PRIu64 ": length %d not in [1, %d]",
                           path, i, (int)r->lengths[i], (int)r->max_length);
    }
    return FT_OK;
}

ft_status eval_split_read_file(const eval_split *s, int file, bool with_ids,
                               shard_rows *rows, ft_error *err)
{
    const char *path = s->paths[file];
    ft_status st = shard_file_check_crc32(path, s->expected_crc[file], err);
    if (st != FT_OK) return st;
    st = shard_read_file(path, with_ids, rows, err);
    if (st != FT_OK) return st;
    st = check_rows(s, file, rows, err);
    if (st != FT_OK) shard_rows_free(rows);
    return st;
}

ft_status eval_batch_alloc(eval_batch *b, int cap, int t, ft_error *err)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->t = t;
    b->ids = ft_malloc_array((size_t)cap * (size_t)t, sizeof(int32_t));
    b->lengths = ft_malloc_array((size_t)cap, sizeof(int32_t));
    b->labels = ft_malloc_array((size_t)cap, sizeof(int32_t));
    b->example_index = ft_malloc_array((size_t)cap, sizeof(int64_t));
    if (b->ids && b->lengths && b->labels && b->example_index) return FT_OK;
    eval_batch_free(b);
    return ft_fail(err, FT_ENOMEM, "out of memory for a batch of %d x %d tokens", cap, t);
}

void eval_batch_free(eval_batch *b)
{
    free(b->ids);
    free(b->lengths);
    free(b->labels);
    free(b->example_index);
    memset(b, 0, sizeof *b);
}

void eval_cursor_init(eval_cursor *c, const eval_split *s, int64_t begin, int64_t end)
{
    memset(c, 0, sizeof *c);
    c->s = s;
    c->next = begin;
    c->end = end;
    c->file = -1;
}

void eval_cursor_free(eval_cursor *c)
{
    if (c->file >= 0) shard_rows_free(&c->rows);
    c->file = -1;
}

/* The file that holds split row `row`. */
static int file_of_row(const eval_split *s, int64_t row)
{
    int lo = 0, hi = s->n_files - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (s->first_row[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static void copy_row(const shard_rows *r, uint64_t i, eval_batch *b)
{
    int t = b->t, k = b->n;
    int32_t *dst = b->ids + (size_t)k * t;
    if (r->wide_ids) {
        memcpy(dst, (const int32_t *)r->input_ids + i * (uint64_t)t, (size_t)t * sizeof *dst);
    } else {
        const uint16_t *src = (const uint16_t *)r->input_ids + i * (uint64_t)t;
        for (int j = 0; j < t; j++) dst[j] = src[j];
    }
    b->lengths[k] = r->lengths[i];
    b->labels[k] = r->labels[i];
    b->example_index[k] = r->example_index[i];
    b->n++;
}

ft_status eval_cursor_next(eval_cursor *c, eval_batch *b, ft_error *err)
{
    while (b->n < b->cap && c->next < c->end) {
        int f = file_of_row(c->s, c->next);
        if (f != c->file) {
            eval_cursor_free(c);
            ft_status st = eval_split_read_file(c->s, f, true, &c->rows, err);
            if (st != FT_OK) return st;
            c->file = f;
        }
        copy_row(&c->rows, (uint64_t)(c->next - c->s->first_row[f]), b);
        c->next++;
    }
    return FT_OK;
}
