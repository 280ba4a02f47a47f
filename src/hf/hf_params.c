/* hf_params: the parameter names of BertForSequenceClassification and
 * GPT2ForSequenceClassification, and finding them in a safetensors file
 * (see hf_config.h).
 *
 * Design: the table is generated from the config alone, in the order of
 * src/model's parameter buffer, so a loader walks both side by side. The
 * name variants of real checkpoints are tried in a fixed order (canonical,
 * without the "bert." / "transformer." prefix, then LayerNorm gamma/beta
 * with and without it); GPT-2's attn.bias / attn.masked_bias buffers and
 * BERT's position_ids are simply never asked for.
 *
 * Not here: reading the values (st_read_f32), initialising missing heads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "hf/hf_config.h"

typedef struct table {
    hf_param *p;
    size_t n, cap;
} table;

static bool add(table *t, int layer, bool head, int64_t d0, int64_t d1, const char *fmt, int l)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        hf_param *p = ft_realloc_array(t->p, cap, sizeof *p);
        if (!p) return false;
        t->p = p;
        t->cap = cap;
    }
    hf_param *p = &t->p[t->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, fmt, l);
    p->ndim = d1 > 0 ? 2 : 1;
    p->shape[0] = d0;
    p->shape[1] = d1 > 0 ? d1 : 0;
    p->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    p->layer = layer;
    p->head = head;
    return true;
}

static bool bert_table(table *t, const hf_config *c)
{
    int64_t C = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers;
    bool ok = add(t, -1, false, c->vocab_size, C, "bert.embeddings.word_embeddings.weight", 0) &&
              add(t, -1, false, c->max_position_embeddings, C,
                  "bert.embeddings.position_embeddings.weight", 0) &&
              add(t, -1, false, c->type_vocab_size, C,
                  "bert.embeddings.token_type_embeddings.weight", 0) &&
              add(t, -1, false, C, 0, "bert.embeddings.LayerNorm.weight", 0) &&
              add(t, -1, false, C, 0, "bert.embeddings.LayerNorm.bias", 0);
#define B(d0, d1, suffix) add(t, l, false, d0, d1, "bert.encoder.layer.%d." suffix, l)
    for (int l = 0; ok && l < L; l++)
        ok = B(C, C, "attention.self.query.weight") && B(C, C, "attention.self.key.weight") &&
             B(C, C, "attention.self.value.weight") && B(C, 0, "attention.self.query.bias") &&
             B(C, 0, "attention.self.key.bias") && B(C, 0, "attention.self.value.bias") &&
             B(C, C, "attention.output.dense.weight") && B(C, 0, "attention.output.dense.bias") &&
             B(C, 0, "attention.output.LayerNorm.weight") &&
             B(C, 0, "attention.output.LayerNorm.bias") && B(I, C, "intermediate.dense.weight") &&
             B(I, 0, "intermediate.dense.bias") && B(C, I, "output.dense.weight") &&
             B(C, 0, "output.dense.bias") && B(C, 0, "output.LayerNorm.weight") &&
             B(C, 0, "output.LayerNorm.bias");
#undef B
    int h = (int)L;
    return ok && add(t, h, false, C, C, "bert.pooler.dense.weight", 0) &&
           add(t, h, false, C, 0, "bert.pooler.dense.bias", 0) &&
           add(t, h, true, c->num_labels, C, "classifier.weight", 0) &&
           add(t, h, true, c->num_labels, 0, "classifier.bias", 0);
}

/* Conv1D weights are [in, out]. */
static bool gpt2_table(table *t, const hf_config *c)
{
    int64_t C = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers;
    bool ok = add(t, -1, false, c->vocab_size, C, "transformer.wte.weight", 0) &&
              add(t, -1, false, c->max_position_embeddings, C, "transformer.wpe.weight", 0);
#define G(d0, d1, suffix) add(t, l, false, d0, d1, "transformer.h.%d." suffix, l)
    for (int l = 0; ok && l < L; l++)
        ok = G(C, 0, "ln_1.weight") && G(C, 0, "ln_1.bias") && G(C, 3 * C, "attn.c_attn.weight") &&
             G(3 * C, 0, "attn.c_attn.bias") && G(C, C, "attn.c_proj.weight") &&
             G(C, 0, "attn.c_proj.bias") && G(C, 0, "ln_2.weight") && G(C, 0, "ln_2.bias") &&
             G(C, I, "mlp.c_fc.weight") && G(I, 0, "mlp.c_fc.bias") &&
             G(I, C, "mlp.c_proj.weight") && G(C, 0, "mlp.c_proj.bias");
#undef G
    int h = (int)L;
    return ok && add(t, h, false, C, 0, "transformer.ln_f.weight", 0) &&
           add(t, h, false, C, 0, "transformer.ln_f.bias", 0) &&
           add(t, h, true, c->num_labels, C, "score.weight", 0);
}

ft_status hf_params_make(const hf_config *cfg, hf_param **params, size_t *n, ft_error *err)
{
    table t = {0};
    bool ok = cfg->arch == HF_ARCH_BERT ? bert_table(&t, cfg) : gpt2_table(&t, cfg);
    if (!ok) {
        free(t.p);
        *params = NULL;
        *n = 0;
        return ft_fail(err, FT_ENOMEM, "out of memory for the parameter table");
    }
    *params = t.p;
    *n = t.n;
    return FT_OK;
}

