/* shard_run: the ftune-shard pipeline on every rank (see shard_prog.h).
 *
 * Design: rank r reads part r of P of every source (dataset_read_part: byte
 * ranges aligned to record boundaries, or files/elements), after one
 * exchange of the parts' newline counts and quote parities. Each phase ends
 * with shard_agree, so every rank stops at the same point with the message
 * of the first failure in source order (part order = rank order). The label
 * ids of all records are then gathered on every rank, which computes the
 * same shard_plan; from there shard_write.c takes over.
 * Not here: tokenizing, files, the manifest (shard_write.c). */
#include <dirent.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat/chat_template.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "shard_prog.h"

/* Whether an existing output may be replaced: a folder with manifest.json
 * (an earlier dataset) or an empty folder. */
static bool replaceable(const char *dir)
{
    char *m = ft_path_join(dir, "manifest.json");
    bool ok = m && ft_path_exists(m);
    free(m);
    DIR *d = ok ? NULL : opendir(dir);
    if (!d) return ok;
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return entries == 0;
}

static ft_status check_output(const shard_args *a, ft_error *err)
{
    if (!ft_path_exists(a->output)) return FT_OK;
    if (!a->force)
        return ft_fail(err, FT_EEXIST, "%s exists: not overwriting it (pass --force to replace it)",
                       a->output);
    if (!replaceable(a->output))
        return ft_fail(err, FT_EEXIST,
                       "%s exists and is neither an ftune dataset (no manifest.json) nor an empty "
                       "folder: not replacing it, even with --force",
                       a->output);
    return FT_OK;
}

/* A special token's text in tokenizer_config.json: a string, or an object
 * with "content" (AddedToken); NULL when absent. */
static char *token_text(const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? ft_strdup(v->valuestring) : NULL;
}

/* Messages data: the chat template of the tokenizer folder
 * (tokenizer_config.json's "chat_template" string, as transformers reads
 * it), compiled once, and its bos_token/eos_token texts. */
static ft_status load_chat(shard_job *job, ft_error *err)
{
    char *path = ft_path_join(job->a->tokenizer, "tokenizer_config.json"), *text = NULL;
    size_t len = 0;
    ft_status st = !path                  ? ft_fail(err, FT_ENOMEM, "out of memory")
                   : ft_path_exists(path) ? ft_read_file(path, &text, &len, err)
                                          : FT_ENOTFOUND;
    cJSON *root = st == FT_OK ? cJSON_ParseWithLength(text, len) : NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (st == FT_OK && !root)
        st = ft_fail(err, FT_EFORMAT, "%s: not valid JSON", path);
    else if ((st == FT_OK || st == FT_ENOTFOUND) && !cJSON_IsString(t))
        st = ft_fail(err, FT_EINVAL,
                     "%s: messages data needs a tokenizer with a chat_template (a string in "
                     "%s/tokenizer_config.json); there is none",
                     job->a->input, job->a->tokenizer);
    if (st == FT_OK &&
        !(job->chat = chat_template_compile(t->valuestring, strlen(t->valuestring), err))) {
        ft_error_prefix(err, "%s", path);
        st = err->code != FT_OK ? err->code : FT_EINVAL;
    }
    if (st == FT_OK) {
        job->chat_bos = token_text(root, "bos_token");
        job->chat_eos = token_text(root, "eos_token");
    }
    cJSON_Delete(root);
    free(text);
    free(path);
    return st;
}

/* The EOS that TRL appends to every completion (and text) not ending with
 * it: tokenizer_config.json's eos_token, as transformers' tokenizer.eos_token,
 * else GPT-2's <|endoftext|> (its EOS = BOS = unk); -1 when neither names a
 * token. An eos_token the vocabulary lacks is an error naming the file. */
static ft_status lm_eos(shard_job *job, ft_error *err)
{
    char *path = ft_path_join(job->a->tokenizer, "tokenizer_config.json"), *text = NULL;
    size_t len = 0;
    ft_status st = !path                  ? ft_fail(err, FT_ENOMEM, "out of memory")
                   : ft_path_exists(path) ? ft_read_file(path, &text, &len, err)
                                          : FT_ENOTFOUND;
    cJSON *root = st == FT_OK ? cJSON_ParseWithLength(text, len) : NULL;
    char *eos = root ? token_text(root, "eos_token") : NULL;
    if (st == FT_OK && !root) st = ft_fail(err, FT_EFORMAT, "%s: not valid JSON", path);
    if (st == FT_ENOTFOUND) st = FT_OK;
    job->eos_id = tok_token_to_id(job->tok, eos ? eos : "<|endoftext|>");
    if (st == FT_OK && eos && job->eos_id < 0)
        st = ft_fail(err, FT_EINVAL, "%s: key 'eos_token': '%s' is not in the vocabulary", path,
                     eos);
    free(eos);
    cJSON_Delete(root);
    free(text);
    free(path);
    return st;
}

