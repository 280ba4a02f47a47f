/* model_run: the activation plan and the forward / backward entry points.
 *
 * The plan is a model_bump allocation over one float buffer, laid out once for the
 * largest batch (b, t); smaller batches reuse it with their own strides.
 * Gradient scratch for blocks is shared by all blocks (backward visits one
 * block at a time), so activations dominate memory, as in PyTorch.
 *
 * An inference plan (model_plan_inference) keeps nothing for backward:
 * blocks take turns between two sets of buffers (block l reads only block
 * l-1's output, and has read its input before it writes its own output),
 * and there is no gradient scratch, so BERT-base at 64 x 128 needs 0.9 GB
 * instead of 6.5 GB, and each batch writes into memory that is already
 * mapped and partly cached. */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "model_impl.h"

float *model_bump_take(model_bump *b, size_t n)
{
    float *p = b->base ? b->base + b->used : NULL;
    b->used += (n + 15) & ~(size_t)15; /* 64-byte aligned pieces */
    return p;
}

static void layout_block(model_bump *k, model_block_acts *a, const model_config *c, size_t B,
                         size_t T)
{
    size_t N = B * T, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    a->ln1 = model_bump_take(k, N * C);
    a->ln1_mean = model_bump_take(k, N);
    a->ln1_rstd = model_bump_take(k, N);
    a->qkv = model_bump_take(k, 3 * N * C);
    a->probs = model_bump_take(k, B * (size_t)c->heads * T * T);
    a->ctx = model_bump_take(k, N * C);
    a->res1 = model_bump_take(k, N * C);
    a->ln2 = model_bump_take(k, N * C);
    a->ln2_mean = model_bump_take(k, N);
    a->ln2_rstd = model_bump_take(k, N);
    a->fc = model_bump_take(k, N * I);
    a->fc_act = model_bump_take(k, N * I);
    a->res2 = model_bump_take(k, N * C);
}

static void layout(model *m, model_bump *k, size_t B, size_t T)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    size_t N = B * T, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t L = (size_t)c->num_labels;
    a->emb = model_bump_take(k, N * C);
    a->emb_ln = model_bump_take(k, N * C);
    a->emb_mean = model_bump_take(k, N);
    a->emb_rstd = model_bump_take(k, N);
    int sets = m->plan_inference && c->layers > 2 ? 2 : c->layers;
    for (int l = 0; l < c->layers; l++) {
        if (l < sets)
            layout_block(k, &a->blocks[l], c, B, T);
        else
            a->blocks[l] = a->blocks[l % 2];
    }
    a->picked = model_bump_take(k, B * C);
    a->head_ln = model_bump_take(k, B * C);
    a->head_mean = model_bump_take(k, B);
    a->head_rstd = model_bump_take(k, B);
    a->pooled_pre = model_bump_take(k, B * C);
    a->pooled = model_bump_take(k, B * C);
    a->pooled_drop = model_bump_take(k, B * C);
    a->logits = model_bump_take(k, B * L);
    a->probs = model_bump_take(k, B * L);
    a->losses = model_bump_take(k, B);
    size_t wide_in = C > I ? C : I, wide_out = 3 * C > I ? 3 * C : I;
    a->attn_scratch = model_bump_take(
        k, ops_attention_scratch_floats((int)B, (int)T, m->cfg.hidden, m->cfg.heads));
    bool bf16 = m->precision == MODEL_BF16, fp16 = m->precision == MODEL_FP16;
    a->x16 = bf16 ? (ops_bf16 *)model_bump_take(k, (N * wide_in + 1) / 2) : NULL;
    a->x32 = fp16 ? model_bump_take(k, N * wide_in) : NULL;
    if (m->plan_inference) return;
    a->d16 = bf16 ? (ops_bf16 *)model_bump_take(k, (N * wide_out + 1) / 2) : NULL;
    a->d32 = fp16 ? model_bump_take(k, N * wide_out) : NULL;
    a->d_x = model_bump_take(k, N * C);
    a->d_y = model_bump_take(k, N * C);
    a->d_tmp = model_bump_take(k, N * C);
    a->d_qkv = model_bump_take(k, 3 * N * C);
    a->d_fc = model_bump_take(k, N * I);
    a->d_fc_act = model_bump_take(k, N * I);
    a->d_head = model_bump_take(k, B * C);
    a->d_head2 = model_bump_take(k, B * C);
    a->d_logits = model_bump_take(k, B * L);
}

/* Bytes of the batch's integers: ids, positions, types [B*T] and lengths,
 * labels, pick [B], then the int64 example indices [B]. */
static size_t int_bytes(size_t B, size_t T)
{
    return (3 * B * T + 3 * B) * sizeof(int32_t) + B * sizeof(int64_t) + sizeof(int64_t);
}

void model_free_plan(model *m)
{
    llama_free_plan(m);
    size_t ib = int_bytes((size_t)m->plan_b, (size_t)m->plan_t);
    if (m->act_mem) m->be->free(m->act_mem, m->act_floats * sizeof(float));
    if (m->int_mem) m->be->free(m->int_mem, ib);
    free(m->int_host);
    free(m->logits_host);
    free(m->a.blocks);
    memset(&m->a, 0, sizeof m->a);
    m->act_mem = NULL;
    m->int_mem = NULL;
    m->int_host = NULL;
    m->index_host = NULL;
    m->logits_host = NULL;
    m->plan_b = m->plan_t = 0;
}

