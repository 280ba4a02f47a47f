/* hf_config_llm: config.json of the decoder LLMs (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM, Phi3ForCausalLM) into a
 * model_config (MODEL_ARCH_LLAMA, model.h).
 *
 * Design: every key these classes compute with is either honoured or
 * refused with a message naming it, never silently ignored: the sizes,
 * num_key_value_heads (grouped-query attention), head_dim, rms_norm_eps,
 * hidden_act (silu only), tie_word_embeddings, attention_bias (Llama: q, k,
 * v and o biases), Qwen2's q/k/v biases (always on), mlp_bias (refused),
 * the dropout keys (0 only: ftune's decoder has no dropout yet),
 * sliding_window (kept; batches longer than it are refused when planning),
 * Qwen2's use_sliding_window (true refused), layer_types (full_attention
 * only), Phi-3's partial_rotary_factor
 * (1 only), and RoPE: rope_theta with rope_scaling (transformers 4's
 * spelling, "type" or "rope_type") or rope_parameters (transformers 5's,
 * rope_theta inside), types default/none, linear and llama3; any other type
 * (dynamic, yarn, longrope, ...) is refused by name. Absent keys take the
 * defaults of transformers' config classes. Keys that do not change the
 * computation (bos/eos ids, torch_dtype, use_cache, ...) are ignored.
 *
 * Not here: reading the file (hf_llm.c), writing configs back. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ft_json.h"
#include "hf/hf_llm.h"

/* The four families: model_type, architecture, defaults that differ. */
typedef struct family {
    const char *model_type, *architecture;
    model_llm_names names;
    bool qkv_bias; /* Qwen2: always */
    double rope_theta, rms_eps;
    int max_positions, sliding_window;
} family;

static const family families[] = {
    {"llama", "LlamaForCausalLM", MODEL_LLM_NAMES_LLAMA, false, 10000.0, 1e-6, 2048, 0},
    {"qwen2", "Qwen2ForCausalLM", MODEL_LLM_NAMES_LLAMA, true, 10000.0, 1e-6, 32768, 0},
    {"mistral", "MistralForCausalLM", MODEL_LLM_NAMES_LLAMA, false, 10000.0, 1e-6, 131072, 4096},
    {"phi3", "Phi3ForCausalLM", MODEL_LLM_NAMES_PHI3, false, 10000.0, 1e-5, 4096, 0},
};
enum { FAMILIES = sizeof families / sizeof families[0] };

static const family *find_family(const cJSON *root)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *arch = cJSON_GetArrayItem(archs, 0);
    for (int i = 0; i < FAMILIES; i++) {
        if (cJSON_IsString(mt) && strcmp(mt->valuestring, families[i].model_type) == 0)
            return &families[i];
        if (!cJSON_IsString(mt) && cJSON_IsString(arch) &&
            strcmp(arch->valuestring, families[i].architecture) == 0)
            return &families[i];
    }
    return NULL;
}

bool hf_llm_config_is_decoder(const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    bool yes = root && find_family(root) != NULL;
    cJSON_Delete(root);
    return yes;
}

/* ---- optional members ----------------------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static ft_status opt_int(const ft_json_src *s, const cJSON *obj, const char *key, int def,
                         int64_t lo, int64_t hi, int *out)
{
    const cJSON *v = member(obj, key);
    int64_t x = def;
    ft_status st = v ? ft_json_int(s, key, v, lo, hi, &x) : FT_OK;
    *out = (int)x;
    return st;
}

static ft_status opt_number(const ft_json_src *s, const cJSON *obj, const char *key, double def,
                            double lo, double hi, double *out)
{
    const cJSON *v = member(obj, key);
    *out = def;
    return v ? ft_json_number(s, key, v, lo, hi, false, out) : FT_OK;
}

/* A key that must be absent, null, 0 or false; else refused with why. */
static ft_status require_zero(const ft_json_src *s, const cJSON *obj, const char *key,
                              const char *why)
{
    const cJSON *v = member(obj, key);
    if (!v || (cJSON_IsNumber(v) && v->valuedouble == 0.0) || cJSON_IsFalse(v)) return FT_OK;
    char *shown = cJSON_PrintUnformatted(v);
    ft_status st = ft_fail(s->err, FT_EINVAL, "%s: key '%s' = %s is not supported: %s", s->origin,
                           key, shown ? shown : "?", why);
    cJSON_free(shown);
    return st;
}

/* ---- RoPE ------------------------------------------------------------------------------ */

/* rope_scaling (or rope_parameters) obj: type and its factors; `where` is
 * the key for messages. */
