/* llama_run: the decoder LLMs' activation plan, forward and backward (see
 * llama.c for the architecture).
 *
 * The plan is one float buffer of the back end laid out once for the
 * largest batch, like model_run.c's, plus one int32 buffer for the batch
 * (ids, positions, shifted labels, lengths); RoPE's frequency table lives
 * at the start of the float buffer, computed on the host once per plan.
 * An inference plan has no gradient scratch (it keeps every block's
 * activations: the decoder's plan does not yet share them between blocks).
 *
 * Gradient checkpointing (model_set_gradient_checkpointing, after
 * transformers' gradient_checkpointing): a training plan keeps only each
 * block's output (the next block's input) per block, and ONE set of the
 * other activations that every block writes in turn; backward recomputes
 * block l from its saved input with the same operations in the same order
 * (all but the down projection, whose output is the saved one), so the
 * gradients are bit-identical to the plan without it. The cost: one more
 * forward of every block but the last.
 *
 * bf16 (model_set_bf16): the blocks' seven products (q/k/v, o, gate/up,
 * down) go through model_linear_fwd/bwd (model_precision.c) with the
 * plan's bf16 rounding scratch; embedding, norms, RoPE, attention, SwiGLU,
 * lm_head and the loss stay float32.
 *
 * The loss is transformers' causal-LM loss: position j's logits are scored
 * against the label of token j+1 (labels -100 on the prompt and padding
 * count for nothing), the mean over counted tokens; the shift is done on
 * the host into `targets`. Batches are right padded (lengths[b]); padding
 * keys are masked, positions run 0..t-1 as transformers' without
 * position_ids. Packed rows (model_forward_packed's position and segment ids) take
 * their position ids and keep attention within each segment (ops.h). */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "llama_impl.h"

/* The operations a decoder needs: a back end without them is refused when
 * planning, naming the first it lacks. */
static const ops_op llm_ops[] = {
#define LLM_OP(name, params, args)          OPS_OP_##name,
#define LLM_OP_RET(ret, name, params, args) OPS_OP_##name,
    OPS_LIST_LLM(LLM_OP, LLM_OP_RET)
#undef LLM_OP
#undef LLM_OP_RET
};

/* Widths: Q = NH D (attention output), W = (NH + 2 NKV) D (q, k, v). */
static size_t width_q(const model_config *c) { return (size_t)c->heads * c->llm.head_dim; }
static size_t width_qkv(const model_config *c)
{
    return (size_t)(c->heads + 2 * c->llm.kv_heads) * c->llm.head_dim;
}

/* What a plan holds. */
typedef struct plan_kind {
    bool inference, checkpointing, bf16;
} plan_kind;

/* A block's activations but its output (res2, the caller's). */
static void layout_block(model_bump *k, llama_block_acts *a, const model_config *c, size_t B,
                         size_t T)
{
    size_t N = B * T, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    a->norm1 = model_bump_take(k, N * C);
    a->rstd1 = model_bump_take(k, N);
    a->qkv = model_bump_take(k, N * width_qkv(c));
    a->probs = model_bump_take(k, B * (size_t)c->heads * T * T);
    a->ctx = model_bump_take(k, N * width_q(c));
    a->res1 = model_bump_take(k, N * C);
    a->norm2 = model_bump_take(k, N * C);
    a->rstd2 = model_bump_take(k, N);
    a->gate_up = model_bump_take(k, N * 2 * I);
    a->act = model_bump_take(k, N * I);
}

static size_t max3(size_t a, size_t b, size_t c)
{
    size_t ab = a > b ? a : b;
    return ab > c ? ab : c;
}

/* Every block's activations, or (checkpointing) one shared set and every
 * block's output. s->blocks may be NULL (counting only). */
static void layout_blocks(const model_config *c, llama_state *s, model_bump *k, size_t B, size_t T,
                          plan_kind pk)
{
    size_t NC = B * T * (size_t)c->hidden;
    llama_block_acts shared = {0}, scratch;
    if (pk.checkpointing) layout_block(k, &shared, c, B, T);
    for (int l = 0; l < c->layers; l++) {
        llama_block_acts *a = s->blocks ? &s->blocks[l] : &scratch;
        if (pk.checkpointing)
            *a = shared;
        else
            layout_block(k, a, c, B, T);
        a->res2 = model_bump_take(k, NC);
    }
}

