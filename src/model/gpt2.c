/* gpt2: GPT2ForSequenceClassification on the ops interface.
 *
 * Pre-LN blocks: r = x + drop(attn(LN1(x))), out = r + drop(mlp(LN2(r))),
 * causal attention; the head applies ln_f and the bias-free score to the last
 * non-padding token of each row. Weights are Conv1D's [in, out]; c_attn
 * already holds q, k and v side by side. The residual stream's gradient is
 * accumulated in place (d_x), so backward copies nothing. */
#include <stddef.h>
#include <string.h>

#include "model_impl.h"

#define F(x) offsetof(model_block_ptrs, x)
static const model_block_tensor block_tensors[] = {
    {"ln_1.weight", MODEL_DIM_C, MODEL_DIM_NONE, F(ln1_w)},
    {"ln_1.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(ln1_b)},
    {"attn.c_attn.weight", MODEL_DIM_C, MODEL_DIM_3C, F(qkv_w)},
    {"attn.c_attn.bias", MODEL_DIM_3C, MODEL_DIM_NONE, F(qkv_b)},
    {"attn.c_proj.weight", MODEL_DIM_C, MODEL_DIM_C, F(attn_proj_w)},
    {"attn.c_proj.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(attn_proj_b)},
    {"ln_2.weight", MODEL_DIM_C, MODEL_DIM_NONE, F(ln2_w)},
    {"ln_2.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(ln2_b)},
    {"mlp.c_fc.weight", MODEL_DIM_C, MODEL_DIM_I, F(fc_w)},
    {"mlp.c_fc.bias", MODEL_DIM_I, MODEL_DIM_NONE, F(fc_b)},
    {"mlp.c_proj.weight", MODEL_DIM_I, MODEL_DIM_C, F(fc_proj_w)},
    {"mlp.c_proj.bias", MODEL_DIM_C, MODEL_DIM_NONE, F(fc_proj_b)},
};
#undef F
#define BLOCK_PREFIX "transformer.h"
enum { BLOCK_TENSORS = sizeof block_tensors / sizeof block_tensors[0] };

ft_status gpt2_add_tensors(model *m, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden;
    ft_status st = model_add_tensor(m, "transformer.wte.weight", -1, c->vocab_size, C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "transformer.wpe.weight", -1, c->max_positions, C, err);
    for (int l = 0; l < c->layers && st == FT_OK; l++)
        st = model_add_block(m, l, BLOCK_PREFIX, block_tensors, BLOCK_TENSORS, err);
    int head = c->layers;
    if (st == FT_OK) st = model_add_tensor(m, "transformer.ln_f.weight", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "transformer.ln_f.bias", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "score.weight", head, c->num_labels, C, err);
    return st;
}

void gpt2_bind(model *m, model_ptrs *p, float *base)
{
    memset(p, 0, offsetof(model_ptrs, blocks));
    p->wte = model_bind_at(m, base, "transformer.wte.weight");
    p->wpe = model_bind_at(m, base, "transformer.wpe.weight");
    model_bind_blocks(m, p, base, BLOCK_PREFIX, block_tensors, BLOCK_TENSORS);
    p->lnf_w = model_bind_at(m, base, "transformer.ln_f.weight");
    p->lnf_b = model_bind_at(m, base, "transformer.ln_f.bias");
    p->head_w = model_bind_at(m, base, "score.weight");
    p->head_b = NULL;
    p->pool_w = p->pool_b = NULL;
}

/* ---- forward ---------------------------------------------------------------- */

/* Pre-LN: r = x + attn(LN1(x)), out = r + mlp(LN2(r)). */
static void block_forward(model *m, int l, const float *x)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = c->hidden;
    ops_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, w->ln1_w, w->ln1_b, N, C,
                          c->layer_norm_eps);
    model_attn_forward(m, l, a->ln1, x);
    ops_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res1, w->ln2_w, w->ln2_b, N, C,
                          c->layer_norm_eps);
    model_mlp_forward(m, l, a->ln2, a->res1);
}

void gpt2_forward(model *m)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    const model_ptrs *p = &m->p;
    int N = m->b * m->t, C = c->hidden, B = m->b;
    ops_embedding_forward(a->emb, a->ids, p->wte, N, C, false);
    ops_embedding_forward(a->emb, a->positions, p->wpe, N, C, true);
    model_dropout_fwd(m, a->emb, a->emb, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    const float *x = a->emb;
    for (int l = 0; l < c->layers; l++) {
        block_forward(m, l, x);
        x = a->blocks[l].res2;
    }
    /* ln_f and the score only where the logits are read: the last token. */
    ops_gather_rows_forward(a->picked, x, a->pick, B, C);
    ops_layernorm_forward(a->head_ln, a->head_mean, a->head_rstd, a->picked, p->lnf_w, p->lnf_b, B,
                          C, c->layer_norm_eps);
    ops_linear_forward(a->logits, a->head_ln, p->head_w, NULL, B, C, c->num_labels, OPS_W_OUT_IN);
}

/* ---- backward --------------------------------------------------------------- */

/* On entry d_x = d(block output); on exit d(block input) (LN1's input
 * gradient is skipped when !need_dinp). */
static void block_backward(model *m, int l, const float *x, bool need_dinp)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    int N = m->b * m->t, C = c->hidden;
    size_t NC = (size_t)N * C;
    model_zero(m, s->d_y, NC); /* d ln2 */
    model_mlp_backward(m, l, s->d_y, s->d_x, a->ln2, s->d_tmp);
    ops_layernorm_backward(s->d_x, g->ln2_w, g->ln2_b, s->d_y, a->res1, w->ln2_w, a->ln2_mean,
                           a->ln2_rstd, N, C);
    model_attn_backward(m, l, s->d_x, s->d_tmp, s->d_y);
    model_zero(m, s->d_tmp, NC); /* d ln1 */
    model_linear_bwd(m, s->d_tmp, g->qkv_w, g->qkv_b, s->d_qkv, a->ln1, w->qkv_w, N, C, 3 * C);
    ops_layernorm_backward(need_dinp ? s->d_x : NULL, g->ln1_w, g->ln1_b, s->d_tmp, x, w->ln1_w,
                           a->ln1_mean, a->ln1_rstd, N, C);
}

void gpt2_backward(model *m, float loss_scale)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    int N = m->b * m->t, C = c->hidden, B = m->b;
    size_t NC = (size_t)N * C, BC = (size_t)B * C;
    model_loss_backward(m, loss_scale);
    model_zero(m, a->d_head, BC);
    ops_linear_backward(a->d_head, m->g.head_w, NULL, a->d_logits, a->head_ln, m->p.head_w, B, C,
                        c->num_labels, OPS_W_OUT_IN);
    model_zero(m, a->d_head2, BC);
    ops_layernorm_backward(a->d_head2, m->g.lnf_w, m->g.lnf_b, a->d_head, a->picked, m->p.lnf_w,
                           a->head_mean, a->head_rstd, B, C);
    model_zero(m, a->d_x, NC);
    ops_gather_rows_backward(a->d_x, a->d_head2, a->pick, B, C);
    model_grads_ready_from(m, c->layers);
    int first = m->first_trainable;
    for (int l = c->layers - 1; l >= first; l--) {
        const float *x = l == 0 ? a->emb : a->blocks[l - 1].res2;
        block_backward(m, l, x, l > first || first == 0);
        model_grads_ready_from(m, l);
    }
    if (first > 0) return;
    model_dropout_bwd(m, a->d_tmp, a->d_x, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    ops_embedding_backward(m->g.wte, a->ids, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wpe, a->positions, a->d_tmp, N, C);
}
