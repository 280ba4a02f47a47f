/* eval_impl.h: what the files of the eval module share (not an API). */
#ifndef EVAL_IMPL_H
#define EVAL_IMPL_H

#include <stdio.h>

#include "comm/comm_agree.h"
#include "eval/eval.h"
#include "hf/hf_model.h"
#include "metrics/metrics.h"
#include "model/model.h"
#include "report/report.h"
#include "shard/shard.h"
#include "tok/tok.h"

/* ---- the split (eval_data.c) ------------------------------------------------ */

/* The split scored: its manifest and the reader of its files (which
 * borrows the manifest: an eval_split stays where it was opened). */
typedef struct eval_split {
    shard_manifest manifest;
    shard_reader reader;
    int split;                                 /* SHARD_TEST or SHARD_VALIDATION */
    char fingerprint[SHARD_FINGERPRINT_BYTES]; /* shard_manifest_fingerprint */
} eval_split;

ft_status eval_split_open(const char *data_dir, const char *split_name, eval_split *s,
                          ft_error *err);
void eval_split_free(eval_split *s);

/* ---- the model (eval_model.c) ---------------------------------------------- */

/* Check the model folder against the dataset (labels, tokenizer, head,
 * lengths) and load it, then the checkpoint's weights when checkpoint is
 * not NULL. *tok is left open for the caller (texts). */
ft_status eval_model_open(const char *dir, const char *checkpoint, const shard_manifest *man,
                          model **m, hf_config *cfg, tok_tokenizer **tok, ft_error *err);

/* ---- predictions.jsonl across ranks (eval_predictions.c) --------------------- */

typedef struct eval_preds eval_preds;

/* Rank 0 streams into path; other ranks spool into a temporary file. */
ft_status eval_preds_open(const char *path, int num_classes, bool force, int rank, eval_preds **out,
                          ft_error *err);
ft_status eval_preds_add(eval_preds *p, int64_t example_index, int label, int pred,
                         const float *probs, ft_error *err);
/* Collective: the spools are sent to rank 0 in rank order and the file is
 * renamed into place. Frees p. Returns the agreed status. */
ft_status eval_preds_finish(eval_preds *p, ft_status st, MPI_Comm comm, ft_error *err);
/* Not collective: drop p (rank 0's temporary file removed). NULL: no-op. */
void eval_preds_abort(eval_preds *p);

/* ---- a causal LM's loss (eval_lm.c) ------------------------------------------- */

/* Exact sums of a causal LM's evaluation (eval.h): row loss sums as an
 * exact fixed-point sum, tokens scored and rows as int64. */
typedef struct eval_lm_sum {
    metrics_fixed_sum loss;
    int64_t tokens, rows;
} eval_lm_sum;

/* Rows [first, last) of b scored from logits [b->cap, b->t, vocab]. */
void eval_lm_add_rows(eval_lm_sum *s, const float *logits, const shard_batch *b, int first,
                      int last, int vocab);
/* Collective: every rank gets the sums over comm (integer all-reduce). */
void eval_lm_reduce(eval_lm_sum *s, MPI_Comm comm);
/* Sum of token losses / tokens (NaN without tokens). */
double eval_lm_mean_loss(const eval_lm_sum *s);

/* ---- pieces of eval.c shared with the others ------------------------------------ */

/* Texts (decoded ids) of the mistakes of r, rank 0 only: texts[i] for
 * r->worst[i], NULL where it could not be found. Caller frees each. */
ft_status eval_mistake_texts(const eval_split *s, tok_tokenizer *tok, const metrics_result *r,
                             char **texts, ft_error *err);

#endif
