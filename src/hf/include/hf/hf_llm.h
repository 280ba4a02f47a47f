/* hf_llm: a Hugging Face folder of a decoder LLM (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM, Phi3ForCausalLM) into an ftune
 * model (MODEL_ARCH_LLAMA, src/model/llama.c).
 *
 * Design: config.json is read by hf_config_llm.c straight into a
 * model_config (the classifiers' hf_config has no room for these keys);
 * the weights come from DIR/model.safetensors or, when the folder is
 * sharded, from the files DIR/model.safetensors.index.json's weight_map
 * names. The model's tensors carry Hugging Face's names and shapes, so each
 * is one st_read_f32 (F32, F16 and BF16 files alike) into its place in the
 * parameter buffer. A tied model ignores a stored lm_head.weight; anything
 * the model needs that the files lack is an error naming it. hf_model_load
 * hands decoder folders here, so users load them the one way, and keeps
 * the parsed config.json in an hf_config (decoder = true) so that
 * hf_model_export writes it back with every key as it was.
 *
 * Not here: writing the folder (hf_export.c), tokenizers, generation. */
#ifndef HF_LLM_H
#define HF_LLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "hf/hf_config.h"
#include "model/model.h"

/* Whether config.json's text describes one of the four decoder families
 * (model_type, else architectures[0]). */
bool hf_llm_config_is_decoder(const char *text, size_t len);

/* config.json's text into a decoder model_config; every key the four
 * classes compute with is honoured or refused by name (hf_config_llm.c).
 * `source` names the file in messages. */
ft_status hf_llm_config_parse(const char *text, size_t len, const char *source, model_config *out,
                              ft_error *err);

/* Whether DIR/config.json is a decoder's (false when unreadable: the
 * caller's own reading then reports it). */
bool hf_llm_folder_is_decoder(const char *dir);

/* Load DIR: config.json, then the weights (single or sharded); with no
 * weights and allow_random_init, model_init_random(init_seed). keep (may
 * be NULL) receives config.json's document (decoder = true, json, path;
 * caller frees with hf_config_free). */
ft_status hf_llm_load(const char *dir, bool allow_random_init, uint64_t init_seed, model **out,
                      hf_config *keep, ft_error *err);

/* DIR's weights hold every tensor DIR/config.json's model needs, by name,
 * in its shape, as F32, F16 or BF16 (model.safetensors, or the files the
 * index names); no weight is read. FT_ENOTFOUND when there are no
 * weights; else errors name the file and the tensor. */
ft_status hf_llm_check_weights(const char *dir, ft_error *err);

#endif