static void layout(const model_config *c, llama_state *s, model_bump *k, size_t B, size_t T,
                   plan_kind pk)
{
    size_t N = B * T, C = (size_t)c->hidden, I = (size_t)c->intermediate;
    size_t V = (size_t)c->vocab_size;
    s->inv_freq = model_bump_take(k, (size_t)c->llm.head_dim / 2);
    s->emb = model_bump_take(k, N * C);
    layout_blocks(c, s, k, B, T, pk);
    s->norm_f = model_bump_take(k, N * C);
    s->rstd_f = model_bump_take(k, N);
    s->logits = model_bump_take(k, N * V);
    s->lse = model_bump_take(k, N);
    s->losses = model_bump_take(k, N);
    size_t wide_in = max3(C, width_q(c), I), wide_out = max3(width_qkv(c), C, 2 * I);
    s->x16 = pk.bf16 ? (ops_bf16 *)model_bump_take(k, (N * wide_in + 1) / 2) : NULL;
    s->d16 =
        pk.bf16 && !pk.inference ? (ops_bf16 *)model_bump_take(k, (N * wide_out + 1) / 2) : NULL;
    if (pk.inference) return;
    s->d_x = model_bump_take(k, N * C);
    s->d_y = model_bump_take(k, N * C);
    s->d_norm = model_bump_take(k, N * C);
    s->d_qkv = model_bump_take(k, N * width_qkv(c));
    s->d_ctx = model_bump_take(k, N * width_q(c));
    s->d_gate_up = model_bump_take(k, N * 2 * I);
    s->d_act = model_bump_take(k, N * I);
    s->d_logits = model_bump_take(k, N * V);
}

void llama_free_plan(model *m)
{
    llama_state *s = m->llm;
    if (!s) return;
    if (s->act_mem) m->be->free(s->act_mem, s->act_floats * sizeof(float));
    if (s->int_mem) m->be->free(s->int_mem, s->int_count * sizeof(int32_t));
    free(s->int_host);
    free(s->logits_host);
    free(s->blocks);
    s->act_mem = NULL, s->int_mem = NULL, s->int_host = NULL, s->logits_host = NULL;
    s->blocks = NULL;
    s->x16 = s->d16 = NULL;
    m->a.x16 = m->a.d16 = NULL;
    s->shared_layer = -1;
    s->plan_b = s->plan_t = 0;
}

/* A sliding window shorter than the batch would mask keys transformers
 * masks and ftune does not: refused, naming the key. */
static ft_status check_plan(const model *m, int b, int t, ft_error *err)
{
    const model_config *c = &m->cfg;
    if (b < 1 || t < 1 || t > c->max_positions)
        return ft_fail(err, FT_EINVAL,
                       "model_plan: batch %d x %d tokens: need b >= 1 and 1 <= t <= "
                       "max_position_embeddings (%d)",
                       b, t, c->max_positions);
    if (c->llm.sliding_window > 0 && t > c->llm.sliding_window)
        return ft_fail(err, FT_EINVAL,
                       "model_plan: sequences of %d tokens exceed the config's "
                       "'sliding_window' (%d): sliding-window attention is not supported; "
                       "use sequences of at most %d tokens",
                       t, c->llm.sliding_window, c->llm.sliding_window);
    ft_status st =
        ops_backend_require(m->be, llm_ops, (int)(sizeof llm_ops / sizeof *llm_ops), err);
    if (st != FT_OK) ft_error_prefix(err, "model: decoder LLM");
    return st;
}

static plan_kind kind_of(const model *m, bool inference)
{
    plan_kind pk = {inference, !inference && m->llm->checkpointing, m->precision == MODEL_BF16};
    return pk;
}

size_t llama_plan_floats(const model_config *c, int b, int t, bool inference, bool checkpointing,
                         bool bf16)
{
    llama_state s = {0};
    plan_kind pk = {inference, !inference && checkpointing, bf16};
    model_bump k = {NULL, 0};
    layout(c, &s, &k, (size_t)b, (size_t)t, pk);
    return k.used;
}

ft_status llama_replan(model *m, ft_error *err)
{
    const llama_state *s = m->llm;
    return s->act_mem ? llama_plan(m, s->plan_b, s->plan_t, s->inference, err) : FT_OK;
}

