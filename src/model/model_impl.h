/* model_impl.h: what model.c, bert.c and gpt2.c share. */
#ifndef MODEL_IMPL_H
#define MODEL_IMPL_H

#include <stddef.h>

#include "model/model.h"
#include "ops/ops_backend.h"

/* Pointers into the parameter (or gradient) buffer, one block's worth. */
typedef struct model_block_ptrs {
    float *qkv_w, *qkv_b;             /* [3C,C] (BERT) or [C,3C] (GPT-2), [3C] */
    float *attn_proj_w, *attn_proj_b; /* [C,C], [C] */
    float *ln1_w, *ln1_b;             /* BERT attention.output.LayerNorm; GPT-2 ln_1 */
    float *fc_w, *fc_b;               /* [I,C] / [C,I], [I] */
    float *fc_proj_w, *fc_proj_b;     /* [C,I] / [I,C], [C] */
    float *ln2_w, *ln2_b;             /* BERT output.LayerNorm; GPT-2 ln_2 */
} model_block_ptrs;

typedef struct model_ptrs {
    float *wte, *wpe, *wtt;     /* [V,C], [P,C], BERT: [types,C] */
    float *emb_ln_w, *emb_ln_b; /* BERT embeddings.LayerNorm */
    model_block_ptrs *blocks;   /* [layers] */
    float *lnf_w, *lnf_b;       /* GPT-2 ln_f */
    float *pool_w, *pool_b;     /* BERT pooler.dense */
    float *head_w, *head_b;     /* classifier / score ([L,C]; bias BERT only) */
} model_ptrs;

/* Saved activations of one block (N = B*T rows). */
typedef struct model_block_acts {
    float *ln1, *ln1_mean, *ln1_rstd; /* [N,C], [N], [N] */
    float *qkv;                       /* [N,3C] */
    float *probs;                     /* [B,NH,T,T] */
    float *ctx;                       /* [N,C] */
    float *res1;                      /* [N,C] residual after attention */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *fc, *fc_act; /* [N,I] before and after GELU */
    float *res2;        /* [N,C] residual after the MLP */
} model_block_acts;

typedef struct model_acts {
    int32_t *ids, *lengths, *labels, *positions, *types, *pick; /* batch copy */
    int64_t *example_index;
    float *emb, *emb_ln, *emb_mean, *emb_rstd; /* [N,C], [N,C], [N], [N] */
    model_block_acts *blocks;
    float *picked;                            /* [B,C] block output at [CLS]/last token */
    float *head_ln, *head_mean, *head_rstd;   /* GPT-2 ln_f of picked */
    float *pooled_pre, *pooled, *pooled_drop; /* BERT pooler, [B,C] */
    float *logits, *probs, *losses;           /* [B,L], [B,L], [B] */
    /* Gradient scratch, reused by every block. */
    float *d_x, *d_y, *d_tmp;           /* [N,C] */
    float *d_qkv;                       /* [N,3C] */
    float *d_fc, *d_fc_act;             /* [N,I] */
    float *d_head, *d_head2, *d_logits; /* [B,C], [B,C], [B,L] */
    float *attn_scratch;
    /* bf16 mode only (else NULL): a product's input and output gradient
     * rounded to bf16, [N, max(C, I)] and [N, max(3C, I)]. */
    ops_bf16 *x16, *d16;
    /* fp16 mode only: the same, rounded to fp16 but held as float32 */
    float *x32, *d32;
} model_acts;

/* The precision of the blocks' matrix products (model_precision.c). */
typedef enum model_precision { MODEL_FP32, MODEL_BF16, MODEL_FP16 } model_precision;

struct model {
    model_config cfg;
    model_tensor *tensors;
    int tensor_count, tensor_cap;
    size_t param_count;
    /* Parameters live on the back end the model was made on (be), with a
     * host copy for loading, checkpoints and exports (ops_mirror); params is
     * pm.device. Gradients and activations exist on the back end only. */
    const ops_backend *be;
    ops_mirror pm;
    float *params, *grads;
    model_ptrs p, g;
    int first_trainable;
    /* model_trainable_spans: per tensor and merged runs, [tensor_count] each */
    ops_span *trainable, *trainable_runs;
    int n_trainable, n_trainable_runs;
    model_grad_ready_fn grad_ready; /* model_set_grad_ready_hook */
    void *grad_ready_ctx;
    /* activations */
    float *act_mem;
    size_t act_floats;
    int plan_b, plan_t;
    bool plan_inference; /* model_plan_inference: no backward */
    int32_t *int_mem;
    /* host staging of the batch (the same layout as int_mem and
     * a.example_index) and of the logits handed to model_logits() */
    int32_t *int_host;
    int64_t *index_host;
    float *logits_host;
    model_acts a;
    /* bf16 mixed precision (model_bf16.c) */
    /* the precision of the block products, and whether the mirror of its
     * rounded weights may be out of date (stale) or was ever filled */
    model_precision precision;
    bool mirror_stale, mirror_filled;
    ops_bf16 *params_bf16; /* mirror of params, block matrices only */
    float *params_fp16;    /* fp16 mode: the same, fp16 values as float32 */
    /* the last forward */
    int b, t;
    model_dropout dropout;
    /* decoder LLMs (llama.c): their pointers, plan and activations */
    struct llama_state *llm;
};

/* Tell the grad-ready hook (if any) that the tensors of `layer` and above
 * have their final gradients. */
void model_grads_ready_from(model *m, int layer);

/* Append a tensor to the table (offset = current end). */
ft_status model_add_tensor(model *m, const char *name, int layer, int64_t d0, int64_t d1,
                           ft_error *err);

/* Dropout sites within a block (model_site): attention probabilities, the
 * attention branch's output, the MLP branch's output. */
