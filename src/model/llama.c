/* llama: the decoder LLMs (LlamaForCausalLM, Qwen2ForCausalLM,
 * MistralForCausalLM, Phi3ForCausalLM) on the ops interface: the parameter
 * table and its binding, the config checks and RoPE's frequencies. The
 * forward and backward passes are in llama_run.c.
 *
 * One computation for the four (they differ only in config keys, which
 * model_llm_config holds): pre-norm blocks
 *   h = x + o_proj(attn(rope(q), rope(k), v)),  q,k,v = qkv_proj(rms1(x))
 *   out = h + down_proj(silu(gate(rms2(h))) * up(rms2(h)))
 * with causal grouped-query attention (kv_heads key/value heads shared by
 * heads / kv_heads query heads each), then model.norm and lm_head (or the
 * embedding matrix itself when tie_word_embeddings).
 *
 * Design: the buffer keeps what the maths uses together side by side:
 * q_proj, k_proj and v_proj weights are consecutive [out, in] matrices, so
 * they form one [(NH + 2 NKV) D, C] matrix (one product per block), which
 * is exactly Phi-3's fused qkv_proj; the same for gate_proj / up_proj and
 * Phi-3's gate_up_proj, and for Qwen2's q/k/v biases. So a family is its
 * names (model_llm_names) and its config mapping (src/hf/hf_config_llm.c),
 * nothing else. Tensors keep Hugging Face's names and shapes, so loading
 * is one read per tensor.
 *
 * Not here: sliding-window attention (a window shorter than the batch is
 * refused when planning), dropout (the configs' dropout keys must be 0:
 * hf_config_llm.c), fp16 and the GPU (the decoder operations are CPU only
 * so far: ops_list.h's OPS_LIST_LLM). bf16 and gradient checkpointing are
 * llama_run.c's. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "llama_impl.h"

ft_status llama_config_validate(const model_config *c, ft_error *err)
{
    const model_llm_config *l = &c->llm;
    const char *bad = NULL;
    if (c->vocab_size < 1)
        bad = "vocab_size";
    else if (c->max_positions < 1)
        bad = "max_position_embeddings";
    else if (c->hidden < 1 || c->hidden > (1 << 16))
        bad = "hidden_size";
    else if (c->layers < 1 || c->layers > 1024)
        bad = "num_hidden_layers";
    else if (c->heads < 1 || c->heads > 1024)
        bad = "num_attention_heads";
    else if (l->kv_heads < 1 || c->heads % l->kv_heads != 0)
        bad = "num_key_value_heads (must divide num_attention_heads)";
    else if (l->head_dim < 2 || l->head_dim % 2 != 0 || l->head_dim > 4096)
        bad = "head_dim (must be even)";
    else if (c->intermediate < 1 || c->intermediate > (1 << 20))
        bad = "intermediate_size";
    else if (!(c->layer_norm_eps > 0.0f))
        bad = "rms_norm_eps";
    else if (!(l->rope_theta > 0.0))
        bad = "rope_theta";
    else if (l->rope_type != MODEL_ROPE_DEFAULT && !(l->rope_factor > 0.0))
        bad = "rope_scaling.factor";
    else if (l->rope_type == MODEL_ROPE_LLAMA3 &&
             (!(l->rope_high_freq_factor > l->rope_low_freq_factor) ||
              !(l->rope_low_freq_factor > 0.0) || l->rope_original_max_positions < 1))
        bad = "rope_scaling (llama3: need 0 < low_freq_factor < high_freq_factor and "
              "original_max_position_embeddings >= 1)";
    else if (l->sliding_window < 0)
        bad = "sliding_window";
    if (bad) return ft_fail(err, FT_EINVAL, "model config: invalid %s", bad);
    return FT_OK;
}

/* ---- the parameter table ------------------------------------------------------- */

static ft_status add(model *m, int layer, int64_t d0, int64_t d1, ft_error *err, const char *fmt,
                     ...) __attribute__((format(printf, 6, 7)));

/* model_add_tensor with a formatted name; norms and biases take no weight
 * decay (HF Trainer's rule: "bias", "layernorm", ".norm." in the name). */
