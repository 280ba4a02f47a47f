/* model: BERT and GPT-2 sequence classifiers and the decoder LLMs (Llama,
 * Qwen2, Mistral, Phi-3: llama.c) (forward, loss, backward) on the ops
 * interface.
 *
 * Design (after llm.c): every parameter lives in ONE contiguous float buffer,
 * described by a table of (Hugging Face name, shape, offset); gradients use
 * the same layout in a second buffer, so the optimiser, the all-reduce and a
 * checkpoint each see one array. Tensors that Hugging Face keeps apart but
 * the maths uses together sit side by side: BERT's query/key/value weights
 * form one [3C, C] matrix (and their biases one [3C] vector), like GPT-2's
 * c_attn. Activations are planned once per (B, T) shape by model_plan().
 * The model code calls only ops_ functions (src/ops/include/ops/ops.h).
 *
 * Architectures, exactly as transformers' classes compute them:
 *   BertForSequenceClassification: post-LN blocks, erf GELU, tanh pooler on
 *     [CLS] (position 0), dropout, classifier with bias;
 *   GPT2ForSequenceClassification: pre-LN blocks with causal attention,
 *     tanh GELU, ln_f, bias-free score head on the last non-padding token
 *     (position lengths[b]-1; right padding);
 *   LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, Phi3ForCausalLM
 *     (MODEL_ARCH_LLAMA, llama.c): pre-RMSNorm blocks, RoPE, causal
 *     grouped-query attention, SwiGLU MLP, logits for every position and
 *     the masked next-token loss; float32 on the CPU back end only.
 * Token type ids are all 0 (single-segment classification).
 *
 * Freezing: model_freeze_below(m, k) freezes the embeddings and blocks
 * 0..k-1; backward stops at block k and computes no gradient below it.
 *
 * Not here: tokenisation, the optimiser (src/optim), file formats other than
 * through src/st. */
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "ops/ops.h"

/* MODEL_ARCH_LLAMA: the decoder LLMs (llama.c): LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM and Phi3ForCausalLM, one computation
 * with the differences in model_llm_config. */
typedef enum model_arch { MODEL_ARCH_BERT, MODEL_ARCH_GPT2, MODEL_ARCH_LLAMA } model_arch;

/* How a decoder's RoPE frequencies are scaled (transformers' rope_type). */
typedef enum model_rope_type {
    MODEL_ROPE_DEFAULT, /* none */
    MODEL_ROPE_LINEAR,  /* inv_freq / factor */
    MODEL_ROPE_LLAMA3   /* Llama 3.1's smooth interpolation */
} model_rope_type;

/* Which names a decoder's tensors go by: Llama / Qwen2 / Mistral keep
 * q_proj, k_proj, v_proj and gate_proj, up_proj apart; Phi-3 fuses them
 * into qkv_proj and gate_up_proj. Either way the buffer holds them fused
 * (llama.c), so only the names differ. */
typedef enum model_llm_names { MODEL_LLM_NAMES_LLAMA, MODEL_LLM_NAMES_PHI3 } model_llm_names;

/* The decoder LLMs' part of model_config (arch MODEL_ARCH_LLAMA; the shared
 * fields: vocab_size, max_positions, hidden, layers, heads (query heads),
 * intermediate, layer_norm_eps (RMSNorm's eps), initializer_range,
 * pad_token_id; num_labels is vocab_size). */
typedef struct model_llm_config {
    int kv_heads, head_dim;
    model_llm_names names;
    bool qkv_bias;            /* q/k/v projections with biases (Qwen2; Llama's attention_bias) */
    bool o_bias;              /* o_proj with a bias (Llama's attention_bias) */
    bool tie_word_embeddings; /* lm_head is model.embed_tokens.weight */
    int sliding_window;       /* 0: none; else batches longer are refused */
    double rope_theta;
    model_rope_type rope_type;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_positions; /* llama3 */
} model_llm_config;

