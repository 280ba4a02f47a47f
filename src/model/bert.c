/* bert: BertForSequenceClassification on the ops interface.
 *
 * Post-LN blocks: x1 = LN(x + drop(attn(x))), out = LN(x1 + drop(mlp(x1)));
 * the head pools the [CLS] token: logits = W_c drop(tanh(W_p h_cls + b_p)) + b_c.
 * Weights are nn.Linear's [out, in]. Query, key and value sit side by side
 * in the parameter buffer, so one [3C, C] product gives q, k and v. */
#include <stdio.h>
#include <string.h>

#include "model_impl.h"

enum { SITE_ATTN = 0, SITE_ATTN_OUT = 1, SITE_MLP_OUT = 2 };

static ft_status add_block(model *m, int l, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden, I = c->intermediate;
    static const char *const qkv[3] = {"query", "key", "value"};
    char n[96];
    ft_status st = FT_OK;
#define ADD(suffix, d0, d1)                                                     \
    do {                                                                        \
        snprintf(n, sizeof n, "bert.encoder.layer.%d.%s", l, suffix);           \
        if (st == FT_OK) st = model_add_tensor(m, n, l, d0, d1, err);           \
    } while (0)
    char s[64];
    for (int i = 0; i < 3; i++) {
        snprintf(s, sizeof s, "attention.self.%s.weight", qkv[i]);
        ADD(s, C, C);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(s, sizeof s, "attention.self.%s.bias", qkv[i]);
        ADD(s, C, 0);
    }
    ADD("attention.output.dense.weight", C, C);
    ADD("attention.output.dense.bias", C, 0);
    ADD("attention.output.LayerNorm.weight", C, 0);
    ADD("attention.output.LayerNorm.bias", C, 0);
    ADD("intermediate.dense.weight", I, C);
    ADD("intermediate.dense.bias", I, 0);
    ADD("output.dense.weight", C, I);
    ADD("output.dense.bias", C, 0);
    ADD("output.LayerNorm.weight", C, 0);
    ADD("output.LayerNorm.bias", C, 0);
#undef ADD
    return st;
}

