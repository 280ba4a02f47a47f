/* ops: the numerical operations the models are written in.
 *
 * Design: the model code (src/model/) calls only these functions, never BLAS,
 * OpenMP or CUDA directly. Each operation is declared ONCE, in ops_list.h
 * (an X-macro): its prototype here, its pointer in the back-end table
 * (ops_backend.h), its dispatch (ops_dispatch.c) and each back end's
 * prototype and table entry are all generated from that entry. The back
 * ends: the CPU's (ops_cpu*.c: OpenBLAS, oneDNN, OpenMP), the GPU's in a CUDA
 * build (src/cuda/ops_cuda*.cu: cuBLAS and kernels) and, for tests, the
 * simulated device (tests/support/ops_devsim_backend.cpp).
 *
 * To add an operation: one entry in ops_list.h (name, parameters, argument
 * names, its comment), then one body per back end: ops_cpu_<name> in an
 * ops_cpu*.c file, ops_cuda_<name> in a src/cuda/ops_cuda_*.cu file, and
 * ds_<name> in the devsim. Nothing else is written by hand. A back end that
 * cannot do an operation leaves its pointer NULL (ops_backend.h): a caller
 * that can do without it asks first (ops_backend_require: an FT_EINVAL
 * "unsupported op <name> on back end <name>"); calling it anyway is a bug
 * and stops the process with the same message.
 *
 * Which back end: the operations take no back-end argument; they run on the
 * process's current back end (ops_backend_use, chosen once by device_select
 * before any model exists; all ranks agree). Chosen over passing the back
 * end to every call because a process runs one back end, so every one of
 * the model's ~70 calls would carry the same argument and the layers would
 * read less like their maths. What owns back-end memory names its back end
 * explicitly instead (the model's m->be, ops_mirror's be), so memory is
 * freed and moved by the back end that made it even in tests that switch
 * back ends between models.
 *
 * Every layer is an X_forward / X_backward pair; shapes are given as
 * (B,T,C)-style comments, row-major, N = B*T rows of tokens. Backward
 * functions ACCUMULATE (+=) into every gradient they produce (parameters and
 * inputs alike), so a tensor used twice needs no special case and the
 * caller zeroes gradient buffers once.
 *
 * Dropout masks are not stored: element i of example e in dropout site s draws
 * rng_uniform(seed, s, e * ops_dropout_stride(n) + i) (src/core/include/core/rng.h), so the
 * mask is a pure function of (seed, site, global example index) and is
 * recomputed in backward. The caller encodes (step, layer, site) in the site
 * number with ops_dropout_site(). Masks therefore do not depend on the rank
 * that holds an example or on the number of ranks.
 *
 * Mixed precision is for the blocks' matrix products only, in bf16 or fp16
 * (src/model/model_precision.c). bf16: the operands are rounded to bf16
 * (ops_to_bf16), the products (ops_linear_*_bf16) accumulate and land in
 * float32. fp16: the operands are rounded to fp16 values held as float32
 * (ops_round_fp16, ops_cpu_fp16.c) and multiplied by the float32 linear
 * layers (a product of two fp16 values is exact in float32; the sums are
 * float32's). Everything else (LayerNorm, softmax, GELU, the loss,
 * gradients, optimiser state, master weights) stays float32, as
 * torch.autocast does.
 *
 * Every pointer is the current back end's memory unless its comment says
 * HOST. Not here: memory management (the model plans its buffers; the back
 * end's memory functions are in ops_backend.h). */
#ifndef OPS_H
#define OPS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops_list.h"

/* ---- the types the operations take ---------------------------------------- */

/* How a weight is stored: PyTorch nn.Linear keeps [out, in] (BERT), Hugging
 * Face's Conv1D keeps [in, out] (GPT-2). */
typedef enum ops_weight_layout { OPS_W_OUT_IN, OPS_W_IN_OUT } ops_weight_layout;

/* bf16 is the top 16 bits of a float32 (8-bit exponent, 7-bit mantissa).
 * On the CPU the products are oneDNN matmuls (AVX512-BF16 or AMX where the
 * CPU has them: about twice the float32 FMA rate; emulated, correct but slow,
 * elsewhere). */
typedef uint16_t ops_bf16;

typedef enum ops_gelu_kind {
    OPS_GELU_ERF, /* exact: x Φ(x) ("gelu", BERT) */
    OPS_GELU_TANH /* tanh approximation ("gelu_new", GPT-2) */
} ops_gelu_kind;

/* Multi-head scaled dot-product attention with key padding and optional
 * causal masking, and dropout on the probabilities.
 *   qkv[B,T,3C]: q, k, v side by side per token (head h at columns h*D..);
 *   lengths[B]: keys j >= lengths[b] are masked (weight exactly 0);
 *   causal: keys j > t are masked too;
 *   probs[B,NH,T,T]: saved softmax (before dropout) for backward;
 *   out[B,T,C] = dropout(softmax(q kᵀ / sqrt(D) + mask)) v.
 * scratch: ops_attention_scratch_floats(B, T, C, NH) floats, planned by the
 * caller. Dropout on probabilities uses site `site`, example_index as for
 * dropout, with per_example = NH*T*T. */
typedef struct ops_attention_shape {
    int b, t, c, nh;
    bool causal;
    const int32_t *lengths;
    const int64_t *example_index;
    float dropout_p;
    uint64_t seed, site;
} ops_attention_shape;

/* Causal grouped-query attention of the decoder LLMs: nh query heads share
 * nkv key/value heads (nkv divides nh; query head h reads kv head
 * h / (nh / nkv)), head size d. qkv rows hold the nh query heads, then the
 * nkv key heads, then the nkv value heads. Keys j > t and j >= lengths[b]
 * are masked; scores are q·k / sqrt(d). Packed rows (segments not NULL:
 * [b*t] segment ids, 0 on padding) also mask the keys of other segments,
 * as flash-attention's varlen kernels do; a query that sees no key (padding
 * of a packed row) gets a zero output. Keys are summed in index order, so a
 * packed example's scores, probabilities and outputs are summed exactly as
 * in a row of its own. No dropout, no sliding window (the model refuses
 * windows shorter than the sequence). */
typedef struct ops_gqa_shape {
    int b, t, nh, nkv, d;
    const int32_t *lengths;
    const int32_t *segments; /* NULL: unpacked rows */
} ops_gqa_shape;

/* The label of a token that counts for no loss (transformers' -100). */
enum { OPS_IGNORE_INDEX = -100 };

/* A stretch [offset, offset + n) of an array. */
typedef struct ops_span {
    size_t offset, n;
} ops_span;

/* One AdamW step exactly as torch.optim.AdamW (decoupled weight decay):
 * p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g²;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). t counts from 1. */
typedef struct ops_adamw_hparams {
    float lr, beta1, beta2, eps, weight_decay;
    long step;
} ops_adamw_hparams;

/* A span of ops_adamw_spans with its own weight decay. */
typedef struct ops_adamw_span {
    size_t offset, n;
    float weight_decay;
} ops_adamw_span;

/* ---- dropout masks ------------------------------------------------------------ */

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

/* ---- the operations: ops_<name> for each entry of ops_list.h ---------------- */

#define OPS_PROTO(name, params, args)          void ops_##name params;
#define OPS_PROTO_RET(ret, name, params, args) ret ops_##name params;
OPS_LIST(OPS_PROTO, OPS_PROTO_RET)
#undef OPS_PROTO
#undef OPS_PROTO_RET

#endif