/* The int64 indices after the int32 arrays, 8-byte aligned. */
static int64_t *index_part(int32_t *base, size_t B, size_t T)
{
    size_t off = ((3 * B * T + 3 * B) * sizeof(int32_t) + 7) & ~(size_t)7;
    return (int64_t *)(void *)((char *)base + off);
}

static ft_status plan(model *m, int b, int t, bool inference, ft_error *err)
{
    if (m->cfg.arch == MODEL_ARCH_LLAMA) return llama_plan(m, b, t, inference, err);
    if (b < 1 || t < 1 || t > m->cfg.max_positions)
        return ft_fail(err, FT_EINVAL,
                       "model_plan: batch %d x %d tokens: need b >= 1 and 1 <= t <= "
                       "max_positions (%d)",
                       b, t, m->cfg.max_positions);
    model_free_plan(m);
    m->plan_inference = inference;
    size_t B = (size_t)b, T = (size_t)t, ib = int_bytes(B, T);
    m->a.blocks = ft_calloc_array((size_t)m->cfg.layers, sizeof(model_block_acts));
    model_bump k = {NULL, 0};
    if (m->a.blocks) layout(m, &k, B, T);
    m->act_floats = k.used;
    m->act_mem = m->a.blocks ? m->be->alloc(k.used * sizeof(float)) : NULL;
    m->int_mem = m->be->alloc(ib);
    m->int_host = ft_calloc_array(ib, 1);
    m->logits_host = ft_calloc_array(B * (size_t)m->cfg.num_labels, sizeof(float));
    m->plan_b = b;
    m->plan_t = t;
    if (!m->act_mem || !m->int_mem || !m->int_host || !m->logits_host) {
        size_t floats = m->act_floats;
        model_free_plan(m);
        return ft_fail(err, FT_ENOMEM,
                       "model_plan: cannot allocate activations for %d x %d tokens "
                       "(%zu floats) on the %s",
                       b, t, floats, m->be->name);
    }
    k.base = m->act_mem;
    k.used = 0;
    layout(m, &k, B, T);
    int32_t *ip = m->int_mem;
    m->a.ids = ip;
    m->a.positions = ip + B * T;
    m->a.types = ip + 2 * B * T;
    m->a.lengths = ip + 3 * B * T;
    m->a.labels = m->a.lengths + B;
    m->a.pick = m->a.labels + B;
    m->a.example_index = index_part(ip, B, T);
    m->index_host = index_part(m->int_host, B, T);
    return FT_OK;
}

ft_status model_plan(model *m, int b, int t, ft_error *err) { return plan(m, b, t, false, err); }

ft_status model_plan_inference(model *m, int b, int t, ft_error *err)
{
    return plan(m, b, t, true, err);
}

ft_status model_replan(model *m, ft_error *err)
{
    return m->act_mem ? plan(m, m->plan_b, m->plan_t, m->plan_inference, err) : FT_OK;
}

/* ---- forward and backward ------------------------------------------------- */

static ft_status check_batch(const model *m, const model_batch *x, const model_dropout *d,
                             ft_error *err)
{
    const model_config *c = &m->cfg;
    if (x->b < 1 || x->t < 1 || x->b > m->plan_b || x->t > m->plan_t)
        return ft_fail(err, FT_EINVAL, "model: batch %d x %d exceeds the plan %d x %d", x->b, x->t,
                       m->plan_b, m->plan_t);
    if (d && d->enabled && !x->example_index)
        return ft_fail(err, FT_EINVAL, "model: dropout needs example indices");
    for (int i = 0; i < x->b; i++) {
        if (x->lengths[i] < 1 || x->lengths[i] > x->t)
            return ft_fail(err, FT_EINVAL, "model: row %d: length %d not in [1, %d]", i,
                           x->lengths[i], x->t);
        if (x->labels && (x->labels[i] < 0 || x->labels[i] >= c->num_labels))
            return ft_fail(err, FT_EINVAL, "model: row %d: label %d not in [0, %d)", i,
                           x->labels[i], c->num_labels);
        for (int j = 0; j < x->t; j++) {
            int32_t id = x->input_ids[(size_t)i * x->t + j];
            if (id < 0 || id >= c->vocab_size)
                return ft_fail(err, FT_EINVAL,
                               "model: row %d position %d: token id %d outside the "
                               "vocabulary [0, %d)",
                               i, j, id, c->vocab_size);
        }
    }
    return FT_OK;
}

/* Lay the batch's integers out on the host in int_mem's layout for the
 * PLANNED shape (so offsets match), then move them in one copy. */
