/* shard_publish: manifest.json, the folder renamed into place, and the
 * summary a user reads (rank 0 only; see shard_prog.h).
 *
 * Design: the manifest is the last file written into the temporary folder;
 * the folder then becomes --output with one rename, so a reader sees either
 * no dataset or a complete one. With --force an earlier dataset is first
 * renamed aside and removed only after the new one is in place.
 * Not here: the shard files (shard_write.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "shard_prog.h"

static void fill_source(const shard_job *job, int k, shard_manifest_source *s)
{
    const shard_part *p = &job->parts[k];
    snprintf(s->role, sizeof s->role, "%s", k ? "test" : "input");
    s->path = (char *)dataset_get_path(p->src);
    snprintf(s->format, sizeof s->format, "%s", dataset_format_name(dataset_get_format(p->src)));
    s->text_field = (char *)dataset_text_field(p->src);
    s->label_field = (char *)dataset_label_field(p->src);
    s->bytes = p->bytes;
    s->files = dataset_file_count(p->src);
    s->records = p->n_total;
    s->crc32 = p->crc32;
}

/* The skip reasons a task's manifest lists: classification's six as
 * before language-model data existed (so its manifests keep their bytes). */
static bool reason_applies(const shard_job *job, int r)
{
    if (!job->a->lm) return r <= DATASET_MISSING_LABEL;
    return r != DATASET_MALFORMED_CSV && r != DATASET_MISSING_LABEL;
}

static void fill_lm(const shard_job *job, shard_manifest *m)
{
    m->task = SHARD_TASK_CAUSAL_LM;
    snprintf(m->lm_mode, sizeof m->lm_mode, "%s", dataset_lm_mode(job->parts[0].src));
    m->completion_only_loss = job->a->completion_only_loss;
    m->packed = job->a->packing;
    m->eos_id = job->eos_id;
    m->truncation = job->a->truncation;
    m->n_labels = 0;
    m->labels = NULL;
    for (int s = 0; s < SHARD_N_SPLITS; s++) {
        m->split_examples[s] = job->plan.split_rows[s] - job->dropped[s];
        m->split_dropped[s] = job->dropped[s];
    }
}

/* The manifest's text; the struct borrows everything from job. */
static char *manifest_text(const shard_job *job)
{
    shard_manifest m = {0};
    snprintf(m.tokenizer_kind, sizeof m.tokenizer_kind, "%s",
             tok_get_kind(job->tok) == TOK_BYTE_BPE ? "byte_bpe" : "wordpiece");
    snprintf(m.tokenizer_fingerprint, sizeof m.tokenizer_fingerprint, "%016llx",
             (unsigned long long)tok_fingerprint(job->tok));
    m.tokenizer_path = (char *)job->a->tokenizer;
    m.vocab_size = tok_vocab_size(job->tok);
    m.pad_id = tok_pad_id(job->tok);
    m.max_length = job->a->max_length;
    m.n_labels = job->labels.n;
    m.labels = job->labels.names;
    if (job->a->lm) fill_lm(job, &m);
    m.n_sources = job->n_parts;
    for (int k = 0; k < job->n_parts; k++) fill_source(job, k, &m.sources[k]);
    m.seed = job->a->seed;
    memcpy(m.fractions, job->a->fractions, sizeof m.fractions);
    m.stratify = job->a->stratify;
    m.undersample = job->a->undersample;
    shard_manifest_file *files = ft_calloc_array((size_t)job->plan.n_files + 1, sizeof *files);
    char *names[DATASET_N_REASONS];
    uint64_t skipped[DATASET_N_REASONS];
    FT_CHECK_MSG(files != NULL, "out of memory");
    for (int s = 0; s < SHARD_N_SPLITS; s++) {
        m.split_rows[s] = job->a->lm ? 0 : job->plan.split_rows[s];
        m.split_truncated[s] = job->truncated[s];
        m.class_rows[s] = job->plan.class_rows[s];
    }
    m.n_files = job->plan.n_files;
    m.files = files;
    for (int f = 0; f < job->plan.n_files; f++) {
        shard_file_name(&job->plan.files[f], files[f].name, sizeof files[f].name);
        files[f].split = job->plan.files[f].split;
        files[f].rows = job->a->lm ? job->file_rows[f] : job->plan.files[f].rows;
        files[f].bytes = job->file_bytes[f];
        files[f].crc32 = job->file_crc[f];
        if (job->a->lm) m.split_rows[files[f].split] += files[f].rows;
    }
    for (int r = 1; r < DATASET_N_REASONS; r++) {
        if (!reason_applies(job, r)) continue;
        names[m.n_skip_reasons] = (char *)dataset_reason_name((dataset_reason)r);
        skipped[m.n_skip_reasons++] =
            job->parts[0].bad[r] + (job->n_parts > 1 ? job->parts[1].bad[r] : 0);
    }
    m.skip_reasons = names;
    m.skipped = skipped;
    m.balanced_out = job->plan.balanced_out;
    char *text = shard_manifest_to_json(&m);
    free(files);
    return text;
}

/* tmp_dir -> output; an earlier dataset (with --force) renamed aside first
 * and removed once the new one is in place. */
