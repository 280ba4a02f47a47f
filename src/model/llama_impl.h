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

/* Saved activations of one block (N = B*T rows, W = (NH+2NKV)D, Q = NH D). */
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
    float *act_mem;
    size_t act_floats;
    int32_t *int_mem, *int_host;
    size_t int_count;
    float *logits_host; /* [B*T*V] when the back end's memory is not the host's */
    int32_t *ids, *positions, *targets, *lengths; /* [N], [N], [N], [B] */
    float *inv_freq;                               /* [D/2] */
    llama_block_acts *blocks;
    float *emb, *norm_f, *rstd_f;      /* [N,C], [N,C], [N] */
    float *logits, *lse, *losses;      /* [N,V], [N], [N] */
    /* gradient scratch, shared by the blocks (NULL in an inference plan) */
    float *d_x, *d_y, *d_norm;         /* [N,C] */
    float *d_qkv, *d_ctx;              /* [N,W], [N,Q] */
    float *d_gate_up, *d_act;          /* [N,2I], [N,I] */
    float *d_logits;                   /* [N,V] */
    /* the last forward */
    int b, t;
    long counted; /* tokens with a label */
} llama_state;

#endif