ft_status model_set_gradient_checkpointing(model *m, bool on, ft_error *err)
{
    if (m->cfg.arch != MODEL_ARCH_LLAMA)
        return !on ? FT_OK
                   : ft_fail(err, FT_EINVAL,
                             "model: gradient_checkpointing is available for "
                             "the decoder LLMs only (not BERT or GPT-2)");
    if (m->llm->checkpointing == on) return FT_OK;
    m->llm->checkpointing = on;
    ft_status st = llama_replan(m, err);
    if (st != FT_OK) m->llm->checkpointing = !on;
    return st;
}

ft_status llama_plan(model *m, int b, int t, bool inference, ft_error *err)
{
    const model_config *c = &m->cfg;
    ft_status st = check_plan(m, b, t, err);
    if (st != FT_OK) return st;
    llama_free_plan(m);
    llama_state *s = m->llm;
    size_t B = (size_t)b, T = (size_t)t, N = B * T;
    plan_kind pk = kind_of(m, inference);
    s->inference = inference;
    s->blocks = ft_calloc_array((size_t)c->layers, sizeof(llama_block_acts));
    model_bump k = {NULL, 0};
    if (s->blocks) layout(c, s, &k, B, T, pk);
    s->act_floats = k.used;
    s->int_count = 4 * N + B;
    s->act_mem = s->blocks ? m->be->alloc(k.used * sizeof(float)) : NULL;
    s->int_mem = m->be->alloc(s->int_count * sizeof(int32_t));
    s->int_host = ft_calloc_array(s->int_count, sizeof(int32_t));
    s->logits_host =
        m->be->host_memory ? NULL : ft_calloc_array(N * (size_t)c->vocab_size, sizeof(float));
    float *inv = ft_calloc_array((size_t)c->llm.head_dim / 2, sizeof(float));
    s->plan_b = b, s->plan_t = t;
    if (!s->act_mem || !s->int_mem || !s->int_host || !inv ||
        (!m->be->host_memory && !s->logits_host)) {
        size_t floats = s->act_floats;
        free(inv);
        llama_free_plan(m);
        return ft_fail(err, FT_ENOMEM,
                       "model_plan: cannot allocate activations for %d x %d tokens "
                       "(%zu floats) on the %s",
                       b, t, floats, m->be->name);
    }
    k.base = s->act_mem;
    k.used = 0;
    layout(c, s, &k, B, T, pk);
    /* model_linear_fwd/bwd (model_precision.c) round into m->a's scratch */
    m->a.x16 = s->x16, m->a.d16 = s->d16;
    s->ids = s->int_mem;
    s->positions = s->ids + N;
    s->targets = s->positions + N;
    s->lengths = s->targets + N;
    s->segments = NULL; /* set by each packed batch (copy_batch) */
    llama_rope_inv_freq(c, inv);
    m->be->to_device(s->inv_freq, inv, (size_t)c->llm.head_dim / 2 * sizeof(float));
    free(inv);
    return FT_OK;
}

/* ---- the batch ------------------------------------------------------------------- */

static ft_status check_batch(const model *m, const model_batch *x, ft_error *err)
{
    const llama_state *s = m->llm;
    int V = m->cfg.vocab_size;
    if (!s->act_mem) return ft_fail(err, FT_EINVAL, "model: model_plan() not called");
    if (x->b < 1 || x->t < 1 || x->b > s->plan_b || x->t > s->plan_t)
        return ft_fail(err, FT_EINVAL, "model: batch %d x %d exceeds the plan %d x %d", x->b, x->t,
                       s->plan_b, s->plan_t);
    for (int i = 0; i < x->b; i++) {
        if (x->lengths[i] < 1 || x->lengths[i] > x->t)
            return ft_fail(err, FT_EINVAL, "model: row %d: length %d not in [1, %d]", i,
                           x->lengths[i], x->t);
        for (int j = 0; j < x->t; j++) {
            size_t k = (size_t)i * x->t + j;
            int32_t id = x->input_ids[k];
            if (id < 0 || id >= V)
                return ft_fail(err, FT_EINVAL,
                               "model: row %d position %d: token id %d outside the "
                               "vocabulary [0, %d)",
                               i, j, id, V);
            int32_t y = x->labels ? x->labels[k] : OPS_IGNORE_INDEX;
            if (y != OPS_IGNORE_INDEX && (y < 0 || y >= V))
                return ft_fail(err, FT_EINVAL,
                               "model: row %d position %d: label %d is neither -100 nor "
                               "in [0, %d)",
                               i, j, y, V);
        }
    }
    return FT_OK;
}

