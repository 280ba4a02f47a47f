/* ops: the numerical operations the models are written in.
 *
 * Design: the model code (src/model/) calls only these functions, never BLAS,
 * OpenMP or CUDA directly. A back end is a table of these functions
 * (ops_backend.h): the CPU's (ops_cpu*.c: OpenBLAS, oneDNN, OpenMP) and, in a
 * CUDA build, the GPU's (src/cuda/ops_cuda*.cu: cuBLAS and kernels).
 * Every layer is an X_forward / X_backward pair; shapes are given as
 * (B,T,C)-style comments, row-major, N = B*T rows of tokens. Backward
 * functions ACCUMULATE (+=) into every gradient they produce (parameters and
 * inputs alike), so a tensor used twice needs no special case and the
 * caller zeroes gradient buffers once.
 *
 * Dropout masks are not stored: element i of example e in dropout site s draws
 * rng_uniform(seed, s, e * ops_dropout_stride(n) + i) (src/core/rng.h), so the
 * mask is a pure function of (seed, site, global example index) and is
 * recomputed in backward. The caller encodes (step, layer, site) in the site
 * number with ops_dropout_site(). Masks therefore do not depend on the rank
 * that holds an example or on the number of ranks.
 *
 * Mixed precision is bf16 matrix products only (the "bf16" section): the
 * operands are rounded to bf16, the products accumulate and land in float32,
 * and everything else (LayerNorm, softmax, GELU, the loss, gradients,
 * optimiser state, master weights) stays float32, as torch.autocast does.
 *
 * Every function here calls the current back end (ops_backend.h), and every
 * pointer is that back end's memory unless its comment says HOST.
 * Not here: memory management (the model plans its buffers; the back end's
 * memory functions are in ops_backend.h). */
#ifndef OPS_H
#define OPS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- matrix products ----------------------------------------------------- */

/* c[M,N] = (accumulate ? c : 0) + op(a) · op(b), row-major; op(a) is [M,K]
 * (a stored [K,M] when trans_a), op(b) is [K,N] (b stored [N,K] when
 * trans_b). One sgemm on the CPU (ops_cpu_gemm.c: oneDNN or OpenBLAS). */
void ops_matmul(float *c, const float *a, const float *b, int m, int n, int k,
                bool trans_a, bool trans_b, bool accumulate);

/* How a weight is stored: PyTorch nn.Linear keeps [out, in] (BERT), Hugging
 * Face's Conv1D keeps [in, out] (GPT-2). */
typedef enum ops_weight_layout { OPS_W_OUT_IN, OPS_W_IN_OUT } ops_weight_layout;

/* out[N,OC] = inp[N,C] · W + bias[OC] (bias may be NULL). */
void ops_linear_forward(float *out, const float *inp, const float *weight,
                        const float *bias, int n, int c, int oc,
                        ops_weight_layout layout);
/* dinp[N,C] += dout · Wᵀ; dweight += (layout-shaped) inpᵀ · dout;
 * dbias[OC] += column sums of dout. Any of dinp, dweight, dbias may be NULL
 * (not needed: a frozen weight or the first layer's input). */
void ops_linear_backward(float *dinp, float *dweight, float *dbias,
                         const float *dout, const float *inp,
                         const float *weight, int n, int c, int oc,
                         ops_weight_layout layout);

/* ---- bf16 matrix products --------------------------------------------------
 * bf16 is the top 16 bits of a float32 (8-bit exponent, 7-bit mantissa).
 * On the CPU the products are oneDNN matmuls (AVX512-BF16 or AMX where the
 * CPU has them: about twice the float32 FMA rate; emulated, correct but slow,
 * elsewhere). */
typedef uint16_t ops_bf16;

/* out[n] = in[n] rounded to bf16, to nearest even (NaN stays NaN). */
void ops_to_bf16(ops_bf16 *out, const float *in, size_t n);
/* out[n] = in[n] as float32 (exact). */
void ops_from_bf16(float *out, const ops_bf16 *in, size_t n);

/* ops_matmul with a and b in bf16: float32 accumulation and result. */
void ops_matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m,
                     int n, int k, bool trans_a, bool trans_b, bool accumulate);

/* out[n] = in[n] rounded to the nearest IEEE fp16 value (ties to even;
 * beyond +-65504 and the midpoint above it: inf; NaN stays NaN), held as
 * float32. fp16 mixed precision multiplies such values in float32, which
 * is exact. out may equal in. */
void ops_round_fp16(float *out, const float *in, size_t n);

/* Whether this CPU multiplies bf16 natively; a name for the ISA in use. */
bool ops_bf16_native(void);
const char *ops_bf16_isa(void);

/* ops_linear_forward with the weight in bf16; inp is rounded into
 * inp_bf16 (scratch, N*C) first. */
