/* llama_impl.h: what llama.c and llama_run.c share (the decoder LLMs'
 * pointers into the buffers, their activation plan). */
#ifndef LLAMA_IMPL_H
#define LLAMA_IMPL_H

#include "model_impl.h"

/* One block's tensors in the parameter (or gradient) buffer. */
typedef struct llama_block_ptrs {
    float *norm1;     /* input_layernorm [C] */
    float *qkv_w;     /* [(NH+2NKV)D, C]: q_proj, k_proj, v_proj (Phi-3: qkv_proj) */
    float *qkv_b;     /* [(NH+2NKV)D] or NULL */
    float *o_w, *o_b; /* [C, NH D], [C] or NULL */
    float *norm2;     /* post_attention_layernorm [C] */
    float *gate_up_w; /* [2I, C]: gate_proj, up_proj (Phi-3: gate_up_proj) */
    float *down_w;    /* [C, I] */
} llama_block_ptrs;

typedef struct llama_ptrs {
    float *embed; /* [V, C] */
    llama_block_ptrs *blocks;
    float *norm; /* [C] */
    float *head; /* [V, C]: lm_head, or embed when tied */
} llama_ptrs;

/* Saved activations of one block (N = B*T rows, W = (NH+2NKV)D, Q = NH D).
 * With gradient checkpointing every block's fields but res2 point into one
 * shared set, refilled by recomputing the block in backward. */
typedef struct llama_block_acts {
    float *norm1, *rstd1; /* [N,C], [N] */
    float *qkv;           /* [N,W], q and k rotated */
    float *probs;         /* [B,NH,T,T] */
    float *ctx;           /* [N,Q] */
    float *res1;          /* [N,C] */
    float *norm2, *rstd2; /* [N,C], [N] */
    float *gate_up;       /* [N,2I] */
    float *act;           /* [N,I] */
    float *res2;          /* [N,C] */
} llama_block_acts;

typedef struct llama_state {
    llama_ptrs p, g;
    llama_block_ptrs *blocks_p, *blocks_g;
    /* the plan: one float buffer and one int32 buffer of the back end */
    int plan_b, plan_t;
    bool inference;
    bool checkpointing; /* model_set_gradient_checkpointing */
    int shared_layer;   /* checkpointing: the block whose activations the shared set holds */
    float *act_mem;
    size_t act_floats;
    int32_t *int_mem, *int_host;
    size_t int_count;
    float *logits_host; /* [B*T*V] when the back end's memory is not the host's */
    int32_t *ids, *positions, *targets, *lengths; /* [N], [N], [N], [B] */
    int32_t *segments; /* [N] of the plan; NULL in the last forward: unpacked */
    float *inv_freq;   /* [D/2] */
    llama_block_acts *blocks;
    float *emb, *norm_f, *rstd_f; /* [N,C], [N,C], [N] */
    float *logits, *lse, *losses; /* [N,V], [N], [N] */
    /* gradient scratch, shared by the blocks (NULL in an inference plan) */
    float *d_x, *d_y, *d_norm; /* [N,C] */
    float *d_qkv, *d_ctx;      /* [N,W], [N,Q] */
    float *d_gate_up, *d_act;  /* [N,2I], [N,I] */
    float *d_logits;           /* [N,V] */
    /* bf16 mode only (else NULL), handed to model_linear_*: a block
     * product's input and output gradient rounded to bf16,
     * [N, max(C, Q, I)] and [N, max(W, C, 2I)] */
    ops_bf16 *x16, *d16;
    /* the last forward */
    int b, t;
    long counted; /* tokens with a label */
} llama_state;

/* The floats of the activation plan for a b x t batch: training
 * (inference false) or inference, with or without gradient checkpointing,
 * float32 or bf16 products; what llama_plan allocates, computed without a
 * model (so the size of a large model's plan can be known without it). */
size_t llama_plan_floats(const model_config *c, int b, int t, bool inference, bool checkpointing,
                         bool bf16);
/* Plan again for the current plan's shape (after a change of precision or
 * checkpointing); nothing when there is no plan. */
ft_status llama_replan(model *m, ft_error *err);

#endif
