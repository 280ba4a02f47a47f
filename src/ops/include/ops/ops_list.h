/* ops_list: every operation of ops.h, declared once (an X-macro).
 *
 * OPS_LIST(OP, OP_RET) expands to one entry per operation (OPS_LIST_CORE,
 * which every back end does, then OPS_LIST_LLM, which some leave out):
 *   OP(name, (parameters), (arguments))          returns nothing;
 *   OP_RET(type, name, (parameters), (arguments)) returns `type`.
 * The arguments are the parameters' names (C macros cannot derive them).
 * From this one list come ops.h's prototypes (ops_<name>), the back-end
 * table's pointers (ops_backend.h), the dispatch (ops_dispatch.c), the
 * back ends' prototypes (ops_cpu.h, src/cuda/ops_cuda_impl.h) and their
 * tables. Two kinds of entry because C does not allow `return f();` in a
 * function returning void.
 *
 * Shapes are (B,T,C)-style, row-major, N = B*T rows of tokens; every pointer
 * is memory of the current back end unless its comment says HOST. Backward
 * operations ACCUMULATE (+=) into every gradient they produce (ops.h). The
 * types (ops_bf16, ops_weight_layout, ...) are in ops.h. */
#ifndef OPS_LIST_H
#define OPS_LIST_H

