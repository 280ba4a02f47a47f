/* hf_model: a Hugging Face model folder in and out of an ftune model.
 *
 * In: DIR/config.json (hf_config_load) and DIR/model.safetensors, matched
 * name by name through hf_params_match (prefix and gamma/beta variants,
 * GPT-2's attn.bias / attn.masked_bias buffers ignored), converted to fp32
 * into the model's single parameter buffer: BERT's separate query/key/value
 * tensors are fused into the model's [3C, C] attention matrix, GPT-2's
 * Conv1D weights ([in, out] in the file) are placed as the model stores
 * them. A classification head that is absent or sized for another number
 * of labels is initialised from init_seed with a warning naming it
 * (transformers' ignore_mismatched_sizes); anything else missing or
 * misshapen is an error naming the tensor.
 *
 * Out: a folder AutoModelForSequenceClassification.from_pretrained loads:
 * config.json, model.safetensors (F32, HF names, q/k/v split back, Conv1D
 * layout) and the tokenizer files found in tokenizer_dir, written into a
 * temporary sibling folder and renamed into place.
 *
 * Decoder LLMs (Llama, Qwen2, Mistral, Phi-3) go through hf_llm.h on the
 * way in and through the same export on the way out.
 *
 * Not here: sharded classifier checkpoints, writing shards,
 * pytorch_model.bin, optimizer state. */
#ifndef HF_MODEL_H
#define HF_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "hf/hf_config.h"
#include "model/model.h"

/* Convert the config to the model's (arch, sizes, dropout, gelu kind). */
ft_status hf_config_to_model_config(const hf_config *cfg, model_config *out, ft_error *err);

typedef struct hf_model_load_options {
    int num_labels;                 /* 0: keep config.json's; else use this many labels */
    const char *const *label_names; /* NULL or num_labels names: become id2label/label2id */
    uint64_t init_seed;             /* random init of the head (and everything when from scratch) */
    bool allow_random_init;         /* no model.safetensors in dir: init everything from
                                       config.json (logged as from-scratch) */
} hf_model_load_options;

/* Load DIR/config.json (+ DIR/model.safetensors). A head whose shape
 * disagrees with num_labels is re-initialised (warning naming it), as
 * transformers does with ignore_mismatched_sizes. Fills *cfg (caller frees
 * with hf_config_free). opt may be NULL (all zero). A decoder LLM's folder
 * (Llama, Qwen2, Mistral, Phi-3; single or sharded weights) is loaded by
 * hf_llm_load (hf_llm.h) instead: labels do not apply, and cfg holds only
 * config.json's document (cfg->decoder, for hf_model_export; the model's
 * own model_get_config has the sizes). */
ft_status hf_model_load(const char *dir, const hf_model_load_options *opt, model **out,
                        hf_config *cfg, ft_error *err);

/* FT_OK when DIR/model.safetensors exists; else FT_ENOTFOUND with what the
 * folder holds instead (pytorch_model.bin: how to convert it, never
 * unpickled; sharded weights), and with training, how to start from
 * scratch. A decoder LLM's folder may be sharded; its weights are checked
 * tensor by tensor (hf_llm_check_weights: name, shape, float dtype). */
ft_status hf_model_check_weights(const char *dir, bool training, ft_error *err);

/* Write OUT_DIR as a Hugging Face folder loadable by
 * AutoModelForSequenceClassification.from_pretrained: config.json
 * (architectures, id2label, label2id, torch_dtype float32),
 * model.safetensors (F32, HF names, BERT q/k/v split back, GPT-2 Conv1D
 * layout), and the tokenizer files copied from tokenizer_dir (vocab.txt /
 * vocab.json+merges.txt / tokenizer.json / tokenizer_config.json /
 * special_tokens_map.json whichever exist; tokenizer_dir may be NULL).
 * Written into a temporary sibling folder, then renamed; an existing
 * OUT_DIR is refused (FT_EEXIST) unless overwrite. A decoder LLM (cfg from
 * hf_model_load, cfg->decoder) becomes a folder AutoModelForCausalLM
 * loads: config.json as loaded but torch_dtype (and dtype) float32,
 * model.safetensors (F32, the names and shapes it was loaded with, one
 * file even when the source was sharded; no lm_head.weight when tied). */
ft_status hf_model_export(const model *m, const hf_config *cfg, const char *tokenizer_dir,
                          const char *out_dir, bool overwrite, ft_error *err);

#endif
