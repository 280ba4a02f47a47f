/* eval_impl.h: what the files of the eval module share (not an API). */
#ifndef EVAL_IMPL_H
#define EVAL_IMPL_H

#include <stdio.h>

#include "comm_agree.h"
#include "eval.h"
#include "hf_model.h"
#include "metrics.h"
#include "model.h"
#include "report.h"
#include "shard.h"
#include "tok.h"

/* ---- the split (eval_data.c) ------------------------------------------------ */

typedef struct eval_split {
    shard_manifest manifest;
    int split;            /* SHARD_TEST or SHARD_VALIDATION */
    int n_files;          /* files of the split, in shard order */
    char **paths;
    uint64_t *expected_rows;
    uint32_t *expected_crc;
    int64_t *first_row;   /* [n_files + 1]: split row of each file's row 0 */
    int64_t rows;
    char fingerprint[32]; /* eval_manifest_fingerprint */
} eval_split;

ft_status eval_split_open(const char *data_dir, const char *split_name,
                          eval_split *s, ft_error *err);
void eval_split_free(eval_split *s);

/* Rows of a split in order, one shard file in memory at a time. */
typedef struct eval_cursor {
    const eval_split *s;
    int64_t next, end;
    int file; /* loaded file, or -1 */
    shard_rows rows;
} eval_cursor;

/* A batch of rows taken from a cursor: ids as int32 [cap * t]. */
typedef struct eval_batch {
    int cap, t, n;
    int32_t *ids, *lengths, *labels;
    int64_t *example_index;
} eval_batch;

ft_status eval_batch_alloc(eval_batch *b, int cap, int t, ft_error *err);
void eval_batch_free(eval_batch *b);

void eval_cursor_init(eval_cursor *c, const eval_split *s, int64_t begin, int64_t end);
void eval_cursor_free(eval_cursor *c);
/* Append the cursor's next rows to b at positions b->n .. b->cap - 1 (b->n
 * stops short at the end of the range). */
ft_status eval_cursor_next(eval_cursor *c, eval_batch *b, ft_error *err);
/* Read one file's rows with ids (for the texts of mistakes). */
ft_status eval_split_read_file(const eval_split *s, int file, bool with_ids,
                               shard_rows *rows, ft_error *err);

/* ---- the model (eval_model.c) ---------------------------------------------- */

/* Check the model folder against the dataset (labels, tokenizer, head,
 * lengths) and load it, then the checkpoint's weights when checkpoint is
 * not NULL. *tok is left open for the caller (texts). */
ft_status eval_model_open(const char *dir, const char *checkpoint, const shard_manifest *man,
                          model **m, hf_config *cfg, tok_tokenizer **tok, ft_error *err);

/* ---- predictions.jsonl across ranks (eval_predictions.c) --------------------- */

typedef struct eval_preds eval_preds;

/* Rank 0 streams into path; other ranks spool into a temporary file. */
ft_status eval_preds_open(const char *path, int num_classes, bool force, int rank,
                          eval_preds **out, ft_error *err);
ft_status eval_preds_add(eval_preds *p, int64_t example_index, int label, int pred,
                         const float *probs, ft_error *err);
/* Collective: the spools are sent to rank 0 in rank order and the file is
 * renamed into place. Frees p. Returns the agreed status. */
ft_status eval_preds_finish(eval_preds *p, ft_status st, MPI_Comm comm, ft_error *err);
/* Not collective: drop p (rank 0's temporary file removed). NULL: no-op. */
void eval_preds_abort(eval_preds *p);

/* ---- pieces of eval.c shared with the others ------------------------------------ */

/* Texts (decoded ids) of the mistakes of r, rank 0 only: texts[i] for
 * r->worst[i], NULL where it could not be found. Caller frees each. */
ft_status eval_mistake_texts(const eval_split *s, tok_tokenizer *tok,
                             const metrics_result *r, char **texts, ft_error *err);

#endif