ft_status bert_add_tensors(model *m, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden;
    ft_status st = model_add_tensor(m, "bert.embeddings.word_embeddings.weight", -1,
                                    c->vocab_size, C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "bert.embeddings.position_embeddings.weight", -1,
                              c->max_positions, C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "bert.embeddings.token_type_embeddings.weight", -1,
                              c->type_vocab_size, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.embeddings.LayerNorm.weight", -1, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.embeddings.LayerNorm.bias", -1, C, 0, err);
    for (int l = 0; l < c->layers && st == FT_OK; l++) st = add_block(m, l, err);
    int head = c->layers;
    if (st == FT_OK) st = model_add_tensor(m, "bert.pooler.dense.weight", head, C, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.pooler.dense.bias", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "classifier.weight", head, c->num_labels, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "classifier.bias", head, c->num_labels, 0, err);
    return st;
}

static float *at(model *m, float *base, const char *fmt, int l)
{
    char n[96];
    snprintf(n, sizeof n, fmt, l);
    const model_tensor *t = model_find_tensor(m, n);
    FT_CHECK_MSG(t != NULL, n);
    return base + t->offset;
}

void bert_bind(model *m, model_ptrs *p, float *base)
{
    p->wte = at(m, base, "bert.embeddings.word_embeddings.weight", 0);
    p->wpe = at(m, base, "bert.embeddings.position_embeddings.weight", 0);
    p->wtt = at(m, base, "bert.embeddings.token_type_embeddings.weight", 0);
    p->emb_ln_w = at(m, base, "bert.embeddings.LayerNorm.weight", 0);
    p->emb_ln_b = at(m, base, "bert.embeddings.LayerNorm.bias", 0);
    for (int l = 0; l < m->cfg.layers; l++) {
        model_block_ptrs *b = &p->blocks[l];
        b->qkv_w = at(m, base, "bert.encoder.layer.%d.attention.self.query.weight", l);
        b->qkv_b = at(m, base, "bert.encoder.layer.%d.attention.self.query.bias", l);
        b->attn_proj_w = at(m, base, "bert.encoder.layer.%d.attention.output.dense.weight", l);
        b->attn_proj_b = at(m, base, "bert.encoder.layer.%d.attention.output.dense.bias", l);
        b->ln1_w = at(m, base, "bert.encoder.layer.%d.attention.output.LayerNorm.weight", l);
        b->ln1_b = at(m, base, "bert.encoder.layer.%d.attention.output.LayerNorm.bias", l);
        b->fc_w = at(m, base, "bert.encoder.layer.%d.intermediate.dense.weight", l);
        b->fc_b = at(m, base, "bert.encoder.layer.%d.intermediate.dense.bias", l);
        b->fc_proj_w = at(m, base, "bert.encoder.layer.%d.output.dense.weight", l);
        b->fc_proj_b = at(m, base, "bert.encoder.layer.%d.output.dense.bias", l);
        b->ln2_w = at(m, base, "bert.encoder.layer.%d.output.LayerNorm.weight", l);
        b->ln2_b = at(m, base, "bert.encoder.layer.%d.output.LayerNorm.bias", l);
    }
    p->pool_w = at(m, base, "bert.pooler.dense.weight", 0);
    p->pool_b = at(m, base, "bert.pooler.dense.bias", 0);
    p->head_w = at(m, base, "classifier.weight", 0);
    p->head_b = at(m, base, "classifier.bias", 0);
    p->lnf_w = p->lnf_b = NULL;
}

/* ---- forward ---------------------------------------------------------------- */

static void block_forward(model *m, int l, const float *x)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    size_t NC = (size_t)N * C, TC = (size_t)m->t * C;
    ops_attention_shape s;
    model_attention_shape(m, l, &s);
    ops_linear_forward(a->qkv, x, w->qkv_w, w->qkv_b, N, C, 3 * C, OPS_W_OUT_IN);
    ops_attention_forward(a->ctx, a->probs, a->qkv, &s, m->a.attn_scratch);
    ops_linear_forward(a->res1, a->ctx, w->attn_proj_w, w->attn_proj_b, N, C, C,
                       OPS_W_OUT_IN);
    model_dropout_fwd(m, a->res1, a->res1, TC, c->hidden_dropout, l, SITE_ATTN_OUT);
    ops_add(a->res1, a->res1, x, NC);
    ops_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->res1, w->ln1_w,
                          w->ln1_b, N, C, c->layer_norm_eps);
    ops_linear_forward(a->fc, a->ln1, w->fc_w, w->fc_b, N, C, I, OPS_W_OUT_IN);
    ops_gelu_forward(a->fc_act, a->fc, (size_t)N * I, c->gelu);
    ops_linear_forward(a->res2, a->fc_act, w->fc_proj_w, w->fc_proj_b, N, I, C,
                       OPS_W_OUT_IN);
    model_dropout_fwd(m, a->res2, a->res2, TC, c->hidden_dropout, l, SITE_MLP_OUT);
    ops_add(a->res2, a->res2, a->ln1, NC);
    ops_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ln2_w,
                          w->ln2_b, N, C, c->layer_norm_eps);
}

void bert_forward(model *m)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    const model_ptrs *p = &m->p;
    int N = m->b * m->t, C = c->hidden, B = m->b;
    /* HF order: word + token type, then + position. */
    ops_embedding_forward(a->emb, a->ids, p->wte, N, C, false);
    ops_embedding_forward(a->emb, a->types, p->wtt, N, C, true);
    ops_embedding_forward(a->emb, a->positions, p->wpe, N, C, true);
    ops_layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb, p->emb_ln_w,
                          p->emb_ln_b, N, C, c->layer_norm_eps);
    model_dropout_fwd(m, a->emb_ln, a->emb_ln, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    const float *x = a->emb_ln;
    for (int l = 0; l < c->layers; l++) {
        block_forward(m, l, x);
        x = a->blocks[l].ln2;
    }
    ops_gather_rows_forward(a->picked, x, a->pick, B, C);
    ops_linear_forward(a->pooled_pre, a->picked, p->pool_w, p->pool_b, B, C, C,
                       OPS_W_OUT_IN);
    ops_tanh_forward(a->pooled, a->pooled_pre, (size_t)B * C);
    model_dropout_fwd(m, a->pooled_drop, a->pooled, (size_t)C, c->classifier_dropout,
                      c->layers, 0);
    ops_linear_forward(a->logits, a->pooled_drop, p->head_w, p->head_b, B, C,
                       c->num_labels, OPS_W_OUT_IN);
}

/* ---- backward --------------------------------------------------------------- */

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

/* d_x holds d(output of block l); leaves d(input of block l) in d_x (when
 * need_dinp). */
