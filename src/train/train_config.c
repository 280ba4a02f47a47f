/* train_config.c: ftune-train's config keys and their cross-checks. Names
 * follow Hugging Face TrainingArguments; defaults are Trainer's unless the
 * help says otherwise. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "train/train.h"
#include "train_impl.h"

static const cfg_key_spec TRAIN_KEYS[] = {
    {"model_name_or_path", CFG_STRING, "", 1, 0, NULL,
     "model folder (config.json, model.safetensors, tokenizer files); required"},
    {"tokenizer_name", CFG_STRING, "", 1, 0, NULL, "tokenizer folder (default: the model folder)"},
    {"data_dir", CFG_STRING, "", 1, 0, NULL, "prepared dataset (manifest.json + shards); required"},
    {"output_dir", CFG_STRING, "", 1, 0, NULL,
     "checkpoints, log.jsonl and final/ go here; required"},
    {"resume", CFG_STRING, "auto", 1, 0, NULL,
     "auto: newest verifying checkpoint in output_dir if any; never; or a checkpoint file"},
    {"allow_random_init", CFG_BOOL, "false", 1, 0, NULL,
     "train from config.json alone when the model folder has no model.safetensors"},
    {"learning_rate", CFG_FLOAT, "5e-5", 0, 10, NULL, "AdamW base learning rate"},
    {"per_device_train_batch_size", CFG_INT, "8", 1, 65536, NULL, "rows per rank per micro-batch"},
    {"per_device_eval_batch_size", CFG_INT, "8", 1, 65536, NULL, "rows per rank per eval batch"},
    {"gradient_accumulation_steps", CFG_INT, "1", 1, 65536, NULL,
     "micro-batches per optimizer step"},
    {"num_train_epochs", CFG_FLOAT, "3", 0, 1e6, NULL, "epochs (fractions allowed)"},
    {"max_steps", CFG_INT, "-1", -1, 1e12, NULL, "optimizer steps; > 0 overrides num_train_epochs"},
    {"warmup_steps", CFG_INT, "0", 0, 1e12, NULL, "linear warm-up steps"},
    {"warmup_ratio", CFG_FLOAT, "0", 0, 1, NULL,
     "warm-up as a fraction of all steps (if warmup_steps is 0)"},
    {"weight_decay", CFG_FLOAT, "0", 0, 10, NULL,
     "AdamW decoupled weight decay (not on biases and LayerNorm)"},
    {"adam_beta1", CFG_FLOAT, "0.9", 0, 1, NULL, "AdamW beta1"},
    {"adam_beta2", CFG_FLOAT, "0.999", 0, 1, NULL, "AdamW beta2"},
    {"adam_epsilon", CFG_FLOAT, "1e-8", 0, 1, NULL, "AdamW epsilon"},
    {"max_grad_norm", CFG_FLOAT, "1.0", 0, 1e9, NULL, "clip the global gradient norm (0: off)"},
    {"lr_scheduler_type", CFG_STRING, "linear", 1, 0, "linear|cosine|constant|constant_with_warmup",
     "learning-rate schedule"},
    {"logging_steps", CFG_INT, "500", 1, 1e12, NULL, "log every N optimizer steps"},
    {"evaluation_strategy", CFG_STRING, "no", 1, 0, "no|steps", "evaluate on the validation split"},
    {"eval_steps", CFG_INT, "0", 0, 1e12, NULL, "evaluate every N steps (0: logging_steps)"},
    {"save_strategy", CFG_STRING, "steps", 1, 0, "no|steps", "write checkpoints"},
    {"save_steps", CFG_INT, "500", 1, 1e12, NULL, "checkpoint every N steps"},
    {"save_total_limit", CFG_INT, "0", 0, 1e6, NULL,
     "keep the newest N checkpoints plus the best (0: all)"},
    {"seed", CFG_INT, "42", 0, 9.0e15, NULL, "data order, dropout and head initialisation"},
    {"bf16", CFG_BOOL, "false", 1, 0, NULL,
     "bf16 mixed precision: the blocks' matrix products in bf16, float32 master weights"},
    {"fp16", CFG_BOOL, "false", 1, 0, NULL,
     "fp16 mixed precision with dynamic loss scaling (on a CPU: exact, slower than fp32)"},
    {"gradient_checkpointing", CFG_BOOL, "false", 1, 0, NULL,
     "decoder LLMs: keep each block's input, recompute its activations in backward "
     "(less memory, one more forward; the same gradients)"},
    {"load_best_model_at_end", CFG_BOOL, "false", 1, 0, NULL,
     "export the best checkpoint's weights instead of the last"},
    {"metric_for_best_model", CFG_STRING, "loss", 1, 0, NULL,
     "loss|accuracy|f1|precision|recall|roc_auc (eval_ prefix allowed; f1 etc. macro)"},
    {"greater_is_better", CFG_STRING, "auto", 1, 0, "auto|true|false",
     "auto: false for loss, true otherwise"},
    {"train_last_n_blocks", CFG_INT, "-1", -1, 100000, NULL,
     "-1: train everything; N: freeze embeddings and all but the last N blocks"},
    {"dropout", CFG_BOOL, "true", 1, 0, NULL, "dropout during training (the model's rates)"},
    {"num_labels", CFG_INT, "0", 0, 100000, NULL, "0: from the manifest; else must match it"},
    {"ddp_bucket_cap_mb", CFG_INT, "25", 1, 4096, NULL, "gradient all-reduce bucket size"},
    {"disable_tqdm", CFG_BOOL, "false", 1, 0, NULL, "no progress bar on a terminal"},
    {"save_async", CFG_BOOL, "true", 1, 0, NULL,
     "write checkpoints in a background thread from a copy (training goes on); "
     "false: every rank waits for each save"},
    {"use_cpu", CFG_BOOL, "false", 1, 0, NULL,
     "train on the CPU even where a CUDA build sees a GPU on every rank"},
};

const cfg_key_spec *train_key_specs(size_t *n)
{
    *n = sizeof TRAIN_KEYS / sizeof TRAIN_KEYS[0];
    return TRAIN_KEYS;
}

static ft_status read_metric(const cfg *c, train_opts *o, ft_error *err)
{
    const char *m = cfg_get_string(c, "metric_for_best_model");
    if (strncmp(m, "eval_", 5) == 0) m += 5;
    static const char *const known[] = {"loss", "accuracy", "f1", "precision", "recall", "roc_auc"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) ok |= strcmp(m, known[i]) == 0;
    if (!ok)
        return ft_fail(err, FT_EINVAL,
                       "key 'metric_for_best_model': got \"%s\", expected one of loss, accuracy, "
                       "f1, precision, recall, roc_auc (optionally with the eval_ prefix)",
                       m);
    snprintf(o->metric, sizeof o->metric, "%s", m);
    const char *g = cfg_get_string(c, "greater_is_better");
    o->greater_is_better = strcmp(g, "auto") == 0 ? strcmp(m, "loss") != 0 : strcmp(g, "true") == 0;
    return FT_OK;
}

static ft_status require(const char *v, const char *key, ft_error *err)
{
    if (v && *v) return FT_OK;
    return ft_fail(err, FT_EINVAL, "key '%s' is required (in the config file or as --%s PATH)", key,
                   key);
}

/* The typed fields of train_opts read straight from one key each. */
typedef enum { OPT_DOUBLE, OPT_INT, OPT_I64, OPT_U64, OPT_BOOL } opt_kind;
#define OPT(key, field, kind)                  \
    {                                          \
        key, offsetof(train_opts, field), kind \
    }
