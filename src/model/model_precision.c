/* model_precision: bf16 or fp16 mixed precision for the blocks' matrix
 * products.
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
 * the blocks' part is written, so the embeddings' and the head's part of
 * the mirror is never touched and never resident). They are refreshed before a forward whenever the float32
 * parameters may have changed: model_params() hands out a writable pointer
 * to all of them, so it marks the whole mirror stale; the optimizer's
 * model_params_for_step() marks only the trainable tensors stale.
 *
 * fp16 (model_set_fp16) follows the same recipe with operands rounded to
 * IEEE half precision: the mirror holds the rounded weights as float32 and
 * the products are float32 products of fp16 values, which are exact (11-bit
 * significands multiply into 22 bits), so the result is that of an fp16
 * product with float32 accumulation on any back end. Values beyond fp16's
 * range become inf; with loss scaling (optim.h, scaler_) that is how a step
 * with too large a scale is detected and skipped.
 *
 * The decoder LLMs (llama_run.c) take bf16 the same way, on their seven
 * block products (q/k/v, o, gate/up, down; the blocks' 2-D tensors), with
 * the rounding scratch in their own plan; fp16 is refused for them. */
#include "core/ft_alloc.h"
#include "core/ft_log.h"
#include "llama_impl.h"
#include "model_impl.h"

static bool is_block_matrix(const model *m, const model_tensor *t)
{
    return t->layer >= 0 && t->layer < m->cfg.layers && t->ndim == 2;
}

/* The mirror of one precision: allocated on first use, kept after. */
static ft_status alloc_mirror(model *m, void **mirror, size_t elem, const char *what, ft_error *err)
{
    if (*mirror) return FT_OK;
    *mirror = m->be->alloc(m->param_count * elem);
    if (!*mirror)
        return ft_fail(err, FT_ENOMEM, "model: cannot allocate %s weights (%zu) on the %s", what,
                       m->param_count, m->be->name);
    return FT_OK;
}

/* Said once here for every program; the bf16 warning from each rank, since
 * the nodes of a job need not share a CPU model. */
static void log_precision(model_precision precision)
{
    if (precision == MODEL_BF16 && !ops_bf16_native())
        ft_log_warn("bf16: this CPU has no bf16 instructions (%s): correct but slower "
                    "than float32",
                    ops_bf16_isa());
    else if (precision == MODEL_BF16)
        ft_log_info("bf16 mixed precision: block products in bf16 (%s), float32 "
                    "master weights",
                    ops_bf16_isa());
    else if (precision == MODEL_FP16)
        ft_log_info("fp16 mixed precision: block products of fp16 operands with float32 "
                    "sums, float32 master weights");
}

/* The operations a precision needs from the back end (which may lack them). */
static ft_status require_ops(const model *m, model_precision precision, ft_error *err)
{
    static const ops_op bf16[] = {OPS_OP_to_bf16, OPS_OP_bf16_native, OPS_OP_bf16_isa,
                                  OPS_OP_linear_forward_bf16, OPS_OP_linear_backward_bf16};
    static const ops_op fp16[] = {OPS_OP_round_fp16};
    int nb = (int)(sizeof bf16 / sizeof *bf16), nf = (int)(sizeof fp16 / sizeof *fp16);
    ft_status st = precision == MODEL_BF16 ? ops_backend_require(m->be, bf16, nb, err)
                                           : ops_backend_require(m->be, fp16, nf, err);
    if (st != FT_OK) ft_error_prefix(err, "model: %s", precision == MODEL_BF16 ? "bf16" : "fp16");
    return st;
}

/* Switch between float32 and one reduced precision (`precision` on or off). */
static ft_status set_precision(model *m, model_precision precision, bool on, ft_error *err)
{
    if (on == (m->precision == precision)) return FT_OK;
    if (on && m->precision != MODEL_FP32)
        return ft_fail(err, FT_EINVAL, "model: bf16 and fp16 at once: choose one");
    if (on && precision == MODEL_FP16 && m->cfg.arch == MODEL_ARCH_LLAMA)
        return ft_fail(err, FT_EINVAL,
                       "model: fp16 is not available for the decoder LLMs yet "
                       "(float32 or bf16)");
    if (on) {
        ft_status st = require_ops(m, precision, err);
        if (st != FT_OK) return st;
    }
    ft_status st = !on ? FT_OK
                   : precision == MODEL_BF16
                       ? alloc_mirror(m, (void **)&m->params_bf16, sizeof(ops_bf16), "bf16", err)
                       : alloc_mirror(m, (void **)&m->params_fp16, sizeof(float), "fp16", err);
    if (st != FT_OK) return st;
    m->precision = on ? precision : MODEL_FP32;
    m->mirror_stale = true;
    m->mirror_filled = false;
    if (on) log_precision(precision);
    /* The plan holds the rounding scratch only in these modes: lay it out again. */
    return m->cfg.arch == MODEL_ARCH_LLAMA ? llama_replan(m, err) : model_replan(m, err);
}