static void block_backward(model *m, int l, const float *x, bool need_dinp)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    size_t NC = (size_t)N * C, TC = (size_t)m->t * C, NI = (size_t)N * I;
    zero(s->d_tmp, NC); /* d res2 */
    ops_layernorm_backward(s->d_tmp, g->ln2_w, g->ln2_b, s->d_x, a->res2, w->ln2_w,
                           a->ln2_mean, a->ln2_rstd, N, C);
    memcpy(s->d_y, s->d_tmp, NC * sizeof(float)); /* d ln1, residual part */
    zero(s->d_x, NC);
    model_dropout_bwd(m, s->d_x, s->d_tmp, TC, c->hidden_dropout, l, SITE_MLP_OUT);
    zero(s->d_fc_act, NI);
    ops_linear_backward(s->d_fc_act, g->fc_proj_w, g->fc_proj_b, s->d_x, a->fc_act,
                        w->fc_proj_w, N, I, C, OPS_W_OUT_IN);
    zero(s->d_fc, NI);
    ops_gelu_backward(s->d_fc, a->fc, s->d_fc_act, NI, c->gelu);
    ops_linear_backward(s->d_y, g->fc_w, g->fc_b, s->d_fc, a->ln1, w->fc_w, N, C, I,
                        OPS_W_OUT_IN);
    zero(s->d_tmp, NC); /* d res1 */
    ops_layernorm_backward(s->d_tmp, g->ln1_w, g->ln1_b, s->d_y, a->res1, w->ln1_w,
                           a->ln1_mean, a->ln1_rstd, N, C);
    memcpy(s->d_x, s->d_tmp, NC * sizeof(float)); /* d x, residual part */
    zero(s->d_y, NC);
    model_dropout_bwd(m, s->d_y, s->d_tmp, TC, c->hidden_dropout, l, SITE_ATTN_OUT);
    zero(s->d_tmp, NC); /* d ctx */
    ops_linear_backward(s->d_tmp, g->attn_proj_w, g->attn_proj_b, s->d_y, a->ctx,
                        w->attn_proj_w, N, C, C, OPS_W_OUT_IN);
    zero(s->d_qkv, 3 * NC);
    ops_attention_shape sh;
    model_attention_shape(m, l, &sh);
    ops_attention_backward(s->d_qkv, s->d_tmp, a->qkv, a->probs, &sh, s->attn_scratch);
    ops_linear_backward(need_dinp ? s->d_x : NULL, g->qkv_w, g->qkv_b, s->d_qkv, x,
                        w->qkv_w, N, C, 3 * C, OPS_W_OUT_IN);
}

static void head_backward(model *m)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    int B = m->b, C = c->hidden, N = m->b * m->t;
    size_t BC = (size_t)B * C;
    zero(a->d_head, BC);
    ops_linear_backward(a->d_head, m->g.head_w, m->g.head_b, a->d_logits,
                        a->pooled_drop, m->p.head_w, B, C, c->num_labels, OPS_W_OUT_IN);
    zero(a->d_head2, BC);
    model_dropout_bwd(m, a->d_head2, a->d_head, (size_t)C, c->classifier_dropout,
                      c->layers, 0);
    zero(a->d_head, BC);
    ops_tanh_backward(a->d_head, a->pooled, a->d_head2, BC);
    zero(a->d_head2, BC);
    ops_linear_backward(a->d_head2, m->g.pool_w, m->g.pool_b, a->d_head,
                        a->picked, m->p.pool_w, B, C, C, OPS_W_OUT_IN);
    zero(a->d_x, (size_t)N * C);
    ops_gather_rows_backward(a->d_x, a->d_head2, a->pick, B, C);
}

void bert_backward(model *m, float loss_scale)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    int N = m->b * m->t, C = c->hidden;
    size_t NC = (size_t)N * C;
    model_loss_backward(m, loss_scale);
    head_backward(m);
    model_grads_ready_from(m, c->layers);
    int first = m->first_trainable;
    for (int l = c->layers - 1; l >= first; l--) {
        const float *x = l == 0 ? a->emb_ln : a->blocks[l - 1].ln2;
        block_backward(m, l, x, l > first || first == 0);
        model_grads_ready_from(m, l);
    }
    if (first > 0) return;
    zero(a->d_y, NC);
    model_dropout_bwd(m, a->d_y, a->d_x, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    zero(a->d_tmp, NC);
    ops_layernorm_backward(a->d_tmp, m->g.emb_ln_w, m->g.emb_ln_b, a->d_y, a->emb,
                           m->p.emb_ln_w, a->emb_mean, a->emb_rstd, N, C);
    ops_embedding_backward(m->g.wte, a->ids, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wtt, a->types, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wpe, a->positions, a->d_tmp, N, C);
}