static ft_status open_all(shard_job *job, ft_error *err)
{
    const shard_args *a = job->a;
    ft_status st = job->rank == 0 ? check_output(a, err) : FT_OK;
    if ((st = comm_agree(MPI_COMM_WORLD, st, err)) != FT_OK) return st;
    st = tok_open(a->tokenizer, &job->tok, err);
    if (st == FT_OK && a->lm && tok_get_kind(job->tok) != TOK_BYTE_BPE)
        st = ft_fail(err, FT_EINVAL,
                     "%s: --task causal_lm needs a decoder's byte-level BPE tokenizer (GPT-2 "
                     "style); this one is WordPiece (BERT)",
                     a->tokenizer);
    if (st == FT_OK && a->lm) st = lm_eos(job, err);
    dataset_options opt = {a->format, a->text_field, a->label_field, a->header};
    dataset_lm_options lm = {a->prompt_field, a->completion_field};
    const char *paths[2] = {a->input, a->test_file};
    job->n_parts = a->test_file ? 2 : 1;
    for (int p = 0; st == FT_OK && p < job->n_parts; p++)
        st = a->lm ? dataset_open_lm(paths[p], &opt, &lm, &job->parts[p].src, err)
                   : dataset_open(paths[p], &opt, &job->parts[p].src, err);
    bool chat = false;
    for (int p = 0; st == FT_OK && a->lm && p < job->n_parts; p++)
        chat = chat || !strcmp(dataset_lm_mode(job->parts[p].src), "messages");
    if (chat) st = load_chat(job, err);
    st = comm_agree(MPI_COMM_WORLD, st, err);
    for (int p = 0; st == FT_OK && p < job->n_parts && job->rank == 0; p++)
        ft_log_info("%s: %s", dataset_get_path(job->parts[p].src),
                    dataset_fields_summary(job->parts[p].src));
    return st;
}

