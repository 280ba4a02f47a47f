/* shard_write: tokenize, exchange rows, write the files, the manifest, and
 * publish the folder (see shard_prog.h).
 *
 * Design: each rank tokenizes the records it read, so tokenizing scales with
 * the ranks; each row then travels once (MPI_Alltoallv, in rounds of at most
 * ROUND_BYTES so counts stay within int) to the rank that owns its file.
 * Files go to owners by largest-first onto the least-loaded rank, a pure
 * function of the plan. A row carries its file and row number, so the
 * receiver places it without any ordering between ranks, and the file's
 * bytes depend only on the plan. Rank 0 writes manifest.json last, into the
 * temporary folder, and renames the folder into place.
 * causal_lm (--task causal_lm): a row is one example (ids and per-token
 * labels, shard_lm_example) or a placeholder for one dropped by truncation;
 * the owner then makes the file's rows from its examples in plan order
 * (shard_lm_pack: dropped ones left out, packed with --packing), so a file's
 * rows depend only on the plan and the examples, never on the rank count.
 * Not here: reading and planning (shard_run.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat/chat_template.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "shard_prog.h"

enum { ROUND_BYTES = 1 << 28 };

/* What travels before each row's ids (and, for causal_lm, its labels). */
typedef struct row_head {
    int32_t file, length, label, truncated;
    uint64_t row;
    int64_t example_index;
    int32_t dropped, pad; /* causal_lm: no completion token left */
} row_head;

static bool wide(const shard_job *job) { return shard_needs_wide_ids(tok_vocab_size(job->tok)); }

/* Bytes of a row's ids in the file's encoding, rounded up to 8. */
static size_t id_bytes(const shard_job *job)
{
    size_t ids = (size_t)job->a->max_length * (wide(job) ? 4 : 2);
    return (ids + 7) & ~(size_t)7;
}

static size_t row_bytes(const shard_job *job)
{
    size_t labels = job->a->lm ? (size_t)job->a->max_length * sizeof(int32_t) : 0;
    return sizeof(row_head) + id_bytes(job) + labels;
}

/* Largest file first onto the least-loaded rank (ties: lower numbers). */
static void assign_owners(shard_job *job)
{
    int n = job->plan.n_files;
    job->owner = ft_calloc_array((size_t)n + 1, sizeof *job->owner);
    uint64_t *load = ft_calloc_array((size_t)job->size, sizeof *load);
    bool *done = ft_calloc_array((size_t)n + 1, sizeof *done);
    FT_CHECK_MSG(job->owner && load && done, "out of memory");
    for (int k = 0; k < n; k++) {
        int f = -1, r = 0;
        for (int i = 0; i < n; i++)
            if (!done[i] && (f < 0 || job->plan.files[i].rows > job->plan.files[f].rows)) f = i;
        for (int q = 1; q < job->size; q++)
            if (load[q] < load[r]) r = q;
        done[f] = true;
        job->owner[f] = r;
        load[r] += job->plan.files[f].rows;
    }
    free(load);
    free(done);
}

static void alloc_owned(shard_job *job)
{
    job->rows = ft_calloc_array((size_t)job->plan.n_files + 1, sizeof *job->rows);
    FT_CHECK_MSG(job->rows != NULL, "out of memory");
    if (job->a->lm) {
        job->lm = ft_calloc_array((size_t)job->plan.n_files + 1, sizeof *job->lm);
        job->kept = ft_calloc_array((size_t)job->plan.n_files + 1, sizeof *job->kept);
        FT_CHECK_MSG(job->lm && job->kept, "out of memory");
    }
    for (int f = 0; f < job->plan.n_files; f++) {
        if (job->owner[f] != job->rank) continue;
        shard_rows *r = &job->rows[f];
        uint64_t n = job->plan.files[f].rows;
        *r = (shard_rows){n, job->a->max_length, wide(job), NULL, NULL, NULL, NULL};
        r->input_ids = ft_malloc_array((size_t)n * (size_t)job->a->max_length, wide(job) ? 4 : 2);
        r->lengths = ft_malloc_array(n, sizeof *r->lengths);
        r->labels = ft_malloc_array(n, sizeof *r->labels);
        r->example_index = ft_malloc_array(n, sizeof *r->example_index);
        FT_CHECK_MSG(r->input_ids && r->lengths && r->labels && r->example_index,
                     "out of memory for a shard");
        for (uint64_t i = 0; i < n; i++) r->example_index[i] = -1; /* filled check */
        if (!job->a->lm) continue;
        FT_CHECK_MSG(shard_lm_alloc(&job->lm[f], n, job->a->max_length, false, NULL) == FT_OK,
                     "out of memory for a shard's labels");
        job->kept[f] = ft_calloc_array(n + 1, sizeof *job->kept[f]);
        FT_CHECK_MSG(job->kept[f] != NULL, "out of memory");
    }
}