typedef struct model_config {
    model_arch arch;
    int vocab_size, max_positions, type_vocab_size; /* type_vocab: BERT only */
    int hidden, layers, heads, intermediate, num_labels;
    float layer_norm_eps, initializer_range;
    /* hidden: embeddings and residual branches; attention: probabilities;
     * classifier: BERT's dropout before the classifier (GPT-2 has none). */
    float hidden_dropout, attention_dropout, classifier_dropout;
    int pad_token_id;
    ops_gelu_kind gelu;
    model_llm_config llm; /* MODEL_ARCH_LLAMA only */
} model_config;

/* One parameter tensor: its Hugging Face name, shape and place. */
typedef struct model_tensor {
    char name[96];
    int ndim;
    int64_t shape[2];
    size_t offset, numel; /* in floats, into the parameter buffer */
    int layer;            /* -1 embeddings, 0..layers-1 blocks, layers head */
    bool weight_decay;    /* HF Trainer: false for biases and LayerNorm */
} model_tensor;

typedef struct model model;

/* A micro-batch: b rows of t token ids, right padded. lengths[i] in [1, t];
 * labels may be NULL (no loss); example_index: global index of each row in
 * the dataset (keys the dropout masks; may be NULL when dropout is off). */
typedef struct model_batch {
    int b, t;
    const int32_t *input_ids;
    const int32_t *lengths;
    const int32_t *labels;
    const int64_t *example_index;
} model_batch;
/* For a decoder LLM (MODEL_ARCH_LLAMA) labels holds b*t TOKEN labels, as
 * transformers' labels: OPS_IGNORE_INDEX (-100) where a token counts for no
 * loss (prompt, padding); the logits at position j are scored against the
 * label of position j+1, and the loss is the mean over counted tokens. */

/* Packed decoder rows (model_forward_packed): b*t position ids (RoPE) and
 * segment ids (attention), as shard.h's causal_lm columns. A row holds
 * several examples, each a run of one segment id (0 on padding) with
 * positions from 0: a token attends only to the earlier tokens of its run
 * and RoPE turns it by its position id, as transformers'
 * DataCollatorWithFlattening with flash-attention's varlen kernels; each
 * example's first label is -100, so no token is scored against the next
 * example. Kept out of model_batch so that batches written as positional
 * initializers stay whole. */
typedef struct model_packing {
    const int32_t *position_ids, *segment_ids;
} model_packing;

/* Dropout for one forward pass: off (evaluation) or keyed by (seed, step). */
typedef struct model_dropout {
    bool enabled;
    uint64_t seed, step;
} model_dropout;

/* Check a config (sizes positive, heads divide hidden, ...); a message names
 * the field. */
ft_status model_config_validate(const model_config *cfg, ft_error *err);

/* Allocate parameters and gradients (zeroed) for cfg. */
ft_status model_create(model **out, const model_config *cfg, ft_error *err);
void model_free(model *m);

const model_config *model_get_config(const model *m);
int model_tensor_count(const model *m);
const model_tensor *model_tensor_at(const model *m, int i);
/* The tensor named `name` (HF name), or NULL. */
const model_tensor *model_find_tensor(const model *m, const char *name);
/* The buffers: model_param_count() floats each, laid out by the table. */
size_t model_param_count(const model *m);
float *model_params(model *m);
/* Read-only view of the parameters. */
const float *model_params_read(const model *m);
/* The parameters for an optimizer step, which writes trainable tensors only
 * (the bf16 mirror then refreshes just those; model_params() refreshes all). */
float *model_params_for_step(model *m);
float *model_grads(model *m);

/* Hugging Face's initialisation from the config alone: weights of Linear,
 * Conv1D and Embedding normal(0, initializer_range) (GPT-2's c_proj weights
 * scaled by 1/sqrt(2*layers)), biases 0, LayerNorm weight 1 and bias 0,
 * BERT's padding embedding row 0. Draws are a function of seed only. */
