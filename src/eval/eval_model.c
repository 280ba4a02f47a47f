/* eval_model: the model folder checked against the dataset, then loaded.
 *
 * Cheap checks first, each an input error naming both sides: the number of
 * labels of config.json against the manifest's, the tokenizer fingerprint of
 * the folder's tokenizer files against the one the shards were made with,
 * max_length against the position table, the vocabulary, and a
 * classification head present in model.safetensors (hf_model_load would
 * initialise a missing head at random, as transformers does for training;
 * evaluating that is meaningless, so it is refused here). Only then are the
 * weights converted (hf_model_load). With an ftune checkpoint (HDF5,
 * src/ckpt) the folder gives the architecture and tokenizer and the
 * checkpoint every weight, head included.
 *
 * A decoder LLM's folder (hf_llm.h) goes with a causal_lm dataset only, and
 * a classifier's with a classification dataset: the other pairings are
 * refused naming both. A decoder needs no head check (its lm_head is part
 * of the weights hf_llm_check_weights checks); its sizes are checked after
 * loading, from the model's own config. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval_impl.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "ckpt/ckpt.h"
#include "hf/hf_llm.h"
#include "st/st.h"

static ft_status check_labels(const char *dir, const hf_config *cfg, const shard_manifest *man,
                              ft_error *err)
{
    if (cfg->num_labels != man->n_labels)
        return ft_fail(err, FT_EINVAL,
                       "%s/config.json: the model has %d labels but the "
                       "dataset's manifest.json has %d: this model was not trained on "
                       "this dataset",
                       dir, cfg->num_labels, man->n_labels);
    for (int i = 0; i < man->n_labels && cfg->id2label; i++) {
        if (cfg->id2label[i] && strcmp(cfg->id2label[i], man->labels[i]) != 0) {
            ft_log_warn("%s/config.json: label %d is \"%s\" but the dataset calls it \"%s\"; "
                        "the report uses the dataset's names",
                        dir, i, cfg->id2label[i], man->labels[i]);
            break;
        }
    }
    return FT_OK;
}

static ft_status check_tokenizer(const char *dir, tok_tokenizer *tok, const shard_manifest *man,
                                 ft_error *err)
{
    char fp[32];
    snprintf(fp, sizeof fp, "%016" PRIx64, tok_fingerprint(tok));
    if (strcasecmp(fp, man->tokenizer_fingerprint) != 0)
        return ft_fail(err, FT_EINVAL,
                       "%s: the model's tokenizer (fingerprint %s) is not "
                       "the one the dataset was tokenized with (manifest.json: "
                       "tokenizer_fingerprint %s, from %s): re-shard the data with this "
                       "model's tokenizer",
                       dir, fp, man->tokenizer_fingerprint,
                       man->tokenizer_path ? man->tokenizer_path : "?");
    return FT_OK;
}

static ft_status check_sizes(const char *dir, const hf_config *cfg, const shard_manifest *man,
                             ft_error *err)
{
    if (man->max_length > cfg->max_position_embeddings)
        return ft_fail(err, FT_EINVAL,
                       "dataset max_length %d exceeds %s/config.json's "
                       "max_position_embeddings %d",
                       (int)man->max_length, dir, cfg->max_position_embeddings);
    if (man->vocab_size > cfg->vocab_size)
        return ft_fail(err, FT_EINVAL,
                       "dataset vocab_size %d exceeds %s/config.json's "
                       "vocab_size %d",
                       (int)man->vocab_size, dir, cfg->vocab_size);
    return FT_OK;
}

ft_status eval_check_head(const char *dir, const hf_config *cfg, ft_error *err)
{
    char *path = ft_path_join(dir, "model.safetensors");
    st_file *f = NULL;
    hf_param *params = NULL;
    size_t n = 0, missing = 0;
    long *index = NULL;
    ft_status st =
        path ? hf_model_check_weights(dir, false, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = st_open(path, &f, err);
    if (st == FT_OK) st = hf_params_make(cfg, &params, &n, err);
    if (st == FT_OK) {
        index = ft_calloc_array(n + 1, sizeof *index);
        st = index ? hf_params_match(params, n, f, false, index, &missing, err)
                   : ft_fail(err, FT_ENOMEM, "out of memory");
    }
    if (st == FT_OK && missing > 0)
        st = ft_fail(err, FT_EINVAL,
                     "%s: no classification head (classifier / score "
                     "weights): this is a base model, not a fine-tuned classifier; "
                     "evaluate the folder ftune-train exported (OUTPUT/final)",
                     path);
    free(index);
    free(params);
    st_close(f);
    free(path);
    return st;
}

/* Overwrite the weights with an ftune checkpoint's (ckpt_read checks every
 * tensor's shape against the model). */
static ft_status load_checkpoint(const char *path, model *m, ft_error *err)
{
    ckpt_state state = {0};
    ft_status st = ckpt_read(path, m, NULL, &state, err);
    if (st == FT_OK)
        ft_log_info("%s: weights of step %lld (epoch %lld)", path, (long long)state.step,
                    (long long)state.epoch);
    ckpt_state_free(&state);
    return st;
}

