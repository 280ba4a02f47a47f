/* model_bf16: bf16 mixed precision for the blocks' matrix products.
 *
 * What changes in bf16 mode (torch.autocast's recipe on the products that
 * carry almost all the FLOPs): the four weight matrices of every block are
 * rounded to bf16 from the float32 master copy, their inputs and output
 * gradients are rounded to bf16 as each product runs, and the products
 * accumulate and land in float32. Embeddings, LayerNorms, attention's own
 * products, softmax, GELU, the pooler, the head, the loss, every gradient
 * and the optimiser stay float32, so the weights the optimiser updates and
 * the checkpoint saves are the float32 ones.
 *
 * The bf16 weights mirror the parameter buffer at the same offsets (only
 * block matrices are written, so the rest of the mirror is never touched and
 * never resident). They are refreshed before a forward whenever the float32
 * parameters may have changed: model_params() hands out a writable pointer
 * to all of them, so it marks the whole mirror stale; the optimizer's
 * model_params_for_step() marks only the trainable tensors stale. */
#include "ft_alloc.h"
#include "ft_log.h"
#include "model_impl.h"

static bool is_block_matrix(const model *m, const model_tensor *t)
{
    return t->layer >= 0 && t->layer < m->cfg.layers && t->ndim == 2;
}

ft_status model_set_bf16(model *m, bool on, ft_error *err)
{
    if (on == m->bf16) return FT_OK;
    if (on && !m->params_bf16) {
        m->params_bf16 = m->be->alloc(m->param_count * sizeof(ops_bf16));
        if (!m->params_bf16)
            return ft_fail(err, FT_ENOMEM, "model: cannot allocate bf16 weights (%zu) on the %s",
                           m->param_count, m->be->name);
    }
    m->bf16 = on;
    m->bf16_stale = true;
    m->bf16_filled = false;
    /* Said once here for every program; a warning from each rank, since
     * the nodes of a job need not share a CPU model. */
    if (on && !ops_bf16_native())
        ft_log_warn("bf16: this CPU has no bf16 instructions (%s): correct but slower "
                    "than float32", ops_bf16_isa());
    else if (on)
        ft_log_info("bf16 mixed precision: block products in bf16 (%s), float32 "
                    "master weights", ops_bf16_isa());
    /* The plan holds bf16 scratch only in bf16 mode: lay it out again. */
    return model_replan(m, err);
}

void model_bf16_refresh(model *m)
{
    if (!m->bf16 || !m->bf16_stale) return;
    for (int i = 0; i < m->tensor_count; i++) {
        const model_tensor *t = &m->tensors[i];
        if (!is_block_matrix(m, t)) continue;
        if (m->bf16_filled && !model_tensor_trainable(m, t)) continue;
        ops_to_bf16(m->params_bf16 + t->offset, m->params + t->offset, t->numel);
    }
    m->bf16_filled = true;
    m->bf16_stale = false;
}

static ops_weight_layout layout(const model *m)
{
    return m->cfg.arch == MODEL_ARCH_GPT2 ? OPS_W_IN_OUT : OPS_W_OUT_IN;
}

static const ops_bf16 *weight_bf16(const model *m, const float *w)
{
    return m->params_bf16 + (w - m->params);
}

void model_linear_fwd(model *m, float *out, const float *inp, const float *w,
                      const float *b, int n, int c, int oc)
{
    if (m->bf16)
        ops_linear_forward_bf16(out, inp, m->a.x16, weight_bf16(m, w), b, n, c, oc,
                                layout(m));
    else
        ops_linear_forward(out, inp, w, b, n, c, oc, layout(m));
}

void model_linear_bwd(model *m, float *dinp, float *dw, float *db,
                      const float *dout, const float *inp, const float *w, int n,
                      int c, int oc)
{
    if (m->bf16)
        ops_linear_backward_bf16(dinp, dw, db, dout, m->a.d16, inp, m->a.x16,
                                 weight_bf16(m, w), n, c, oc, layout(m));
    else
        ops_linear_backward(dinp, dw, db, dout, inp, w, n, c, oc, layout(m));
}