static ft_status swap_into_place(const shard_job *job, ft_error *err)
{
    const char *out = job->a->output;
    char *old = NULL;
    if (ft_path_exists(out)) {
        if (!job->a->force)
            return ft_fail(err, FT_EEXIST, "%s appeared while sharding: not overwriting it", out);
        old = ft_temp_sibling(out);
        if (!old || rename(out, old) != 0) {
            free(old);
            return ft_fail(err, FT_EIO, "%s: cannot move the earlier dataset aside: %s", out,
                           strerror(errno));
        }
    }
    ft_status st = FT_OK;
    if (rename(job->tmp_dir, out) != 0) {
        st = ft_fail(err, FT_EIO, "cannot rename %s to %s: %s", job->tmp_dir, out, strerror(errno));
        if (old) rename(old, out); /* put the earlier one back */
    }
    if (st == FT_OK) st = ft_fsync_parent(out, err);
    /* The new dataset is in place: a leftover old copy is worth a warning,
     * not a failed run. */
    ft_error rm = {0};
    if (st == FT_OK && old && ft_remove_tree(old, &rm) != FT_OK)
        ft_log_warn("the earlier dataset, moved aside to %s, could not be removed: %s", old,
                    rm.msg);
    free(old);
    return st;
}

ft_status shard_publish(shard_job *job, ft_error *err)
{
    char *text = manifest_text(job);
    char *path = ft_path_join(job->tmp_dir, "manifest.json");
    ft_status st = text && path ? ft_write_file_atomic(path, text, strlen(text), false, err)
                                : ft_fail(err, FT_ENOMEM, "out of memory");
    free(text);
    free(path);
    return st == FT_OK ? swap_into_place(job, err) : st;
}

/* causal_lm: rows, examples, truncated and dropped examples. */
static void print_lm_split(const shard_job *job, int s)
{
    uint64_t rows = 0, examples = job->plan.split_rows[s] - job->dropped[s];
    int files = 0;
    for (int f = 0; f < job->plan.n_files; f++)
        if (job->plan.files[f].split == s) {
            files++;
            rows += job->file_rows[f];
        }
    printf(
        "  %-10s %9llu rows (%llu examples%s) in %d file%s, %llu truncated, %llu dropped (no completion token "
        "left)\n",
        shard_split_name(s), (unsigned long long)rows, (unsigned long long)examples,
        job->a->packing ? ", packed" : "", files, files == 1 ? "" : "s",
        (unsigned long long)job->truncated[s], (unsigned long long)job->dropped[s]);
}

static void print_split(const shard_job *job, int s)
{
    if (job->a->lm) {
        print_lm_split(job, s);
        return;
    }
    const shard_plan *p = &job->plan;
    uint64_t rows = p->split_rows[s];
    int files = 0;
    for (int f = 0; f < p->n_files; f++) files += p->files[f].split == s;
    printf("  %-10s %9llu rows in %d file%s, %.1f%% truncated:", shard_split_name(s),
           (unsigned long long)rows, files, files == 1 ? "" : "s",
           rows ? 100.0 * (double)job->truncated[s] / (double)rows : 0.0);
    for (int c = 0; c < job->labels.n && c < 12; c++)
        printf(" %s=%llu", job->labels.names[c], (unsigned long long)p->class_rows[s][c]);
    printf("%s\n", job->labels.n > 12 ? " ..." : "");
}

void shard_print_summary(const shard_job *job, double seconds)
{
    uint64_t records = 0, bytes = 0, bad = 0;
    for (int k = 0; k < job->n_parts; k++) {
        const shard_part *p = &job->parts[k];
        printf("source %s: %s\n", dataset_get_path(p->src), dataset_fields_summary(p->src));
        records += p->n_total;
        bytes += p->bytes;
        for (int r = 1; r < DATASET_N_REASONS; r++) bad += p->bad[r];
    }
    if (job->a->lm)
        printf("causal_lm: %s, completion_only_loss %s, eos id %d, truncation %s%s\n",
               dataset_lm_mode(job->parts[0].src), job->a->completion_only_loss ? "yes" : "no",
               job->eos_id, shard_truncation_name(job->a->truncation),
               job->a->packing ? ", packed" : "");
    else {
        printf("labels (%d, ids in this order):", job->labels.n);
        for (int c = 0; c < job->labels.n && c < 20; c++) printf(" %s", job->labels.names[c]);
        printf("%s\n", job->labels.n > 20 ? " ..." : "");
    }
    for (int s = 0; s < SHARD_N_SPLITS; s++)
        if (job->plan.split_rows[s]) print_split(job, s);
    if (job->plan.balanced_out)
        printf("balance undersample: %llu examples left out\n",
               (unsigned long long)job->plan.balanced_out);
    printf("skipped %llu bad record%s", (unsigned long long)bad, bad == 1 ? "" : "s");
    for (int r = 1; r < DATASET_N_REASONS; r++) {
        uint64_t n = job->parts[0].bad[r] + (job->n_parts > 1 ? job->parts[1].bad[r] : 0);
        if (n) printf(" %s=%llu", dataset_reason_name((dataset_reason)r), (unsigned long long)n);
    }
    printf("\nwrote %s: %d files + manifest.json\n", job->a->output, job->plan.n_files);
    static const char *const phases[SHARD_N_PHASES] = {
        "open", "read", "labels+plan", "tokenize", "exchange", "write", "manifest"};
    printf("time (s):");
    for (int k = 0; k < SHARD_N_PHASES; k++) printf(" %s %.3f", phases[k], job->phase_s[k]);
    printf("\ncpu (s): busiest rank %.3f, all ranks %.3f", job->cpu_max_s, job->cpu_sum_s);
    printf("\n%llu records, %.2f MB in %.3f s on %d rank%s: %.0f examples/s, %.2f MB/s\n",
           (unsigned long long)records, (double)bytes / 1e6, seconds, job->size,
           job->size == 1 ? "" : "s", (double)records / seconds, (double)bytes / 1e6 / seconds);
    fflush(stdout);
}
