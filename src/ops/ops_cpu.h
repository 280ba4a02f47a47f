/* ops_cpu: the CPU back end's implementations of ops.h (OpenBLAS, oneDNN,
 * OpenMP), one per operation, with ops.h's meaning and arguments on host
 * memory. Only the back end's table (ops_cpu_backend.c) and the CPU files
 * themselves call them; everything else calls ops.h. */
#ifndef OPS_CPU_H
#define OPS_CPU_H

#include "ops.h"

void ops_cpu_matmul(float *c, const float *a, const float *b, int m, int n, int k,
                    bool trans_a, bool trans_b, bool accumulate);
void ops_cpu_linear_forward(float *out, const float *inp, const float *weight,
                            const float *bias, int n, int c, int oc,
                            ops_weight_layout layout);
void ops_cpu_linear_backward(float *dinp, float *dweight, float *dbias,
                             const float *dout, const float *inp,
                             const float *weight, int n, int c, int oc,
                             ops_weight_layout layout);
void ops_cpu_to_bf16(ops_bf16 *out, const float *in, size_t n);
void ops_cpu_round_fp16(float *out, const float *in, size_t n);
void ops_cpu_from_bf16(float *out, const ops_bf16 *in, size_t n);
void ops_cpu_matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m,
                         int n, int k, bool trans_a, bool trans_b, bool accumulate);
bool ops_cpu_bf16_native(void);
const char *ops_cpu_bf16_isa(void);
void ops_cpu_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp_bf16,
                                 const ops_bf16 *weight, const float *bias, int n,
                                 int c, int oc, ops_weight_layout layout);
void ops_cpu_linear_backward_bf16(float *dinp, float *dweight, float *dbias,
                                  const float *dout, ops_bf16 *dout_bf16,
                                  const float *inp, ops_bf16 *inp_bf16,
                                  const ops_bf16 *weight, int n, int c, int oc,
                                  ops_weight_layout layout);
void ops_cpu_bias_forward(float *out, const float *inp, const float *bias, int n,
                          int c);
void ops_cpu_bias_backward(float *dbias, const float *dout, int n, int c);
void ops_cpu_add(float *out, const float *a, const float *b, size_t n);
void ops_cpu_accumulate(float *dst, const float *src, size_t n);
void ops_cpu_scale(float *x, size_t n, float s);
void ops_cpu_bias_gelu_forward(float *act, float *pre, const float *bias, int n, int c,
                               ops_gelu_kind kind);
void ops_cpu_gelu_bias_backward(float *dpre, float *dbias, const float *pre,
                                const float *dact, int n, int c, ops_gelu_kind kind);
void ops_cpu_tanh_forward(float *out, const float *inp, size_t n);
void ops_cpu_tanh_backward(float *dinp, const float *out, const float *dout,
                           size_t n);
void ops_cpu_layernorm_forward(float *out, float *mean, float *rstd,
                               const float *inp, const float *weight,
                               const float *bias, int n, int c, float eps);
void ops_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias,
                                const float *dout, const float *inp,
                                const float *weight, const float *mean,
                                const float *rstd, int n, int c);
void ops_cpu_embedding_forward(float *out, const int32_t *ids, const float *table,
                               int n, int c, bool accumulate);
void ops_cpu_embedding_backward(float *dtable, const int32_t *ids,
                                const float *dout, int n, int c);
void ops_cpu_gather_rows_forward(float *out, const float *inp, const int32_t *rows,
                                 int r, int c);
void ops_cpu_gather_rows_backward(float *dinp, const float *dout,
                                  const int32_t *rows, int r, int c);
void ops_cpu_dropout_forward(float *out, const float *inp, int b,
                             size_t per_example, const int64_t *example_index,
                             float p, uint64_t seed, uint64_t site);
void ops_cpu_dropout_backward(float *dinp, const float *dout, int b,
                              size_t per_example, const int64_t *example_index,
                              float p, uint64_t seed, uint64_t site);
size_t ops_cpu_attention_scratch_floats(int b, int t, int c, int nh);
void ops_cpu_attention_forward(float *out, float *probs, const float *qkv,
                               const ops_attention_shape *s, float *scratch);
void ops_cpu_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                const float *probs, const ops_attention_shape *s,
                                float *scratch);
double ops_cpu_crossentropy_forward(float *losses, float *probs,
                                    const float *logits, const int32_t *labels,
                                    int b, int l);
void ops_cpu_crossentropy_backward(float *dlogits, const float *probs,
                                   const int32_t *labels, int b, int l,
                                   float dloss);
double ops_cpu_sum_squares_spans(const float *x, const ops_span *spans, int count);
double ops_cpu_sum_squares(const float *x, size_t n);
void ops_cpu_adamw(float *param, const float *grad, float *m, float *v, size_t n,
                   const ops_adamw_hparams *h);
void ops_cpu_adamw_spans(float *param, const float *grad, float *m, float *v,
                         const ops_adamw_span *spans, int count,
                         const ops_adamw_hparams *h);

#endif
