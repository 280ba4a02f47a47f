/* hf_config: reading config.json (see hf_config.h).
 *
 * Design: the document is parsed once with cJSON and kept; every field ftune
 * computes with is read through one strict getter per type (integers must
 * be integral and in range, dropouts in [0, 1), ...) whose message names the
 * file and the key. Keys ftune does not use are never looked at, so they
 * survive hf_config_write unchanged (hf_config_write.c). A top-level key
 * given twice is refused: cJSON would use the first, Python the last.
 *
 * Not here: writing (hf_config_write.c), parameter names (hf_params.c). */
#include "hf/hf_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_json.h"
#include "core/ft_log.h"
#include "core/ft_unique.h"
#include "hf_impl.h"

static const hf_keys bert_keys = {
    "bert",
    "BertForSequenceClassification",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "layer_norm_eps",
    "hidden_act",
    "hidden_dropout_prob",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
};

static const hf_keys gpt2_keys = {
    "gpt2",
    "GPT2ForSequenceClassification",
    "n_embd",
    "n_layer",
    "n_head",
    "n_inner",
    "n_positions",
    "layer_norm_epsilon",
    "activation_function",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
};

const hf_keys *hf_keys_of(hf_arch arch) { return arch == HF_ARCH_GPT2 ? &gpt2_keys : &bert_keys; }

/* The parse in progress: the document, its name for messages, the error. */
typedef struct parser {
    const cJSON *doc;
    const char *src;
    ft_error *err;
} parser;

/* The shared readers' view of the document (src/core/include/core/ft_json.h): a bad
 * value in a model's config is the user's input, hence FT_EINVAL. */
static ft_json_src src_of(const parser *p) { return (ft_json_src){p->src, FT_EINVAL, p->err}; }

static ft_status bad_value(const parser *p, const char *key, const cJSON *item,
                           const char *expected)
{
    ft_json_src s = src_of(p);
    return ft_json_bad(&s, key, item, expected);
}

static const cJSON *item_of(const parser *p, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(p->doc, key);
}

/* An integer in [lo, hi]; absent: def. */
static ft_status get_int(const parser *p, const char *key, int def, int lo, int hi, int *out)
{
    const cJSON *it = item_of(p, key);
    ft_json_src s = src_of(p);
    int64_t v = def;
    ft_status st = it ? ft_json_int(&s, key, it, lo, hi, &v) : FT_OK;
    *out = (int)v;
    return st;
}

/* A number in [lo, hi) (hi_open) or [lo, hi]; absent: def. */
static ft_status get_number(const parser *p, const char *key, double def, double lo, double hi,
                            bool hi_open, double *out)
{
    const cJSON *it = item_of(p, key);
    ft_json_src s = src_of(p);
    *out = def;
    return it ? ft_json_number(&s, key, it, lo, hi, hi_open, out) : FT_OK;
}

static ft_status get_bool(const parser *p, const char *key, bool def, bool *out)
{
    const cJSON *it = item_of(p, key);
    ft_json_src s = src_of(p);
    *out = def;
    return it ? ft_json_bool(&s, key, it, out) : FT_OK;
}

/* A string or null (*out NULL); absent: def. Points into the document. */
static ft_status get_string(const parser *p, const char *key, const char *def, const char **out)
{
    const cJSON *it = item_of(p, key);
    ft_json_src s = src_of(p);
    *out = it && cJSON_IsNull(it) ? NULL : def;
    return it && !cJSON_IsNull(it) ? ft_json_string(&s, key, it, out) : FT_OK;
}

static ft_status unsupported(const parser *p, const char *key, const char *why)
{
    const cJSON *it = item_of(p, key);
    char *text = it ? cJSON_PrintUnformatted(it) : NULL;
    ft_status st = ft_fail(p->err, FT_EINVAL, "%s: key '%s' = %.60s is not supported: %s", p->src,
                           key, text ? text : "?", why);
    free(text);
    return st;
}

/* ---- document shape ------------------------------------------------------ */

/* Sorted, not pairwise (ft_unique.h): a config.json may be megabytes. */
static ft_status check_unique_keys(const parser *p)
{
    size_t n = (size_t)cJSON_GetArraySize(p->doc), i = 0, first = 0, second = 0;
    const char **keys = ft_malloc_array(n ? n : 1, sizeof *keys);
    if (!keys) return ft_fail(p->err, FT_ENOMEM, "out of memory");
    for (const cJSON *a = p->doc->child; a && i < n; a = a->next) keys[i++] = a->string;
    bool found = false;
    ft_status st = ft_find_repeat(keys, i, &found, &first, &second);
    if (st != FT_OK)
        st = ft_fail(p->err, FT_ENOMEM, "out of memory");
    else if (found)
        st = ft_fail(p->err, FT_EINVAL, "%s: key '%.100s' appears twice", p->src, keys[first]);
    free(keys);
    return st;
}