/* Calls fn for every record of this rank the plan uses. */
typedef ft_status (*record_fn)(shard_job *job, const shard_part *p, size_t i, int file,
                               uint64_t row, void *ctx, ft_error *err);

static ft_status for_used_records(shard_job *job, record_fn fn, void *ctx, ft_error *err)
{
    ft_status st = FT_OK;
    for (int k = 0; k < job->n_parts; k++) {
        const shard_part *p = &job->parts[k];
        uint64_t base = (k == 0 ? 0 : job->plan.n_main) + p->first;
        for (size_t i = 0; st == FT_OK && i < p->recs.n; i++) {
            int file = p->ids[i] < 0 ? -1 : job->plan.file_of[base + i];
            if (file >= 0) st = fn(job, p, i, file, job->plan.row_of[base + i], ctx, err);
        }
    }
    return st;
}

typedef struct pack_ctx {
    size_t *next;               /* per destination: next row slot */
    char *buf;                  /* rows grouped by destination */
    int32_t *ids;               /* max_length scratch */
    int32_t *labels;            /* causal_lm: max_length scratch */
    tok_ids prompt, completion; /* causal_lm: the tokens of one record */
} pack_ctx;

/* Rows for this rank's own files skip the exchange: counted as 0 here and
 * tokenized straight into job->rows by pack_one. */
static ft_status count_one(shard_job *job, const shard_part *p, size_t i, int file, uint64_t row,
                           void *ctx, ft_error *err)
{
    (void)p, (void)i, (void)row, (void)err;
    if (job->owner[file] != job->rank) ((size_t *)ctx)[job->owner[file]]++;
    return FT_OK;
}

/* The ids of one row into dst (uint16 or int32 per the vocabulary). */
static void store_ids(const shard_job *job, const int32_t *ids, char *dst)
{
    if (wide(job)) {
        memcpy(dst, ids, (size_t)job->a->max_length * 4);
        return;
    }
    for (int32_t k = 0; k < job->a->max_length; k++) {
        uint16_t v = (uint16_t)ids[k];
        memcpy(dst + 2 * (size_t)k, &v, 2);
    }
}

/* A row of a file this rank owns: its head (and causal_lm labels) into the
 * columns; returns where its ids go (already in the file's encoding, as
 * store_ids writes them). A dropped example only counts. */
static char *place_local(shard_job *job, const row_head *h, const int32_t *labels)
{
    shard_rows *r = &job->rows[h->file];
    int split = job->plan.files[h->file].split;
    FT_CHECK(h->row < r->rows && r->example_index[h->row] == -1);
    r->lengths[h->row] = h->length;
    r->labels[h->row] = h->label;
    r->example_index[h->row] = h->example_index;
    job->truncated[split] += (uint64_t)(h->truncated && !h->dropped);
    if (job->a->lm) {
        size_t L = (size_t)job->a->max_length;
        job->dropped[split] += (uint64_t)h->dropped;
        job->kept[h->file][h->row] = !h->dropped;
        memcpy(job->lm[h->file].labels + h->row * L, labels, L * sizeof(int32_t));
    }
    return (char *)r->input_ids + h->row * (size_t)job->a->max_length * (wide(job) ? 4 : 2);
}

/* A messages record rendered by the chat template (as apply_chat_template
 * with add_generation_prompt false) and tokenized without special tokens
 * (the template writes them), into out. */
static ft_status encode_chat(shard_job *job, const char *json, size_t len, tok_ids *out,
                             ft_error *err)
{
    cJSON *messages = cJSON_ParseWithLength(json, len);
    if (!messages) return ft_fail(err, FT_ENOMEM, "out of memory parsing messages");
    chat_render_opts o = {false, job->chat_bos, job->chat_eos, NULL};
    char *text = NULL;
    size_t text_len = 0;
    ft_status st = chat_template_render(job->chat, messages, &o, &text, &text_len, err);
    if (st == FT_OK) st = tok_encode(job->tok, text, text_len, out, err);
    free(text);
    cJSON_Delete(messages);
    return st;
}

