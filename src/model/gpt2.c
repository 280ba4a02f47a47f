/* gpt2: GPT2ForSequenceClassification on the ops interface.
 *
 * Pre-LN blocks: r = x + drop(attn(LN1(x))), out = r + drop(mlp(LN2(r))),
 * causal attention; the head applies ln_f and the bias-free score to the last
 * non-padding token of each row. Weights are Conv1D's [in, out]; c_attn
 * already holds q, k and v side by side. The residual stream's gradient is
 * accumulated in place (d_x), so backward copies nothing. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "model_impl.h"

enum { SITE_ATTN = 0, SITE_ATTN_OUT = 1, SITE_MLP_OUT = 2 };

static ft_status add_block(model *m, int l, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden, I = c->intermediate;
    static const struct { const char *name; int d0, d1; } t[] = {
        /* dims: 1 = C, 3 = 3C, 4 = I, 0 = none */
        {"ln_1.weight", 1, 0},       {"ln_1.bias", 1, 0},
        {"attn.c_attn.weight", 1, 3}, {"attn.c_attn.bias", 3, 0},
        {"attn.c_proj.weight", 1, 1}, {"attn.c_proj.bias", 1, 0},
        {"ln_2.weight", 1, 0},       {"ln_2.bias", 1, 0},
        {"mlp.c_fc.weight", 1, 4},   {"mlp.c_fc.bias", 4, 0},
        {"mlp.c_proj.weight", 4, 1}, {"mlp.c_proj.bias", 1, 0},
    };
    const int64_t dim[5] = {0, C, 0, 3 * C, I};
    ft_status st = FT_OK;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && st == FT_OK; i++) {
        char n[96];
        snprintf(n, sizeof n, "transformer.h.%d.%s", l, t[i].name);
        st = model_add_tensor(m, n, l, dim[t[i].d0], dim[t[i].d1], err);
    }
    return st;
}

ft_status gpt2_add_tensors(model *m, ft_error *err)
{
    const model_config *c = &m->cfg;
    int64_t C = c->hidden;
    ft_status st = model_add_tensor(m, "transformer.wte.weight", -1, c->vocab_size, C, err);
    if (st == FT_OK)
        st = model_add_tensor(m, "transformer.wpe.weight", -1, c->max_positions, C, err);
    for (int l = 0; l < c->layers && st == FT_OK; l++) st = add_block(m, l, err);
    int head = c->layers;
    if (st == FT_OK) st = model_add_tensor(m, "transformer.ln_f.weight", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "transformer.ln_f.bias", head, C, 0, err);
    if (st == FT_OK) st = model_add_tensor(m, "score.weight", head, c->num_labels, C, err);
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

void gpt2_bind(model *m, model_ptrs *p, float *base)
{
    memset(p, 0, offsetof(model_ptrs, blocks));
    p->wte = at(m, base, "transformer.wte.weight", 0);
    p->wpe = at(m, base, "transformer.wpe.weight", 0);
    for (int l = 0; l < m->cfg.layers; l++) {
        model_block_ptrs *b = &p->blocks[l];
        b->ln1_w = at(m, base, "transformer.h.%d.ln_1.weight", l);
        b->ln1_b = at(m, base, "transformer.h.%d.ln_1.bias", l);
        b->qkv_w = at(m, base, "transformer.h.%d.attn.c_attn.weight", l);
        b->qkv_b = at(m, base, "transformer.h.%d.attn.c_attn.bias", l);
        b->attn_proj_w = at(m, base, "transformer.h.%d.attn.c_proj.weight", l);
        b->attn_proj_b = at(m, base, "transformer.h.%d.attn.c_proj.bias", l);
        b->ln2_w = at(m, base, "transformer.h.%d.ln_2.weight", l);
        b->ln2_b = at(m, base, "transformer.h.%d.ln_2.bias", l);
        b->fc_w = at(m, base, "transformer.h.%d.mlp.c_fc.weight", l);
        b->fc_b = at(m, base, "transformer.h.%d.mlp.c_fc.bias", l);
        b->fc_proj_w = at(m, base, "transformer.h.%d.mlp.c_proj.weight", l);
        b->fc_proj_b = at(m, base, "transformer.h.%d.mlp.c_proj.bias", l);
    }
    p->lnf_w = at(m, base, "transformer.ln_f.weight", 0);
    p->lnf_b = at(m, base, "transformer.ln_f.bias", 0);
    p->head_w = at(m, base, "score.weight", 0);
    p->head_b = NULL;
    p->pool_w = p->pool_b = NULL;
}

/* ---- forward ---------------------------------------------------------------- */

static void block_forward(model *m, int l, const float *x)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    size_t NC = (size_t)N * C, TC = (size_t)m->t * C;
    float eps = c->layer_norm_eps;
    ops_attention_shape s;
    model_attention_shape(m, l, &s);
    ops_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, x, w->ln1_w, w->ln1_b,
                          N, C, eps);
    ops_linear_forward(a->qkv, a->ln1, w->qkv_w, w->qkv_b, N, C, 3 * C, OPS_W_IN_OUT);
    ops_attention_forward(a->ctx, a->probs, a->qkv, &s, m->a.attn_scratch);
    ops_linear_forward(a->res1, a->ctx, w->attn_proj_w, w->attn_proj_b, N, C, C,
                       OPS_W_IN_OUT);
    model_dropout_fwd(m, a->res1, a->res1, TC, c->hidden_dropout, l, SITE_ATTN_OUT);
    ops_add(a->res1, a->res1, x, NC);
    ops_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res1, w->ln2_w,
                          w->ln2_b, N, C, eps);
    ops_linear_forward(a->fc, a->ln2, w->fc_w, w->fc_b, N, C, I, OPS_W_IN_OUT);
    ops_gelu_forward(a->fc_act, a->fc, (size_t)N * I, c->gelu);
    ops_linear_forward(a->res2, a->fc_act, w->fc_proj_w, w->fc_proj_b, N, I, C,
                       OPS_W_IN_OUT);
    model_dropout_fwd(m, a->res2, a->res2, TC, c->hidden_dropout, l, SITE_MLP_OUT);
    ops_add(a->res2, a->res2, a->res1, NC);
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
    ops_layernorm_forward(a->head_ln, a->head_mean, a->head_rstd, a->picked,
                          p->lnf_w, p->lnf_b, B, C, c->layer_norm_eps);
    ops_linear_forward(a->logits, a->head_ln, p->head_w, NULL, B, C, c->num_labels,
                       OPS_W_OUT_IN);
}

