/* hf_model: a Hugging Face model folder into an ftune model (see
 * hf_model.h).
 *
 * Design: src/model already names its tensors as Hugging Face does and
 * stores them in Hugging Face's shapes (BERT's query, key and value weights
 * are three consecutive [C, C] tensors, which is what makes them one
 * [3C, C] matrix in the buffer; GPT-2's Conv1D weights are [in, out] in
 * both). So loading is one st_read_f32 per tensor into the tensor's place
 * in the buffer, and the hf_params table is checked against the model's
 * table once, as an invariant. A head that is absent or sized for other
 * labels is drawn exactly as model_init_random would draw it.
 *
 * Not here: writing the folder (hf_export.c). */
#include "hf/hf_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "hf/hf_llm.h"
#include "core/rng.h"

ft_status hf_config_to_model_config(const hf_config *c, model_config *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    const char *src = c->path ? c->path : "config";
    if (c->problem_type && strcmp(c->problem_type, "single_label_classification") != 0)
        return ft_fail(err, FT_EINVAL,
                       "%s: key 'problem_type' = \"%s\" is not supported: "
                       "ftune trains single-label classification (cross-entropy)",
                       src, c->problem_type);
    if (c->arch == HF_ARCH_GPT2 && c->embedding_dropout_prob != c->hidden_dropout_prob)
        return ft_fail(err, FT_EINVAL,
                       "%s: key 'embd_pdrop' = %g differs from 'resid_pdrop' "
                       "= %g: ftune applies one dropout rate to embeddings and residual "
                       "branches",
                       src, c->embedding_dropout_prob, c->hidden_dropout_prob);
    out->arch = c->arch == HF_ARCH_BERT ? MODEL_ARCH_BERT : MODEL_ARCH_GPT2;
    out->vocab_size = c->vocab_size;
    out->max_positions = c->max_position_embeddings;
    out->type_vocab_size = c->arch == HF_ARCH_BERT ? c->type_vocab_size : 0;
    out->hidden = c->hidden_size;
    out->layers = c->num_hidden_layers;
    out->heads = c->num_attention_heads;
    out->intermediate = c->intermediate_size;
    out->num_labels = c->num_labels;
    out->layer_norm_eps = (float)c->layer_norm_eps;
    out->initializer_range = (float)c->initializer_range;
    out->hidden_dropout = (float)c->hidden_dropout_prob;
    out->attention_dropout = (float)c->attention_probs_dropout_prob;
    out->classifier_dropout = c->arch == HF_ARCH_BERT ? (float)c->classifier_dropout : 0.0f;
    out->pad_token_id = c->pad_token_id;
    out->gelu = c->hidden_act == HF_ACT_GELU ? OPS_GELU_ERF : OPS_GELU_TANH;
    ft_status st = model_config_validate(out, err);
    if (st != FT_OK) ft_error_prefix(err, "%s", src);
    return st;
}

/* The labels the caller asked for, replacing config.json's. */
static ft_status apply_labels(hf_config *cfg, const hf_model_load_options *o, ft_error *err)
{
    if (o->label_names) return hf_config_set_labels(cfg, o->label_names, o->num_labels, err);
    if (o->num_labels < 0 || o->num_labels > HF_MAX_LABELS) /* checked before allocating */
        return ft_fail(err, FT_EINVAL,
                       "num_labels must be positive and at most %d "
                       "(HF_MAX_LABELS), got %d",
                       HF_MAX_LABELS, o->num_labels);
    if (o->num_labels == 0 || o->num_labels == cfg->num_labels) return FT_OK;
    char **names = ft_calloc_array((size_t)o->num_labels, sizeof *names);
    if (!names) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = FT_OK;
    for (int i = 0; i < o->num_labels && st == FT_OK; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "LABEL_%d", i);
        if (!(names[i] = ft_strdup(buf))) st = ft_fail(err, FT_ENOMEM, "out of memory");
    }
    if (st == FT_OK) st = hf_config_set_labels(cfg, (const char *const *)names, o->num_labels, err);
    for (int i = 0; i < o->num_labels; i++) free(names[i]);
    free(names);
    return st;
}