/* A record's prompt and completion tokens (text data: the text as the
 * completion, no prompt; messages: the rendered conversation, every token
 * trained and no EOS added, as TRL does with assistant_only_loss off) into
 * ids and labels (shard_lm_example). */
static ft_status encode_lm(shard_job *job, const shard_part *p, const dataset_record *rec,
                           pack_ctx *c, row_head *h, ft_error *err)
{
    const char *a = p->recs.arena;
    bool text = !strcmp(dataset_lm_mode(p->src), "text"),
         chat = !strcmp(dataset_lm_mode(p->src), "messages");
    c->prompt.len = c->completion.len = 0;
    ft_status st = text || chat
                       ? FT_OK
                       : tok_encode(job->tok, a + rec->text_off, rec->text_len, &c->prompt, err);
    if (chat)
        st = encode_chat(job, a + rec->text_off, rec->text_len, &c->completion, err);
    else if (st == FT_OK)
        st = text ? tok_encode(job->tok, a + rec->text_off, rec->text_len, &c->completion, err)
                  : tok_encode(job->tok, a + rec->label_off, rec->label_len, &c->completion, err);
    if (st != FT_OK) return st;
    if (c->prompt.len + c->completion.len > (size_t)INT32_MAX / 2)
        return ft_fail(err, FT_EINVAL, "a record of more than 2^30 tokens");
    shard_lm_options o = {job->a->max_length, tok_pad_id(job->tok), chat ? -1 : job->eos_id,
                          job->a->completion_only_loss, (shard_truncation)job->a->truncation};
    bool truncated = false;
    h->dropped = !shard_lm_example(c->prompt.ids, (int32_t)c->prompt.len, c->completion.ids,
                                   (int32_t)c->completion.len, &o, c->ids, c->labels, &h->length,
                                   &truncated);
    h->truncated = truncated;
    if (h->dropped) h->length = 1; /* a placeholder the file never holds */
    return FT_OK;
}

static ft_status pack_one(shard_job *job, const shard_part *p, size_t i, int file, uint64_t row,
                          void *ctx, ft_error *err)
{
    pack_ctx *c = ctx;
    const dataset_record *rec = &p->recs.items[i];
    row_head h = {file, 0, p->ids[i], 0, row, (int64_t)(p->first + i), 0, 0};
    bool truncated = false;
    ft_status st =
        job->a->lm ? encode_lm(job, p, rec, c, &h, err)
                   : tok_encode_for_model(job->tok, p->recs.arena + rec->text_off, rec->text_len,
                                          job->a->max_length, c->ids, &h.length, &truncated, err);
    if (st != FT_OK) {
        char where[FT_ERROR_MSG_BYTES / 2];
        dataset_record_where(p->src, rec, where, sizeof where);
        ft_error_prefix(err, "%s", where);
        return st;
    }
    if (!job->a->lm) h.truncated = truncated;
    if (job->owner[file] == job->rank) {
        store_ids(job, c->ids, place_local(job, &h, c->labels));
        return FT_OK;
    }
    char *slot = c->buf + c->next[job->owner[file]]++ * row_bytes(job);
    memcpy(slot, &h, sizeof h);
    store_ids(job, c->ids, slot + sizeof h);
    if (job->a->lm)
        memcpy(slot + sizeof h + id_bytes(job), c->labels,
               (size_t)job->a->max_length * sizeof(int32_t));
    return FT_OK;
}

/* Tokenized rows of this rank, grouped by destination rank. */
static ft_status pack_rows(shard_job *job, size_t *counts, char **buf, ft_error *err)
{
    for_used_records(job, count_one, counts, err);
    size_t total = 0, *next = ft_calloc_array((size_t)job->size, sizeof *next);
    for (int r = 0; next && r < job->size; r++) {
        next[r] = total;
        total += counts[r];
    }
    pack_ctx c = {next,
                  ft_malloc_array(total + 1, row_bytes(job)),
                  ft_malloc_array((size_t)job->a->max_length, sizeof(int32_t)),
                  ft_malloc_array((size_t)job->a->max_length, sizeof(int32_t)),
                  {0},
                  {0}};
    FT_CHECK_MSG(next && c.buf && c.ids && c.labels, "out of memory for tokenized rows");
    ft_status st = for_used_records(job, pack_one, &c, err);
    free(next);
    free(c.ids);
    free(c.labels);
    tok_ids_free(&c.prompt);
    tok_ids_free(&c.completion);
    *buf = c.buf;
    return st;
}