void ops_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp_bf16,
                             const ops_bf16 *weight, const float *bias, int n,
                             int c, int oc, ops_weight_layout layout);
/* ops_linear_backward in bf16: dout is rounded into dout_bf16 (scratch,
 * N*OC) and, when dweight is wanted, inp into inp_bf16 (scratch, N*C);
 * gradients accumulate in float32; dbias sums dout in float32. */
void ops_linear_backward_bf16(float *dinp, float *dweight, float *dbias,
                              const float *dout, ops_bf16 *dout_bf16,
                              const float *inp, ops_bf16 *inp_bf16,
                              const ops_bf16 *weight, int n, int c, int oc,
                              ops_weight_layout layout);

/* ---- element-wise ----------------------------------------------------------- */

/* out[N,C] = inp[N,C] + bias[C] (out may equal inp). */
void ops_bias_forward(float *out, const float *inp, const float *bias, int n,
                      int c);
/* dbias[C] += column sums of dout[N,C]. */
void ops_bias_backward(float *dbias, const float *dout, int n, int c);

/* out[n] = a[n] + b[n] (out may alias a or b). */
void ops_add(float *out, const float *a, const float *b, size_t n);
/* dst[n] += src[n]. */
void ops_accumulate(float *dst, const float *src, size_t n);
/* x[n] *= s. */
void ops_scale(float *x, size_t n, float s);

typedef enum ops_gelu_kind {
    OPS_GELU_ERF,  /* exact: x Φ(x) ("gelu", BERT) */
    OPS_GELU_TANH  /* tanh approximation ("gelu_new", GPT-2) */
} ops_gelu_kind;

/* The MLP's activation with its bias fused in (one pass, not a bias pass
 * and a GELU pass): pre[N,C] += bias[C] (skipped when bias is NULL), then
 * act = gelu(pre). pre keeps the biased pre-activation for backward. */
void ops_bias_gelu_forward(float *act, float *pre, const float *bias, int n, int c,
                           ops_gelu_kind kind);
/* dpre[N,C] = gelu'(pre) * dact, WRITTEN (unlike the other backward
 * operations, which add: dpre has no other contribution, so the zeroing
 * pass is saved), and dbias[C] += the column sums of dpre when dbias is
 * not NULL, in the same pass on a GPU. */
void ops_gelu_bias_backward(float *dpre, float *dbias, const float *pre, const float *dact,
                            int n, int c, ops_gelu_kind kind);

/* out[n] = tanh(inp[n]). */
void ops_tanh_forward(float *out, const float *inp, size_t n);
/* dinp[n] += (1 - out²) * dout, from the forward's output. */
void ops_tanh_backward(float *dinp, const float *out, const float *dout,
                       size_t n);

/* ---- normalisation --------------------------------------------------------- */

/* out[N,C] = (inp - mean) * rstd * weight + bias per row; saves mean[N] and
 * rstd[N] = 1/sqrt(var + eps) (biased variance, as torch). */
void ops_layernorm_forward(float *out, float *mean, float *rstd,
                           const float *inp, const float *weight,
                           const float *bias, int n, int c, float eps);
/* dinp[N,C] += ..., dweight[C] += ..., dbias[C] += ... (dweight/dbias NULL
 * when frozen, dinp NULL when not needed). */
void ops_layernorm_backward(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const float *mean,
                            const float *rstd, int n, int c);

/* ---- embeddings ------------------------------------------------------------ */

/* out[N,C] = (accumulate ? out : 0) + table[ids[i], :] for each row i.
 * ids must be < the table's rows (the caller validates input ids). */
void ops_embedding_forward(float *out, const int32_t *ids, const float *table,
                           int n, int c, bool accumulate);
/* dtable[ids[i], :] += dout[i, :]. Deterministic: threads split the columns,
 * each adds rows in order, no atomics. */
void ops_embedding_backward(float *dtable, const int32_t *ids,
                            const float *dout, int n, int c);

/* out[R,C] = inp[rows[r], :] (pick the [CLS] or last token of each example). */
void ops_gather_rows_forward(float *out, const float *inp, const int32_t *rows,
                             int r, int c);
/* dinp[rows[r], :] += dout[r, :]. */
void ops_gather_rows_backward(float *dinp, const float *dout,
                              const int32_t *rows, int r, int c);

/* ---- dropout ----------------------------------------------------------------- */

/* A dropout site number from (step, layer, site within the layer); layer <
 * 2^16, site < 2^8. Different steps and sites give independent masks. */
static inline uint64_t ops_dropout_site(uint64_t step, int layer, int site)
{
    return (step << 24) | ((uint64_t)layer << 8) | (uint64_t)site;
}

/* Counter positions one example uses in a site of `per_example` elements
 * (rounded up to whole Philox blocks of 4). */
static inline uint64_t ops_dropout_stride(size_t per_example)
{
    return ((uint64_t)per_example + 3u) & ~(uint64_t)3u;
}