/* This rank's part of one source, after the prefix sums of the parts before. */
static ft_status read_part(shard_job *job, shard_part *p, ft_error *err)
{
    dataset_scan *scans = ft_calloc_array((size_t)job->size, sizeof *scans), mine = {0};
    FT_CHECK_MSG(scans != NULL, "out of memory");
    ft_status st = comm_agree(MPI_COMM_WORLD,
                              dataset_scan_part(p->src, job->rank, job->size, &mine, err), err);
    if (st == FT_OK) {
        MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, scans, (int)sizeof mine, MPI_BYTE,
                      MPI_COMM_WORLD);
        dataset_prefix prefix = {0, 0};
        for (int r = 0; r < job->size; r++) {
            if (r < job->rank) {
                prefix.newlines += scans[r].newlines;
                prefix.quotes_odd ^= scans[r].quotes_odd;
            }
            p->bytes += scans[r].bytes;
        }
        p->crc32 = dataset_combine_crc(scans, job->size);
        st = comm_agree(MPI_COMM_WORLD,
                        dataset_read_part(p->src, job->rank, job->size, &prefix, &p->recs, err),
                        err);
    }
    free(scans);
    if (st != FT_OK) return st;
    uint64_t n = p->recs.n, before = 0, local_bad[DATASET_N_REASONS] = {0};
    MPI_Exscan(&n, &before, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    p->first = job->rank == 0 ? 0 : before;
    MPI_Allreduce(&n, &p->n_total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    for (size_t i = 0; i < p->recs.n; i++) local_bad[p->recs.items[i].reason]++;
    MPI_Allreduce(local_bad, p->bad, DATASET_N_REASONS, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    /* Without --skip-bad, the first bad record in source order stops the run. */
    if (!job->a->skip_bad && p->recs.bad_count)
        st = ft_fail(err, FT_EINVAL, "%s (--skip-bad skips and counts such records)",
                     p->recs.first_bad_msg);
    return comm_agree(MPI_COMM_WORLD, st, err);
}

/* Label ids of this rank's records; for the test source a label training
 * never saw is an error naming the record. */
static ft_status map_labels(shard_job *job, shard_part *p, bool is_test, ft_error *err)
{
    p->ids = ft_malloc_array(p->recs.n + 1, sizeof *p->ids);
    FT_CHECK_MSG(p->ids != NULL, "out of memory");
    ft_status st = FT_OK;
    const char *last = NULL;
    int32_t last_id = -1;
    for (size_t i = 0; i < p->recs.n; i++) {
        const dataset_record *rec = &p->recs.items[i];
        const char *name = p->recs.arena + rec->label_off;
        bool same = rec->reason == DATASET_OK && last && !strcmp(last, name);
        p->ids[i] = rec->reason != DATASET_OK ? -1
                    : same                    ? last_id
                                              : shard_labels_find(&job->labels, name);
        if (rec->reason == DATASET_OK) last = name, last_id = p->ids[i];
        if (rec->reason == DATASET_OK && p->ids[i] < 0 && st == FT_OK) {
            char where[FT_ERROR_MSG_BYTES / 2];
            dataset_record_where(p->src, rec, where, sizeof where);
            st = ft_fail(err, FT_EINVAL,
                         "%s: label '%.100s' of the test data does not occur in the training "
                         "data (%d labels, e.g. '%.60s')",
                         where, name, job->labels.n, job->labels.names[0]);
        }
        FT_CHECK(is_test || rec->reason != DATASET_OK || p->ids[i] >= 0);
    }
    return comm_agree(MPI_COMM_WORLD, st, err);
}

/* Language-model data has no labels: every good record is "class" 0 of
 * the plan (which then only shuffles and cuts). */
static ft_status lm_ids(shard_job *job, ft_error *err)
{
    uint64_t good = 0, all = 0;
    for (int k = 0; k < job->n_parts; k++) {
        shard_part *p = &job->parts[k];
        p->ids = ft_malloc_array(p->recs.n + 1, sizeof *p->ids);
        FT_CHECK_MSG(p->ids != NULL, "out of memory");
        for (size_t i = 0; i < p->recs.n; i++) {
            p->ids[i] = p->recs.items[i].reason == DATASET_OK ? 0 : -1;
            good += k == 0 && p->ids[i] == 0;
        }
    }
    MPI_Allreduce(&good, &all, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return all ? FT_OK : ft_fail(err, FT_EINVAL, "%s: no usable records", job->a->input);
}

static ft_status agree_labels(shard_job *job, ft_error *err)
{
    if (job->a->lm) return lm_ids(job, err);
    ft_status st = shard_labels_agree(&job->parts[0].recs, &job->labels, err);
    if (st == FT_OK && job->labels.n == 0)
        st = ft_fail(err, FT_EINVAL, "%s: no usable records", job->a->input);
    else if (st == FT_OK && job->labels.n == 1)
        st =
            ft_fail(err, FT_EINVAL, "%s: only one label, '%.100s': a classifier needs at least two",
                    job->a->input, job->labels.names[0]);
    for (int p = 0; st == FT_OK && p < job->n_parts; p++)
        st = map_labels(job, &job->parts[p], p == 1, err);
    return st;
}

/* Every record's label id in source order, on every rank. */
static int32_t *gather_ids(const shard_job *job, const shard_part *p)
{
    int *counts = ft_calloc_array((size_t)job->size, sizeof *counts);
    int *displs = ft_calloc_array((size_t)job->size, sizeof *displs);
    int32_t *all = ft_malloc_array(p->n_total + 1, sizeof *all);
    FT_CHECK_MSG(counts && displs && all, "out of memory gathering label ids");
    FT_CHECK_MSG(p->n_total < (uint64_t)INT32_MAX, "more than 2^31 records in one source");
    int n = (int)p->recs.n;
    MPI_Allgather(&n, 1, MPI_INT, counts, 1, MPI_INT, MPI_COMM_WORLD);
    for (int r = 1; r < job->size; r++) displs[r] = displs[r - 1] + counts[r - 1];
    MPI_Allgatherv(p->ids, n, MPI_INT32_T, all, counts, displs, MPI_INT32_T, MPI_COMM_WORLD);
    free(counts);
    free(displs);
    return all;
}

static ft_status make_plan(shard_job *job, ft_error *err)
{
    const shard_args *a = job->a;
    shard_plan_options opt = {a->seed,
                              {a->fractions[0], a->fractions[1], a->fractions[2]},
                              a->stratify,
                              a->undersample,
                              a->shards};
    int32_t *main_ids = gather_ids(job, &job->parts[0]);
    int32_t *test_ids = job->n_parts > 1 ? gather_ids(job, &job->parts[1]) : NULL;
    ft_status st = shard_plan_make(main_ids, job->parts[0].n_total, test_ids,
                                   job->n_parts > 1 ? job->parts[1].n_total : 0,
                                   job->a->lm ? 1 : job->labels.n, &opt, &job->plan, err);
    free(main_ids);
    free(test_ids);
    return comm_agree(MPI_COMM_WORLD, st, err);
}

/* The temporary output folder, made by rank 0 beside --output. */
static ft_status make_tmp_dir(shard_job *job, ft_error *err)
{
    char name[4096] = {0};
    ft_status st = FT_OK;
    if (job->rank == 0) {
        char *tmp = ft_temp_sibling(job->a->output);
        if (!tmp)
            st = ft_fail(err, FT_ENOMEM, "%s: out of memory", job->a->output);
        else if (strlen(tmp) >= sizeof name)
            st = ft_fail(err, FT_EINVAL, "%s: path too long", job->a->output);
        else
            st = ft_mkdir_p(tmp, err);
        if (st == FT_OK) snprintf(name, sizeof name, "%s", tmp);
        free(tmp);
    }
    st = comm_agree(MPI_COMM_WORLD, st, err);
    if (st != FT_OK) return st;
    MPI_Bcast(name, (int)sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
    job->tmp_dir = ft_strdup(name);
    FT_CHECK_MSG(job->tmp_dir != NULL, "out of memory");
    return FT_OK;
}

static void job_free(shard_job *job)
{
    tok_close(job->tok);
    chat_template_free(job->chat);
    free(job->chat_bos);
    free(job->chat_eos);
    for (int p = 0; p < 2; p++) {
        dataset_close(job->parts[p].src);
        dataset_records_free(&job->parts[p].recs);
        free(job->parts[p].ids);
    }
    shard_labels_free(&job->labels);
    for (int f = 0; job->rows && f < job->plan.n_files; f++) shard_rows_free(&job->rows[f]);
    for (int f = 0; job->lm && f < job->plan.n_files; f++) shard_lm_free(&job->lm[f]);
    for (int f = 0; job->kept && f < job->plan.n_files; f++) free(job->kept[f]);
    free(job->lm);
    free(job->kept);
    free(job->file_rows);
    free(job->rows);
    free(job->owner);
    free(job->file_crc);
    free(job->file_bytes);
    shard_plan_free(&job->plan);
    free(job->tmp_dir);
}

void shard_mark(shard_job *job, int phase)
{
    double now = MPI_Wtime(), before = job->t_start;
    for (int k = 0; k < phase; k++) before += job->phase_s[k];
    job->phase_s[phase] = now - before;
}

/* CPU seconds of this process, reduced to the busiest rank and the sum:
 * with idle cores the wall time of a run approaches the busiest rank's. */
static void reduce_cpu(shard_job *job)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
                 (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    MPI_Reduce(&cpu, &job->cpu_max_s, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&cpu, &job->cpu_sum_s, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
}

ft_status shard_run(const shard_args *a, ft_error *err)
{
    shard_job job = {.a = a, .t_start = MPI_Wtime()};
    MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &job.size);
    ft_status st = open_all(&job, err);
    shard_mark(&job, SHARD_PH_OPEN);
    for (int p = 0; st == FT_OK && p < job.n_parts; p++) st = read_part(&job, &job.parts[p], err);
    shard_mark(&job, SHARD_PH_READ);
    if (st == FT_OK) st = agree_labels(&job, err);
    if (st == FT_OK) st = make_plan(&job, err);
    if (st == FT_OK) st = make_tmp_dir(&job, err);
    shard_mark(&job, SHARD_PH_PLAN);
    if (st == FT_OK) st = shard_write_files(&job, err);
    if (st == FT_OK)
        st = comm_agree(MPI_COMM_WORLD, job.rank == 0 ? shard_publish(&job, err) : FT_OK, err);
    shard_mark(&job, SHARD_PH_MANIFEST);
    if (st != FT_OK && job.tmp_dir && job.rank == 0) ft_remove_tree(job.tmp_dir, NULL);
    reduce_cpu(&job);
    if (st == FT_OK && job.rank == 0) shard_print_summary(&job, MPI_Wtime() - job.t_start);
    job_free(&job);
    return st;
}
