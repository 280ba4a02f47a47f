/* shard_split: one split of a prepared dataset, read file by file (see
 * shard.h). The one reader of train, eval and predict's data: train holds a
 * whole split in memory (shard_reader_load_all), eval streams it
 * (shard_cursor, shard_batch.c); both get the same checks, from the same
 * code, when a file is loaded: its size and crc32 against the manifest, its
 * attributes against the manifest's figures, every row by shard_rows_check.
 * A damaged or swapped file is an error naming it, never a silently wrong
 * loss or metric.
 * Also here: the data fingerprint (the crc32 of manifest.json that
 * checkpoints record) and the one cut of a split across ranks.
 * Not here: MPI (the callers agree on statuses), the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "shard/shard.h"

ft_status shard_manifest_fingerprint(const char *dir, char buf[SHARD_FINGERPRINT_BYTES],
                                     ft_error *err)
{
    char *path = ft_path_join(dir, "manifest.json"), *text = NULL;
    size_t len = 0;
    ft_status st =
        path ? ft_read_file(path, &text, &len, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) /* crc32_z: a size_t length, the same value as crc32 below 4 GiB */
        snprintf(buf, SHARD_FINGERPRINT_BYTES, "crc32:%08lx",
                 (unsigned long)crc32_z(0L, (const Bytef *)text, len));
    free(text);
    free(path);
    return st;
}

int shard_split_of_name(const char *name)
{
    for (int s = 0; name && s < SHARD_N_SPLITS; s++)
        if (!strcmp(name, shard_split_name(s))) return s;
    return -1;
}

void shard_slice(uint64_t n, int rank, int size, uint64_t *begin, uint64_t *end)
{
    uint64_t base = n / (uint64_t)size, extra = n % (uint64_t)size, r = (uint64_t)rank;
    *begin = r * base + (r < extra ? r : extra);
    *end = *begin + base + (r < extra ? 1 : 0);
}

static int compare_files(const void *a, const void *b)
{
    const shard_manifest_file *x = *(const shard_manifest_file *const *)a;
    const shard_manifest_file *y = *(const shard_manifest_file *const *)b;
    return strcmp(x->name, y->name);
}

ft_status shard_reader_open(const char *dir, const shard_manifest *man, int split, shard_reader *r,
                            ft_error *err)
{
    memset(r, 0, sizeof *r);
    r->man = man;
    r->split = split;
    size_t n = (size_t)man->n_files;
    r->files = ft_calloc_array(n + 1, sizeof *r->files);
    r->paths = ft_calloc_array(n + 1, sizeof *r->paths);
    r->first_row = ft_calloc_array(n + 1, sizeof *r->first_row);
    ft_status st =
        r->files && r->paths && r->first_row ? FT_OK : ft_fail(err, FT_ENOMEM, "out of memory");
    for (int i = 0; st == FT_OK && i < man->n_files; i++)
        if (man->files[i].split == split) r->files[r->n_files++] = &man->files[i];
    /* Shard order (names are zero-padded), whatever order the manifest lists. */
    if (st == FT_OK) qsort(r->files, (size_t)r->n_files, sizeof *r->files, compare_files);
    for (int i = 0; st == FT_OK && i < r->n_files; i++) {
        r->paths[i] = ft_path_join(dir, r->files[i]->name);
        if (!r->paths[i]) st = ft_fail(err, FT_ENOMEM, "out of memory");
        r->first_row[i + 1] = r->first_row[i] + r->files[i]->rows;
    }
    if (st == FT_OK) r->rows = r->first_row[r->n_files];
    if (st != FT_OK) shard_reader_close(r);
    return st;
}

void shard_reader_close(shard_reader *r)
{
    if (!r) return;
    for (int i = 0; r->paths && i < r->n_files; i++) free(r->paths[i]);
    free(r->paths);
    free(r->files);
    free(r->first_row);
    memset(r, 0, sizeof *r);
}