/* A decoder folder with a classification dataset, or the reverse. */
static ft_status check_task(const char *dir, bool decoder, const shard_manifest *man, ft_error *err)
{
    bool lm_data = man->task == SHARD_TASK_CAUSAL_LM;
    if (decoder && !lm_data)
        return ft_fail(err, FT_EINVAL,
                       "%s is a decoder LLM (causal LM) but the dataset is "
                       "a %s dataset: evaluate a decoder on a causal_lm dataset (ftune-shard "
                       "--task causal_lm), a classifier on a classification one",
                       dir, shard_task_name(man->task));
    if (!decoder && lm_data)
        return ft_fail(err, FT_EINVAL,
                       "the dataset is a causal_lm dataset but %s is a "
                       "sequence classifier, not a decoder LLM (Llama, Qwen2, Mistral, "
                       "Phi-3): evaluate a causal_lm dataset with a decoder folder",
                       dir);
    return FT_OK;
}

static ft_status check_lm_sizes(const char *dir, const model *m, const shard_manifest *man,
                                ft_error *err)
{
    const model_config *c = model_get_config(m);
    if (man->max_length > c->max_positions)
        return ft_fail(err, FT_EINVAL,
                       "dataset max_length %d exceeds %s/config.json's "
                       "max_position_embeddings %d",
                       (int)man->max_length, dir, c->max_positions);
    if (man->vocab_size > c->vocab_size)
        return ft_fail(err, FT_EINVAL,
                       "dataset vocab_size %d exceeds %s/config.json's "
                       "vocab_size %d",
                       (int)man->vocab_size, dir, c->vocab_size);
    return FT_OK;
}

/* A decoder: the tokenizer, weights present (a random model is refused,
 * unless a checkpoint brings them), then the load and the sizes. */
static ft_status open_decoder(const char *dir, const char *checkpoint, const shard_manifest *man,
                              model **m, hf_config *cfg, tok_tokenizer **tok, ft_error *err)
{
    ft_status st = tok_open(dir, tok, err);
    if (st == FT_OK) st = check_tokenizer(dir, *tok, man, err);
    if (st == FT_OK && !checkpoint) st = hf_model_check_weights(dir, false, err);
    hf_model_load_options opt = {.allow_random_init = checkpoint != NULL};
    if (st == FT_OK) st = hf_model_load(dir, &opt, m, cfg, err);
    if (st == FT_OK) st = check_lm_sizes(dir, *m, man, err);
    return st;
}

/* A classifier: labels, sizes, tokenizer and head checked before loading. */
static ft_status open_classifier(const char *dir, const char *checkpoint, const shard_manifest *man,
                                 model **m, hf_config *cfg, tok_tokenizer **tok, ft_error *err)
{
    char *config_path = ft_path_join(dir, "config.json");
    if (!config_path) return ft_fail(err, FT_ENOMEM, "out of memory");
    hf_config probe = {0};
    ft_status st = hf_config_load(config_path, &probe, err);
    free(config_path);
    /* With a checkpoint, DIR gives the architecture and the tokenizer (the
     * model training started from); the head comes from the checkpoint. */
    if (st == FT_OK && !checkpoint) st = check_labels(dir, &probe, man, err);
    if (st == FT_OK) st = check_sizes(dir, &probe, man, err);
    if (st == FT_OK) st = tok_open(dir, tok, err);
    if (st == FT_OK) st = check_tokenizer(dir, *tok, man, err);
    if (st == FT_OK && !checkpoint) st = eval_check_head(dir, &probe, err);
    hf_config_free(&probe);
    if (st == FT_OK) {
        hf_model_load_options opt = {0};
        if (checkpoint) {
            opt.num_labels = man->n_labels;
            opt.label_names = (const char *const *)man->labels;
            opt.allow_random_init = true;
        }
        st = hf_model_load(dir, &opt, m, cfg, err);
    }
    return st;
}

ft_status eval_model_open(const char *dir, const char *checkpoint, const shard_manifest *man,
                          model **m, hf_config *cfg, tok_tokenizer **tok, ft_error *err)
{
    *m = NULL;
    *tok = NULL;
    memset(cfg, 0, sizeof *cfg);
    bool decoder = hf_llm_folder_is_decoder(dir);
    ft_status st = check_task(dir, decoder, man, err);
    if (st == FT_OK)
        st = decoder ? open_decoder(dir, checkpoint, man, m, cfg, tok, err)
                     : open_classifier(dir, checkpoint, man, m, cfg, tok, err);
    if (st == FT_OK && checkpoint) st = load_checkpoint(checkpoint, *m, err);
    if (st != FT_OK) {
        model_free(*m);
        *m = NULL;
        hf_config_free(cfg);
        tok_close(*tok);
        *tok = NULL;
    }
    return st;
}