static ft_status add(model *m, int layer, int64_t d0, int64_t d1, ft_error *err, const char *fmt,
                     ...)
{
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    ft_status st = model_add_tensor(m, name, layer, d0, d1, err);
    if (st == FT_OK && strstr(name, "norm")) m->tensors[m->tensor_count - 1].weight_decay = false;
    return st;
}

/* Block l's tensor "model.layers.<l>.<suffix>", when `want`. */
static ft_status blk(model *m, bool want, int l, int64_t d0, int64_t d1, const char *suffix,
                     ft_error *err)
{
    return want ? add(m, l, d0, d1, err, "model.layers.%d.%s", l, suffix) : FT_OK;
}

/* Block l's tensors in buffer order: q, k, v (or qkv_proj) weights, their
 * biases, o_proj, the norms, gate and up (or gate_up_proj), down_proj. */
static ft_status add_block(model *m, int l, ft_error *err)
{
    const model_config *c = &m->cfg;
    const model_llm_config *k = &c->llm;
    int64_t C = c->hidden, I = c->intermediate, D = k->head_dim;
    int64_t Q = c->heads * D, KV = k->kv_heads * D;
    bool phi3 = k->names == MODEL_LLM_NAMES_PHI3, sep = !phi3, qb = k->qkv_bias;
    ft_status st = blk(m, true, l, C, 0, "input_layernorm.weight", err);
    if (st == FT_OK) st = blk(m, phi3, l, Q + 2 * KV, C, "self_attn.qkv_proj.weight", err);
    if (st == FT_OK) st = blk(m, sep, l, Q, C, "self_attn.q_proj.weight", err);
    if (st == FT_OK) st = blk(m, sep, l, KV, C, "self_attn.k_proj.weight", err);
    if (st == FT_OK) st = blk(m, sep, l, KV, C, "self_attn.v_proj.weight", err);
    if (st == FT_OK) st = blk(m, qb, l, Q, 0, "self_attn.q_proj.bias", err);
    if (st == FT_OK) st = blk(m, qb, l, KV, 0, "self_attn.k_proj.bias", err);
    if (st == FT_OK) st = blk(m, qb, l, KV, 0, "self_attn.v_proj.bias", err);
    if (st == FT_OK) st = blk(m, true, l, C, Q, "self_attn.o_proj.weight", err);
    if (st == FT_OK) st = blk(m, k->o_bias, l, C, 0, "self_attn.o_proj.bias", err);
    if (st == FT_OK) st = blk(m, true, l, C, 0, "post_attention_layernorm.weight", err);
    if (st == FT_OK) st = blk(m, phi3, l, 2 * I, C, "mlp.gate_up_proj.weight", err);
    if (st == FT_OK) st = blk(m, sep, l, I, C, "mlp.gate_proj.weight", err);
    if (st == FT_OK) st = blk(m, sep, l, I, C, "mlp.up_proj.weight", err);
    if (st == FT_OK) st = blk(m, true, l, C, I, "mlp.down_proj.weight", err);
    return st;
}

ft_status llama_add_tensors(model *m, ft_error *err)
{
    const model_config *c = &m->cfg;
    m->llm = ft_calloc_array(1, sizeof *m->llm);
    if (!m->llm) return ft_fail(err, FT_ENOMEM, "model: out of memory");
    m->llm->blocks_p = ft_calloc_array((size_t)c->layers, sizeof(llama_block_ptrs));
    m->llm->blocks_g = ft_calloc_array((size_t)c->layers, sizeof(llama_block_ptrs));
    if (!m->llm->blocks_p || !m->llm->blocks_g)
        return ft_fail(err, FT_ENOMEM, "model: out of memory");
    ft_status st = add(m, -1, c->vocab_size, c->hidden, err, "model.embed_tokens.weight");
    for (int l = 0; l < c->layers && st == FT_OK; l++) st = add_block(m, l, err);
    if (st == FT_OK) st = add(m, c->layers, c->hidden, 0, err, "model.norm.weight");
    if (st == FT_OK && !c->llm.tie_word_embeddings)
        st = add(m, c->layers, c->vocab_size, c->hidden, err, "lm_head.weight");
    return st;
}

/* base + offset of block l's tensor "model.layers.<l>.<suffix>", or NULL
 * when the model has no such tensor (a bias it does without). */