/* model_type, or else the first architecture's family. */
static ft_status detect_arch(const parser *p, hf_arch *arch)
{
    const cJSON *mt = item_of(p, "model_type");
    const cJSON *archs = item_of(p, "architectures");
    if (mt && !cJSON_IsString(mt)) return bad_value(p, "model_type", mt, "a string");
    if (mt) {
        if (strcmp(mt->valuestring, "bert") == 0)
            *arch = HF_ARCH_BERT;
        else if (strcmp(mt->valuestring, "gpt2") == 0)
            *arch = HF_ARCH_GPT2;
        else
            return unsupported(p, "model_type", "ftune computes \"bert\" and \"gpt2\"");
        return FT_OK;
    }
    const cJSON *first = cJSON_IsArray(archs) ? archs->child : NULL;
    if (cJSON_IsString(first) && strncmp(first->valuestring, "Bert", 4) == 0) {
        *arch = HF_ARCH_BERT;
        return FT_OK;
    }
    if (cJSON_IsString(first) && strncmp(first->valuestring, "GPT2", 4) == 0) {
        *arch = HF_ARCH_GPT2;
        return FT_OK;
    }
    return ft_fail(p->err, FT_EINVAL,
                   "%s: key 'model_type' is missing and 'architectures' "
                   "names no Bert* or GPT2* class; expected model_type \"bert\" or \"gpt2\"",
                   p->src);
}

/* ---- activation, structure ------------------------------------------------- */

static ft_status parse_act(const parser *p, hf_config *cfg)
{
    const hf_keys *k = hf_keys_of(cfg->arch);
    const char *name = NULL;
    ft_status st = get_string(p, k->act, cfg->arch == HF_ARCH_BERT ? "gelu" : "gelu_new", &name);
    if (st != FT_OK) return st;
    if (name && (!strcmp(name, "gelu") || !strcmp(name, "gelu_python")))
        cfg->hidden_act = HF_ACT_GELU;
    else if (name && (!strcmp(name, "gelu_new") || !strcmp(name, "gelu_pytorch_tanh") ||
                      !strcmp(name, "gelu_fast")))
        cfg->hidden_act = HF_ACT_GELU_TANH;
    else
        return unsupported(p, k->act,
                           "ftune computes \"gelu\" (exact) and \"gelu_new\" / "
                           "\"gelu_pytorch_tanh\" / \"gelu_fast\" (tanh approximation)");
    cfg->hidden_act_name = ft_strdup(name);
    return cfg->hidden_act_name ? FT_OK : ft_fail(p->err, FT_ENOMEM, "out of memory");
}

static ft_status refuse_true(const parser *p, const char *key, const char *why)
{
    bool v = false;
    ft_status st = get_bool(p, key, false, &v);
    if (st == FT_OK && v) st = unsupported(p, key, why);
    return st;
}

/* Settings under which transformers computes another function. */
static ft_status refuse_variants(const parser *p, hf_arch arch)
{
    ft_status st = refuse_true(p, "add_cross_attention", "ftune has no cross-attention");
    const cJSON *pruned = item_of(p, "pruned_heads");
    if (st == FT_OK && pruned && !(cJSON_IsObject(pruned) && !pruned->child))
        st = unsupported(p, "pruned_heads", "pruned checkpoints have other tensor shapes");
    if (st != FT_OK) return st;
    if (arch == HF_ARCH_BERT) {
        const char *pos = NULL;
        st = get_string(p, "position_embedding_type", "absolute", &pos);
        if (st == FT_OK && pos && strcmp(pos, "absolute") != 0)
            st = unsupported(p, "position_embedding_type",
                             "ftune computes absolute position embeddings only");
        if (st == FT_OK)
            st = refuse_true(p, "is_decoder", "ftune's BERT attends in both directions");
        return st;
    }
    st = refuse_true(p, "scale_attn_by_inverse_layer_idx",
                     "ftune scales attention by 1/sqrt(head size) only");
    bool scale = true;
    if (st == FT_OK) st = get_bool(p, "scale_attn_weights", true, &scale);
    if (st == FT_OK && !scale)
        st = unsupported(p, "scale_attn_weights", "ftune always scales attention scores");
    return st;
}

