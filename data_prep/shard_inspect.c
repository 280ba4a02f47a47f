/* shard_inspect: ftune-shard --inspect DIR, what a prepared dataset holds.
 *
 * Design: everything printed is recomputed from the files themselves (rows
 * per class from the labels column, token lengths from the lengths column)
 * and checked against the manifest, and every file's size and crc32 are
 * checked, so --inspect doubles as a verification of a copied dataset.
 * Not here: anything that changes the dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "shard_prog.h"

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile q (0..100) of sorted v[0..n). */
static int32_t percentile(const int32_t *v, uint64_t n, double q)
{
    if (!n) return 0;
    uint64_t k = (uint64_t)((q / 100.0) * (double)n + 0.999999);
    return v[k ? k - 1 : 0];
}

/* The split's files through the one reader of src/shard (size, crc32,
 * attributes and every row checked against the manifest), their lengths
 * and label counts gathered. */
static ft_status read_split(const char *dir, const shard_manifest *m, int s, int32_t *lengths,
                            uint64_t *class_rows, ft_error *err)
{
    shard_reader r;
    ft_status st = shard_reader_open(dir, m, s, &r, err);
    if (st == FT_OK && r.rows != m->split_rows[s]) /* lengths holds split_rows */
        st = ft_fail(err, FT_EFORMAT,
                     "%s/manifest.json: the %s files hold %llu rows, its "
                     "split says %llu",
                     dir, shard_split_name(s), (unsigned long long)r.rows,
                     (unsigned long long)m->split_rows[s]);
    for (int f = 0; st == FT_OK && f < r.n_files; f++) {
        shard_rows rows;
        st = shard_reader_load(&r, f, false, &rows, err);
        for (uint64_t i = 0; st == FT_OK && i < rows.rows; i++) {
            class_rows[rows.labels[i]]++;
            lengths[r.first_row[f] + i] = rows.lengths[i];
        }
        shard_rows_free(&rows);
    }
    shard_reader_close(&r);
    return st;
}

static void print_split(const shard_manifest *m, int s, int32_t *lengths,
                        const uint64_t *class_rows)
{
    uint64_t n = m->split_rows[s];
    int files = 0;
    for (int f = 0; f < m->n_files; f++) files += m->files[f].split == s;
    printf("%s: %llu rows in %d file%s\n", shard_split_name(s), (unsigned long long)n, files,
           files == 1 ? "" : "s");
    for (int c = 0; c < m->n_labels; c++)
        printf("  %-24s %9llu  %5.1f%%\n", m->labels[c], (unsigned long long)class_rows[c],
               n ? 100.0 * (double)class_rows[c] / (double)n : 0.0);
    qsort(lengths, n, sizeof *lengths, cmp_i32);
    printf("  tokens per example: p50 %d  p90 %d  p95 %d  p99 %d  max %d (max_length %d)\n",
           percentile(lengths, n, 50), percentile(lengths, n, 90), percentile(lengths, n, 95),
           percentile(lengths, n, 99), n ? lengths[n - 1] : 0, m->max_length);
    printf("  truncated: %llu (%.1f%%)\n", (unsigned long long)m->split_truncated[s],
           n ? 100.0 * (double)m->split_truncated[s] / (double)n : 0.0);
}

/* Examples (segments) and trained tokens of a causal_lm file's rows. */
static void count_lm(const shard_rows *rows, const shard_lm *lm, uint64_t *examples,
                     uint64_t *trained)
{
    size_t L = (size_t)rows->max_length;
    for (uint64_t i = 0; i < rows->rows; i++) {
        *examples +=
            lm->packed ? (uint64_t)lm->segment_ids[i * L + (size_t)rows->lengths[i] - 1] : 1;
        for (size_t j = 0; j < L; j++) *trained += lm->labels[i * L + j] != SHARD_IGNORE_INDEX;
    }
}

/* A causal_lm split: every file through the one reader, rows, examples
 * (checked against the manifest), trained tokens, token percentiles. */
