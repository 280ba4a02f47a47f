/* train_impl.h: what the train_*.c files share. */
#ifndef TRAIN_IMPL_H
#define TRAIN_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cfg.h"
#include "ckpt/ckpt.h"
#include "comm/comm.h"
#include "device/device.h"
#include "core/ft_error.h"
#include "hf/hf_config.h"
#include "model/model.h"
#include "optim/optim.h"
#include "sampler/sampler.h"
#include "shard/shard.h"

/* The config, read once into typed fields. */
typedef struct train_opts {
    const char *model_dir, *tokenizer_dir, *data_dir, *output_dir, *resume;
    double learning_rate, num_train_epochs, warmup_ratio, weight_decay;
    double adam_beta1, adam_beta2, adam_epsilon, max_grad_norm;
    int per_device_train_batch_size, per_device_eval_batch_size;
    int gradient_accumulation_steps;
    int64_t max_steps, warmup_steps, logging_steps, eval_steps, save_steps;
    int save_total_limit, train_last_n_blocks, num_labels, bucket_cap_mb;
    uint64_t seed;
    bool do_eval, do_save, bf16, fp16, load_best_model_at_end, dropout;
    bool allow_random_init, disable_tqdm, use_cpu, save_async;
    bool gradient_checkpointing; /* decoder LLMs only (model_set_gradient_checkpointing) */
    sched_kind scheduler;
    char metric[32]; /* "loss", "accuracy", "f1", "precision", "recall", "roc_auc" */
    bool greater_is_better;
} train_opts;

/* Read and cross-check the config (FT_EINVAL naming the key). */
ft_status train_opts_read(const cfg *c, train_opts *o, ft_error *err);

/* Every row of a split in memory (every rank holds all rows: the sampler
 * may give any row to any rank), ids widened to int32, through
 * shard_reader_load_all (each file checked against the manifest, every row
 * validated: FT_EFORMAT naming the file and its row). Free with
 * shard_rows_free. */
ft_status train_split_load(const char *data_dir, const shard_manifest *man, int split,
                           shard_rows *out, ft_error *err);
/* The same for a causal_lm split: its token labels into lm
 * (shard_reader_load_all_lm). Free with shard_rows_free and shard_lm_free. */
ft_status train_split_load_lm(const char *data_dir, const shard_manifest *man, int split,
                              shard_rows *out, shard_lm *lm, ft_error *err);

/* A micro-batch of rows idx[0..n) in reusable buffers; t = the longest row. */
typedef struct train_batch {
    shard_batch rows;
    model_batch mb;               /* points into rows */
    model_packing pack;           /* packed rows: into rows */
    const model_packing *packing; /* &pack for packed rows, else NULL */
    int64_t tokens;               /* real tokens in the batch */
    /* causal_lm: the tokens the loss counts (a label other than -100 at
     * positions 1..t-1 of a row: the model scores position j's logits
     * against label j+1); 0 for classifiers. */
    int64_t counted;
} train_batch;

/* lm: a causal_lm batch (per-token labels; packed: with position and
 * segment ids). */
ft_status train_batch_init(train_batch *b, int cap_b, int32_t max_length, bool lm, bool packed,
                           ft_error *err);
/* Rows idx[0..n) of s; lm: s's token columns for a causal_lm split, else
 * NULL. */
void train_batch_fill(train_batch *b, const shard_rows *s, const shard_lm *lm, const uint64_t *idx,
                      int n);
void train_batch_free(train_batch *b);