/* ---- finding a parameter in a file ------------------------------------------- */

/* name with "bert." / "transformer." removed, or NULL when it has neither. */
static const char *unprefixed(const char *name)
{
    if (strncmp(name, "bert.", 5) == 0) return name + 5;
    if (strncmp(name, "transformer.", 12) == 0) return name + 12;
    return NULL;
}

/* "...LayerNorm.weight" -> "...LayerNorm.gamma", ".bias" -> ".beta". */
static bool gamma_beta(const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    if (!strstr(name, "LayerNorm.")) return false;
    if (n > 7 && strcmp(name + n - 7, ".weight") == 0)
        return snprintf(out, size, "%.*s.gamma", (int)(n - 7), name) < (int)size;
    if (n > 5 && strcmp(name + n - 5, ".bias") == 0)
        return snprintf(out, size, "%.*s.beta", (int)(n - 5), name) < (int)size;
    return false;
}

const st_tensor_info *hf_param_find(const st_file *f, const hf_param *p)
{
    const st_tensor_info *t = st_find(f, p->name);
    const char *bare = unprefixed(p->name);
    if (!t && bare) t = st_find(f, bare);
    char alt[128];
    if (!t && gamma_beta(p->name, alt, sizeof alt)) {
        t = st_find(f, alt);
        if (!t && unprefixed(alt)) t = st_find(f, unprefixed(alt));
    }
    return t;
}

/* ---- matching the whole table ------------------------------------------------- */

static void shape_text(char *out, size_t size, int ndim, const int64_t *shape)
{
    int n = snprintf(out, size, "[");
    for (int d = 0; d < ndim && n > 0 && (size_t)n < size; d++)
        n += snprintf(out + n, size - (size_t)n, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (n > 0 && (size_t)n < size) snprintf(out + n, size - (size_t)n, "]");
}

static bool same_shape(const hf_param *p, const st_tensor_info *t)
{
    if (t->ndim != p->ndim) return false;
    for (int d = 0; d < p->ndim; d++)
        if (t->shape[d] != p->shape[d]) return false;
    return true;
}

/* Names of the file no param matched, the first few, for a message. */
static void unmatched_names(const st_file *f, const long *index, size_t n, char *out, size_t size)
{
    size_t used = 0, shown = 0;
    out[0] = 0;
    for (size_t i = 0; i < st_count(f) && shown < 4; i++) {
        bool hit = false;
        for (size_t j = 0; j < n && !hit; j++) hit = index[j] == (long)i;
        if (hit) continue;
        int w =
            snprintf(out + used, size - used, "%s%.80s", shown ? ", " : "", st_info_at(f, i)->name);
        if (w < 0 || (size_t)w >= size - used) break;
        used += (size_t)w;
        shown++;
    }
    if (!shown) snprintf(out, size, "nothing else");
}

static ft_status check_one(const hf_param *p, const st_file *f, const st_tensor_info *t,
                           bool reinit_head, long *index, size_t *heads, ft_error *err)
{
    if (!st_dtype_is_float(t->dtype))
        return ft_fail(err, FT_EINVAL,
                       "%s: tensor '%s' is %s; expected a floating-point "
                       "dtype (F32, F16, BF16 or F64)",
                       st_path(f), t->name, st_dtype_name(t->dtype));
    if (same_shape(p, t)) {
        *index = (long)(t - st_info_at(f, 0));
        return FT_OK;
    }
    char got[96], want[96];
    shape_text(got, sizeof got, t->ndim, t->shape);
    shape_text(want, sizeof want, p->ndim, p->shape);
    if (p->head && reinit_head) {
        *index = -1;
        (*heads)++;
        return FT_OK;
    }
    return ft_fail(err, FT_EINVAL, "%s: tensor '%s' has shape %s; expected %s for %s%s", st_path(f),
                   t->name, got, want, p->name,
                   p->head ? " (the number of labels differs)" : " (another model size?)");
}

ft_status hf_params_match(const hf_param *params, size_t n, const st_file *f,
                          bool reinit_mismatched_head, long *index, size_t *heads_missing,
                          ft_error *err)
{
    size_t heads = 0, missing = 0;
    char names[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        index[i] = -1;
        const st_tensor_info *t = hf_param_find(f, &params[i]);
        if (!t) {
            if (params[i].head)
                heads++;
            else if (missing++ < 3 && used < sizeof names)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'",
                                         missing > 1 ? ", " : "", params[i].name);
            continue;
        }
        ft_status st = check_one(&params[i], f, t, reinit_mismatched_head, &index[i], &heads, err);
        if (st != FT_OK) return st;
    }
    if (heads_missing) *heads_missing = heads;
    if (!missing) return FT_OK;
    char other[400];
    unmatched_names(f, index, n, other, sizeof other);
    return ft_fail(err, FT_ENOTFOUND,
                   "%s: %zu of the model's %zu tensors are missing: %s%s "
                   "(the file also holds: %s)",
                   st_path(f), missing, n, names, missing > 3 ? ", ..." : "", other);
}
