/* ops_dispatch: ops.h's functions, each a call through the current back end's
 * table (ops_backend.h); the CPU's until ops_backend_use says otherwise. */
#include "ops.h"
#include "ops_backend.h"

static const ops_backend *current;

void ops_backend_use(const ops_backend *b) { current = b; }

const ops_backend *ops_backend_current(void)
{
    if (!current) current = ops_cpu_backend();
    return current;
}

void ops_matmul(float *c, const float *a, const float *b, int m, int n, int k,
                bool trans_a, bool trans_b, bool accumulate)
{
    ops_backend_current()->matmul(
        c, a, b, m, n, k, trans_a, trans_b, accumulate);
}

void ops_linear_forward(float *out, const float *inp, const float *weight,
                        const float *bias, int n, int c, int oc,
                        ops_weight_layout layout)
{
    ops_backend_current()->linear_forward(
        out, inp, weight, bias, n, c, oc, layout);
}

void ops_linear_backward(float *dinp, float *dweight, float *dbias,
                         const float *dout, const float *inp,
                         const float *weight, int n, int c, int oc,
                         ops_weight_layout layout)
{
    ops_backend_current()->linear_backward(
        dinp, dweight, dbias, dout, inp, weight, n, c, oc, layout);
}

void ops_to_bf16(ops_bf16 *out, const float *in, size_t n)
{
    ops_backend_current()->to_bf16(out, in, n);
}

void ops_from_bf16(float *out, const ops_bf16 *in, size_t n)
{
    ops_backend_current()->from_bf16(out, in, n);
}

void ops_round_fp16(float *out, const float *in, size_t n)
{
    ops_backend_current()->round_fp16(out, in, n);
}

void ops_matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m,
                     int n, int k, bool trans_a, bool trans_b, bool accumulate)
{
    ops_backend_current()->matmul_bf16(
        c, a, b, m, n, k, trans_a, trans_b, accumulate);
}

bool ops_bf16_native(void)
{
    return ops_backend_current()->bf16_native();
}

const char *ops_bf16_isa(void)
{
    return ops_backend_current()->bf16_isa();
}

void ops_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp_bf16,
                             const ops_bf16 *weight, const float *bias, int n,
                             int c, int oc, ops_weight_layout layout)
{
    ops_backend_current()->linear_forward_bf16(
        out, inp, inp_bf16, weight, bias, n, c, oc, layout);
}

void ops_linear_backward_bf16(float *dinp, float *dweight, float *dbias,
                              const float *dout, ops_bf16 *dout_bf16,
                              const float *inp, ops_bf16 *inp_bf16,
                              const ops_bf16 *weight, int n, int c, int oc,
                              ops_weight_layout layout)
{
    ops_backend_current()->linear_backward_bf16(
        dinp, dweight, dbias, dout, dout_bf16, inp, inp_bf16, weight, n, c, oc,
        layout);
}

void ops_bias_forward(float *out, const float *inp, const float *bias, int n,
                      int c)
{
    ops_backend_current()->bias_forward(out, inp, bias, n, c);
}

void ops_bias_backward(float *dbias, const float *dout, int n, int c)
{
    ops_backend_current()->bias_backward(dbias, dout, n, c);
}

void ops_add(float *out, const float *a, const float *b, size_t n)
{
    ops_backend_current()->add(out, a, b, n);
}

void ops_accumulate(float *dst, const float *src, size_t n)
{
    ops_backend_current()->accumulate(dst, src, n);
}

void ops_scale(float *x, size_t n, float s)
{
    ops_backend_current()->scale(x, n, s);
}

void ops_bias_gelu_forward(float *act, float *pre, const float *bias, int n, int c,
                           ops_gelu_kind kind)
{
    ops_backend_current()->bias_gelu_forward(act, pre, bias, n, c, kind);
}

void ops_gelu_bias_backward(float *dpre, float *dbias, const float *pre, const float *dact,
                            int n, int c, ops_gelu_kind kind)
{
    ops_backend_current()->gelu_bias_backward(dpre, dbias, pre, dact, n, c, kind);
}

