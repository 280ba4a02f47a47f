/* train_data.c: the splits training reads, and micro-batches cut from them.
 * The rows come through the one data path of src/shard (shard_reader: each
 * file checked against the manifest, every row and token id validated,
 * when it is loaded). Every rank holds the whole split because the sampler
 * may hand any row to any rank (ids widened to int32: 4 bytes a token; a
 * 100k x 512 split takes 200 MB per rank). Loading before the first step
 * means every rank finds the same bad row, and the set-up's comm_agree stops
 * all of them with a message naming the file and the row; a bad id that
 * reached model_forward instead would fail only on the rank whose batch
 * holds it, in the middle of training. */
#include <string.h>

#include "train_impl.h"

ft_status train_split_load(const char *data_dir, const shard_manifest *man, int split,
                           shard_rows *out, ft_error *err)
{
    shard_reader r;
    ft_status st = shard_reader_open(data_dir, man, split, &r, err);
    if (st == FT_OK)
        st = shard_reader_load_all(&r, out, err);
    else
        memset(out, 0, sizeof *out);
    shard_reader_close(&r);
    return st;
}

ft_status train_split_load_lm(const char *data_dir, const shard_manifest *man, int split,
                              shard_rows *out, shard_lm *lm, ft_error *err)
{
    shard_reader r;
    ft_status st = shard_reader_open(data_dir, man, split, &r, err);
    if (st == FT_OK)
        st = shard_reader_load_all_lm(&r, out, lm, err);
    else {
        memset(out, 0, sizeof *out);
        memset(lm, 0, sizeof *lm);
    }
    shard_reader_close(&r);
    return st;
}

ft_status train_batch_init(train_batch *b, int cap_b, int32_t max_length, bool lm, bool packed,
                           ft_error *err)
{
    memset(b, 0, sizeof *b);
    return lm ? shard_batch_init_lm(&b->rows, cap_b, max_length, packed, err)
              : shard_batch_init(&b->rows, cap_b, max_length, err);
}

/* shard_batch_gather for a causal_lm split: t = the longest row. */
static void gather_lm(train_batch *b, const shard_rows *s, const shard_lm *lm, const uint64_t *idx,
                      int n)
{
    int32_t t = 1;
    for (int i = 0; i < n; i++)
        if (s->lengths[idx[i]] > t) t = s->lengths[idx[i]];
    b->rows.t = t;
    b->rows.n = 0;
    for (int i = 0; i < n; i++) shard_batch_put_lm(&b->rows, s, lm, idx[i]);
    b->counted = 0;
    for (int i = 0; i < n; i++) {
        const int32_t *labels = b->rows.token_labels + (size_t)i * (size_t)t;
        for (int32_t j = 1; j < t; j++) b->counted += labels[j] != SHARD_IGNORE_INDEX;
    }
}

void train_batch_fill(train_batch *b, const shard_rows *s, const shard_lm *lm, const uint64_t *idx,
                      int n)
{
    if (lm)
        gather_lm(b, s, lm, idx, n);
    else
        shard_batch_gather(&b->rows, s, idx, n);
    b->tokens = 0;
    for (int i = 0; i < n; i++) b->tokens += b->rows.lengths[i];
    b->mb = (model_batch){.b = n,
                          .t = b->rows.t,
                          .input_ids = b->rows.ids,
                          .lengths = b->rows.lengths,
                          .labels = lm ? b->rows.token_labels : b->rows.labels,
                          .example_index = b->rows.example_index};
    b->pack = (model_packing){b->rows.position_ids, b->rows.segment_ids};
    b->packing = lm && b->rows.position_ids ? &b->pack : NULL;
}

void train_batch_free(train_batch *b)
{
    if (b) shard_batch_free(&b->rows);
}
