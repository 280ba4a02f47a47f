/* train_setup.c: everything before the first step (input checks, model,
 * data, optimizer), resume from a checkpoint, and saving one. Every rank
 * runs the checks; one status is agreed so all ranks stop together with the
 * first failing rank's message. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "comm/comm_agree.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "hf/hf_model.h"
#include "tok/tok.h"
#include "train_impl.h"

static ft_status check_tokenizer(train_ctx *t, ft_error *err)
{
    tok_tokenizer *tk = NULL;
    ft_status st = tok_open(t->o.tokenizer_dir, &tk, err);
    if (st != FT_OK) {
        ft_error_prefix(err, "tokenizer of key 'tokenizer_name'/'model_name_or_path'");
        return st == FT_EIO ? FT_ENOTFOUND : st;
    }
    char fp[17];
    snprintf(fp, sizeof fp, "%016" PRIx64, tok_fingerprint(tk));
    tok_close(tk);
    if (strcmp(fp, t->man.tokenizer_fingerprint) != 0)
        return ft_fail(err, FT_EINVAL,
                       "%s/manifest.json: the shards were made with tokenizer %s, but %s's "
                       "tokenizer is %s: shard the data again with this model's tokenizer",
                       t->o.data_dir, t->man.tokenizer_fingerprint, t->o.tokenizer_dir, fp);
    return FT_OK;
}

static ft_status read_manifest(train_ctx *t, ft_error *err)
{
    ft_status st = shard_manifest_read(t->o.data_dir, &t->man, err);
    if (st != FT_OK) return st == FT_EIO ? FT_ENOTFOUND : st;
    t->lm = t->man.task == SHARD_TASK_CAUSAL_LM;
    if (t->lm && strcmp(t->o.metric, "loss") != 0)
        return ft_fail(err, FT_EINVAL,
                       "key 'metric_for_best_model': \"%s\" does not apply to a causal_lm "
                       "dataset (its evaluation reports loss and perplexity): use loss",
                       t->o.metric);
    if (t->lm && t->o.num_labels > 0)
        return ft_fail(err, FT_EINVAL, "key 'num_labels' does not apply to a causal_lm dataset");
    st = shard_manifest_fingerprint(t->o.data_dir, t->data_fingerprint, err);
    if (st == FT_OK && t->o.num_labels > 0 && t->o.num_labels != t->man.n_labels)
        st = ft_fail(err, FT_EINVAL, "key 'num_labels' is %d but %s/manifest.json has %d labels",
                     t->o.num_labels, t->o.data_dir, t->man.n_labels);
    return st;
}

static ft_status load_model(train_ctx *t, ft_error *err)
{
    hf_model_load_options lo = {.num_labels = t->man.n_labels,
                                .label_names = (const char *const *)t->man.labels,
                                .init_seed = t->o.seed,
                                .allow_random_init = t->o.allow_random_init};
    ft_status st = hf_model_load(t->o.model_dir, &lo, &t->m, &t->hf, err);
    if (st != FT_OK) {
        ft_error_prefix(err, "key 'model_name_or_path'");
        return st == FT_EIO ? FT_ENOTFOUND : st;
    }
    const model_config *mc = model_get_config(t->m);
    if (t->lm != (mc->arch == MODEL_ARCH_LLAMA))
        return ft_fail(err, FT_EINVAL,
                       t->lm ? "%s/manifest.json: a causal_lm dataset needs a decoder LLM "
                               "(Llama, Qwen2, Mistral, Phi-3), and %s is a sequence classifier"
                             : "%s/manifest.json: a sequence classification dataset, and %s is "
                               "a decoder LLM (shard with --task causal_lm to train it)",
                       t->o.data_dir, t->o.model_dir);
    if (t->man.max_length > mc->max_positions)
        return ft_fail(err, FT_EINVAL, "%s: max_length %d exceeds the model's %d positions",
                       t->o.data_dir, t->man.max_length, mc->max_positions);
    if (t->man.vocab_size > mc->vocab_size)
        return ft_fail(err, FT_EINVAL, "%s: vocabulary of %d ids, the model has %d", t->o.data_dir,
                       t->man.vocab_size, mc->vocab_size);
    if (t->o.train_last_n_blocks >= 0) {
        int first = mc->layers - t->o.train_last_n_blocks;
        model_freeze_below(t->m, first < 0 ? 0 : first);
    }
    for (int i = 0; i < model_tensor_count(t->m); i++)
        if (model_tensor_trainable(t->m, model_tensor_at(t->m, i))) {
            t->grad_lo = model_tensor_at(t->m, i)->offset;
            break;
        }
    return FT_OK;
}

static ft_status check_output_dir(train_ctx *t, ft_error *err)
{
    if (t->rank != 0) return FT_OK;
    ft_error e;
    /* A folder that cannot be made or written is the user's to fix (exit 2);
     * memory running out on the way is not (exit 1). */
    ft_status st = ft_mkdir_p(t->o.output_dir, &e);
    if (st != FT_OK)
        return ft_fail(err, st == FT_ENOMEM ? FT_ENOMEM : FT_EINVAL,
                       "key 'output_dir': cannot create %s: %s", t->o.output_dir, e.msg);
    char *probe = ft_path_join(t->o.output_dir, ".ftune-write-test");
    st = probe ? ft_write_file_atomic(probe, "ok\n", 3, true, &e) : FT_ENOMEM;
    if (st != FT_OK)
        st = ft_fail(err, st == FT_ENOMEM ? FT_ENOMEM : FT_EINVAL,
                     "key 'output_dir': %s is not writable (%s)", t->o.output_dir,
                     probe ? e.msg : "out of memory");
    if (probe) unlink(probe);
    free(probe);
    /* Before anything in the folder is read or written: one live job per
     * output_dir (two at once would interleave checkpoints and logs). */
    if (st == FT_OK) st = ckpt_lock_take(t->o.output_dir, &t->lock, err);
    return st;
}