/* ---- backward --------------------------------------------------------------- */

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof *x); }

/* On entry d_x = d(block output); on exit d(block input) (LN1's input
 * gradient is skipped when !need_dinp). */
static void block_backward(model *m, int l, const float *x, bool need_dinp)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    size_t NC = (size_t)N * C, TC = (size_t)m->t * C, NI = (size_t)N * I;
    zero(s->d_tmp, NC);
    model_dropout_bwd(m, s->d_tmp, s->d_x, TC, c->hidden_dropout, l, SITE_MLP_OUT);
    zero(s->d_fc_act, NI);
    ops_linear_backward(s->d_fc_act, g->fc_proj_w, g->fc_proj_b, s->d_tmp, a->fc_act,
                        w->fc_proj_w, N, I, C, OPS_W_IN_OUT);
    zero(s->d_fc, NI);
    ops_gelu_backward(s->d_fc, a->fc, s->d_fc_act, NI, c->gelu);
    zero(s->d_y, NC);
    ops_linear_backward(s->d_y, g->fc_w, g->fc_b, s->d_fc, a->ln2, w->fc_w, N, C, I,
                        OPS_W_IN_OUT);
    ops_layernorm_backward(s->d_x, g->ln2_w, g->ln2_b, s->d_y, a->res1, w->ln2_w,
                           a->ln2_mean, a->ln2_rstd, N, C);
    zero(s->d_tmp, NC);
    model_dropout_bwd(m, s->d_tmp, s->d_x, TC, c->hidden_dropout, l, SITE_ATTN_OUT);
    zero(s->d_y, NC);
    ops_linear_backward(s->d_y, g->attn_proj_w, g->attn_proj_b, s->d_tmp, a->ctx,
                        w->attn_proj_w, N, C, C, OPS_W_IN_OUT);
    zero(s->d_qkv, 3 * NC);
    ops_attention_shape sh;
    model_attention_shape(m, l, &sh);
    ops_attention_backward(s->d_qkv, s->d_y, a->qkv, a->probs, &sh, s->attn_scratch);
    zero(s->d_tmp, NC);
    ops_linear_backward(s->d_tmp, g->qkv_w, g->qkv_b, s->d_qkv, a->ln1, w->qkv_w, N,
                        C, 3 * C, OPS_W_IN_OUT);
    ops_layernorm_backward(need_dinp ? s->d_x : NULL, g->ln1_w, g->ln1_b, s->d_tmp, x,
                           w->ln1_w, a->ln1_mean, a->ln1_rstd, N, C);
}

void gpt2_backward(model *m, float loss_scale)
{
    const model_config *c = &m->cfg;
    model_acts *a = &m->a;
    int N = m->b * m->t, C = c->hidden, B = m->b;
    size_t NC = (size_t)N * C, BC = (size_t)B * C;
    model_loss_backward(m, loss_scale);
    zero(a->d_head, BC);
    ops_linear_backward(a->d_head, m->g.head_w, NULL, a->d_logits, a->head_ln,
                        m->p.head_w, B, C, c->num_labels, OPS_W_OUT_IN);
    zero(a->d_head2, BC);
    ops_layernorm_backward(a->d_head2, m->g.lnf_w, m->g.lnf_b, a->d_head, a->picked,
                           m->p.lnf_w, a->head_mean, a->head_rstd, B, C);
    zero(a->d_x, NC);
    ops_gather_rows_backward(a->d_x, a->d_head2, a->pick, B, C);
    model_grads_ready_from(m, c->layers);
    int first = m->first_trainable;
    for (int l = c->layers - 1; l >= first; l--) {
        const float *x = l == 0 ? a->emb : a->blocks[l - 1].res2;
        block_backward(m, l, x, l > first || first == 0);
        model_grads_ready_from(m, l);
    }
    if (first > 0) return;
    zero(a->d_tmp, NC);
    model_dropout_bwd(m, a->d_tmp, a->d_x, (size_t)m->t * C, c->hidden_dropout, -1, 0);
    ops_embedding_backward(m->g.wte, a->ids, a->d_tmp, N, C);
    ops_embedding_backward(m->g.wpe, a->positions, a->d_tmp, N, C);
}
