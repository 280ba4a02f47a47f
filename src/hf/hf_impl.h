/* hf_impl.h: what the files of src/hf share. */
#ifndef HF_IMPL_H
#define HF_IMPL_H

#include "hf/hf_config.h"

/* The config's spellings of the fields hf_config holds, per architecture. */
typedef struct hf_keys {
    const char *model_type, *architecture;
    const char *hidden, *layers, *heads, *inner, *positions, *eps, *act;
    const char *hidden_drop, *embedding_drop, *attention_drop;
} hf_keys;

const hf_keys *hf_keys_of(hf_arch arch);

/* hf_config_to_json with "torch_dtype" set to torch_dtype (NULL: leave the
 * document's). */
char *hf_config_to_json_dtype(const hf_config *cfg, const char *torch_dtype);

#endif