static void place_rows(shard_job *job, const char *buf, size_t n)
{
    /* The ids travel in the file's encoding (store_ids): copied as they are. */
    size_t rb = row_bytes(job), n_id_bytes = (size_t)job->a->max_length * (wide(job) ? 4 : 2);
    int32_t *labels =
        job->a->lm ? ft_malloc_array((size_t)job->a->max_length, sizeof(int32_t)) : NULL;
    FT_CHECK_MSG(!job->a->lm || labels, "out of memory");
    for (size_t k = 0; k < n; k++) {
        row_head h;
        memcpy(&h, buf + k * rb, sizeof h);
        FT_CHECK(h.file >= 0 && h.file < job->plan.n_files && job->owner[h.file] == job->rank);
        if (labels) /* copied out: the buffer gives no alignment guarantee */
            memcpy(labels, buf + k * rb + sizeof h + id_bytes(job),
                   (size_t)job->a->max_length * sizeof(int32_t));
        memcpy(place_local(job, &h, labels), buf + k * rb + sizeof h, n_id_bytes);
    }
    free(labels);
}

/* Rounds of MPI_Alltoallv until every rank has sent all its rows. */
static void exchange_rows(shard_job *job, const size_t *counts, const char *buf)
{
    size_t rb = row_bytes(job), per_round = ROUND_BYTES / rb / (size_t)job->size + 1, start = 0;
    int n = job->size;
    int *sc = ft_calloc_array((size_t)n, sizeof *sc), *sd = ft_calloc_array((size_t)n, sizeof *sd);
    int *rc = ft_calloc_array((size_t)n, sizeof *rc), *rd = ft_calloc_array((size_t)n, sizeof *rd);
    size_t *first = ft_calloc_array((size_t)n, sizeof *first);
    FT_CHECK_MSG(sc && sd && rc && rd && first, "out of memory");
    for (int r = 0; r < n; r++, start += counts[r - 1]) first[r] = start;
    uint64_t rounds = 0, mine = 0;
    for (int r = 0; r < n; r++)
        if ((counts[r] + per_round - 1) / per_round > mine)
            mine = (counts[r] + per_round - 1) / per_round;
    MPI_Allreduce(&mine, &rounds, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    for (uint64_t k = 0; k < rounds; k++) {
        size_t lo = (size_t)k * per_round;
        for (int r = 0; r < n; r++) {
            size_t rows =
                counts[r] > lo ? (counts[r] - lo < per_round ? counts[r] - lo : per_round) : 0;
            sc[r] = (int)(rows * rb);
            sd[r] = r ? sd[r - 1] + sc[r - 1] : 0;
        }
        MPI_Alltoall(sc, 1, MPI_INT, rc, 1, MPI_INT, MPI_COMM_WORLD);
        size_t total = 0;
        for (int r = 0; r < n; r++) {
            rd[r] = (int)total;
            total += (size_t)rc[r];
        }
        char *send = ft_malloc_array((size_t)sd[n - 1] + (size_t)sc[n - 1] + 1, 1);
        char *recv = ft_malloc_array(total + 1, 1);
        FT_CHECK_MSG(send && recv, "out of memory exchanging rows");
        for (int r = 0; r < n; r++) memcpy(send + sd[r], buf + (first[r] + lo) * rb, (size_t)sc[r]);
        MPI_Alltoallv(send, sc, sd, MPI_BYTE, recv, rc, rd, MPI_BYTE, MPI_COMM_WORLD);
        place_rows(job, recv, total / rb);
        free(send);
        free(recv);
    }
    free(sc), free(sd), free(rc), free(rd), free(first);
}

static const char *kind_name(const tok_tokenizer *t)
{
    return tok_get_kind(t) == TOK_BYTE_BPE ? "byte_bpe" : "wordpiece";
}

/* A causal_lm file: its kept examples, packed or one per row
 * (shard_lm_pack), written; *rows the rows written. */
static ft_status write_lm(shard_job *job, int f, const char *path, const shard_meta *meta,
                          uint64_t *rows, ft_error *err)
{
    shard_rows out;
    shard_lm out_lm;
    ft_status st = shard_lm_pack(&job->rows[f], &job->lm[f], job->kept[f], job->a->packing,
                                 tok_pad_id(job->tok), &out, &out_lm, err);
    if (st != FT_OK) return st;
    *rows = out.rows;
    if (out.rows == 0)
        st = ft_fail(err, FT_EINVAL,
                     "%s: every one of its %llu examples lost its whole completion to truncation "
                     "at --max-length %d (try --truncation prompt_left or a larger --max-length)",
                     path, (unsigned long long)job->rows[f].rows, job->a->max_length);
    else
        st = shard_write_lm_file(path, meta, &out, &out_lm, err);
    shard_rows_free(&out);
    shard_lm_free(&out_lm);
    shard_lm_free(&job->lm[f]);
    return st;
}

/* Writes the owned files; rank 0 gets every file's crc32 and size. */
static ft_status write_owned(shard_job *job, ft_error *err)
{
    int n = job->plan.n_files;
    uint64_t *crc = ft_calloc_array((size_t)n + 1, sizeof *crc),
             *bytes = ft_calloc_array((size_t)n + 1, sizeof *bytes);
    uint64_t *rows = ft_calloc_array((size_t)n + 1, sizeof *rows);
    job->file_crc = ft_calloc_array((size_t)n + 1, sizeof *job->file_crc);
    job->file_bytes = ft_calloc_array((size_t)n + 1, sizeof *job->file_bytes);
    job->file_rows = ft_calloc_array((size_t)n + 1, sizeof *job->file_rows);
    FT_CHECK_MSG(crc && bytes && rows && job->file_crc && job->file_bytes && job->file_rows,
                 "out of memory");
    char fp[17];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)tok_fingerprint(job->tok));
    ft_status st = FT_OK;
    for (int f = 0; st == FT_OK && f < n; f++) {
        if (job->owner[f] != job->rank) continue;
        const shard_plan_file *pf = &job->plan.files[f];
        char name[64];
        shard_file_name(pf, name, sizeof name);
        char *path = ft_path_join(job->tmp_dir, name);
        shard_meta meta = {shard_split_name(pf->split),
                           pf->index,
                           pf->count,
                           job->a->max_length,
                           tok_pad_id(job->tok),
                           tok_vocab_size(job->tok),
                           kind_name(job->tok),
                           fp,
                           job->a->lm ? 0 : job->labels.n,
                           (const char *const *)job->labels.names,
                           job->a->seed};
        for (uint64_t i = 0; i < pf->rows; i++) FT_CHECK(job->rows[f].example_index[i] >= 0);
        uint32_t c = 0;
        rows[f] = pf->rows;
        if (!path)
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else if (job->a->lm)
            st = write_lm(job, f, path, &meta, &rows[f], err);
        else
            st = shard_write_file(path, &meta, &job->rows[f], err);
        if (st == FT_OK) st = shard_file_crc32(path, &c, &bytes[f], err);
        crc[f] = c;
        free(path);
        shard_rows_free(&job->rows[f]); /* written: the memory can go */
    }
    st = comm_agree(MPI_COMM_WORLD, st, err);
    MPI_Reduce(crc, job->file_bytes, n, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    for (int f = 0; f < n; f++) job->file_crc[f] = (uint32_t)job->file_bytes[f];
    MPI_Reduce(bytes, job->file_bytes, n, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(rows, job->file_rows, n, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, job->truncated, SHARD_N_SPLITS, MPI_UINT64_T, MPI_SUM,
                  MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, job->dropped, SHARD_N_SPLITS, MPI_UINT64_T, MPI_SUM,
                  MPI_COMM_WORLD);
    free(crc);
    free(bytes);
    free(rows);
    return st;
}

ft_status shard_write_files(shard_job *job, ft_error *err)
{
    assign_owners(job);
    alloc_owned(job);
    size_t *counts = ft_calloc_array((size_t)job->size, sizeof *counts);
    char *buf = NULL;
    FT_CHECK_MSG(counts != NULL, "out of memory");
    ft_status st = comm_agree(MPI_COMM_WORLD, pack_rows(job, counts, &buf, err), err);
    shard_mark(job, SHARD_PH_TOKENIZE);
    if (st == FT_OK) exchange_rows(job, counts, buf);
    free(buf);
    free(counts);
    shard_mark(job, SHARD_PH_EXCHANGE);
    if (st == FT_OK) st = write_owned(job, err);
    shard_mark(job, SHARD_PH_WRITE);
    return st;
}