static ft_status load_data(train_ctx *t, ft_error *err)
{
    /* Token ids are checked against the manifest's vocabulary, which
     * load_model found within the model's. */
    ft_status st;
    if (t->lm) {
        st = train_split_load_lm(t->o.data_dir, &t->man, SHARD_TRAIN, &t->train, &t->train_lm, err);
        if (st == FT_OK && t->o.do_eval)
            st = train_split_load_lm(t->o.data_dir, &t->man, SHARD_VALIDATION, &t->val, &t->val_lm,
                                     err);
    } else {
        st = train_split_load(t->o.data_dir, &t->man, SHARD_TRAIN, &t->train, err);
        if (st == FT_OK && t->o.do_eval)
            st = train_split_load(t->o.data_dir, &t->man, SHARD_VALIDATION, &t->val, err);
    }
    if (st == FT_OK && t->o.do_eval && t->val.rows == 0)
        st = ft_fail(err, FT_EINVAL, "evaluation_strategy \"steps\" but %s has no validation split",
                     t->o.data_dir);
    return st;
}

static ft_status make_optimizer(train_ctx *t, ft_error *err)
{
    optim_hparams h = optim_default_hparams((float)t->o.learning_rate);
    h.beta1 = (float)t->o.adam_beta1;
    h.beta2 = (float)t->o.adam_beta2;
    h.eps = (float)t->o.adam_epsilon;
    h.weight_decay = (float)t->o.weight_decay;
    ft_status st = optim_create(&t->opt, t->m, &h, err);
    int b = t->o.per_device_train_batch_size > t->o.per_device_eval_batch_size
                ? t->o.per_device_train_batch_size
                : t->o.per_device_eval_batch_size;
    if (st == FT_OK) st = model_plan(t->m, b, t->man.max_length, err);
    return st;
}

ft_status train_setup(train_ctx *t, const cfg *c, ft_error *err)
{
    t->best_metric = NAN;
    t->best_step = -1;
    t->last_eval_metric = NAN;
    ft_status st = train_opts_read(c, &t->o, err);
    st = comm_agree(comm_mpi(t->comm), st, err);
    /* Before the model: it allocates on the chosen back end. */
    if (st == FT_OK) st = device_select(comm_mpi(t->comm), t->o.use_cpu, &t->dev, err);
    st = comm_agree(comm_mpi(t->comm), st, err);
    if (st == FT_OK) st = device_attach_grad_engine(&t->dev, t->comm, err);
    if (st == FT_OK) st = read_manifest(t, err);
    if (st == FT_OK) st = check_tokenizer(t, err);
    if (st == FT_OK) st = load_model(t, err);
    if (st == FT_OK) st = check_output_dir(t, err);
    st = comm_agree(comm_mpi(t->comm), st, err);
    /* Here, where every rank has the same status: the decision is collective. */
    if (st == FT_OK) st = device_bf16_decide(comm_mpi(t->comm), &t->dev, &t->o.bf16, err);
    if (st == FT_OK) st = load_data(t, err);
    if (st == FT_OK) st = make_optimizer(t, err);
    if (st == FT_OK) {
        t->config_json = cfg_to_json(c);
        if (!t->config_json) st = ft_fail(err, FT_ENOMEM, "out of memory");
    }
    if (st == FT_OK)
        st = train_run_fingerprint(t->config_json, t->data_fingerprint, t->run_fingerprint, err);
    if (st == FT_OK && t->rank == 0 && t->o.do_save && t->o.save_async)
        st = ckpt_async_create(&t->saver, model_param_count(t->m), err);
    if (st == FT_OK && t->o.bf16) st = model_set_bf16(t->m, true, err);
    if (st == FT_OK && t->o.fp16) st = model_set_fp16(t->m, true, err);
    if (st == FT_OK && t->o.gradient_checkpointing)
        st = model_set_gradient_checkpointing(t->m, true, err);
    t->scaler = scaler_make(t->o.fp16);
    device_mixed_precision(&t->dev, t->o.bf16 || t->o.fp16);
    if (t->o.fp16 && !t->dev.gpu && t->rank == 0)
        ft_log_warn("fp16 on the CPU: correct but slower than float32 (CPUs multiply "
                    "bf16, not fp16: use bf16)");
    return comm_agree(comm_mpi(t->comm), st, err);
}

void train_teardown(train_ctx *t)
{
    ckpt_async_free(t->saver); /* waits for a save in flight: it reads the model */
    t->saver = NULL;
    train_log_close(t);
    sampler_free(&t->smp);
    shard_rows_free(&t->train);
    shard_rows_free(&t->val);
    shard_lm_free(&t->train_lm);
    shard_lm_free(&t->val_lm);
    optim_free(t->opt);
    model_free(t->m);
    hf_config_free(&t->hf);
    shard_manifest_free(&t->man);
    free(t->config_json);
    /* Last: after the background save and log are closed. Reached at every
     * return of train_run (done, exit 3 for requeue, errors); a crash leaves
     * the file, which the next start finds stale (ckpt_lock.c). */
    ckpt_lock_release(t->lock);
    t->lock = NULL;
}
