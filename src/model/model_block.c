/* model_block: what a BERT block and a GPT-2 block compute alike.
 *
 * Both architectures run the same two residual branches,
 *   attention: res1 = resid + drop(W_o attention(W_qkv h)),
 *   MLP:       res2 = resid + drop(W_2 gelu(W_1 h)),
 * and differ only in where the LayerNorms sit (post-LN for BERT, pre-LN for
 * GPT-2), i.e. in which h and resid each branch is given, and in the weight
 * layout (nn.Linear [out, in] vs Conv1D [in, out]). bert.c and gpt2.c keep
 * the LayerNorms, the embeddings and the heads; the branches, the tensor
 * table of a block and the binding of its pointers live here. */
#include <stdio.h>
#include <string.h>

#include "model_impl.h"

/* ---- tensor table and pointers --------------------------------------------- */

static int64_t dim(const model_config *c, model_dim d)
{
    switch (d) {
    case MODEL_DIM_C: return c->hidden;
    case MODEL_DIM_3C: return 3 * (int64_t)c->hidden;
    case MODEL_DIM_I: return c->intermediate;
    default: return 0;
    }
}

ft_status model_add_block(model *m, int l, const char *prefix, const model_block_tensor *t,
                          size_t n, ft_error *err)
{
    ft_status st = FT_OK;
    for (size_t i = 0; i < n && st == FT_OK; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.%d.%s", prefix, l, t[i].suffix);
        st = model_add_tensor(m, name, l, dim(&m->cfg, t[i].d0), dim(&m->cfg, t[i].d1), err);
    }
    return st;
}

float *model_bind_at(model *m, float *base, const char *name)
{
    const model_tensor *t = model_find_tensor(m, name);
    FT_CHECK_MSG(t != NULL, name);
    return base + t->offset;
}

void model_bind_blocks(model *m, model_ptrs *p, float *base, const char *prefix,
                       const model_block_tensor *t, size_t n)
{
    for (int l = 0; l < m->cfg.layers; l++)
        for (size_t i = 0; i < n; i++) {
            if (t[i].field < 0) continue;
            char name[96];
            snprintf(name, sizeof name, "%s.%d.%s", prefix, l, t[i].suffix);
            float **slot = (float **)((char *)&p->blocks[l] + t[i].field);
            *slot = model_bind_at(m, base, name);
        }
}

/* ---- forward ------------------------------------------------------------------ */

void model_attn_forward(model *m, int l, const float *h, const float *resid)
{
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = m->cfg.hidden;
    ops_attention_shape s;
    model_attention_shape(m, l, &s);
    model_linear_fwd(m, a->qkv, h, w->qkv_w, w->qkv_b, N, C, 3 * C);
    ops_attention_forward(a->ctx, a->probs, a->qkv, &s, m->a.attn_scratch);
    model_linear_fwd(m, a->res1, a->ctx, w->attn_proj_w, w->attn_proj_b, N, C, C);
    model_dropout_fwd(m, a->res1, a->res1, (size_t)m->t * C, m->cfg.hidden_dropout, l,
                      MODEL_SITE_ATTN_OUT);
    ops_add(a->res1, a->res1, resid, (size_t)N * C);
}

void model_mlp_forward(model *m, int l, const float *h, const float *resid)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_acts *a = &m->a.blocks[l];
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    model_linear_fwd(m, a->fc, h, w->fc_w, NULL, N, C, I);
    ops_bias_gelu_forward(a->fc_act, a->fc, w->fc_b, N, I, c->gelu);
    model_linear_fwd(m, a->res2, a->fc_act, w->fc_proj_w, w->fc_proj_b, N, I, C);
    model_dropout_fwd(m, a->res2, a->res2, (size_t)m->t * C, c->hidden_dropout, l,
                      MODEL_SITE_MLP_OUT);
    ops_add(a->res2, a->res2, resid, (size_t)N * C);
}

/* ---- backward ----------------------------------------------------------------- */

void model_mlp_backward(model *m, int l, float *dh, const float *dout, const float *h,
                        float *scratch)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    int N = m->b * m->t, C = c->hidden, I = c->intermediate;
    size_t NI = (size_t)N * I;
    model_dropout_bwd(m, scratch, dout, /* d(fc_proj output) */ (size_t)m->t * C, c->hidden_dropout,
                      l, MODEL_SITE_MLP_OUT);
    model_zero(m, s->d_fc_act, NI);
    model_linear_bwd(m, s->d_fc_act, g->fc_proj_w, g->fc_proj_b, scratch, a->fc_act, w->fc_proj_w,
                     N, I, C);
    ops_gelu_bias_backward(s->d_fc, g->fc_b, a->fc, s->d_fc_act, N, I, c->gelu);
    model_linear_bwd(m, dh, g->fc_w, NULL, s->d_fc, h, w->fc_w, N, C, I);
}

void model_attn_backward(model *m, int l, const float *dout, float *d_proj, float *d_ctx)
{
    const model_config *c = &m->cfg;
    const model_block_ptrs *w = &m->p.blocks[l];
    model_block_ptrs *g = &m->g.blocks[l];
    const model_block_acts *a = &m->a.blocks[l];
    model_acts *s = &m->a;
    size_t NC = (size_t)m->b * m->t * c->hidden;
    model_dropout_bwd(m, d_proj, dout, (size_t)m->t * c->hidden, c->hidden_dropout, l,
                      MODEL_SITE_ATTN_OUT);
    model_zero(m, d_ctx, NC); /* dout is not read again: d_ctx may be dout */
    model_linear_bwd(m, d_ctx, g->attn_proj_w, g->attn_proj_b, d_proj, a->ctx, w->attn_proj_w,
                     m->b * m->t, c->hidden, c->hidden);
    model_zero(m, s->d_qkv, 3 * NC);
    ops_attention_shape sh;
    model_attention_shape(m, l, &sh);
    ops_attention_backward(s->d_qkv, d_ctx, a->qkv, a->probs, &sh, s->attn_scratch);
}