void ops_tanh_forward(float *out, const float *inp, size_t n)
{
    ops_backend_current()->tanh_forward(out, inp, n);
}

void ops_tanh_backward(float *dinp, const float *out, const float *dout,
                       size_t n)
{
    ops_backend_current()->tanh_backward(dinp, out, dout, n);
}

void ops_layernorm_forward(float *out, float *mean, float *rstd,
                           const float *inp, const float *weight,
                           const float *bias, int n, int c, float eps)
{
    ops_backend_current()->layernorm_forward(
        out, mean, rstd, inp, weight, bias, n, c, eps);
}

void ops_layernorm_backward(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const float *mean,
                            const float *rstd, int n, int c)
{
    ops_backend_current()->layernorm_backward(
        dinp, dweight, dbias, dout, inp, weight, mean, rstd, n, c);
}

void ops_embedding_forward(float *out, const int32_t *ids, const float *table,
                           int n, int c, bool accumulate)
{
    ops_backend_current()->embedding_forward(out, ids, table, n, c, accumulate);
}

void ops_embedding_backward(float *dtable, const int32_t *ids,
                            const float *dout, int n, int c)
{
    ops_backend_current()->embedding_backward(dtable, ids, dout, n, c);
}

void ops_gather_rows_forward(float *out, const float *inp, const int32_t *rows,
                             int r, int c)
{
    ops_backend_current()->gather_rows_forward(out, inp, rows, r, c);
}

void ops_gather_rows_backward(float *dinp, const float *dout,
                              const int32_t *rows, int r, int c)
{
    ops_backend_current()->gather_rows_backward(dinp, dout, rows, r, c);
}

void ops_dropout_forward(float *out, const float *inp, int b,
                         size_t per_example, const int64_t *example_index,
                         float p, uint64_t seed, uint64_t site)
{
    ops_backend_current()->dropout_forward(
        out, inp, b, per_example, example_index, p, seed, site);
}

void ops_dropout_backward(float *dinp, const float *dout, int b,
                          size_t per_example, const int64_t *example_index,
                          float p, uint64_t seed, uint64_t site)
{
    ops_backend_current()->dropout_backward(
        dinp, dout, b, per_example, example_index, p, seed, site);
}

size_t ops_attention_scratch_floats(int b, int t, int c, int nh)
{
    return ops_backend_current()->attention_scratch_floats(b, t, c, nh);
}

void ops_attention_forward(float *out, float *probs, const float *qkv,
                           const ops_attention_shape *s, float *scratch)
{
    ops_backend_current()->attention_forward(out, probs, qkv, s, scratch);
}

void ops_attention_backward(float *dqkv, const float *dout, const float *qkv,
                            const float *probs, const ops_attention_shape *s,
                            float *scratch)
{
    ops_backend_current()->attention_backward(
        dqkv, dout, qkv, probs, s, scratch);
}

double ops_crossentropy_forward(float *losses, float *probs,
                                const float *logits, const int32_t *labels,
                                int b, int l)
{
    return ops_backend_current()->crossentropy_forward(
        losses, probs, logits, labels, b, l);
}

void ops_crossentropy_backward(float *dlogits, const float *probs,
                               const int32_t *labels, int b, int l,
                               float dloss)
{
    ops_backend_current()->crossentropy_backward(
        dlogits, probs, labels, b, l, dloss);
}

double ops_sum_squares_spans(const float *x, const ops_span *spans, int count)
{
    return ops_backend_current()->sum_squares_spans(x, spans, count);
}

double ops_sum_squares(const float *x, size_t n)
{
    return ops_backend_current()->sum_squares(x, n);
}

void ops_adamw(float *param, const float *grad, float *m, float *v, size_t n,
               const ops_adamw_hparams *h)
{
    ops_backend_current()->adamw(param, grad, m, v, n, h);
}

void ops_adamw_spans(float *param, const float *grad, float *m, float *v,
                     const ops_adamw_span *spans, int count,
                     const ops_adamw_hparams *h)
{
    ops_backend_current()->adamw_spans(param, grad, m, v, spans, count, h);
}