/* rng_uniform >= p as an integer test on a Philox word's top 24 bits (the
 * uniform's bits): keep when (word >> 8) >= ceil(p 2^24); 2^24 keeps
 * nothing. The CPU and the GPU kernels use this one threshold. */
static inline uint32_t ops_dropout_threshold(float p)
{
    if (p <= 0.0f) return 0;
    if (p >= 1.0f) return 1u << 24;
    return (uint32_t)ceilf(p * 16777216.0f);
}

/* out = inp * keep / (1 - p), keep = uniform >= p, on b examples of
 * per_example elements; example j has global index example_index[j].
 * p == 0 copies (out may equal inp). */
void ops_dropout_forward(float *out, const float *inp, int b,
                         size_t per_example, const int64_t *example_index,
                         float p, uint64_t seed, uint64_t site);
/* dinp += dout * keep / (1 - p), with the forward's mask recomputed. */
void ops_dropout_backward(float *dinp, const float *dout, int b,
                          size_t per_example, const int64_t *example_index,
                          float p, uint64_t seed, uint64_t site);

/* ---- attention ------------------------------------------------------------- */

/* Multi-head scaled dot-product attention with key padding and optional
 * causal masking, and dropout on the probabilities.
 *   qkv[B,T,3C]: q, k, v side by side per token (head h at columns h*D..);
 *   lengths[B]: keys j >= lengths[b] are masked (weight exactly 0);
 *   causal: keys j > t are masked too;
 *   probs[B,NH,T,T]: saved softmax (before dropout) for backward;
 *   out[B,T,C] = dropout(softmax(q kᵀ / sqrt(D) + mask)) v.
 * scratch: ops_attention_scratch_floats(B, T, C, NH) floats, planned by the caller.
 * Dropout on probabilities uses site `site`, example_index as above, with
 * per_example = NH*T*T. */
typedef struct ops_attention_shape {
    int b, t, c, nh;
    bool causal;
    const int32_t *lengths;
    const int64_t *example_index;
    float dropout_p;
    uint64_t seed, site;
} ops_attention_shape;

/* Scratch floats an attention of b examples, t tokens, c = nh·D columns
 * and nh heads needs (back ends differ: the CPU's is per thread, the GPU's
 * holds head-major copies of the whole batch). */
size_t ops_attention_scratch_floats(int b, int t, int c, int nh);
void ops_attention_forward(float *out, float *probs, const float *qkv,
                           const ops_attention_shape *s, float *scratch);
/* dqkv[B,T,3C] += ... from dout[B,T,C]. */
void ops_attention_backward(float *dqkv, const float *dout, const float *qkv,
                            const float *probs, const ops_attention_shape *s,
                            float *scratch);

/* ---- loss ------------------------------------------------------------------ */

/* losses[B] = logsumexp(logits[b,:]) - logits[b, labels[b]]; probs[B,L]
 * saved for backward. Returns the mean of losses (double for accuracy). */
double ops_crossentropy_forward(float *losses, float *probs,
                                const float *logits, const int32_t *labels,
                                int b, int l);
/* dlogits[B,L] += dloss * (probs - onehot(labels)); dloss = 1/B for a mean,
 * divided again by the gradient-accumulation steps. */
void ops_crossentropy_backward(float *dlogits, const float *probs,
                               const int32_t *labels, int b, int l,
                               float dloss);

/* ---- optimiser ------------------------------------------------------------- */

/* Sum of squares of x[n] (in double): the pieces of a global norm. */
double ops_sum_squares(const float *x, size_t n);

/* A stretch [offset, offset + n) of an array. */
typedef struct ops_span {
    size_t offset, n;
} ops_span;

/* ops_sum_squares of each span of x, added in span order (in double): the
 * squared global norm of many tensors with one wait on a GPU instead of one
 * per tensor. spans is HOST memory. */
double ops_sum_squares_spans(const float *x, const ops_span *spans, int count);

/* One AdamW step exactly as torch.optim.AdamW (decoupled weight decay):
 * p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). t counts from 1. */
typedef struct ops_adamw_hparams {
    float lr, beta1, beta2, eps, weight_decay;
    long step;
} ops_adamw_hparams;
void ops_adamw(float *param, const float *grad, float *m, float *v, size_t n,
               const ops_adamw_hparams *h);

/* ops_adamw on many tensors of the same arrays in one call (one launch on a
 * GPU): span i updates elements [offset, offset + n) with its own weight
 * decay (h->weight_decay is not used). spans is HOST memory, count > 0,
 * spans disjoint. */
typedef struct ops_adamw_span {
    size_t offset, n;
    float weight_decay;
} ops_adamw_span;
void ops_adamw_spans(float *param, const float *grad, float *m, float *v,
                     const ops_adamw_span *spans, int count,
                     const ops_adamw_hparams *h);

#endif