/* The draws model_init_random makes for tensor i (a head: no LayerNorm, no
 * scaled projection): weights normal(0, initializer_range), biases 0. */
static void init_head_tensor(model *m, int i, uint64_t seed)
{
    const model_tensor *t = model_tensor_at(m, i);
    float *x = model_params(m) + t->offset;
    size_t n = strlen(t->name);
    bool bias = n >= 4 && strcmp(t->name + n - 4, "bias") == 0;
    float sd = model_get_config(m)->initializer_range;
    for (size_t j = 0; j < t->numel; j++)
        x[j] = bias ? 0.0f : sd * rng_normal(seed, (uint64_t)i, j);
}

/* hf_params_make's table must be the model's, name by name (a bug if not). */
static void check_tables_agree(const model *m, const hf_param *p, size_t n)
{
    FT_CHECK((size_t)model_tensor_count(m) == n);
    for (size_t i = 0; i < n; i++) {
        const model_tensor *t = model_tensor_at(m, (int)i);
        FT_CHECK_MSG(strcmp(t->name, p[i].name) == 0 && t->numel == p[i].numel, t->name);
    }
}

static void log_unused(const st_file *f, const long *index, size_t n)
{
    size_t used = 0, ignored = 0;
    for (size_t i = 0; i < n; i++) used += index[i] >= 0;
    const char *example = NULL;
    for (size_t i = 0; i < st_count(f); i++) {
        const char *name = st_info_at(f, i)->name;
        /* buffers, not parameters; and a head re-drawn (warned about above) */
        bool buffer = strstr(name, "attn.bias") || strstr(name, "attn.masked_bias") ||
                      strstr(name, "position_ids") || !strncmp(name, "classifier.", 11) ||
                      !strncmp(name, "score.", 6);
        bool hit = false;
        for (size_t j = 0; j < n && !hit && !buffer; j++) hit = index[j] == (long)i;
        if (!hit && !buffer && !example) example = name;
        ignored += !hit && !buffer;
    }
    if (ignored)
        ft_log_info("%s: %zu tensors loaded; %zu not used by the classifier (e.g. '%s': "
                    "a pre-training head?)",
                    st_path(f), used, ignored, example);
}