static void copy_batch(model *m, const model_batch *x)
{
    size_t B = (size_t)m->plan_b, T = (size_t)m->plan_t, n = (size_t)x->b * x->t;
    int32_t *ids = m->int_host, *positions = ids + B * T, *types = ids + 2 * B * T;
    int32_t *lengths = ids + 3 * B * T, *labels = lengths + B, *pick = labels + B;
    memcpy(ids, x->input_ids, n * sizeof(int32_t));
    memcpy(lengths, x->lengths, (size_t)x->b * sizeof(int32_t));
    for (int i = 0; i < x->b; i++) {
        labels[i] = x->labels ? x->labels[i] : 0;
        m->index_host[i] = x->example_index ? x->example_index[i] : i;
        /* BERT pools [CLS] (position 0); GPT-2 the last real token. */
        pick[i] = i * x->t + (m->cfg.arch == MODEL_ARCH_BERT ? 0 : x->lengths[i] - 1);
    }
    for (size_t i = 0; i < n; i++) {
        positions[i] = (int32_t)(i % (size_t)x->t);
        types[i] = 0;
    }
    m->be->to_device(m->int_mem, m->int_host, int_bytes(B, T));
    m->b = x->b;
    m->t = x->t;
}

ft_status model_forward_packed(model *m, const model_batch *x, const model_packing *p,
                               const model_dropout *d, double *loss, ft_error *err)
{
    if (m->cfg.arch == MODEL_ARCH_LLAMA) return llama_forward(m, x, p, loss, err);
    if (p)
        return ft_fail(err, FT_EINVAL,
                       "model: packed rows (position and segment ids) are for decoder LLMs "
                       "only");
    return model_forward(m, x, d, loss, err);
}

ft_status model_forward(model *m, const model_batch *x, const model_dropout *d, double *loss,
                        ft_error *err)
{
    if (m->cfg.arch == MODEL_ARCH_LLAMA) return llama_forward(m, x, NULL, loss, err);
    if (!m->act_mem) return ft_fail(err, FT_EINVAL, "model: model_plan() not called");
    ft_status st = check_batch(m, x, d, err);
    if (st != FT_OK) return st;
    copy_batch(m, x);
    model_dropout off = {false, 0, 0};
    m->dropout = d ? *d : off;
    ops_mirror_device_read(&m->pm); /* parameters the host wrote */
    model_bf16_refresh(m);
    if (m->cfg.arch == MODEL_ARCH_BERT)
        bert_forward(m);
    else
        gpt2_forward(m);
    if (x->labels) {
        double mean = ops_crossentropy_forward(m->a.losses, m->a.probs, m->a.logits, m->a.labels,
                                               m->b, m->cfg.num_labels);
        if (loss) *loss = mean;
    }
    return FT_OK;
}

void model_backward(model *m, float loss_scale)
{
    FT_CHECK_MSG(!m->plan_inference, "model_backward after model_plan_inference");
    if (m->cfg.arch == MODEL_ARCH_LLAMA)
        llama_backward(m, loss_scale);
    else if (m->cfg.arch == MODEL_ARCH_BERT)
        bert_backward(m, loss_scale);
    else
        gpt2_backward(m, loss_scale);
}

/* ---- pieces shared by bert.c and gpt2.c ----------------------------------- */

/* Dropout sites: layer 0 embeddings, 1..layers blocks, layers+1 head. */
uint64_t model_site(const model *m, int layer, int site)
{
    return ops_dropout_site(m->dropout.step, layer + 1, site);
}

float model_drop_p(const model *m, float p) { return m->dropout.enabled ? p : 0.0f; }

void model_dropout_fwd(model *m, float *out, const float *inp, size_t per_example, float p,
                       int layer, int site)
{
    ops_dropout_forward(out, inp, m->b, per_example, m->a.example_index, model_drop_p(m, p),
                        m->dropout.seed, model_site(m, layer, site));
}

/* Dropout's gradient is dout through the forward's mask and scale, which is
 * what a forward pass with the same keys computes: written with it, in one
 * pass (no zeroing, then adding onto zeros, as a separate backward would
 * need; on a GPU one launch instead of two). */
void model_dropout_bwd(model *m, float *dinp, const float *dout, size_t per_example, float p,
                       int layer, int site)
{
    ops_dropout_forward(dinp, dout, m->b, per_example, m->a.example_index, model_drop_p(m, p),
                        m->dropout.seed, model_site(m, layer, site));
}

void model_attention_shape(const model *m, int layer, ops_attention_shape *s)
{
    s->b = m->b;
    s->t = m->t;
    s->c = m->cfg.hidden;
    s->nh = m->cfg.heads;
    s->causal = m->cfg.arch == MODEL_ARCH_GPT2;
    s->lengths = m->a.lengths;
    s->example_index = m->a.example_index;
    s->dropout_p = model_drop_p(m, m->cfg.attention_dropout);
    s->seed = m->dropout.seed;
    s->site = model_site(m, layer, MODEL_SITE_ATTN);
}

void model_loss_backward(model *m, float loss_scale)
{
    size_t n = (size_t)m->b * m->cfg.num_labels;
    model_zero(m, m->a.d_logits, n);
    ops_crossentropy_backward(m->a.d_logits, m->a.probs, m->a.labels, m->b, m->cfg.num_labels,
                              loss_scale / (float)m->b);
}