static ft_status inspect_lm_split(const char *dir, const shard_manifest *m, int s, ft_error *err)
{
    int32_t *lengths = ft_malloc_array(m->split_rows[s] + 1, sizeof *lengths);
    shard_reader r;
    ft_status st =
        lengths ? shard_reader_open(dir, m, s, &r, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st != FT_OK) {
        free(lengths);
        return st;
    }
    uint64_t examples = 0, trained = 0;
    for (int f = 0; st == FT_OK && f < r.n_files; f++) {
        shard_rows rows;
        shard_lm lm;
        st = shard_reader_load_lm(&r, f, true, &rows, &lm, err);
        if (st == FT_OK) {
            count_lm(&rows, &lm, &examples, &trained);
            memcpy(lengths + r.first_row[f], rows.lengths, rows.rows * sizeof *lengths);
        }
        shard_rows_free(&rows);
        shard_lm_free(&lm);
    }
    if (st == FT_OK && examples != m->split_examples[s])
        st = ft_fail(err, FT_EFORMAT, "%s: split %s holds %llu examples, the manifest says %llu",
                     dir, shard_split_name(s), (unsigned long long)examples,
                     (unsigned long long)m->split_examples[s]);
    uint64_t n = m->split_rows[s];
    if (st == FT_OK && n) {
        qsort(lengths, n, sizeof *lengths, cmp_i32);
        printf("%s: %llu rows, %llu examples in %d file%s; %llu trained tokens\n",
               shard_split_name(s), (unsigned long long)n, (unsigned long long)examples, r.n_files,
               r.n_files == 1 ? "" : "s", (unsigned long long)trained);
        printf("  tokens per row: p50 %d  p90 %d  p99 %d  max %d (max_length %d)\n",
               percentile(lengths, n, 50), percentile(lengths, n, 90), percentile(lengths, n, 99),
               lengths[n - 1], m->max_length);
        printf("  truncated: %llu, dropped (no completion token left): %llu\n",
               (unsigned long long)m->split_truncated[s], (unsigned long long)m->split_dropped[s]);
    }
    shard_reader_close(&r);
    free(lengths);
    return st;
}

static ft_status inspect_split(const char *dir, const shard_manifest *m, int s, ft_error *err)
{
    if (m->task == SHARD_TASK_CAUSAL_LM) return inspect_lm_split(dir, m, s, err);
    int32_t *lengths = ft_malloc_array(m->split_rows[s] + 1, sizeof *lengths);
    uint64_t *class_rows = ft_calloc_array((size_t)m->n_labels, sizeof *class_rows);
    ft_status st = lengths && class_rows ? FT_OK : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = read_split(dir, m, s, lengths, class_rows, err);
    for (int c = 0; st == FT_OK && c < m->n_labels; c++)
        if (class_rows[c] != m->class_rows[s][c])
            st = ft_fail(err, FT_EFORMAT,
                         "%s: split %s has %llu rows of label '%s', the manifest says %llu", dir,
                         shard_split_name(s), (unsigned long long)class_rows[c], m->labels[c],
                         (unsigned long long)m->class_rows[s][c]);
    if (st == FT_OK && m->split_rows[s]) print_split(m, s, lengths, class_rows);
    free(lengths);
    free(class_rows);
    return st;
}

ft_status shard_inspect(const char *dir, ft_error *err)
{
    shard_manifest m;
    ft_status st = shard_manifest_read(dir, &m, err);
    if (st != FT_OK) return st;
    printf("dataset %s: %s tokenizer %s (%s), max_length %d, %d labels, seed %llu\n", dir,
           m.tokenizer_kind, m.tokenizer_path, m.tokenizer_fingerprint, m.max_length, m.n_labels,
           (unsigned long long)m.seed);
    if (m.task == SHARD_TASK_CAUSAL_LM)
        printf(
            "task causal_lm: %s, completion_only_loss %s, eos id %d, truncation %s, packing %s\n",
            m.lm_mode, m.completion_only_loss ? "yes" : "no", m.eos_id,
            shard_truncation_name(m.truncation), m.packed ? "yes" : "no");
    for (int k = 0; k < m.n_sources; k++)
        printf("source %s: %s (%s), %llu records, %llu bytes, text '%s', label '%s'\n",
               m.sources[k].role, m.sources[k].path, m.sources[k].format,
               (unsigned long long)m.sources[k].records, (unsigned long long)m.sources[k].bytes,
               m.sources[k].text_field, m.sources[k].label_field ? m.sources[k].label_field : "");
    for (int s = 0; st == FT_OK && s < SHARD_N_SPLITS; s++) st = inspect_split(dir, &m, s, err);
    uint64_t bad = 0;
    for (int r = 0; r < m.n_skip_reasons; r++) bad += m.skipped[r];
    printf("skipped: %llu", (unsigned long long)bad);
    for (int r = 0; r < m.n_skip_reasons; r++)
        if (m.skipped[r]) printf(" %s=%llu", m.skip_reasons[r], (unsigned long long)m.skipped[r]);
    printf("\n");
    if (st == FT_OK)
        printf("all %d files match the manifest (size, crc32, rows, labels)\n", m.n_files);
    shard_manifest_free(&m);
    return st;
}
