/* hf_config_write: config.json out (see hf_config.h).
 *
 * Design: a copy of the loaded document with ftune's fields written over
 * it under the architecture's names, so every key ftune does not know
 * (transformers_version, bos/eos ids, task_specific_params, ...) keeps its
 * value and its place. Keys that hold a default in the loaded file as null
 * or by absence (GPT-2's n_inner, BERT's classifier_dropout) stay that way
 * when the value is still the default, so a load/write round trip changes
 * nothing it need not. A decoder LLM's document (hf_config.decoder) is
 * written as loaded, but for the dtype of the weights ftune writes.
 * "num_labels" is dropped: transformers derives it from id2label and does
 * not write it either.
 *
 * Not here: reading (hf_config.c). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "hf/hf_config.h"
#include "hf_impl.h"

/* Replace key's value in place (keeping its position) or append it. Takes
 * item; false when item is NULL (out of memory). */
static bool put(cJSON *doc, const char *key, cJSON *item)
{
    if (!item) return false;
    if (cJSON_GetObjectItemCaseSensitive(doc, key))
        return cJSON_ReplaceItemInObjectCaseSensitive(doc, key, item);
    return cJSON_AddItemToObject(doc, key, item);
}

static bool put_number(cJSON *doc, const char *key, double v)
{
    return put(doc, key, cJSON_CreateNumber(v));
}

static bool absent_or_null(const cJSON *doc, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, key);
    return !it || cJSON_IsNull(it);
}

static const char *act_name(const hf_config *c)
{
    if (c->hidden_act_name) return c->hidden_act_name;
    return c->hidden_act == HF_ACT_GELU ? "gelu" : "gelu_new";
}

static bool put_sizes(cJSON *doc, const hf_config *c, const hf_keys *k)
{
    bool ok = put_number(doc, "vocab_size", c->vocab_size) &&
              put_number(doc, k->hidden, c->hidden_size) &&
              put_number(doc, k->layers, c->num_hidden_layers) &&
              put_number(doc, k->heads, c->num_attention_heads) &&
              put_number(doc, k->positions, c->max_position_embeddings);
    if (c->arch == HF_ARCH_BERT)
        return ok && put_number(doc, k->inner, c->intermediate_size) &&
               put_number(doc, "type_vocab_size", c->type_vocab_size);
    if (!(c->intermediate_size == 4 * c->hidden_size && absent_or_null(doc, k->inner)))
        ok = ok && put_number(doc, k->inner, c->intermediate_size);
    if (cJSON_GetObjectItemCaseSensitive(doc, "n_ctx")) /* legacy copy of n_positions */
        ok = ok && put_number(doc, "n_ctx", c->max_position_embeddings);
    return ok;
}

static bool put_rates(cJSON *doc, const hf_config *c, const hf_keys *k)
{
    bool ok = put(doc, k->act, cJSON_CreateString(act_name(c))) &&
              put_number(doc, k->eps, c->layer_norm_eps) &&
              put_number(doc, "initializer_range", c->initializer_range) &&
              put_number(doc, k->embedding_drop, c->embedding_dropout_prob) &&
              put_number(doc, k->hidden_drop, c->hidden_dropout_prob) &&
              put_number(doc, k->attention_drop, c->attention_probs_dropout_prob);
    if (ok && c->arch == HF_ARCH_BERT &&
        !(absent_or_null(doc, "classifier_dropout") &&
          c->classifier_dropout == c->hidden_dropout_prob))
        ok = put_number(doc, "classifier_dropout", c->classifier_dropout);
    if (ok && c->pad_token_id >= 0)
        ok = put_number(doc, "pad_token_id", c->pad_token_id);
    else if (ok && cJSON_GetObjectItemCaseSensitive(doc, "pad_token_id"))
        ok = put(doc, "pad_token_id", cJSON_CreateNull());
    return ok;
}

static bool put_labels(cJSON *doc, const hf_config *c)
{
    cJSON *id2label = cJSON_CreateObject(), *label2id = cJSON_CreateObject();
    bool ok = id2label && label2id;
    for (int i = 0; ok && i < c->num_labels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        ok = cJSON_AddStringToObject(id2label, key, c->id2label[i]) &&
             cJSON_AddNumberToObject(label2id, c->id2label[i], i);
    }
    if (!ok) {
        cJSON_Delete(id2label);
        cJSON_Delete(label2id);
        return false;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(doc, "num_labels");
    ok = put(doc, "id2label", id2label) && put(doc, "label2id", label2id);
    if (ok && c->problem_type)
        ok = put(doc, "problem_type", cJSON_CreateString(c->problem_type));
    else if (ok && cJSON_GetObjectItemCaseSensitive(doc, "problem_type"))
        ok = put(doc, "problem_type", cJSON_CreateNull());
    return ok;
}

static bool put_identity(cJSON *doc, const hf_keys *k)
{
    cJSON *archs = cJSON_CreateArray();
    cJSON *name = cJSON_CreateString(k->architecture);
    if (!archs || !name || !cJSON_AddItemToArray(archs, name)) {
        cJSON_Delete(archs);
        cJSON_Delete(name);
        return false;
    }
    return put(doc, "architectures", archs) &&
           put(doc, "model_type", cJSON_CreateString(k->model_type));
}

/* The classifier's fields over the document; a decoder's document is its
 * own (ftune changes none of its keys). */
static bool put_fields(cJSON *doc, const hf_config *c)
{
    if (c->decoder) return true;
    const hf_keys *k = hf_keys_of(c->arch);
    return put_identity(doc, k) && put_sizes(doc, c, k) && put_rates(doc, c, k) &&
           put_labels(doc, c);
}

char *hf_config_to_json_dtype(const hf_config *c, const char *torch_dtype)
{
    cJSON *doc = c->json ? cJSON_Duplicate(c->json, 1) : cJSON_CreateObject();
    bool ok = doc && put_fields(doc, c);
    if (ok && torch_dtype) ok = put(doc, "torch_dtype", cJSON_CreateString(torch_dtype));
    /* transformers 5 writes "dtype" where 4 wrote "torch_dtype" */
    if (ok && torch_dtype && cJSON_GetObjectItemCaseSensitive(doc, "dtype"))
        ok = put(doc, "dtype", cJSON_CreateString(torch_dtype));
    char *text = ok ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (!text) return NULL;
    size_t n = strlen(text); /* end with a newline, as json.dump + "\n" does */
    char *out = ft_realloc_array(text, n + 2, 1);
    if (!out) {
        free(text);
        return NULL;
    }
    out[n] = '\n';
    out[n + 1] = 0;
    return out;
}

char *hf_config_to_json(const hf_config *cfg) { return hf_config_to_json_dtype(cfg, NULL); }

ft_status hf_config_write(const char *path, const hf_config *cfg, bool overwrite, ft_error *err)
{
    char *text = hf_config_to_json(cfg);
    if (!text) return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    ft_status st = ft_write_file_atomic(path, text, strlen(text), overwrite, err);
    free(text);
    return st;
}