/* Copy every matched tensor in; initialise the heads the file lacks. */
static ft_status fill_from_file(model *m, const st_file *f, const hf_param *p, size_t n,
                                const long *index, uint64_t seed, ft_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const model_tensor *t = model_tensor_at(m, (int)i);
        if (index[i] < 0) {
            const st_tensor_info *had = hf_param_find(f, &p[i]);
            ft_log_warn("%s: %s '%s'; initialising it from seed %llu (a new head, as "
                        "transformers' ignore_mismatched_sizes)",
                        st_path(f), had ? "shape differs for" : "no", p[i].name,
                        (unsigned long long)seed);
            init_head_tensor(m, (int)i, seed);
            continue;
        }
        const st_tensor_info *info = st_info_at(f, (size_t)index[i]);
        ft_status st = st_read_f32(f, info->name, model_params(m) + t->offset, t->numel, err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

static ft_status load_weights(model *m, const hf_config *cfg, const char *path, uint64_t seed,
                              ft_error *err)
{
    st_file *f = NULL;
    hf_param *params = NULL;
    size_t n = 0;
    long *index = NULL;
    ft_status st = st_open(path, &f, err);
    if (st == FT_OK) st = hf_params_make(cfg, &params, &n, err);
    if (st == FT_OK && !(index = ft_calloc_array(n, sizeof *index)))
        st = ft_fail(err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) {
        check_tables_agree(m, params, n);
        st = hf_params_match(params, n, f, true, index, NULL, err);
    }
    if (st == FT_OK) st = fill_from_file(m, f, params, n, index, seed, err);
    if (st == FT_OK) log_unused(f, index, n);
    free(index);
    free(params);
    st_close(f);
    return st;
}

ft_status hf_model_check_weights(const char *dir, bool training, ft_error *err)
{
    char *path = ft_path_join(dir, "model.safetensors");
    char *bin = ft_path_join(dir, "pytorch_model.bin");
    char *index = ft_path_join(dir, "model.safetensors.index.json");
    /* A decoder's weights, one file or sharded, are checked tensor by tensor. */
    bool decoder = hf_llm_folder_is_decoder(dir);
    ft_status st = FT_OK;
    if (!path || !bin || !index) {
        st = ft_fail(err, FT_ENOMEM, "out of memory");
    } else if (decoder && (ft_path_exists(path) || ft_path_exists(index))) {
        st = hf_llm_check_weights(dir, err);
    } else if (!ft_path_exists(path)) {
        const char *hint = "";
        if (ft_path_exists(index))
            hint = " (sharded checkpoints of classifiers are not supported: merge the shards "
                   "into one file)";
        else if (decoder && !ft_path_exists(bin))
            hint = " (nor model.safetensors.index.json)";
        else if (ft_path_exists(bin))
            hint = decoder ? " (pytorch_model.bin is a pickle, which ftune never loads: convert "
                             "the folder with transformers, AutoModelForCausalLM"
                             ".from_pretrained(DIR).save_pretrained(DIR))"
                           : " (pytorch_model.bin is a pickle, which ftune never loads: convert "
                             "the folder with transformers, AutoModelForSequenceClassification"
                             ".from_pretrained(DIR).save_pretrained(DIR), which writes "
                             "model.safetensors)";
        st = ft_fail(err, FT_ENOTFOUND, "%s: not found%s%s", path, hint,
                     training ? "; to train from scratch, allow random initialisation" : "");
    }
    free(path);
    free(bin);
    free(index);
    return st;
}

static ft_status build_model(const char *dir, const hf_config *cfg, const hf_model_load_options *o,
                             model **out, ft_error *err)
{
    model_config mc;
    ft_status st = hf_config_to_model_config(cfg, &mc, err);
    if (st == FT_OK) st = model_create(out, &mc, err);
    if (st != FT_OK) return st;
    char *path = ft_path_join(dir, "model.safetensors");
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    if (ft_path_exists(path)) {
        st = load_weights(*out, cfg, path, o->init_seed, err);
    } else if (o->allow_random_init) {
        ft_log_info("%s: no model.safetensors: training from scratch (every weight drawn "
                    "from config.json's initializer_range, seed %llu)",
                    dir, (unsigned long long)o->init_seed);
        model_init_random(*out, o->init_seed);
    } else {
        st = hf_model_check_weights(dir, true, err);
    }
    free(path);
    return st;
}

ft_status hf_model_load(const char *dir, const hf_model_load_options *opt, model **out,
                        hf_config *cfg, ft_error *err)
{
    static const hf_model_load_options none = {0};
    const hf_model_load_options *o = opt ? opt : &none;
    *out = NULL;
    memset(cfg, 0, sizeof *cfg);
    /* Decoder LLMs (Llama, Qwen2, Mistral, Phi-3) have their own config
     * reading (hf_llm.h); cfg keeps only their document (cfg->decoder). */
    if (hf_llm_folder_is_decoder(dir))
        return hf_llm_load(dir, o->allow_random_init, o->init_seed, out, cfg, err);
    char *config_path = ft_path_join(dir, "config.json");
    if (!config_path) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = hf_config_load(config_path, cfg, err);
    free(config_path);
    if (st == FT_OK) st = apply_labels(cfg, o, err);
    if (st == FT_OK) st = build_model(dir, cfg, o, out, err);
    if (st != FT_OK) {
        model_free(*out);
        *out = NULL;
        hf_config_free(cfg);
    }
    return st;
}