/* Packed rows: position ids RoPE can take (the model's table is
 * max_position_embeddings long in transformers) and segment ids >= 0. */
static ft_status check_packing(const model *m, const model_batch *x, const model_packing *pk,
                               ft_error *err)
{
    if (!pk) return FT_OK;
    if (!pk->position_ids || !pk->segment_ids)
        return ft_fail(err, FT_EINVAL,
                       "model: a packed batch needs both position_ids and segment_ids");
    for (size_t k = 0; k < (size_t)x->b * x->t; k++) {
        int32_t p = pk->position_ids[k], g = pk->segment_ids[k];
        if (p < 0 || p >= m->cfg.max_positions || g < 0)
            return ft_fail(err, FT_EINVAL,
                           "model: row %d position %d: position id %d not in [0, %d) or "
                           "segment id %d negative",
                           (int)(k / (size_t)x->t), (int)(k % (size_t)x->t), p,
                           m->cfg.max_positions, g);
    }
    return FT_OK;
}

/* ids, positions (0..t-1, or the batch's position ids), shifted labels
 * (targets[j] = labels[j+1], the last position -100), lengths and the
 * segment ids of packed rows, moved in one copy. Returns the counted
 * tokens. */
static long copy_batch(model *m, const model_batch *x, const model_packing *pk)
{
    llama_state *s = m->llm;
    size_t n = (size_t)x->b * x->t;
    int32_t *ids = s->int_host, *pos = ids + n, *tgt = pos + n, *len = tgt + n;
    int32_t *seg = len + x->b;
    const int32_t *given_pos = pk ? pk->position_ids : NULL;
    const int32_t *given_seg = pk ? pk->segment_ids : NULL;
    long counted = 0;
    memcpy(ids, x->input_ids, n * sizeof *ids);
    for (size_t k = 0; k < n; k++) {
        bool last = (k + 1) % (size_t)x->t == 0;
        pos[k] = given_pos ? given_pos[k] : (int32_t)(k % (size_t)x->t);
        tgt[k] = x->labels && !last ? x->labels[k + 1] : OPS_IGNORE_INDEX;
        counted += tgt[k] != OPS_IGNORE_INDEX;
    }
    memcpy(len, x->lengths, (size_t)x->b * sizeof *len);
    if (given_seg) memcpy(seg, given_seg, n * sizeof *seg);
    /* the same layout as the plan's pointers, for this batch's n */
    s->ids = s->int_mem;
    s->positions = s->ids + n;
    s->targets = s->positions + n;
    s->lengths = s->targets + n;
    s->segments = given_seg ? s->lengths + x->b : NULL;
    m->be->to_device(s->int_mem, s->int_host,
                     ((given_seg ? 4 : 3) * n + (size_t)x->b) * sizeof(int32_t));
    s->b = x->b, s->t = x->t;
    return counted;
}

/* ---- forward ------------------------------------------------------------------------ */

static ops_gqa_shape gqa_shape(const model *m)
{
    ops_gqa_shape g = {m->llm->b,           m->llm->t,       m->cfg.heads,    m->cfg.llm.kv_heads,
                       m->cfg.llm.head_dim, m->llm->lengths, m->llm->segments};
    return g;
}

/* out = x + attention(rms1(x)); then out += mlp(rms2(out)) (llama.c).
 * A recompute (gradient checkpointing) stops before the down projection:
 * backward needs everything but the block's output, which is saved. */
