/* shard_batch: batches of rows for a model, the one batch type of train,
 * eval and predict (see shard.h), and the cursor that streams a split's
 * rows in order.
 *
 * A batch holds ids widened to int32 with the stride of its own length t:
 * training (and predict, from its tokenized texts) gathers rows by index
 * and cuts t to the longest of them, so
 * short texts cost less (the choice depends only on the rows, so a resumed
 * run makes the same batches); evaluation keeps t = max_length, so a row's
 * bits do not depend on the rows beside it (eval.h says why).
 * The cursor holds one file of the split at a time (shard_reader_load: every
 * file checked as it is loaded). Not here: the model's batch type (model.h),
 * which the callers point at these buffers. */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "shard/shard.h"

ft_status shard_batch_init(shard_batch *b, int cap, int32_t max_length, ft_error *err)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->max_length = b->t = max_length;
    b->ids = ft_malloc_array((size_t)cap, (size_t)max_length * sizeof(int32_t));
    b->lengths = ft_malloc_array((size_t)cap, sizeof(int32_t));
    b->labels = ft_malloc_array((size_t)cap, sizeof(int32_t));
    b->example_index = ft_malloc_array((size_t)cap, sizeof(int64_t));
    if (b->ids && b->lengths && b->labels && b->example_index) return FT_OK;
    shard_batch_free(b);
    return ft_fail(err, FT_ENOMEM, "out of memory for a batch of %d x %d tokens", cap, max_length);
}

ft_status shard_batch_init_lm(shard_batch *b, int cap, int32_t max_length, bool packed,
                              ft_error *err)
{
    ft_status st = shard_batch_init(b, cap, max_length, err);
    if (st != FT_OK) return st;
    size_t n = (size_t)max_length * sizeof(int32_t);
    b->token_labels = ft_malloc_array((size_t)cap, n);
    if (packed) {
        b->position_ids = ft_malloc_array((size_t)cap, n);
        b->segment_ids = ft_malloc_array((size_t)cap, n);
    }
    if (b->token_labels && (!packed || (b->position_ids && b->segment_ids))) return FT_OK;
    shard_batch_free(b);
    return ft_fail(err, FT_ENOMEM, "out of memory for the labels of a batch of %d x %d tokens", cap,
                   max_length);
}

void shard_batch_free(shard_batch *b)
{
    if (!b) return;
    free(b->token_labels);
    free(b->position_ids);
    free(b->segment_ids);
    free(b->ids);
    free(b->lengths);
    free(b->labels);
    free(b->example_index);
    memset(b, 0, sizeof *b);
}

void shard_batch_put(shard_batch *b, const shard_rows *r, uint64_t row)
{
    int k = b->n++;
    shard_rows_copy_ids(r, row, b->t, b->ids + (size_t)k * (size_t)b->t);
    b->lengths[k] = r->lengths[row];
    b->labels[k] = r->labels[row];
    b->example_index[k] = r->example_index[row];
}

void shard_batch_put_lm(shard_batch *b, const shard_rows *r, const shard_lm *lm, uint64_t row)
{
    int k = b->n++;
    size_t src = (size_t)row * (size_t)r->max_length, dst = (size_t)k * (size_t)b->t;
    shard_rows_copy_ids(r, row, b->t, b->ids + dst);
    b->lengths[k] = r->lengths[row];
    b->labels[k] = 0;
    b->example_index[k] = r->example_index[row];
    memcpy(b->token_labels + dst, lm->labels + src, (size_t)b->t * sizeof(int32_t));
    if (b->position_ids && lm->packed) {
        memcpy(b->position_ids + dst, lm->position_ids + src, (size_t)b->t * sizeof(int32_t));
        memcpy(b->segment_ids + dst, lm->segment_ids + src, (size_t)b->t * sizeof(int32_t));
    }
}

void shard_batch_gather(shard_batch *b, const shard_rows *r, const uint64_t *idx, int n)
{
    int32_t t = 1;
    for (int i = 0; i < n; i++)
        if (r->lengths[idx[i]] > t) t = r->lengths[idx[i]];
    b->t = t;
    b->n = 0;
    for (int i = 0; i < n; i++) shard_batch_put(b, r, idx[i]);
}

void shard_cursor_init(shard_cursor *c, const shard_reader *r, uint64_t begin, uint64_t end)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    c->next = begin;
    c->end = end;
    c->file = -1;
}

void shard_cursor_free(shard_cursor *c)
{
    if (c->file >= 0) {
        shard_rows_free(&c->rows);
        shard_lm_free(&c->lm);
    }
    c->file = -1;
}

ft_status shard_cursor_next(shard_cursor *c, shard_batch *b, ft_error *err)
{
    bool lm = c->r->man->task == SHARD_TASK_CAUSAL_LM;
    if (lm && !b->token_labels)
        return ft_fail(err, FT_EINVAL, "a causal_lm split needs a batch from shard_batch_init_lm");
    while (b->n < b->cap && c->next < c->end) {
        int f = shard_reader_file_of(c->r, c->next);
        if (f != c->file) {
            shard_cursor_free(c);
            ft_status st = lm ? shard_reader_load_lm(c->r, f, true, &c->rows, &c->lm, err)
                              : shard_reader_load(c->r, f, true, &c->rows, err);
            if (st != FT_OK) return st;
            c->file = f;
        }
        if (lm)
            shard_batch_put_lm(b, &c->rows, &c->lm, c->next - c->r->first_row[f]);
        else
            shard_batch_put(b, &c->rows, c->next - c->r->first_row[f]);
        c->next++;
    }
    return FT_OK;
}
