/* model: the parameter table, buffers, activation plan and the forward /
 * backward entry points shared by BERT (bert.c) and GPT-2 (gpt2.c).
 * See model.h for the design. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "model_impl.h"
#include "core/rng.h"

ft_status model_config_validate(const model_config *c, ft_error *err)
{
    const char *bad = NULL;
    if (c->arch == MODEL_ARCH_LLAMA) return llama_config_validate(c, err);
    if (c->arch != MODEL_ARCH_BERT && c->arch != MODEL_ARCH_GPT2)
        bad = "arch";
    else if (c->vocab_size < 1)
        bad = "vocab_size";
    else if (c->max_positions < 1)
        bad = "max_positions";
    else if (c->arch == MODEL_ARCH_BERT && c->type_vocab_size < 1)
        bad = "type_vocab_size";
    else if (c->hidden < 1 || c->hidden > (1 << 16))
        bad = "hidden_size";
    else if (c->layers < 1 || c->layers > 1024)
        bad = "num_hidden_layers";
    else if (c->heads < 1 || c->hidden % c->heads != 0)
        bad = "num_attention_heads (must divide hidden_size)";
    else if (c->intermediate < 1 || c->intermediate > (1 << 20))
        bad = "intermediate_size";
    else if (c->num_labels < 1)
        bad = "num_labels";
    else if (!(c->layer_norm_eps > 0.0f))
        bad = "layer_norm_eps";
    else if (!(c->hidden_dropout >= 0.0f && c->hidden_dropout < 1.0f))
        bad = "hidden dropout";
    else if (!(c->attention_dropout >= 0.0f && c->attention_dropout < 1.0f))
        bad = "attention dropout";
    else if (!(c->classifier_dropout >= 0.0f && c->classifier_dropout < 1.0f))
        bad = "classifier dropout";
    if (bad) return ft_fail(err, FT_EINVAL, "model config: invalid %s", bad);
    return FT_OK;
}

ft_status model_add_tensor(model *m, const char *name, int layer, int64_t d0, int64_t d1,
                           ft_error *err)
{
    if (m->tensor_count == m->tensor_cap) {
        int cap = m->tensor_cap ? 2 * m->tensor_cap : 64;
        model_tensor *t = ft_realloc_array(m->tensors, (size_t)cap, sizeof *t);
        if (!t) return ft_fail(err, FT_ENOMEM, "model: out of memory for the tensor table");
        m->tensors = t;
        m->tensor_cap = cap;
    }
    model_tensor *t = &m->tensors[m->tensor_count++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    t->shape[1] = d1 > 0 ? d1 : 0;
    t->numel = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    t->offset = m->param_count;
    t->layer = layer;
    t->weight_decay = !strstr(name, "bias") && !strstr(name, "LayerNorm") && !strstr(name, "ln_");
    m->param_count += t->numel;
    return FT_OK;
}

static ft_status bind_buffers(model *m, ft_error *err)
{
    int L = m->cfg.layers;
    ft_status st = ops_mirror_create(&m->pm, m->param_count, "model parameters", err);
    if (st != FT_OK) return st;
    m->params = m->pm.device;
    m->grads = m->be->alloc(m->param_count * sizeof(float));
    m->p.blocks = ft_calloc_array((size_t)L, sizeof(model_block_ptrs));
    m->g.blocks = ft_calloc_array((size_t)L, sizeof(model_block_ptrs));
    m->trainable = ft_calloc_array((size_t)m->tensor_count, sizeof(ops_span));
    m->trainable_runs = ft_calloc_array((size_t)m->tensor_count, sizeof(ops_span));
    if (!m->grads || !m->p.blocks || !m->g.blocks || !m->trainable || !m->trainable_runs)
        return ft_fail(err, FT_ENOMEM, "model: cannot allocate %zu gradients on the %s",
                       m->param_count, m->be->name);
    if (m->cfg.arch == MODEL_ARCH_LLAMA) return llama_bind(m, err);
    if (m->cfg.arch == MODEL_ARCH_BERT) {
        bert_bind(m, &m->p, m->params);
        bert_bind(m, &m->g, m->grads);
    } else {
        gpt2_bind(m, &m->p, m->params);
        gpt2_bind(m, &m->g, m->grads);
    }
    return FT_OK;
}

/* Fill m->trainable and m->trainable_runs from the table and first_trainable. */
static void index_trainable(model *m)
{
    m->n_trainable = m->n_trainable_runs = 0;
    for (int i = 0; i < m->tensor_count; i++) {
        const model_tensor *t = &m->tensors[i];
        if (!model_tensor_trainable(m, t)) continue;
        m->trainable[m->n_trainable++] = (ops_span){t->offset, t->numel};
        ops_span *last = m->n_trainable_runs ? &m->trainable_runs[m->n_trainable_runs - 1] : NULL;
        if (last && last->offset + last->n == t->offset)
            last->n += t->numel;
        else
            m->trainable_runs[m->n_trainable_runs++] = (ops_span){t->offset, t->numel};
    }
}

ft_status model_create(model **out, const model_config *cfg, ft_error *err)
{
    *out = NULL;
    ft_status st = model_config_validate(cfg, err);
    if (st != FT_OK) return st;
    model *m = ft_calloc_array(1, sizeof *m);
    if (!m) return ft_fail(err, FT_ENOMEM, "model: out of memory");
    m->cfg = *cfg;
    m->be = ops_backend_current();
    st = cfg->arch == MODEL_ARCH_BERT    ? bert_add_tensors(m, err)
         : cfg->arch == MODEL_ARCH_LLAMA ? llama_add_tensors(m, err)
                                         : gpt2_add_tensors(m, err);
    if (st == FT_OK) st = bind_buffers(m, err);
    if (st != FT_OK) goto fail;
    index_trainable(m);
    *out = m;
    return FT_OK;
fail:
    model_free(m);
    return st;
}