/* Everything a run holds. */
typedef struct train_ctx {
    train_opts o;
    comm *comm;
    device_choice dev; /* CPU or this rank's GPU */
    int rank, world;
    shard_manifest man;
    char data_fingerprint[SHARD_FINGERPRINT_BYTES]; /* shard_manifest_fingerprint */
    char run_fingerprint[40]; /* train_run_fingerprint of the config and data */
    ckpt_lock *lock;          /* rank 0: OUTPUT/.ftune.lock, held for the run */
    hf_config hf;
    model *m;
    optim *opt;
    scaler scaler;             /* fp16 loss scaling (disabled otherwise) */
    ckpt_async *saver;         /* rank 0 with save_async: background saves */
    shard_rows train, val;     /* the splits, in memory */
    bool lm;                   /* a causal_lm dataset on a decoder LLM */
    shard_lm train_lm, val_lm; /* lm: the splits' token labels */
    sampler smp;
    int accumulation;          /* may differ from the config after a resume */
    int64_t step, total_steps; /* optimizer steps done / to do */
    int64_t warmup;
    size_t grad_lo; /* first trainable float of the buffers */
    double best_metric;
    int64_t best_step;
    double last_eval_metric; /* NaN when no eval at this step */
    bool eval_interrupted;   /* the eval at this step was cut by a stop */
    FILE *log;               /* OUTPUT/log.jsonl on rank 0 */
    char *config_json;
} train_ctx;

/* Set-up: manifest, tokenizer check, model, data, optimizer (train_setup.c). */
ft_status train_setup(train_ctx *t, const cfg *c, ft_error *err);
void train_teardown(train_ctx *t);
/* Resume from a checkpoint per opts.resume; sets t->step. */
ft_status train_resume(train_ctx *t, ft_error *err);

/* Which run a checkpoint belongs to (train_identity.c). */
enum { TRAIN_FINGERPRINT_BYTES = 40 };
/* "fnv1a64:HEX" over the values of the keys that define a run (model, seed,
 * optimizer and schedule, length, batch, precision, ...) and the data
 * manifest's fingerprint. */
ft_status train_run_fingerprint(const char *config_json, const char *data_fingerprint,
                                char out[TRAIN_FINGERPRINT_BYTES], ft_error *err);
/* FT_OK when checkpoint path (its state s) belongs to the run t's config
 * describes; else FT_EINVAL naming each key that differs, the checkpoint's
 * value and the config's, and how to proceed. named_by_resume: the file came
 * from key 'resume' (else it is output_dir's). */
ft_status train_identity_check(const train_ctx *t, const char *path, const ckpt_state *s,
                               bool named_by_resume, ft_error *err);

/* Evaluation on the validation split (train_eval.c): writes eval figures to
 * the log and sets t->last_eval_metric on every rank. may_stop: a stop
 * request between batches ends it (t->eval_interrupted, metric NaN,
 * nothing logged, OUTPUT/eval-pending names the step). */
ft_status train_evaluate(train_ctx *t, bool may_stop, ft_error *err);
#define TRAIN_EVAL_PENDING "eval-pending"
/* After a resume: redo the evaluation of t->step if OUTPUT/eval-pending
 * names it (*redone), else remove a stale marker. Collective. */
ft_status train_eval_pending(train_ctx *t, bool *redone, ft_error *err);

/* Best-checkpoint bookkeeping: t->last_eval_metric competes for t->step
 * (train_save calls it; a redone evaluation too). */
void train_update_best(train_ctx *t);
/* Checkpoint at t->step by rank 0; every rank gets the status. With
 * save_async the file is written in the background unless `wait` (a stop,
 * the last step), and the status is that of the copy and of the previous
 * background save. */
ft_status train_save(train_ctx *t, bool wait, ft_error *err);
/* Rank 0: wait for a background save; every rank gets its status. */
ft_status train_save_wait(train_ctx *t, ft_error *err);
/* Rank 0's outcome st (its message in *e) on every rank: returned, and
 * copied to *err when it is a failure. Collective. */
ft_status train_share_status(train_ctx *t, ft_status st, ft_error *e, ft_error *err);

/* Logging (train_log.c). */
ft_status train_log_open(train_ctx *t, ft_error *err);
void train_log_close(train_ctx *t);
void train_log_step(train_ctx *t, double loss, double lr, double grad_norm, double tokens_per_s,
                    double seconds_per_step);
/* One JSON object line (rank 0): keys and values already formatted. */
void train_log_json(train_ctx *t, const char *json_object_text);
void train_progress(train_ctx *t);

/* Is a stop requested (the signal flag)? */
bool train_stop_requested(void);

#endif