static float *block_at(model *m, float *base, int l, const char *suffix)
{
    char name[96];
    snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);
    const model_tensor *t = model_find_tensor(m, name);
    return t ? base + t->offset : NULL;
}

static void bind(model *m, llama_ptrs *p, llama_block_ptrs *blocks, float *base)
{
    bool phi3 = m->cfg.llm.names == MODEL_LLM_NAMES_PHI3;
    p->embed = model_bind_at(m, base, "model.embed_tokens.weight");
    p->norm = model_bind_at(m, base, "model.norm.weight");
    p->head = m->cfg.llm.tie_word_embeddings ? p->embed : model_bind_at(m, base, "lm_head.weight");
    p->blocks = blocks;
    for (int l = 0; l < m->cfg.layers; l++) {
        llama_block_ptrs *b = &blocks[l];
        b->norm1 = block_at(m, base, l, "input_layernorm.weight");
        b->qkv_w =
            block_at(m, base, l, phi3 ? "self_attn.qkv_proj.weight" : "self_attn.q_proj.weight");
        b->qkv_b = block_at(m, base, l, "self_attn.q_proj.bias");
        b->o_w = block_at(m, base, l, "self_attn.o_proj.weight");
        b->o_b = block_at(m, base, l, "self_attn.o_proj.bias");
        b->norm2 = block_at(m, base, l, "post_attention_layernorm.weight");
        b->gate_up_w =
            block_at(m, base, l, phi3 ? "mlp.gate_up_proj.weight" : "mlp.gate_proj.weight");
        b->down_w = block_at(m, base, l, "mlp.down_proj.weight");
    }
}

ft_status llama_bind(model *m, ft_error *err)
{
    (void)err;
    bind(m, &m->llm->p, m->llm->blocks_p, m->params);
    bind(m, &m->llm->g, m->llm->blocks_g, m->grads);
    return FT_OK;
}

void llama_free(model *m)
{
    if (!m || !m->llm) return;
    llama_free_plan(m);
    free(m->llm->blocks_p);
    free(m->llm->blocks_g);
    free(m->llm);
    m->llm = NULL;
}

/* ---- RoPE's inverse frequencies ---------------------------------------------------- */

/* transformers (modeling_rope_utils.py), in float32 throughout:
 *   default: inv_freq[i] = 1 / theta^(2i / D);
 *   linear:  inv_freq / factor;
 *   llama3:  wavelen = 2π / inv_freq; long wavelengths (> old_len / low)
 *            divided by factor, short ones (< old_len / high) kept, the band
 *            between interpolated with smooth = (old_len / wavelen - low) /
 *            (high - low): (1 - smooth) inv / factor + smooth inv. */
static float llama3_scale(const model_llm_config *k, float inv)
{
    float factor = (float)k->rope_factor, low = (float)k->rope_low_freq_factor;
    float high = (float)k->rope_high_freq_factor, old = (float)k->rope_original_max_positions;
    float low_wavelen = (float)((double)k->rope_original_max_positions / k->rope_low_freq_factor);
    float high_wavelen = (float)((double)k->rope_original_max_positions / k->rope_high_freq_factor);
    float wavelen = (float)6.283185307179586 / inv; /* 2π */
    float scaled = wavelen > low_wavelen ? inv / factor : inv;
    if (wavelen < high_wavelen || wavelen > low_wavelen) return scaled;
    float smooth = (old / wavelen - low) / (high - low);
    return (1.0f - smooth) * scaled / factor + smooth * scaled;
}

void llama_rope_inv_freq(const model_config *c, float *inv_freq)
{
    const model_llm_config *k = &c->llm;
    int D = k->head_dim;
    float base = (float)k->rope_theta;
    for (int i = 0; i < D / 2; i++) {
        float e = (float)(2 * i) / (float)D;
        float inv = 1.0f / (float)pow((double)base, (double)e);
        if (k->rope_type == MODEL_ROPE_LINEAR) inv /= (float)k->rope_factor;
        if (k->rope_type == MODEL_ROPE_LLAMA3) inv = llama3_scale(k, inv);
        inv_freq[i] = inv;
    }
}
