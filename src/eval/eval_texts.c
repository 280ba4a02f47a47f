/* eval_texts: the texts of the most confident mistakes, for report.html.
 *
 * The metrics name a mistake by its example index (position in the source);
 * after the reduction only rank 0 knows the list, and the shard rows are
 * spread over the ranks. Rank 0 therefore looks the few examples up itself:
 * it reads each file's example_index column (small), and only the files
 * that hold a listed example with their ids, and decodes those ids with the
 * model's tokenizer (special tokens left out). The text is what the model
 * saw, cut at max_length, which is what a reader of a mistake needs. */
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "core/ft_alloc.h"

/* Index in r->worst of example ex, or -1. */
static int worst_slot(const metrics_result *r, int64_t ex)
{
    for (int i = 0; i < r->num_worst; i++)
        if (r->worst[i].example_index == ex) return i;
    return -1;
}

static ft_status decode_row(tok_tokenizer *tok, const shard_rows *rows, uint64_t i, char **text,
                            ft_error *err)
{
    int32_t n = rows->lengths[i], t = rows->max_length;
    int32_t *ids = ft_malloc_array((size_t)t, sizeof *ids);
    if (!ids) return ft_fail(err, FT_ENOMEM, "out of memory");
    shard_rows_copy_ids(rows, i, t, ids);
    size_t len = 0;
    ft_status st = tok_decode(tok, ids, (size_t)n, true, text, &len, err);
    free(ids);
    return st;
}

/* Decode the listed examples of file f (read with ids). */
static ft_status texts_of_file(const eval_split *s, int f, tok_tokenizer *tok,
                               const metrics_result *r, char **texts, ft_error *err)
{
    shard_rows rows;
    ft_status st = shard_read_file(s->reader.paths[f], true, &rows, err);
    if (st != FT_OK) return st;
    for (uint64_t i = 0; i < rows.rows && st == FT_OK; i++) {
        int slot = worst_slot(r, rows.example_index[i]);
        if (slot >= 0 && !texts[slot]) st = decode_row(tok, &rows, i, &texts[slot], err);
    }
    shard_rows_free(&rows);
    return st;
}

ft_status eval_mistake_texts(const eval_split *s, tok_tokenizer *tok, const metrics_result *r,
                             char **texts, ft_error *err)
{
    for (int i = 0; i < r->num_worst; i++) texts[i] = NULL;
    int found = 0;
    ft_status st = FT_OK;
    for (int f = 0; f < s->reader.n_files && found < r->num_worst && st == FT_OK; f++) {
        shard_rows rows;
        st = shard_read_file(s->reader.paths[f], false, &rows, err);
        if (st != FT_OK) break;
        int here = 0;
        for (uint64_t i = 0; i < rows.rows; i++)
            if (worst_slot(r, rows.example_index[i]) >= 0) here++;
        shard_rows_free(&rows);
        if (here > 0) st = texts_of_file(s, f, tok, r, texts, err);
        found += here;
    }
    if (st != FT_OK) {
        for (int i = 0; i < r->num_worst; i++) {
            free(texts[i]);
            texts[i] = NULL;
        }
    }
    return st;
}