/* clang-format off */
#define OPS_LIST_CORE(OP, OP_RET)                                                          \
    /* ---- matrix products (one sgemm on the CPU, ops_cpu_gemm.c) ---- */            \
    /* out[N,OC] = inp[N,C] · W + bias[OC] (bias may be NULL). */                     \
    OP(linear_forward,                                                                \
       (float *out, const float *inp, const float *weight, const float *bias, int n,  \
        int c, int oc, ops_weight_layout layout),                                     \
       (out, inp, weight, bias, n, c, oc, layout))                                    \
    /* dinp[N,C] += dout · Wᵀ; dweight += (layout-shaped) inpᵀ · dout;             \
     * dbias[OC] += column sums of dout. Any of dinp, dweight, dbias may be NULL     \
     * (a frozen weight, or the first layer's input). */                             \
    OP(linear_backward,                                                               \
       (float *dinp, float *dweight, float *dbias, const float *dout,                 \
        const float *inp, const float *weight, int n, int c, int oc,                  \
        ops_weight_layout layout),                                                    \
       (dinp, dweight, dbias, dout, inp, weight, n, c, oc, layout))                   \
                                                                                      \
    /* ---- mixed precision (ops.h: bf16 and fp16) ---- */                            \
    /* out[n] = in[n] rounded to bf16, to nearest even (NaN stays NaN). */            \
    OP(to_bf16, (ops_bf16 *out, const float *in, size_t n), (out, in, n))             \
    /* out[n] = in[n] rounded to the nearest IEEE fp16 value (ties to even;          \
     * beyond +-65504 and the midpoint above it: inf; NaN stays NaN), held as        \
     * float32. out may equal in. */                                                  \
    OP(round_fp16, (float *out, const float *in, size_t n), (out, in, n))             \
    /* Whether this device multiplies bf16 natively; a name for the ISA in use. */   \
    OP_RET(bool, bf16_native, (void), ())                                             \
    OP_RET(const char *, bf16_isa, (void), ())                                        \
    /* linear_forward with the weight in bf16; inp is rounded into inp_bf16          \
     * (scratch, N*C) first; float32 accumulation and result. */                     \
    OP(linear_forward_bf16,                                                           \
       (float *out, const float *inp, ops_bf16 *inp_bf16, const ops_bf16 *weight,     \
        const float *bias, int n, int c, int oc, ops_weight_layout layout),           \
       (out, inp, inp_bf16, weight, bias, n, c, oc, layout))                          \
    /* linear_backward in bf16: dout is rounded into dout_bf16 (scratch, N*OC)       \
     * and, when dweight is wanted, inp into inp_bf16 (scratch, N*C); gradients      \
     * accumulate in float32; dbias sums dout in float32. */                          \
    OP(linear_backward_bf16,                                                          \
       (float *dinp, float *dweight, float *dbias, const float *dout,                 \
        ops_bf16 *dout_bf16, const float *inp, ops_bf16 *inp_bf16,                    \
        const ops_bf16 *weight, int n, int c, int oc, ops_weight_layout layout),      \
       (dinp, dweight, dbias, dout, dout_bf16, inp, inp_bf16, weight, n, c, oc,       \
        layout))                                                                      \
                                                                                      \
    /* ---- element-wise ---- */                                                      \
    /* dbias[C] += column sums of dout[N,C]. */                                       \
    OP(bias_backward, (float *dbias, const float *dout, int n, int c),                \
       (dbias, dout, n, c))                                                           \
    /* out[n] = a[n] + b[n] (out may alias a or b). */                                \
    OP(add, (float *out, const float *a, const float *b, size_t n), (out, a, b, n))   \
    /* x[n] *= s. */                                                                  \
    OP(scale, (float *x, size_t n, float s), (x, n, s))                               \
    /* The MLP's activation with its bias fused in (one pass): pre[N,C] +=          \
     * bias[C] (skipped when bias is NULL), then act = gelu(pre). pre keeps the      \
     * biased pre-activation for backward. */                                         \
    OP(bias_gelu_forward,                                                             \
       (float *act, float *pre, const float *bias, int n, int c, ops_gelu_kind kind), \
       (act, pre, bias, n, c, kind))                                                  \
    /* dpre[N,C] = gelu'(pre) * dact, WRITTEN (not added: dpre has no other          \
     * contribution, so the zeroing pass is saved), and dbias[C] += the column       \
     * sums of dpre when dbias is not NULL, in the same pass on a GPU. */            \
    OP(gelu_bias_backward,                                                            \
       (float *dpre, float *dbias, const float *pre, const float *dact, int n, int c, \
        ops_gelu_kind kind),                                                          \
       (dpre, dbias, pre, dact, n, c, kind))                                          \
    /* out[n] = tanh(inp[n]). */                                                      \
    OP(tanh_forward, (float *out, const float *inp, size_t n), (out, inp, n))         \
    /* dinp[n] += (1 - out²) * dout, from the forward's output. */                   \
    OP(tanh_backward, (float *dinp, const float *out, const float *dout, size_t n),   \
       (dinp, out, dout, n))                                                          \
                                                                                      \
    /* ---- normalisation ---- */                                                     \
    /* out[N,C] = (inp - mean) * rstd * weight + bias per row; saves mean[N] and     \
     * rstd[N] = 1/sqrt(var + eps) (biased variance, as torch). */                    \
    OP(layernorm_forward,                                                             \
       (float *out, float *mean, float *rstd, const float *inp, const float *weight,  \
        const float *bias, int n, int c, float eps),                                  \
       (out, mean, rstd, inp, weight, bias, n, c, eps))                               \
    /* dinp[N,C] += ..., dweight[C] += ..., dbias[C] += ... (dweight/dbias NULL      \
     * when frozen, dinp NULL when not needed). */                                    \
    OP(layernorm_backward,                                                            \
       (float *dinp, float *dweight, float *dbias, const float *dout,                 \
        const float *inp, const float *weight, const float *mean, const float *rstd,  \
        int n, int c),                                                                \
       (dinp, dweight, dbias, dout, inp, weight, mean, rstd, n, c))                   \
                                                                                      \
    /* ---- embeddings and row picks ---- */                                          \
    /* out[N,C] = (accumulate ? out : 0) + table[ids[i], :] for each row i; ids      \
     * must be < the table's rows (the caller validates input ids). */                \
    OP(embedding_forward,                                                             \
       (float *out, const int32_t *ids, const float *table, int n, int c,             \
        bool accumulate),                                                             \
       (out, ids, table, n, c, accumulate))                                           \
    /* dtable[ids[i], :] += dout[i, :], deterministic (no float atomics). */          \
    OP(embedding_backward,                                                            \
       (float *dtable, const int32_t *ids, const float *dout, int n, int c),          \
       (dtable, ids, dout, n, c))                                                     \
    /* out[R,C] = inp[rows[r], :] (the [CLS] or last token of each example). */       \
    OP(gather_rows_forward,                                                           \
       (float *out, const float *inp, const int32_t *rows, int r, int c),             \
       (out, inp, rows, r, c))                                                        \
    /* dinp[rows[r], :] += dout[r, :]. */                                             \
    OP(gather_rows_backward,                                                          \
       (float *dinp, const float *dout, const int32_t *rows, int r, int c),           \
       (dinp, dout, rows, r, c))                                                      \
                                                                                      \
    /* ---- dropout (masks: ops.h) ---- */                                            \
    /* out = inp * keep / (1 - p), keep = uniform >= p, on b examples of             \
     * per_example elements; example j has global index example_index[j]. p == 0     \
     * copies (out may equal inp). Also dropout's backward: the gradient is dout     \
     * through the same mask and scale (model_dropout_bwd). */                        \
    OP(dropout_forward,                                                               \
       (float *out, const float *inp, int b, size_t per_example,                      \
        const int64_t *example_index, float p, uint64_t seed, uint64_t site),         \
       (out, inp, b, per_example, example_index, p, seed, site))                      \
                                                                                      \
    /* ---- attention (ops_attention_shape: ops.h) ---- */                            \
    /* Scratch floats an attention of b examples, t tokens, c = nh·D columns and     \
     * nh heads needs (the CPU's is per thread, the GPU's holds head-major copies    \
     * of the whole batch). */                                                        \
    OP_RET(size_t, attention_scratch_floats, (int b, int t, int c, int nh),           \
           (b, t, c, nh))                                                             \
    /* out[B,T,C] = dropout(softmax(q kᵀ / sqrt(D) + mask)) v from qkv[B,T,3C];     \
     * probs[B,NH,T,T] saved (before dropout) for backward. */                        \
    OP(attention_forward,                                                             \
       (float *out, float *probs, const float *qkv, const ops_attention_shape *s,     \
        float *scratch),                                                              \
       (out, probs, qkv, s, scratch))                                                 \
    /* dqkv[B,T,3C] += ... from dout[B,T,C]. */                                       \
    OP(attention_backward,                                                            \
       (float *dqkv, const float *dout, const float *qkv, const float *probs,         \
        const ops_attention_shape *s, float *scratch),                                \
       (dqkv, dout, qkv, probs, s, scratch))                                          \
                                                                                      \
    /* ---- loss ---- */                                                              \
    /* losses[B] = logsumexp(logits[b,:]) - logits[b, labels[b]]; probs[B,L]         \
     * saved for backward. Returns the mean of losses (double), final: it waits     \
     * for the operations before it. */                                               \
    OP_RET(double, crossentropy_forward,                                              \
           (float *losses, float *probs, const float *logits, const int32_t *labels,  \
            int b, int l),                                                            \
           (losses, probs, logits, labels, b, l))                                     \
    /* dlogits[B,L] += dloss * (probs - onehot(labels)); dloss = 1/B for a mean,     \
     * divided again by the gradient-accumulation steps. */                           \
    OP(crossentropy_backward,                                                         \
       (float *dlogits, const float *probs, const int32_t *labels, int b, int l,      \
        float dloss),                                                                 \
       (dlogits, probs, labels, b, l, dloss))                                         \
                                                                                      \
    /* ---- optimiser ---- */                                                         \
    /* The sum of squares of each span of x, added in span order (in double): the   \
     * squared global norm of many tensors with one wait on a GPU. spans is HOST.    \
     * Waits for the operations before it. */                                         \
    OP_RET(double, sum_squares_spans, (const float *x, const ops_span *spans, int count), \
           (x, spans, count))                                                         \
    /* One AdamW step (ops_adamw_hparams) on many tensors of the same arrays in      \
     * one call: span i updates elements [offset, offset + n) with its own weight    \
     * decay (h->weight_decay is not used). spans and h are HOST, count > 0, spans   \
     * disjoint. */                                                                   \
    OP(adamw_spans,                                                                   \
       (float *param, const float *grad, float *m, float *v,                          \
        const ops_adamw_span *spans, int count, const ops_adamw_hparams *h),          \
       (param, grad, m, v, spans, count, h))