static ft_status parse_rope_scaling(const ft_json_src *s, const cJSON *obj, const char *where,
                                    model_llm_config *l)
{
    const cJSON *t = member(obj, "rope_type");
    if (!t) t = member(obj, "type");
    const char *type = "default";
    char key[64];
    snprintf(key, sizeof key, "%s.rope_type", where);
    if (t && ft_json_string(s, key, t, &type) != FT_OK) return s->code;
    if (strcmp(type, "default") == 0 || strcmp(type, "none") == 0) {
        l->rope_type = MODEL_ROPE_DEFAULT;
        return FT_OK;
    }
    if (strcmp(type, "linear") != 0 && strcmp(type, "llama3") != 0)
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key '%s' = \"%s\" is not supported (supported RoPE types: "
                       "default, linear, llama3)",
                       s->origin, key, type);
    l->rope_type = strcmp(type, "linear") == 0 ? MODEL_ROPE_LINEAR : MODEL_ROPE_LLAMA3;
    snprintf(key, sizeof key, "%s.factor", where);
    ft_status st = ft_json_number(s, key, member(obj, "factor"), 1e-6, 1e6, false, &l->rope_factor);
    if (st != FT_OK || l->rope_type == MODEL_ROPE_LINEAR) return st;
    snprintf(key, sizeof key, "%s.low_freq_factor", where);
    st = ft_json_number(s, key, member(obj, "low_freq_factor"), 1e-6, 1e6, false,
                        &l->rope_low_freq_factor);
    snprintf(key, sizeof key, "%s.high_freq_factor", where);
    if (st == FT_OK)
        st = ft_json_number(s, key, member(obj, "high_freq_factor"), 1e-6, 1e6, false,
                            &l->rope_high_freq_factor);
    snprintf(key, sizeof key, "%s.original_max_position_embeddings", where);
    int64_t old = 0;
    if (st == FT_OK)
        st = ft_json_int(s, key, member(obj, "original_max_position_embeddings"), 1, 1 << 30, &old);
    l->rope_original_max_positions = (int)old;
    if (st == FT_OK && !(l->rope_high_freq_factor > l->rope_low_freq_factor))
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key '%s.high_freq_factor' must exceed "
                       "'low_freq_factor'",
                       s->origin, where);
    return st;
}

static ft_status parse_rope(const ft_json_src *s, const cJSON *root, const family *f,
                            model_llm_config *l)
{
    ft_status st = opt_number(s, root, "rope_theta", f->rope_theta, 1e-6, 1e12, &l->rope_theta);
    const cJSON *params = member(root, "rope_parameters");
    const cJSON *scaling = member(root, "rope_scaling");
    if (st == FT_OK && params && cJSON_IsObject(params)) {
        st = opt_number(s, params, "rope_theta", l->rope_theta, 1e-6, 1e12, &l->rope_theta);
        if (st == FT_OK) st = parse_rope_scaling(s, params, "rope_parameters", l);
    } else if (st == FT_OK && params) {
        return ft_json_bad(s, "rope_parameters", params, "an object");
    }
    if (st == FT_OK && scaling && !cJSON_IsObject(scaling))
        return ft_json_bad(s, "rope_scaling", scaling, "an object or null");
    if (st == FT_OK && scaling) st = parse_rope_scaling(s, scaling, "rope_scaling", l);
    if (st == FT_OK && member(root, "partial_rotary_factor")) {
        double prf = 1.0;
        st = opt_number(s, root, "partial_rotary_factor", 1.0, 0.0, 1.0, &prf);
        if (st == FT_OK && prf != 1.0)
            return ft_fail(s->err, FT_EINVAL,
                           "%s: key 'partial_rotary_factor' = %g is not "
                           "supported (RoPE on whole heads only: 1.0)",
                           s->origin, prf);
    }
    return st;
}

/* ---- the config ------------------------------------------------------------------------- */

static ft_status parse_sizes(const ft_json_src *s, const cJSON *root, const family *f,
                             model_config *c)
{
    int hidden = 0;
    ft_status st = opt_int(s, root, "vocab_size", 32000, 1, 1 << 24, &c->vocab_size);
    if (st == FT_OK) st = opt_int(s, root, "hidden_size", 4096, 1, 1 << 16, &hidden);
    c->hidden = hidden;
    if (st == FT_OK)
        st = opt_int(s, root, "intermediate_size", 11008, 1, 1 << 20, &c->intermediate);
    if (st == FT_OK) st = opt_int(s, root, "num_hidden_layers", 32, 1, 1024, &c->layers);
    if (st == FT_OK) st = opt_int(s, root, "num_attention_heads", 32, 1, 1024, &c->heads);
    if (st == FT_OK)
        st = opt_int(s, root, "num_key_value_heads", c->heads, 1, 1024, &c->llm.kv_heads);
    if (st == FT_OK && c->heads % c->llm.kv_heads != 0)
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key 'num_key_value_heads' = %d must divide "
                       "'num_attention_heads' = %d",
                       s->origin, c->llm.kv_heads, c->heads);
    if (st == FT_OK && member(root, "head_dim") == NULL && hidden % c->heads != 0)
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key 'num_attention_heads' = %d must divide "
                       "'hidden_size' = %d (or give 'head_dim')",
                       s->origin, c->heads, hidden);
    if (st == FT_OK)
        st = opt_int(s, root, "head_dim", hidden / c->heads, 2, 4096, &c->llm.head_dim);
    if (st == FT_OK && c->llm.head_dim % 2 != 0)
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key 'head_dim' = %d must be even (RoPE turns "
                       "pairs)",
                       s->origin, c->llm.head_dim);
    if (st == FT_OK)
        st = opt_int(s, root, "max_position_embeddings", f->max_positions, 1, 1 << 24,
                     &c->max_positions);
    double eps = f->rms_eps, init = 0.02;
    if (st == FT_OK) st = opt_number(s, root, "rms_norm_eps", f->rms_eps, 1e-30, 1.0, &eps);
    if (st == FT_OK) st = opt_number(s, root, "initializer_range", 0.02, 0.0, 10.0, &init);
    if (st == FT_OK) st = opt_int(s, root, "pad_token_id", -1, -1, 1 << 24, &c->pad_token_id);
    c->layer_norm_eps = (float)eps;
    c->initializer_range = (float)init;
    return st;
}

