/* bert: BertForSequenceClassification on the ops interface.
 *
 * Post-LN blocks: x1 = LN(x + drop(attn(x))), out = LN(x1 + drop(mlp(x1)));
 * the head pools the [CLS] token: logits = W_c drop(tanh(W_p h_cls + b_p)) + b_c.
 * Weights are nn.Linear's [out, in]. Query, key and value sit side by side
 * in the parameter buffer, so one [3C, C] product gives q, k and v. */
#include <stddef.h>
#include <string.h>

#include "model_impl.h"

#define F(x) offsetof(model_block_ptrs, x)
static const model_block_tensor block_tensors[] = {
    {"attention.self.query.weight", MODEL_DIM_C, MODEL_DIM_C, F(qkv_w)},
    {"attention.self.key.weight", MODEL_DIM_C, MODEL_DIM_C, -1},
    {"attention.self.value.weight", MODEL_DIM_C, MODEL_DIM_C, -1},
    {"attention.self.query.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(qkv_b)},
    {"attention.self.key.bias", MODEL_DIM_C, MODEL_DIM_NONE, -1},
    {"attention.self.value.bias", MODEL_DIM_C, MODEL_DIM_NONE, -1},
    {"attention.output.dense.weight", MODEL_DIM_C, MODEL_DIM_C, F(attn_proj_w)},
    {"attention.output.dense.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(attn_proj_b)},
    {"attention.output.LayerNorm.weight", MODEL_DIM_C, MODEL_DIM_NONE, F(ln1_w)},
    {"attention.output.LayerNorm.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(ln1_b)},
    {"intermediate.dense.weight", MODEL_DIM_I, MODEL_DIM_C, F(fc_w)},
    {"intermediate.dense.bias", MODEL_DIM_I, MODEL_DIM_NONE, F(fc_b)},
    {"output.dense.weight", MODEL_DIM_C, MODEL_DIM_I, F(fc_proj_w)},
    {"output.dense.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(fc_proj_b)},
    {"output.LayerNorm.weight", MODEL_DIM_C, MODEL_DIM_NONE, F(ln2_w)},
    {"output.LayerNorm.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(ln2_b)},
};
#undef F
#define BLOCK_PREFIX "bert.encoder.layer"
enum { BLOCK_TENSORS = sizeof block_tensors / sizeof block_tensors[0] };

ft_status bert_add_tensors(model *m, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden;
    ft_status st =
        model_add_tensor(m, "bert.embeddings.word_embeddings.weight", -1, c->vocab_size, C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "bert.embeddings.position_embeddings.weight", -1, c->max_positions,
                              C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "bert.embeddings.token_type_embeddings.weight", -1,
                              c->type_vocab_size, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.embeddings.LayerNorm.weight", -1, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.embeddings.LayerNorm.bias", -1, C, 0, err);
    for (int l = 0; l < c->layers && st == FT_OK; l++)
        st = model_add_block(m, l, BLOCK_PREFIX, block_tensors, BLOCK_TENSORS, err);
    int head = c->layers;
    if (st == FT_OK) st = model_add_tensor(m, "bert.pooler.dense.weight", head, C, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "bert.pooler.dense.bias", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "classifier.weight", head, c->num_labels, C, err);
    if (st == FT_OK) st = model_add_tensor(m, "classifier.bias", head, c->num_labels, 0, err);
    return st;
}

void bert_bind(model *m, model_ptrs *p, float *base)
{
    p->wte = model_bind_at(m, base, "bert.embeddings.word_embeddings.weight");
    p->wpe = model_bind_at(m, base, "bert.embeddings.position_embeddings.weight");
    p->wtt = model_bind_at(m, base, "bert.embeddings.token_type_embeddings.weight");
    p->emb_ln_w = model_bind_at(m, base, "bert.embeddings.LayerNorm.weight");
    p->emb_ln_b = model_bind_at(m, base, "bert.embeddings.LayerNorm.bias");
    model_bind_blocks(m, p, base, BLOCK_PREFIX, block_tensors, BLOCK_TENSORS);
    p->pool_w = model_bind_at(m, base, "bert.pooler.dense.weight");
    p->pool_b = model_bind_at(m, base, "bert.pooler.dense.bias");
    p->head_w = model_bind_at(m, base, "classifier.weight");
    p->head_b = model_bind_at(m, base, "classifier.bias");
    p->lnf_w = p->lnf_b = NULL;
}

/* ---- forward ---------------------------------------------------------------- */

/* Post-LN: x1 = LN1(x + attn), out = LN2(x1 + mlp). */
static void block_forward(model *m, int l, const float *x)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = c->hidden;
    model_attn_forward(m, l, x, x);
    ops_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, a->res1, w->ln1_w, w->ln1_b, N, C,
                          c->layer_norm_eps);
    model_mlp_forward(m, l, a->ln1, a->ln1);
    ops_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res2, w->ln2_w, w->ln2_b, N, C,
                          c->layer_norm_eps);
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
    ops_layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb, p->emb_ln_w, p->emb_ln_b, N,
                          C, c->layer_norm_eps);
    model_dropout_fwd(m, a->emb_ln, a->emb_ln, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    const float *x = a->emb_ln;
    for (int l = 0; l < c->layers; l++) {
        block_forward(m, l, x);
        x = a->blocks[l].ln2;
    }
    ops_gather_rows_forward(a->picked, x, a->pick, B, C);
    ops_linear_forward(a->pooled_pre, a->picked, p->pool_w, p->pool_b, B, C, C, OPS_W_OUT_IN);
    ops_tanh_forward(a->pooled, a->pooled_pre, (size_t)B * C);
    model_dropout_fwd(m, a->pooled_drop, a->pooled, (size_t)C, c->classifier_dropout, c->layers, 0);
    ops_linear_forward(a->logits, a->pooled_drop, p->head_w, p->head_b, B, C, c->num_labels,
                       OPS_W_OUT_IN);
}

/* ---- backward --------------------------------------------------------------- */

/* d_x holds d(output of block l); leaves d(input of block l) in d_x (when
 * need_dinp). Each branch's gradient is accumulated onto its residual's
 * (d_tmp for LN1's output, d_x for the block input), so nothing is copied. */
static void block_backward(model *m, int l, const float *x, bool need_dinp)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    int N = m->b * m->t, C = c->hidden;
    size_t NC = (size_t)N * C;
    model_zero(m, s->d_tmp, NC); /* d res2, then d ln1 */
    ops_layernorm_backward(s->d_tmp, g->ln2_w, g->ln2_b, s->d_x, a->res2, w->ln2_w, a->ln2_mean,
                           a->ln2_rstd, N, C);
    model_mlp_backward(m, l, s->d_tmp, s->d_tmp, a->ln1, s->d_x);
    model_zero(m, s->d_x, NC); /* d res1, then d x */
    ops_layernorm_backward(s->d_x, g->ln1_w, g->ln1_b, s->d_tmp, a->res1, w->ln1_w, a->ln1_mean,
                           a->ln1_rstd, N, C);
    model_attn_backward(m, l, s->d_x, s->d_y, s->d_tmp);
    model_linear_bwd(m, need_dinp ? s->d_x : NULL, g->qkv_w, g->qkv_b, s->d_qkv, x, w->qkv_w, N, C,
                     3 * C);
}

static void head_backward(model *m)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    int B = m->b, C = c->hidden, N = m->b * m->t;
    size_t BC = (size_t)B * C;
    model_zero(m, a->d_head, BC);
    ops_linear_backward(a->d_head, m->g.head_w, m->g.head_b, a->d_logits, a->pooled_drop,
                        m->p.head_w, B, C, c->num_labels, OPS_W_OUT_IN);
    model_dropout_bwd(m, a->d_head2, a->d_head, (size_t)C, c->classifier_dropout, c->layers, 0);
    model_zero(m, a->d_head, BC);
    ops_tanh_backward(a->d_head, a->pooled, a->d_head2, BC);
    model_zero(m, a->d_head2, BC);
    ops_linear_backward(a->d_head2, m->g.pool_w, m->g.pool_b, a->d_head, a->picked, m->p.pool_w, B,
                        C, C, OPS_W_OUT_IN);
    model_zero(m, a->d_x, (size_t)N * C);
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
    model_dropout_bwd(m, a->d_y, a->d_x, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    model_zero(m, a->d_tmp, NC);
    ops_layernorm_backward(a->d_tmp, m->g.emb_ln_w, m->g.emb_ln_b, a->d_y, a->emb, m->p.emb_ln_w,
                           a->emb_mean, a->emb_rstd, N, C);
    ops_embedding_backward(m->g.wte, a->ids, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wtt, a->types, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wpe, a->positions, a->d_tmp, N, C);
}