/* ---- sizes and rates --------------------------------------------------------- */

enum { HF_MAX_DIM = 1 << 20, HF_MAX_VOCAB = 1 << 24, HF_MAX_LAYERS = 1024 };

static ft_status parse_sizes(const parser *p, hf_config *c)
{
    const hf_keys *k = hf_keys_of(c->arch);
    bool bert = c->arch == HF_ARCH_BERT;
    ft_status st = get_int(p, "vocab_size", bert ? 30522 : 50257, 1, HF_MAX_VOCAB, &c->vocab_size);
    if (st == FT_OK) st = get_int(p, k->hidden, 768, 1, 1 << 16, &c->hidden_size);
    if (st == FT_OK) st = get_int(p, k->layers, 12, 1, HF_MAX_LAYERS, &c->num_hidden_layers);
    if (st == FT_OK) st = get_int(p, k->heads, 12, 1, 1 << 16, &c->num_attention_heads);
    if (st == FT_OK && c->hidden_size % c->num_attention_heads != 0)
        return ft_fail(p->err, FT_EINVAL, "%s: key '%s': %d heads do not divide %s %d", p->src,
                       k->heads, c->num_attention_heads, k->hidden, c->hidden_size);
    const cJSON *inner = item_of(p, k->inner);
    if (st == FT_OK && !bert && (!inner || cJSON_IsNull(inner)))
        c->intermediate_size = 4 * c->hidden_size;
    else if (st == FT_OK)
        st = get_int(p, k->inner, 3072, 1, HF_MAX_DIM, &c->intermediate_size);
    if (st == FT_OK)
        st =
            get_int(p, k->positions, bert ? 512 : 1024, 1, HF_MAX_DIM, &c->max_position_embeddings);
    if (st == FT_OK && bert) st = get_int(p, "type_vocab_size", 2, 1, 1 << 16, &c->type_vocab_size);
    return st;
}

static ft_status parse_rates(const parser *p, hf_config *c)
{
    const hf_keys *k = hf_keys_of(c->arch);
    bool bert = c->arch == HF_ARCH_BERT;
    ft_status st = get_number(p, k->eps, bert ? 1e-12 : 1e-5, 1e-30, 1.0, true, &c->layer_norm_eps);
    if (st == FT_OK && c->layer_norm_eps <= 0)
        st = bad_value(p, k->eps, item_of(p, k->eps), "a positive number");
    if (st == FT_OK)
        st = get_number(p, "initializer_range", 0.02, 0.0, 1e6, false, &c->initializer_range);
    if (st == FT_OK)
        st = get_number(p, k->hidden_drop, 0.1, 0.0, 1.0, true, &c->hidden_dropout_prob);
    if (st == FT_OK)
        st = get_number(p, k->embedding_drop, 0.1, 0.0, 1.0, true, &c->embedding_dropout_prob);
    if (st == FT_OK)
        st =
            get_number(p, k->attention_drop, 0.1, 0.0, 1.0, true, &c->attention_probs_dropout_prob);
    if (st != FT_OK || !bert) return st; /* GPT-2's score head has no dropout */
    const cJSON *cd = item_of(p, "classifier_dropout");
    c->classifier_dropout = c->hidden_dropout_prob;
    if (cd && !cJSON_IsNull(cd))
        st = get_number(p, "classifier_dropout", 0.0, 0.0, 1.0, true, &c->classifier_dropout);
    return st;
}

static ft_status parse_pad(const parser *p, hf_config *c)
{
    const cJSON *it = item_of(p, "pad_token_id");
    c->pad_token_id = c->arch == HF_ARCH_BERT && !it ? 0 : -1;
    if (!it || cJSON_IsNull(it)) return FT_OK;
    return get_int(p, "pad_token_id", -1, 0, HF_MAX_VOCAB, &c->pad_token_id);
}

/* ---- labels ---------------------------------------------------------------------- */

static char **default_label_names(int n)
{
    char **names = ft_calloc_array((size_t)n, sizeof *names);
    for (int i = 0; names && i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "LABEL_%d", i);
        if (!(names[i] = ft_strdup(buf))) {
            for (int j = 0; j < i; j++) free(names[j]);
            free(names);
            return NULL;
        }
    }
    return names;
}