static ft_status load_any(const shard_reader *r, int file, bool with_ids, shard_rows *out,
                          shard_lm *lm, ft_error *err)
{
    const char *path = r->paths[file];
    shard_expect want = {r->files[file]->rows, r->man->max_length, r->man->n_labels,
                         r->man->vocab_size,   r->man->task,       r->man->packed};
    memset(out, 0, sizeof *out);
    /* One more read of the bytes (page cache), about 0.3 s per GB. */
    ft_status st = shard_file_check(path, r->files[file], err);
    if (st != FT_OK) return st;
    return lm ? shard_read_lm(path, with_ids, &want, out, lm, err)
              : shard_read_expected(path, with_ids, &want, out, err);
}

ft_status shard_reader_load(const shard_reader *r, int file, bool with_ids, shard_rows *out,
                            ft_error *err)
{
    return load_any(r, file, with_ids, out, NULL, err);
}

ft_status shard_reader_load_lm(const shard_reader *r, int file, bool with_ids, shard_rows *out,
                               shard_lm *lm, ft_error *err)
{
    return load_any(r, file, with_ids, out, lm, err);
}

/* Rows of f appended to all at row `at`, ids widened. */
static void append_rows(shard_rows *all, uint64_t at, const shard_rows *f)
{
    int32_t *ids = all->input_ids;
    for (uint64_t i = 0; i < f->rows; i++)
        shard_rows_copy_ids(f, i, f->max_length, ids + (at + i) * (uint64_t)all->max_length);
    memcpy(all->lengths + at, f->lengths, f->rows * sizeof(int32_t));
    memcpy(all->labels + at, f->labels, f->rows * sizeof(int32_t));
    memcpy(all->example_index + at, f->example_index, f->rows * sizeof(int64_t));
}

ft_status shard_reader_load_all(const shard_reader *r, shard_rows *out, ft_error *err)
{
    ft_status st = shard_rows_alloc(out, r->rows, r->man->max_length, true, err);
    for (int f = 0; st == FT_OK && f < r->n_files; f++) {
        shard_rows rows;
        st = shard_reader_load(r, f, true, &rows, err);
        if (st == FT_OK) append_rows(out, r->first_row[f], &rows);
        shard_rows_free(&rows);
    }
    if (st != FT_OK) shard_rows_free(out);
    return st;
}

/* Token columns of f appended to all at row `at`. */
static void append_lm(shard_lm *all, uint64_t at, const shard_lm *f, uint64_t rows,
                      int32_t max_length)
{
    size_t n = (size_t)rows * (size_t)max_length, off = (size_t)at * (size_t)max_length;
    memcpy(all->labels + off, f->labels, n * sizeof(int32_t));
    if (!all->packed) return;
    memcpy(all->position_ids + off, f->position_ids, n * sizeof(int32_t));
    memcpy(all->segment_ids + off, f->segment_ids, n * sizeof(int32_t));
}

ft_status shard_reader_load_all_lm(const shard_reader *r, shard_rows *out, shard_lm *lm,
                                   ft_error *err)
{
    *lm = (shard_lm){0};
    ft_status st = shard_rows_alloc(out, r->rows, r->man->max_length, true, err);
    if (st == FT_OK) st = shard_lm_alloc(lm, r->rows, r->man->max_length, r->man->packed, err);
    if (st == FT_OK) {
        free(out->labels); /* no class labels */
        out->labels = NULL;
    }
    for (int f = 0; st == FT_OK && f < r->n_files; f++) {
        shard_rows rows;
        shard_lm flm;
        st = shard_reader_load_lm(r, f, true, &rows, &flm, err);
        if (st == FT_OK) {
            for (uint64_t i = 0; i < rows.rows; i++)
                shard_rows_copy_ids(&rows, i, rows.max_length,
                                    (int32_t *)out->input_ids +
                                        (r->first_row[f] + i) * (uint64_t)out->max_length);
            memcpy(out->lengths + r->first_row[f], rows.lengths, rows.rows * sizeof(int32_t));
            memcpy(out->example_index + r->first_row[f], rows.example_index,
                   rows.rows * sizeof(int64_t));
            append_lm(lm, r->first_row[f], &flm, rows.rows, out->max_length);
        }
        shard_rows_free(&rows);
        shard_lm_free(&flm);
    }
    if (st != FT_OK) {
        shard_rows_free(out);
        shard_lm_free(lm);
    }
    return st;
}

int shard_reader_file_of(const shard_reader *r, uint64_t row)
{
    int lo = 0, hi = r->n_files - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (r->first_row[mid] <= row)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}