static const struct {
    const char *key;
    size_t off;
    opt_kind kind;
} TRAIN_FIELDS[] = {
    OPT("learning_rate", learning_rate, OPT_DOUBLE),
    OPT("num_train_epochs", num_train_epochs, OPT_DOUBLE),
    OPT("warmup_ratio", warmup_ratio, OPT_DOUBLE),
    OPT("weight_decay", weight_decay, OPT_DOUBLE),
    OPT("adam_beta1", adam_beta1, OPT_DOUBLE),
    OPT("adam_beta2", adam_beta2, OPT_DOUBLE),
    OPT("adam_epsilon", adam_epsilon, OPT_DOUBLE),
    OPT("max_grad_norm", max_grad_norm, OPT_DOUBLE),
    OPT("per_device_train_batch_size", per_device_train_batch_size, OPT_INT),
    OPT("per_device_eval_batch_size", per_device_eval_batch_size, OPT_INT),
    OPT("gradient_accumulation_steps", gradient_accumulation_steps, OPT_INT),
    OPT("max_steps", max_steps, OPT_I64),
    OPT("warmup_steps", warmup_steps, OPT_I64),
    OPT("logging_steps", logging_steps, OPT_I64),
    OPT("eval_steps", eval_steps, OPT_I64),
    OPT("save_steps", save_steps, OPT_I64),
    OPT("save_total_limit", save_total_limit, OPT_INT),
    OPT("train_last_n_blocks", train_last_n_blocks, OPT_INT),
    OPT("num_labels", num_labels, OPT_INT),
    OPT("ddp_bucket_cap_mb", bucket_cap_mb, OPT_INT),
    OPT("seed", seed, OPT_U64),
    OPT("bf16", bf16, OPT_BOOL),
    OPT("fp16", fp16, OPT_BOOL),
    OPT("gradient_checkpointing", gradient_checkpointing, OPT_BOOL),
    OPT("use_cpu", use_cpu, OPT_BOOL),
    OPT("save_async", save_async, OPT_BOOL),
    OPT("load_best_model_at_end", load_best_model_at_end, OPT_BOOL),
    OPT("dropout", dropout, OPT_BOOL),
    OPT("allow_random_init", allow_random_init, OPT_BOOL),
    OPT("disable_tqdm", disable_tqdm, OPT_BOOL),
};
#undef OPT

