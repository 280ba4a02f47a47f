/* eval: sharded evaluation of a sequence classifier on a prepared dataset.
 *
 * eval_run() is ftune-eval without the command line: every rank of comm
 * loads the model (a Hugging Face folder) and the dataset manifest, scores a
 * contiguous slice of the split (shard_slice: every example exactly once, no
 * padding duplicates, whatever the number of ranks) in batches with dropout
 * off, turns the logits into softmax probabilities and a cross-entropy in
 * double precision (eval_softmax) and feeds them to a metrics_acc. The
 * accumulators are reduced exactly (src/metrics) and rank 0 writes
 * report.json, report.md, report.html and predictions.jsonl (src/report)
 * into the output folder.
 *
 * Design choices:
 *   - Streaming: a rank holds one shard file of its slice and one batch of
 *     activations at a time; the metrics keep counts and one score per
 *     example (two classes). predictions.jsonl is written by rank 0 as it
 *     scores its own slice (the first one); the other ranks spool their
 *     records to an anonymous temporary file (tmpfile(), so local disk, not
 *     memory) and send them to rank 0 in rank order at the end, so the file
 *     is in split order and byte-identical for any rank count.
 *   - Batches are aligned to the split, not to the slice: batch j always
 *     holds split rows [j*B, (j+1)*B), each row at the same position, with
 *     max_length tokens, and a rank whose slice starts or ends inside a batch
 *     fills the positions it does not own with copies of one of its rows
 *     (scored, then dropped: no example is counted twice). The reason:
 *     OpenBLAS's sgemm does not give a row the same bits at another position
 *     or in a product of another height, so with batches aligned to the
 *     slices a row's probabilities would change in the last bit with the
 *     number of ranks. Aligned, report.json and predictions.jsonl are
 *     byte-identical for any rank count at a given batch size and threads
 *     per rank (OMP_NUM_THREADS; OpenBLAS's split of a product also changes
 *     its bits).
 *   - The model plans activations for training (every layer kept for
 *     backward): about 85 MB per row for BERT-base at 128 tokens, hence the
 *     default batch of 16 rows.
 *   - Inputs are checked before any work, on every rank: the dataset's
 *     tokenizer fingerprint against the model folder's tokenizer, the
 *     number of labels against the model's head, the head present in the
 *     weights (an evaluation of a randomly initialised head is refused), the
 *     existing report (refused without force). A failure on one rank stops
 *     all of them with that rank's message (comm_agree).
 *   - The texts of the most confident mistakes shown in report.html are the
 *     decoded token ids of the shard (what the model saw, truncated to
 *     max_length), found by rank 0 after the reduction.
 *
 * A decoder LLM (hf_llm.h) on a causal_lm dataset is scored
 * the same way, batches aligned to the split, by its causal-LM loss: each
 * row's sum of -log p(next token) over the tokens whose label is not -100
 * (eval_token_loss, in double from the float logits) and their count. The
 * row sums go into an exact fixed-point sum (metrics_fixed_sum) and the
 * count is an int64, both reduced with integer all-reduces, so the mean
 * token loss and perplexity = exp(loss) are the same bits for any number
 * of ranks. Its report holds these instead of the classification metrics;
 * no predictions.jsonl is written. Packed rows go through
 * model_forward_packed (each example attends within itself, its positions
 * from 0), so their loss is the unpacked examples' up to float32 rounding.
 *
 * Not here: multi-label or regression heads,
 * generation and its metrics, GPU execution. */
#ifndef EVAL_H
#define EVAL_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "hf/hf_config.h"

typedef struct eval_options {
    const char *model_dir;    /* Hugging Face folder: config.json, model.safetensors, tokenizer */
    const char *checkpoint;   /* NULL, or an ftune checkpoint (.h5) whose weights replace
                                 model_dir's (model_dir then gives architecture + tokenizer) */
    const char *data_dir;     /* prepared dataset: manifest.json + shards */
    const char *split;        /* "test" (default when NULL) or "validation" */
    const char *output_dir;   /* created when missing */
    int batch_size;           /* rows per model forward; 0: 16 */
    bool force;               /* replace an existing report */
    const char *log_path;     /* log.jsonl for the loss curves; NULL: none */
    const char *command_line; /* recorded in report.json (may be NULL) */
    int keep_worst;           /* most confident mistakes shown; 0: 10, < 0: none */
    bool bf16;                /* the blocks' products in bf16 (model_set_bf16) */
    bool use_cpu;             /* the CPU even where a GPU is visible (device.h) */
} eval_options;

/* What a run measured (every rank gets the same figures). */
typedef struct eval_summary {
    int64_t num_examples;
    double accuracy, loss; /* a causal LM: accuracy NaN, loss the mean token loss */
    double eval_seconds, examples_per_s;
    bool causal_lm;     /* the fields below are set */
    int64_t num_tokens; /* tokens scored (labels other than -100) */
    double perplexity;  /* exp(loss) */
} eval_summary;

/* Evaluate; collective over comm. Input errors (bad folders, mismatched
 * tokenizer or labels, an existing report without force) are FT_EINVAL,
 * FT_ENOTFOUND, FT_EFORMAT or FT_EEXIST before any scoring; every rank
 * returns the same status and message. summary may be NULL. */
ft_status eval_run(const eval_options *opt, MPI_Comm comm, eval_summary *summary, ft_error *err);

/* Softmax of logits[k] computed in double (max subtracted), written as
 * floats to probs[k]; returns the cross-entropy -log p(label) computed as
 * logsumexp - logit[label] (label < 0: returns 0). The argmax of probs
 * (first index of the largest) is *pred when pred is not NULL. */
double eval_softmax(const float *logits, int k, int label, float *probs, int *pred);

/* The causal-LM loss of one row of t tokens: the sum over positions j in
 * [0, t-1) with labels[j+1] != -100 of logsumexp(logits[j]) -
 * logits[j][labels[j+1]], each in double from the float logits ([t, vocab],
 * row-major), added in position order; *tokens gets the number of such
 * positions. transformers' shift: position j predicts token j+1. */
double eval_token_loss(const float *logits, const int32_t *labels, int t, int vocab,
                       int64_t *tokens);

/* FT_EINVAL unless DIR/model.safetensors holds the classification head of
 * cfg's architecture (classifier.* / score.*): a base model's head would be
 * initialised at random by hf_model_load, and scoring with it is
 * meaningless. */
ft_status eval_check_head(const char *dir, const hf_config *cfg, ft_error *err);

#endif