static void block_forward(model *m, int l, const float *x, bool recompute)
{
    const model_config *c = &m->cfg;
    llama_state *s = m->llm;
    const llama_block_ptrs *w = &s->p.blocks[l];
    llama_block_acts *a = &s->blocks[l];
    int N = s->b * s->t, C = c->hidden, I = c->intermediate, D = c->llm.head_dim;
    int Q = (int)width_q(c), W = (int)width_qkv(c);
    size_t NC = (size_t)N * C;
    ops_gqa_shape g = gqa_shape(m);
    ops_rmsnorm_forward(a->norm1, a->rstd1, x, w->norm1, N, C, c->layer_norm_eps);
    model_linear_fwd(m, a->qkv, a->norm1, w->qkv_w, w->qkv_b, N, C, W);
    ops_rope_forward(a->qkv, s->inv_freq, s->positions, N, c->heads, D, W);
    ops_rope_forward(a->qkv + Q, s->inv_freq, s->positions, N, c->llm.kv_heads, D, W);
    ops_gqa_attention_forward(a->ctx, a->probs, a->qkv, &g);
    model_linear_fwd(m, a->res1, a->ctx, w->o_w, w->o_b, N, Q, C);
    ops_add(a->res1, a->res1, x, NC);
    ops_rmsnorm_forward(a->norm2, a->rstd2, a->res1, w->norm2, N, C, c->layer_norm_eps);
    model_linear_fwd(m, a->gate_up, a->norm2, w->gate_up_w, NULL, N, C, 2 * I);
    ops_silu_mul_forward(a->act, a->gate_up, N, I);
    s->shared_layer = l;
    if (recompute) return;
    model_linear_fwd(m, a->res2, a->act, w->down_w, NULL, N, I, C);
    ops_add(a->res2, a->res2, a->res1, NC);
}

static const float *last_hidden(const model *m) { return m->llm->blocks[m->cfg.layers - 1].res2; }

ft_status llama_forward(model *m, const model_batch *x, const model_packing *pk, double *loss,
                        ft_error *err)
{
    const model_config *c = &m->cfg;
    ft_status st = check_batch(m, x, err);
    if (st == FT_OK) st = check_packing(m, x, pk, err);
    if (st != FT_OK) return st;
    llama_state *s = m->llm;
    s->counted = copy_batch(m, x, pk);
    m->b = x->b, m->t = x->t;
    ops_mirror_device_read(&m->pm); /* parameters the host wrote */
    model_bf16_refresh(m);
    int N = s->b * s->t, C = c->hidden, V = c->vocab_size;
    ops_embedding_forward(s->emb, s->ids, s->p.embed, N, C, false);
    const float *h = s->emb;
    for (int l = 0; l < c->layers; l++) {
        block_forward(m, l, h, false);
        h = s->blocks[l].res2;
    }
    ops_rmsnorm_forward(s->norm_f, s->rstd_f, h, s->p.norm, N, C, c->layer_norm_eps);
    ops_linear_forward(s->logits, s->norm_f, s->p.head, NULL, N, C, V, OPS_W_OUT_IN);
    if (x->labels) {
        double mean = ops_lm_crossentropy_forward(s->losses, s->lse, s->logits, s->targets, N, V);
        if (loss) *loss = mean;
    }
    return FT_OK;
}

const float *llama_logits(const model *m)
{
    const llama_state *s = m->llm;
    if (m->be->host_memory) return s->logits;
    m->be->to_host(s->logits_host, s->logits,
                   (size_t)s->b * s->t * m->cfg.vocab_size * sizeof(float));
    return s->logits_host;
}

/* ---- backward ----------------------------------------------------------------------- */

/* The MLP branch: on entry d_x = d(res2); on exit d_x = d(res1). */
static void mlp_backward(model *m, int l)
{
    const model_config *c = &m->cfg;
    llama_state *s = m->llm;
    const llama_block_ptrs *w = &s->p.blocks[l];
    llama_block_ptrs *g = &s->g.blocks[l];
    const llama_block_acts *a = &s->blocks[l];
    int N = s->b * s->t, C = c->hidden, I = c->intermediate;
    model_zero(m, s->d_act, (size_t)N * I);
    model_linear_bwd(m, s->d_act, g->down_w, NULL, s->d_x, a->act, w->down_w, N, I, C);
    model_zero(m, s->d_gate_up, (size_t)N * 2 * I);
    ops_silu_mul_backward(s->d_gate_up, s->d_act, a->gate_up, N, I);
    model_zero(m, s->d_y, (size_t)N * C);
    model_linear_bwd(m, s->d_y, g->gate_up_w, NULL, s->d_gate_up, a->norm2, w->gate_up_w, N, C,
                     2 * I);
    ops_rmsnorm_backward(s->d_x, g->norm2, s->d_y, a->res1, w->norm2, a->rstd2, N, C);
}