/* transformers 5's layer_types: every layer "full_attention" (a
 * "sliding_attention" layer would need the window). */
static ft_status check_layer_types(const ft_json_src *s, const cJSON *root)
{
    const cJSON *types = member(root, "layer_types"), *e;
    if (!types) return FT_OK;
    if (!cJSON_IsArray(types)) return ft_json_bad(s, "layer_types", types, "a list");
    cJSON_ArrayForEach(e, types)
    {
        if (!cJSON_IsString(e) || strcmp(e->valuestring, "full_attention") != 0)
            return ft_json_bad(s, "layer_types", e,
                               "\"full_attention\" for every layer "
                               "(sliding-window layers are not supported)");
    }
    return FT_OK;
}

static ft_status parse_options(const ft_json_src *s, const cJSON *root, const family *f,
                               model_config *c)
{
    model_llm_config *l = &c->llm;
    const char *act = "silu";
    const cJSON *a = member(root, "hidden_act");
    ft_status st = a ? ft_json_string(s, "hidden_act", a, &act) : FT_OK;
    if (st == FT_OK && strcmp(act, "silu") != 0)
        return ft_fail(s->err, FT_EINVAL,
                       "%s: key 'hidden_act' = \"%s\" is not supported "
                       "(the gated MLP of these models uses silu)",
                       s->origin, act);
    bool attention_bias = false, use_window;
    if (st == FT_OK)
        st = ft_json_opt_bool(s, root, "tie_word_embeddings", false, &l->tie_word_embeddings);
    if (st == FT_OK) st = ft_json_opt_bool(s, root, "attention_bias", false, &attention_bias);
    l->qkv_bias = f->qkv_bias || attention_bias;
    l->o_bias = attention_bias;
    if (st == FT_OK)
        st = require_zero(s, root, "mlp_bias", "the MLP's projections have no biases here");
    if (st == FT_OK && strcmp(f->model_type, "qwen2") == 0)
        st = require_zero(s, root, "use_sliding_window",
                          "sliding-window attention is not "
                          "supported");
    /* Llama's and Qwen2's (use_sliding_window false) attention ignores the key */
    use_window = f->names == MODEL_LLM_NAMES_PHI3 || strcmp(f->model_type, "mistral") == 0;
    const cJSON *window = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    if (st == FT_OK && use_window && !(window && cJSON_IsNull(window)))
        st = opt_int(s, root, "sliding_window", f->sliding_window, 0, 1 << 30, &l->sliding_window);
    if (st == FT_OK) st = check_layer_types(s, root);
    static const char *const dropout_keys[] = {"attention_dropout", "resid_pdrop", "embd_pdrop",
                                               "hidden_dropout"};
    for (size_t i = 0; st == FT_OK && i < sizeof dropout_keys / sizeof *dropout_keys; i++)
        st = require_zero(s, root, dropout_keys[i], "the decoder models have no dropout yet");
    return st;
}

ft_status hf_llm_config_parse(const char *text, size_t len, const char *source, model_config *out,
                              ft_error *err)
{
    memset(out, 0, sizeof *out);
    ft_json_src s = {source, FT_EINVAL, err};
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ft_fail(err, FT_EINVAL, "%s: not a JSON object", source);
    }
    const family *f = find_family(root);
    ft_status st = FT_OK;
    if (!f)
        st = ft_fail(err, FT_EINVAL,
                     "%s: key 'model_type': expected llama, qwen2, mistral or "
                     "phi3",
                     source);
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *arch = cJSON_GetArrayItem(archs, 0);
    if (st == FT_OK && cJSON_IsString(arch) && strcmp(arch->valuestring, f->architecture) != 0)
        st = ft_fail(err, FT_EINVAL,
                     "%s: key 'architectures' = [\"%s\", ...] is not supported "
                     "for model_type '%s' (ftune computes %s)",
                     source, arch->valuestring, f->model_type, f->architecture);
    out->arch = MODEL_ARCH_LLAMA;
    if (st == FT_OK) out->llm.names = f->names;
    if (st == FT_OK) st = parse_sizes(&s, root, f, out);
    if (st == FT_OK) st = parse_options(&s, root, f, out);
    if (st == FT_OK) st = parse_rope(&s, root, f, &out->llm);
    out->num_labels = out->vocab_size;
    if (st == FT_OK) {
        st = model_config_validate(out, err);
        if (st != FT_OK) ft_error_prefix(err, "%s", source);
    }
    cJSON_Delete(root);
    return st;
}