enum { MODEL_SITE_ATTN = 0, MODEL_SITE_ATTN_OUT = 1, MODEL_SITE_MLP_OUT = 2 };

/* One tensor of a block (model_block.c): the name after "<prefix>.<layer>.",
 * its shape in model_dims (MODEL_DIM_NONE for a vector's second dimension),
 * and the model_block_ptrs field it binds to, an offsetof() or -1 for none
 * (BERT's key and value, which follow query in the buffer). Tables are in
 * buffer order. */
typedef enum model_dim { MODEL_DIM_NONE, MODEL_DIM_C, MODEL_DIM_3C, MODEL_DIM_I } model_dim;
typedef struct model_block_tensor {
    const char *suffix;
    model_dim d0, d1;
    ptrdiff_t field;
} model_block_tensor;

/* Add block l's tensors "<prefix>.<l>.<suffix>" in table order. */
ft_status model_add_block(model *m, int l, const char *prefix, const model_block_tensor *t,
                          size_t n, ft_error *err);
/* base + offset of the tensor called `name` (which must exist). */
float *model_bind_at(model *m, float *base, const char *name);
/* Point every block's p->blocks[l] fields into base. */
void model_bind_blocks(model *m, model_ptrs *p, float *base, const char *prefix,
                       const model_block_tensor *t, size_t n);

/* The two residual branches of block l, same for both architectures (only
 * the inputs differ: pre-LN or post-LN), weights in the arch's layout:
 *   attention: a->res1 = resid + drop(W_o attention(W_qkv h));
 *   MLP:       a->res2 = resid + drop(W_2 gelu(W_1 h)). */
void model_attn_forward(model *m, int l, const float *h, const float *resid);
void model_mlp_forward(model *m, int l, const float *h, const float *resid);
/* dh += d(h) through the MLP branch, from dout = d(a->res2) (the residual
 * part is the caller's); parameter gradients accumulated. dh may equal dout
 * (dout is read first); scratch [N,C] is overwritten. */
void model_mlp_backward(model *m, int l, float *dh, const float *dout, const float *h,
                        float *scratch);
/* The attention branch backward from dout = d(a->res1) down to d(qkv),
 * left in m->a.d_qkv (the qkv product's backward is the caller's, whose
 * input h differs). d_proj and d_ctx [N,C] are overwritten; d_ctx may
 * equal dout. */
void model_attn_backward(model *m, int l, const float *dout, float *d_proj, float *d_ctx);

/* A block's linear layer (weights in the arch's layout) in the model's
 * precision: ops_linear_forward / ops_linear_backward, or their bf16 forms
 * with the mirror of w (model_bf16.c). */
void model_linear_fwd(model *m, float *out, const float *inp, const float *w, const float *b, int n,
                      int c, int oc);
void model_linear_bwd(model *m, float *dinp, float *dw, float *db, const float *dout,
                      const float *inp, const float *w, int n, int c, int oc);
/* Lay the activations out again for the current plan's shape and kind
 * (after a change of precision); nothing when there is no plan. */
/* A plan's pieces: a bump allocator over one back-end allocation. With base
 * NULL it only counts (the first pass sizes the allocation, the second
 * hands out pointers at the same offsets); pieces are 64-byte aligned. */
typedef struct model_bump {
    float *base;
    size_t used;
} model_bump;
float *model_bump_take(model_bump *b, size_t n);

ft_status model_replan(model *m, ft_error *err);
/* Free the activations and batch buffers of the plan (if any). */
void model_free_plan(model *m);
/* Zero n floats of the model's back-end memory. */
void model_zero(const model *m, float *x, size_t n);
/* Round the block matrices to bf16 if the float32 ones may have changed. */
void model_bf16_refresh(model *m);

/* Architecture parts: table, forward and backward of the whole network. */
ft_status bert_add_tensors(model *m, ft_error *err);
void bert_bind(model *m, model_ptrs *p, float *base);
void bert_forward(model *m);
void bert_backward(model *m, float loss_scale);

ft_status gpt2_add_tensors(model *m, ft_error *err);
void gpt2_bind(model *m, model_ptrs *p, float *base);
void gpt2_forward(model *m);
void gpt2_backward(model *m, float loss_scale);

/* Decoder LLMs (llama.c): they keep their own pointers and activations in
 * m->llm, so the classifiers' structs stay as they are. */
ft_status llama_config_validate(const model_config *c, ft_error *err);
ft_status llama_add_tensors(model *m, ft_error *err);
ft_status llama_bind(model *m, ft_error *err);
void llama_free(model *m);
ft_status llama_plan(model *m, int b, int t, bool inference, ft_error *err);
void llama_free_plan(model *m);
/* p NULL: unpacked rows */
ft_status llama_forward(model *m, const model_batch *x, const model_packing *p, double *loss,
                        ft_error *err);
void llama_backward(model *m, float loss_scale);
const float *llama_logits(const model *m);
/* RoPE's inverse frequencies [head_dim/2] for c's rope type, in float32 as
 * transformers computes them. */
void llama_rope_inv_freq(const model_config *c, float *inv_freq);

/* Shared pieces of forward/backward. */
uint64_t model_site(const model *m, int layer, int site);
float model_drop_p(const model *m, float p);
void model_dropout_fwd(model *m, float *out, const float *inp, size_t per_example, float p,
                       int layer, int site);
/* dinp = dout through the forward's mask and scale: WRITTEN, not added. */
void model_dropout_bwd(model *m, float *dinp, const float *dout, size_t per_example, float p,
                       int layer, int site);
void model_attention_shape(const model *m, int layer, ops_attention_shape *s);
void model_loss_backward(model *m, float loss_scale);
bool model_block_trainable(const model *m, int layer);

#endif
