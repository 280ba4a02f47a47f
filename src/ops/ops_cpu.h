/* ops_cpu: the CPU back end's implementations of ops.h (OpenBLAS, oneDNN,
 * OpenMP), one per operation, with ops.h's meaning and arguments on host
 * memory. Only the back end's table (ops_cpu_backend.c) and the CPU files
 * themselves call them; everything else calls ops.h. */
#ifndef OPS_CPU_H
#define OPS_CPU_H

#include "ft_error.h"
#include "ops.h"

/* ---- the float32 GEMM (ops_cpu_gemm.c) ---- */
typedef enum ops_cpu_gemm_lib { OPS_GEMM_OPENBLAS, OPS_GEMM_ONEDNN } ops_cpu_gemm_lib;
/* Check FTUNE_GEMM (auto, openblas, onednn; unset is auto) and say the
 * choice at info; a bad value is an error naming it. The choice is made
 * once, from the variable, by the first product or description (auto, with
 * a warning, on a bad value where this was not called). */
ft_status ops_cpu_gemm_select(ft_error *err);
/* request (NULL, "", "auto", "openblas" or "onednn") to a library, with the
 * reason in why[why_size]. */
ft_status ops_cpu_gemm_parse(const char *request, ops_cpu_gemm_lib *lib, char *why,
                             size_t why_size, ft_error *err);
ops_cpu_gemm_lib ops_cpu_gemm_current(void);
/* "oneDNN sgemm (auto: oneDNN's kernels use AVX-512, OpenBLAS's Haswell
 * kernels AVX2, on a CPU with AVX-512)": the choice and its reason (a
 * per-thread buffer). */
const char *ops_cpu_gemm_describe(void);
/* The core name OpenBLAS chose its kernels for ("Cooperlake", "Prescott"). */
const char *ops_cpu_gemm_openblas_core(void);
/* c = alpha op(a) op(b) + beta c, row-major (cblas_sgemm's arguments), by
 * the chosen library or by lib. */
void ops_cpu_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                   const float *a, int lda, const float *b, int ldb, float beta, float *c,
                   int ldc);
void ops_cpu_sgemm_with(ops_cpu_gemm_lib lib, bool trans_a, bool trans_b, int m, int n,
                        int k, float alpha, const float *a, int lda, const float *b,
                        int ldb, float beta, float *c, int ldc);

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
/* Whether this CPU's bf16 products are faster than its float32 ones (a
 * rule from the instruction set and vendor, ops_cpu_bf16.c says why). */
bool ops_cpu_bf16_pays(void);
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