static void free_names(char **names, int n)
{
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* A label id key: decimal digits without sign or leading zero, below n. */
static int label_id(const char *key, int n)
{
    if (!key[0] || (key[0] == '0' && key[1]) || strlen(key) > 9) return -1;
    int v = 0;
    for (const char *s = key; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        v = 10 * v + (*s - '0');
    }
    return v < n ? v : -1;
}

/* id2label's names, every id present: distinct, checked in O(n log n). */
static ft_status check_distinct(const parser *p, char **names, int n)
{
    bool found = false;
    size_t i = 0, j = 0;
    if (ft_find_repeat((const char *const *)names, (size_t)n, &found, &i, &j) != FT_OK)
        return ft_fail(p->err, FT_ENOMEM, "out of memory");
    if (!found) return FT_OK;
    return ft_fail(p->err, FT_EINVAL,
                   "%s: key 'id2label': label \"%.60s\" names both id %zu "
                   "and id %zu",
                   p->src, names[i], i, j);
}

static ft_status parse_id2label(const parser *p, const cJSON *map, hf_config *c)
{
    int n = cJSON_GetArraySize(map);
    if (!cJSON_IsObject(map) || n < 1)
        return bad_value(p, "id2label", map, "a non-empty object {\"0\": \"name\", ...}");
    if (n > HF_MAX_LABELS)
        return ft_fail(p->err, FT_EINVAL,
                       "%s: key 'id2label': %d labels, at most %d are "
                       "supported (HF_MAX_LABELS, hf_config.h)",
                       p->src, n, HF_MAX_LABELS);
    char **names = ft_calloc_array((size_t)n, sizeof *names);
    if (!names) return ft_fail(p->err, FT_ENOMEM, "out of memory");
    ft_status st = FT_OK;
    for (const cJSON *kv = map->child; kv && st == FT_OK; kv = kv->next) {
        int id = label_id(kv->string, n);
        if (id < 0)
            st = ft_fail(p->err, FT_EINVAL,
                         "%s: key 'id2label': key \"%.40s\" is not a "
                         "label id in [0, %d)",
                         p->src, kv->string, n);
        else if (!cJSON_IsString(kv) || !kv->valuestring[0])
            st = bad_value(p, "id2label", kv, "non-empty label names");
        else if (names[id])
            st = ft_fail(p->err, FT_EINVAL, "%s: key 'id2label': id %d appears twice", p->src, id);
        else if (!(names[id] = ft_strdup(kv->valuestring)))
            st = ft_fail(p->err, FT_ENOMEM, "out of memory");
    }
    if (st == FT_OK) st = check_distinct(p, names, n);
    if (st != FT_OK) {
        free_names(names, n);
        return st;
    }
    c->id2label = names;
    c->num_labels = n;
    return FT_OK;
}

/* transformers' rule: len(id2label) when present (a disagreeing num_labels
 * is overridden with a warning), else num_labels (default 2). */
static ft_status parse_labels(const parser *p, hf_config *c)
{
    const cJSON *map = item_of(p, "id2label");
    const cJSON *inverse = item_of(p, "label2id");
    if (inverse && !cJSON_IsNull(inverse) && !cJSON_IsObject(inverse))
        return bad_value(p, "label2id", inverse, "an object {\"name\": id, ...}");
    int n = 2;
    ft_status st = get_int(p, "num_labels", 2, 1, HF_MAX_LABELS, &n);
    if (st != FT_OK) return st;
    if (map && !cJSON_IsNull(map)) {
        st = parse_id2label(p, map, c);
        if (st == FT_OK && item_of(p, "num_labels") && n != c->num_labels)
            ft_log_warn("%s: num_labels %d disagrees with id2label's %d labels; using %d "
                        "(as transformers does)",
                        p->src, n, c->num_labels, c->num_labels);
        return st;
    }
    c->num_labels = n;
    c->id2label = default_label_names(n);
    return c->id2label ? FT_OK : ft_fail(p->err, FT_ENOMEM, "out of memory");
}

static ft_status parse_problem_type(const parser *p, hf_config *c)
{
    const char *pt = NULL;
    ft_status st = get_string(p, "problem_type", NULL, &pt);
    if (st != FT_OK || !pt) return st;
    if (strcmp(pt, "single_label_classification") && strcmp(pt, "multi_label_classification") &&
        strcmp(pt, "regression"))
        return bad_value(p, "problem_type", item_of(p, "problem_type"),
                         "\"single_label_classification\", \"multi_label_classification\", "
                         "\"regression\" or null");
    c->problem_type = ft_strdup(pt);
    return c->problem_type ? FT_OK : ft_fail(p->err, FT_ENOMEM, "out of memory");
}

/* ---- entry points ------------------------------------------------------------------- */

static ft_status parse_doc(const parser *p, hf_config *cfg)
{
    if (!cJSON_IsObject(p->doc))
        return ft_fail(p->err, FT_EINVAL, "%s: expected a JSON object", p->src);
    ft_status st = check_unique_keys(p);
    if (st == FT_OK) st = detect_arch(p, &cfg->arch);
    if (st == FT_OK) st = refuse_variants(p, cfg->arch);
    if (st == FT_OK) st = parse_act(p, cfg);
    if (st == FT_OK) st = parse_sizes(p, cfg);
    if (st == FT_OK) st = parse_rates(p, cfg);
    if (st == FT_OK) st = parse_pad(p, cfg);
    if (st == FT_OK) st = parse_labels(p, cfg);
    if (st == FT_OK) st = parse_problem_type(p, cfg);
    return st;
}

ft_status hf_config_parse(const char *text, size_t len, const char *source, hf_config *cfg,
                          ft_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!doc)
        return ft_fail(err, FT_EINVAL, "%s: not valid JSON (error near byte %zu)", source,
                       end ? (size_t)(end - text) : 0);
    cfg->json = doc;
    cfg->path = ft_strdup(source);
    for (const char *q = end; q && q < text + len; q++)
        if (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q != 0) {
            hf_config_free(cfg);
            return ft_fail(err, FT_EINVAL, "%s: bytes after the JSON object (byte %zu)", source,
                           (size_t)(q - text));
        }
    parser p = {doc, source, err};
    ft_status st = cfg->path ? parse_doc(&p, cfg) : ft_fail(err, FT_ENOMEM, "out of memory");
    if (st != FT_OK) hf_config_free(cfg);
    return st;
}