void model_free(model *m)
{
    if (!m) return;
    model_free_plan(m);
    llama_free(m);
    free(m->p.blocks);
    free(m->g.blocks);
    free(m->trainable);
    free(m->trainable_runs);
    ops_mirror_free(&m->pm);
    if (m->grads) m->be->free(m->grads, m->param_count * sizeof(float));
    if (m->params_bf16) m->be->free(m->params_bf16, m->param_count * sizeof(ops_bf16));
    if (m->params_fp16) m->be->free(m->params_fp16, m->param_count * sizeof(float));
    free(m->tensors);
    free(m);
}

const model_config *model_get_config(const model *m) { return &m->cfg; }
int model_tensor_count(const model *m) { return m->tensor_count; }
const model_tensor *model_tensor_at(const model *m, int i) { return &m->tensors[i]; }
size_t model_param_count(const model *m) { return m->param_count; }
/* A writable pointer: any tensor of the bf16 mirror may be out of date. */
float *model_params(model *m)
{
    m->mirror_stale = true;
    m->mirror_filled = false;
    return ops_mirror_host(&m->pm);
}

/* The host copy is a cache of the back end's parameters: filling it does not
 * change the model, so the model may be const here. */
const float *model_params_read(const model *m) { return ops_mirror_host_read(&((model *)m)->pm); }

float *model_params_for_step(model *m)
{
    m->mirror_stale = true;
    return ops_mirror_device(&m->pm);
}

float *model_grads(model *m) { return m->grads; }

const float *model_logits(const model *m)
{
    if (m->cfg.arch == MODEL_ARCH_LLAMA) return llama_logits(m);
    if (m->be->host_memory) return m->a.logits;
    m->be->to_host(m->logits_host, m->a.logits, (size_t)m->b * m->cfg.num_labels * sizeof(float));
    return m->logits_host;
}

void model_zero(const model *m, float *x, size_t n) { m->be->zero(x, n * sizeof *x); }

const model_tensor *model_find_tensor(const model *m, const char *name)
{
    for (int i = 0; i < m->tensor_count; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* ---- initialisation and freezing ------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void model_init_random(model *m, uint64_t seed)
{
    const model_config *c = &m->cfg;
    float *params = model_params(m); /* every tensor changes */
    for (int i = 0; i < m->tensor_count; i++) {
        const model_tensor *t = &m->tensors[i];
        float *x = params + t->offset;
        bool norm = strstr(t->name, "LayerNorm") || strstr(t->name, "ln_") ||
                    (c->arch == MODEL_ARCH_LLAMA && strstr(t->name, "norm"));
        if (ends_with(t->name, "bias")) {
            memset(x, 0, t->numel * sizeof *x);
        } else if (norm) {
            for (size_t j = 0; j < t->numel; j++) x[j] = 1.0f;
        } else {
            float sd = c->initializer_range;
            if (c->arch == MODEL_ARCH_GPT2 && ends_with(t->name, "c_proj.weight"))
                sd /= sqrtf(2.0f * (float)c->layers);
                /* stream = tensor index: each tensor's draws are independent. */
#pragma omp parallel for
            for (size_t j = 0; j < t->numel; j++) x[j] = sd * rng_normal(seed, (uint64_t)i, j);
        }
    }
    /* nn.Embedding(padding_idx): BERT's and the decoders' padding row is 0;
     * in the host copy (m->p points into the back end's memory) */
    if (c->arch != MODEL_ARCH_GPT2 && c->pad_token_id >= 0 && c->pad_token_id < c->vocab_size) {
        size_t word = c->arch == MODEL_ARCH_LLAMA
                          ? model_find_tensor(m, "model.embed_tokens.weight")->offset
                          : (size_t)(m->p.wte - m->params);
        memset(params + word + (size_t)c->pad_token_id * c->hidden, 0,
               (size_t)c->hidden * sizeof(float));
    }
}

void model_freeze_below(model *m, int first_trainable)
{
    if (first_trainable < 0) first_trainable = 0;
    if (first_trainable > m->cfg.layers) first_trainable = m->cfg.layers;
    m->first_trainable = first_trainable;
    index_trainable(m);
}

void model_set_grad_ready_hook(model *m, model_grad_ready_fn fn, void *ctx)
{
    m->grad_ready = fn;
    m->grad_ready_ctx = ctx;
}

void model_grads_ready_from(model *m, int layer)
{
    if (!m->grad_ready) return;
    for (int i = 0; i < m->tensor_count; i++)
        if (m->tensors[i].layer >= layer) {
            m->grad_ready(m->grad_ready_ctx, m->tensors[i].offset);
            return;
        }
}

bool model_block_trainable(const model *m, int layer)
{
    return m->first_trainable == 0 || layer >= m->first_trainable;
}

bool model_tensor_trainable(const model *m, const model_tensor *t)
{
    return model_block_trainable(m, t->layer);
}

const ops_span *model_trainable_spans(const model *m, bool merge, int *count)
{
    *count = merge ? m->n_trainable_runs : m->n_trainable;
    return merge ? m->trainable_runs : m->trainable;
}

/* One zeroing per run of trainable tensors (one launch on a GPU, not one
 * per tensor). */
void model_zero_grads(model *m)
{
    for (int i = 0; i < m->n_trainable_runs; i++)
        model_zero(m, m->grads + m->trainable_runs[i].offset, m->trainable_runs[i].n);
}