/* Ranges are the key specs' (cfg checked them), so the casts are safe. */
static void read_fields(const cfg *c, train_opts *o)
{
    for (size_t i = 0; i < sizeof TRAIN_FIELDS / sizeof TRAIN_FIELDS[0]; i++) {
        char *f = (char *)o + TRAIN_FIELDS[i].off;
        const char *k = TRAIN_FIELDS[i].key;
        switch (TRAIN_FIELDS[i].kind) {
        case OPT_DOUBLE: *(double *)f = cfg_get_float(c, k); break;
        case OPT_INT: *(int *)f = (int)cfg_get_int(c, k); break;
        case OPT_I64: *(int64_t *)f = cfg_get_int(c, k); break;
        case OPT_U64: *(uint64_t *)f = (uint64_t)cfg_get_int(c, k); break;
        case OPT_BOOL: *(bool *)f = cfg_get_bool(c, k); break;
        }
    }
}

ft_status train_opts_read(const cfg *c, train_opts *o, ft_error *err)
{
    memset(o, 0, sizeof *o);
    o->model_dir = cfg_get_string(c, "model_name_or_path");
    o->tokenizer_dir = cfg_get_string(c, "tokenizer_name");
    if (!*o->tokenizer_dir) o->tokenizer_dir = o->model_dir;
    o->data_dir = cfg_get_string(c, "data_dir");
    o->output_dir = cfg_get_string(c, "output_dir");
    o->resume = cfg_get_string(c, "resume");
    read_fields(c, o);
    o->do_eval = strcmp(cfg_get_string(c, "evaluation_strategy"), "steps") == 0;
    o->do_save = strcmp(cfg_get_string(c, "save_strategy"), "steps") == 0;
    if (o->eval_steps == 0) o->eval_steps = o->logging_steps;
    ft_status st = require(o->model_dir, "model_name_or_path", err);
    if (st == FT_OK) st = require(o->data_dir, "data_dir", err);
    if (st == FT_OK) st = require(o->output_dir, "output_dir", err);
    if (st == FT_OK) st = sched_parse(cfg_get_string(c, "lr_scheduler_type"), &o->scheduler, err);
    if (st == FT_OK) st = read_metric(c, o, err);
    if (st == FT_OK && o->bf16 && o->fp16)
        st = ft_fail(err, FT_EINVAL, "keys 'bf16' and 'fp16' are both true: choose one");
    if (st == FT_OK && o->load_best_model_at_end && (!o->do_eval || !o->do_save))
        st = ft_fail(err, FT_EINVAL,
                     "key 'load_best_model_at_end' needs evaluation_strategy "
                     "\"steps\" and save_strategy \"steps\"");
    if (st == FT_OK && o->load_best_model_at_end && o->save_steps % o->eval_steps != 0)
        st = ft_fail(err, FT_EINVAL,
                     "key 'save_steps' (%lld) must be a multiple of 'eval_steps' "
                     "(%lld) with load_best_model_at_end, as in Trainer",
                     (long long)o->save_steps, (long long)o->eval_steps);
    if (st == FT_OK && o->max_steps <= 0 && o->num_train_epochs <= 0)
        st = ft_fail(err, FT_EINVAL, "keys 'num_train_epochs' and 'max_steps': nothing to train");
    if (st == FT_OK && strcmp(o->resume, "auto") != 0 && strcmp(o->resume, "never") != 0 &&
        strstr(o->resume, ".h5") == NULL)
        st = ft_fail(err, FT_EINVAL,
                     "key 'resume': got \"%s\", expected auto, never or a "
                     "checkpoint-STEP.h5 file",
                     o->resume);
    return st;
}