ft_status hf_config_load(const char *path, hf_config *cfg, ft_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    char *text = NULL;
    size_t len = 0;
    ft_status st = ft_read_file(path, &text, &len, err);
    if (st != FT_OK) return st;
    st = hf_config_parse(text, len, path, cfg, err);
    free(text);
    return st;
}

ft_status hf_config_default(hf_arch arch, hf_config *cfg, ft_error *err)
{
    const char *text =
        arch == HF_ARCH_GPT2 ? "{\"model_type\":\"gpt2\"}" : "{\"model_type\":\"bert\"}";
    return hf_config_parse(text, strlen(text),
                           arch == HF_ARCH_GPT2 ? "gpt2 defaults" : "bert defaults", cfg, err);
}

ft_status hf_config_set_labels(hf_config *cfg, const char *const *names, int n, ft_error *err)
{
    if (n < 1 || !names)
        return ft_fail(err, FT_EINVAL, "labels: need at least one label name, got %d", n);
    if (n > HF_MAX_LABELS)
        return ft_fail(err, FT_EINVAL,
                       "labels: %d labels, at most %d are supported "
                       "(HF_MAX_LABELS, hf_config.h)",
                       n, HF_MAX_LABELS);
    for (int i = 0; i < n; i++)
        if (!names[i] || !names[i][0])
            return ft_fail(err, FT_EINVAL, "labels: name of label %d is empty", i);
    bool found = false;
    size_t first = 0, second = 0;
    if (ft_find_repeat(names, (size_t)n, &found, &first, &second) != FT_OK)
        return ft_fail(err, FT_ENOMEM, "out of memory");
    if (found)
        return ft_fail(err, FT_EINVAL, "labels: \"%.60s\" names both label %zu and label %zu",
                       names[first], first, second);
    char **copy = ft_calloc_array((size_t)n, sizeof *copy);
    for (int i = 0; copy && i < n; i++)
        if (!(copy[i] = ft_strdup(names[i]))) {
            free_names(copy, i);
            copy = NULL;
        }
    if (!copy) return ft_fail(err, FT_ENOMEM, "out of memory");
    free_names(cfg->id2label, cfg->num_labels);
    cfg->id2label = copy;
    cfg->num_labels = n;
    return FT_OK;
}

void hf_config_free(hf_config *cfg)
{
    if (!cfg) return;
    free_names(cfg->id2label, cfg->num_labels);
    free(cfg->hidden_act_name);
    free(cfg->problem_type);
    free(cfg->path);
    cJSON_Delete(cfg->json);
    memset(cfg, 0, sizeof *cfg);
}