void model_init_random(model *m, uint64_t seed);

/* Freeze the embeddings and blocks 0..first_trainable-1 (0: train all). */
void model_freeze_below(model *m, int first_trainable);
bool model_tensor_trainable(const model *m, const model_tensor *t);
/* The trainable tensors as spans of the parameter layout, in table order:
 * one per tensor, or with merge, runs of adjacent ones joined (frozen
 * tensors sit below the trainable ones, so usually one run). Kept by the
 * model (made at creation and by model_freeze_below), valid until either. */
const ops_span *model_trainable_spans(const model *m, bool merge, int *count);

/* Plan activation memory for batches of at most b rows of t tokens. */
ft_status model_plan(model *m, int b, int t, ft_error *err);

/* The same for forward passes only (evaluation, prediction): no activations
 * are kept for backward, so memory is about two blocks' worth instead of
 * all of them; model_backward is then a programming error. */
ft_status model_plan_inference(model *m, int b, int t, ft_error *err);

/* Forward pass: logits (model_logits(), [b, num_labels]) and, when
 * batch->labels is set, the mean cross-entropy into *loss (may be NULL).
 * FT_EINVAL for ids outside the vocabulary, bad lengths or labels, or a
 * batch larger than planned. The model keeps a copy of the batch for
 * backward. */
ft_status model_forward(model *m, const model_batch *batch, const model_dropout *dropout,
                        double *loss, ft_error *err);
/* model_forward on packed rows (a decoder LLM; packing NULL: model_forward
 * exactly). A packed example's logits and loss terms are those of a row of
 * its own up to float32 summation order in the matrix products; backward
 * likewise. FT_EINVAL for BERT / GPT-2 or a bad position id. */
ft_status model_forward_packed(model *m, const model_batch *batch, const model_packing *packing,
                               const model_dropout *dropout, double *loss, ft_error *err);
/* [b, num_labels] for the classifiers; [b, t, vocab_size] for a decoder. */
const float *model_logits(const model *m);

/* Backward from the mean loss of the last forward, scaled by loss_scale
 * (1/gradient_accumulation_steps), accumulating into model_grads(). */
void model_backward(model *m, float loss_scale);

/* Called during model_backward when every gradient at buffer offsets
 * >= offset is final (after the head, then after each block, top down), so
 * a data-parallel trainer can start reducing them while backward goes on.
 * fn NULL: no hook. */
typedef void (*model_grad_ready_fn)(void *ctx, size_t offset);
void model_set_grad_ready_hook(model *m, model_grad_ready_fn fn, void *ctx);

/* bf16 mixed precision (on) or float32 (off, the default): the blocks'
 * matrix products take bf16 operands with float32 accumulation; everything
 * else, the master weights and the gradients stay float32 (model_precision.c).
 * Logs which instructions do it (a warning when they are emulated).
 * Re-plans the activations if a plan exists. FT_EINVAL naming the operation
 * when the model's back end lacks one that bf16 needs (fp16 likewise). */
ft_status model_set_bf16(model *m, bool on, ft_error *err);
/* fp16 mixed precision (model_precision.c): the same products with operands
 * rounded to IEEE fp16 (inf beyond its range), float32 sums and master
 * weights. Train it with loss scaling (optim.h, scaler_). Not with bf16. */
ft_status model_set_fp16(model *m, bool on, ft_error *err);
/* Gradient checkpointing (transformers' gradient_checkpointing), decoder
 * LLMs only (llama_run.c): a training plan keeps each block's input, not
 * its activations, and backward recomputes each block before its gradient;
 * gradients bit-identical to the plan without it, at one more forward of
 * the blocks. Re-plans if a plan exists. FT_EINVAL for BERT and GPT-2. */
ft_status model_set_gradient_checkpointing(model *m, bool on, ft_error *err);

/* Zero the gradients of trainable tensors. */
void model_zero_grads(model *m);

#endif