ft_status model_set_bf16(model *m, bool on, ft_error *err)
{
    return set_precision(m, MODEL_BF16, on, err);
}

ft_status model_set_fp16(model *m, bool on, ft_error *err)
{
    return set_precision(m, MODEL_FP16, on, err);
}

static void refresh_range(model *m, size_t offset, size_t n)
{
    if (m->precision == MODEL_FP16)
        ops_round_fp16(m->params_fp16 + offset, m->params + offset, n);
    else
        ops_to_bf16(m->params_bf16 + offset, m->params + offset, n);
}

/* [*lo, *hi): the blocks' part of the parameter layout (embeddings before
 * it, the head after it). */
static void block_range(const model *m, size_t *lo, size_t *hi)
{
    *lo = m->param_count, *hi = 0;
    for (int i = 0; i < m->tensor_count; i++) {
        const model_tensor *t = &m->tensors[i];
        if (t->layer < 0 || t->layer >= m->cfg.layers) continue;
        if (t->offset < *lo) *lo = t->offset;
        if (t->offset + t->numel > *hi) *hi = t->offset + t->numel;
    }
}

/* After a step only the trainable tensors changed: each trainable run
 * (usually one) is converted where it overlaps the blocks, in one call
 * instead of one per matrix (on a GPU, 4 launches a layer become one).
 * That also converts the blocks' biases and LayerNorm weights, a
 * thousandth of their size, whose mirror entries are never read. */
void model_bf16_refresh(model *m)
{
    if (m->precision == MODEL_FP32 || !m->mirror_stale) return;
    if (!m->mirror_filled) {
        for (int i = 0; i < m->tensor_count; i++) {
            const model_tensor *t = &m->tensors[i];
            if (is_block_matrix(m, t)) refresh_range(m, t->offset, t->numel);
        }
    } else {
        size_t lo, hi;
        block_range(m, &lo, &hi);
        for (int r = 0; r < m->n_trainable_runs; r++) {
            const ops_span *s = &m->trainable_runs[r];
            size_t a = s->offset > lo ? s->offset : lo;
            size_t b = s->offset + s->n < hi ? s->offset + s->n : hi;
            if (a < b) refresh_range(m, a, b - a);
        }
    }
    m->mirror_filled = true;
    m->mirror_stale = false;
}

static ops_weight_layout layout(const model *m)
{
    return m->cfg.arch == MODEL_ARCH_GPT2 ? OPS_W_IN_OUT : OPS_W_OUT_IN;
}

static const ops_bf16 *weight_bf16(const model *m, const float *w)
{
    return m->params_bf16 + (w - m->params);
}

void model_linear_fwd(model *m, float *out, const float *inp, const float *w, const float *b, int n,
                      int c, int oc)
{
    if (m->precision == MODEL_FP16) {
        ops_round_fp16(m->a.x32, inp, (size_t)n * c);
        ops_linear_forward(out, m->a.x32, m->params_fp16 + (w - m->params), b, n, c, oc, layout(m));
    } else if (m->precision == MODEL_BF16)
        ops_linear_forward_bf16(out, inp, m->a.x16, weight_bf16(m, w), b, n, c, oc, layout(m));
    else
        ops_linear_forward(out, inp, w, b, n, c, oc, layout(m));
}

void model_linear_bwd(model *m, float *dinp, float *dw, float *db, const float *dout,
                      const float *inp, const float *w, int n, int c, int oc)
{
    if (m->precision == MODEL_FP16) {
        /* The bias gradient sums dout in float32, as in bf16. */
        if (db) ops_bias_backward(db, dout, n, oc);
        ops_round_fp16(m->a.d32, dout, (size_t)n * oc);
        if (dw) ops_round_fp16(m->a.x32, inp, (size_t)n * c);
        ops_linear_backward(dinp, dw, NULL, m->a.d32, m->a.x32, m->params_fp16 + (w - m->params), n,
                            c, oc, layout(m));
    } else if (m->precision == MODEL_BF16)
        ops_linear_backward_bf16(dinp, dw, db, dout, m->a.d16, inp, m->a.x16, weight_bf16(m, w), n,
                                 c, oc, layout(m));
    else
        ops_linear_backward(dinp, dw, db, dout, inp, w, n, c, oc, layout(m));
}