/* The decoder LLMs' operations (ops_cpu_llm.c). Only the CPU back end does
 * them so far: the CUDA and simulated back ends fill their tables from
 * OPS_LIST_CORE, so these pointers are NULL there and a decoder model on
 * them fails with "unsupported op ..." (ops_backend_require). */
#define OPS_LIST_LLM(OP, OP_RET)                                                      \
    /* ---- decoder LLMs (Llama, Qwen2, Mistral, Phi-3; ops_cpu_llm.c) ---- */       \
    /* out[N,C] = weight * (inp * rstd), rstd[N] = 1/sqrt(mean(inp²) + eps)        \
     * saved for backward (RMSNorm, in transformers' order of operations). */       \
    OP(rmsnorm_forward,                                                               \
       (float *out, float *rstd, const float *inp, const float *weight, int n, int c, \
        float eps),                                                                   \
       (out, rstd, inp, weight, n, c, eps))                                           \
    /* dinp[N,C] += ..., dweight[C] += ... (either may be NULL). */                  \
    OP(rmsnorm_backward,                                                              \
       (float *dinp, float *dweight, const float *dout, const float *inp,             \
        const float *weight, const float *rstd, int n, int c),                        \
       (dinp, dweight, dout, inp, weight, rstd, n, c))                                \
    /* Rotary embedding, rotate-half convention, IN PLACE on n rows of `stride`     \
     * floats: the first heads*d columns of each row are heads of d; element i <    \
     * d/2 of a head pairs with i + d/2 and turns by positions[row] * inv_freq[i]   \
     * (inv_freq[d/2] is the host's table for the rope type, llama.c).             \
     * A rotation's gradient is the opposite rotation, so backward turns the        \
     * gradient rows back IN PLACE (a transform, not an accumulation). */           \
    OP(rope_forward,                                                                  \
       (float *x, const float *inv_freq, const int32_t *positions, int n, int heads,  \
        int d, int stride),                                                           \
       (x, inv_freq, positions, n, heads, d, stride))                                 \
    OP(rope_backward,                                                                 \
       (float *dx, const float *inv_freq, const int32_t *positions, int n, int heads, \
        int d, int stride),                                                           \
       (dx, inv_freq, positions, n, heads, d, stride))                                \
    /* SwiGLU: act[N,I] = silu(gu[:, :I]) * gu[:, I:] from gu[N,2I] (gate, up). */   \
    OP(silu_mul_forward, (float *act, const float *gu, int n, int i),                 \
       (act, gu, n, i))                                                               \
    /* dgu[N,2I] += the gate's and the up half's gradients from dact[N,I]. */         \
    OP(silu_mul_backward, (float *dgu, const float *dact, const float *gu, int n,     \
       int i),                                                                        \
       (dgu, dact, gu, n, i))                                                         \
    /* Causal grouped-query attention (ops_gqa_shape: ops.h) from                   \
     * qkv[B,T,(NH+2NKV)D]; out[B,T,NH*D]; probs[B,NH,T,T] saved. */                 \
    OP(gqa_attention_forward,                                                         \
       (float *out, float *probs, const float *qkv, const ops_gqa_shape *s),          \
       (out, probs, qkv, s))                                                          \
    /* dqkv[B,T,(NH+2NKV)D] += ... from dout[B,T,NH*D]. */                           \
    OP(gqa_attention_backward,                                                        \
       (float *dqkv, const float *dout, const float *qkv, const float *probs,         \
        const ops_gqa_shape *s),                                                      \
       (dqkv, dout, qkv, probs, s))                                                   \
    /* Token-level cross-entropy: rows i with targets[i] >= 0 (the next token's     \
     * label, already shifted; OPS_IGNORE_INDEX rows count for nothing) get         \
     * losses[i] = lse[i] - logits[i, targets[i]], lse[N] saved; returns the mean   \
     * over counted rows (0 when none), final. */                                   \
    OP_RET(double, lm_crossentropy_forward,                                           \
           (float *losses, float *lse, const float *logits, const int32_t *targets,   \
            int n, int v),                                                            \
           (losses, lse, logits, targets, n, v))                                      \
    /* dlogits[N,V] += dloss * (softmax - onehot) on counted rows. */                \
    OP(lm_crossentropy_backward,                                                      \
       (float *dlogits, const float *logits, const float *lse, const int32_t *targets,\
        int n, int v, float dloss),                                                   \
       (dlogits, logits, lse, targets, n, v, dloss))

#define OPS_LIST(OP, OP_RET) OPS_LIST_CORE(OP, OP_RET) OPS_LIST_LLM(OP, OP_RET)
/* clang-format on */

#endif