/* The attention branch: on entry d_x = d(res1); on exit d(block input)
 * (the norm's input gradient skipped when !need_dinp). */
static void attn_backward(model *m, int l, const float *x, bool need_dinp)
{
    const model_config *c = &m->cfg;
    llama_state *s = m->llm;
    const llama_block_ptrs *w = &s->p.blocks[l];
    llama_block_ptrs *g = &s->g.blocks[l];
    const llama_block_acts *a = &s->blocks[l];
    int N = s->b * s->t, C = c->hidden, D = c->llm.head_dim;
    int Q = (int)width_q(c), W = (int)width_qkv(c);
    ops_gqa_shape shape = gqa_shape(m);
    model_zero(m, s->d_ctx, (size_t)N * Q);
    model_linear_bwd(m, s->d_ctx, g->o_w, g->o_b, s->d_x, a->ctx, w->o_w, N, Q, C);
    model_zero(m, s->d_qkv, (size_t)N * W);
    ops_gqa_attention_backward(s->d_qkv, s->d_ctx, a->qkv, a->probs, &shape);
    ops_rope_backward(s->d_qkv, s->inv_freq, s->positions, N, c->heads, D, W);
    ops_rope_backward(s->d_qkv + Q, s->inv_freq, s->positions, N, c->llm.kv_heads, D, W);
    model_zero(m, s->d_y, (size_t)N * C);
    model_linear_bwd(m, s->d_y, g->qkv_w, g->qkv_b, s->d_qkv, a->norm1, w->qkv_w, N, C, W);
    ops_rmsnorm_backward(need_dinp ? s->d_x : NULL, g->norm1, s->d_y, x, w->norm1, a->rstd1, N, C);
}

/* The head: d_logits from the loss, then lm_head and model.norm; leaves
 * d_x = d(last block's output). A tied head adds into the embedding's
 * gradient only when the embedding trains. */
static void head_backward(model *m, float loss_scale)
{
    const model_config *c = &m->cfg;
    llama_state *s = m->llm;
    int N = s->b * s->t, C = c->hidden, V = c->vocab_size;
    model_zero(m, s->d_logits, (size_t)N * V);
    if (s->counted > 0)
        ops_lm_crossentropy_backward(s->d_logits, s->logits, s->lse, s->targets, N, V,
                                     loss_scale / (float)s->counted);
    bool head_trains = !c->llm.tie_word_embeddings || m->first_trainable == 0;
    model_zero(m, s->d_norm, (size_t)N * C);
    ops_linear_backward(s->d_norm, head_trains ? s->g.head : NULL, NULL, s->d_logits, s->norm_f,
                        s->p.head, N, C, V, OPS_W_OUT_IN);
    model_zero(m, s->d_x, (size_t)N * C);
    ops_rmsnorm_backward(s->d_x, s->g.norm, s->d_norm, last_hidden(m), s->p.norm, s->rstd_f, N, C);
}

void llama_backward(model *m, float loss_scale)
{
    FT_CHECK_MSG(!m->llm->inference, "model_backward after model_plan_inference");
    const model_config *c = &m->cfg;
    llama_state *s = m->llm;
    head_backward(m, loss_scale);
    model_grads_ready_from(m, c->layers);
    int first = m->first_trainable;
    for (int l = c->layers - 1; l >= first; l--) {
        const float *x = l == 0 ? s->emb : s->blocks[l - 1].res2;
        /* checkpointing: the shared activations hold the last block the
         * forward (or this backward) ran, so the last block is not rerun */
        if (s->checkpointing && s->shared_layer != l) block_forward(m, l, x, true);
        mlp_backward(m, l);
        attn_backward(m, l, x, l > first || first == 0);
        model_grads_ready_from(m, l);
    }
    if (first > 0) return;
    /* transformers' nn.Embedding(padding_idx=pad_token_id): the padding
     * row's lookups give it no gradient (the int_host copy of the ids) */
    for (int k = 0; c->pad_token_id >= 0 && k < s->b * s->t; k++)
        if (s->int_host[k] == c->pad_token_id)
            model_zero(m, s->d_x + (size_t)k * c->hidden, (size_t)c->hidden);
    ops_embedding_backward(s->g.embed, s->ids, s->d_x, s->b * s->t, c->hidden);
}
