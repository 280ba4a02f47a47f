/* hf: a Hugging Face model folder's config.json and parameter names, for
 * BertForSequenceClassification and GPT2ForSequenceClassification.
 *
 * Design: hf_config_load() reads the fields ftune computes with into a flat
 * struct under BERT's names (GPT-2's n_embd, n_layer, n_head, n_inner,
 * n_positions, layer_norm_epsilon, resid/embd/attn_pdrop and
 * activation_function map onto them) and keeps the whole parsed document,
 * so hf_config_write() can round-trip every key it does not understand
 * (torch_dtype, bos/eos ids, task_specific_params, ...). Absent keys take
 * the defaults of transformers' BertConfig / GPT2Config. The label rule is
 * transformers': num_labels = len(id2label) when id2label is present, else
 * "num_labels" (default 2) with names LABEL_0, LABEL_1, ... A config that
 * would make transformers compute something ftune does not (relative
 * position embeddings, GPT-2 attention scaled by layer index, cross
 * attention, an unsupported activation) is refused with a message naming
 * the key, rather than silently computing another function.
 *
 * The parameter table (hf_params_make) lists every trainable tensor of the
 * architecture with its Hugging Face name and shape (GPT-2's Conv1D weights
 * are [in, out]); hf_params_match() finds them in a safetensors file,
 * accepting the prefix variants of real checkpoints: "bert." / "transformer."
 * missing (checkpoints of the base model, e.g. the plain `gpt2` file's
 * "h.0.attn.c_attn.weight"), LayerNorm "gamma"/"beta" for "weight"/"bias"
 * (the original bert-base-uncased), and a missing or differently sized
 * classification head (classifier / score), which the caller initialises.
 *
 * Not here: tokenizer files, other architectures, sharded checkpoints. */
#ifndef HF_CONFIG_H
#define HF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "st/st.h"

/* The most labels a config (num_labels, id2label) or hf_config_set_labels
 * may give: 100,000, the most classes ftune-eval scores (METRICS_MAX_CLASSES,
 * metrics.h), so every model ftune-train accepts can be evaluated, and the
 * most a manifest lists (SHARD_MAX_LABELS, shard.h). The largest real
 * classification heads (ImageNet-21k's 21,843 classes) fit with room; at the
 * cap BERT-base's head is already 77 M weights, 70% of the rest of the
 * model. The old bound (2^20) let a config ask for a head of gigabytes and
 * a pairwise name check of minutes; now it is refused naming the key, and
 * names are checked sorted (ft_unique.h): 100,000 labels parse in well under
 * a second. */
enum { HF_MAX_LABELS = 100000 };

typedef enum hf_arch { HF_ARCH_BERT, HF_ARCH_GPT2 } hf_arch;

typedef enum hf_act {
    HF_ACT_GELU,     /* "gelu": exact, x Phi(x) */
    HF_ACT_GELU_TANH /* "gelu_new", "gelu_pytorch_tanh", "gelu_fast": tanh approximation */
} hf_act;

typedef struct hf_config {
    hf_arch arch;
    int vocab_size;
    int hidden_size;             /* GPT-2: n_embd */
    int num_hidden_layers;       /* GPT-2: n_layer */
    int num_attention_heads;     /* GPT-2: n_head */
    int intermediate_size;       /* GPT-2: n_inner, or 4 * n_embd when null */
    int max_position_embeddings; /* GPT-2: n_positions */
    int type_vocab_size;         /* BERT only (GPT-2: 0) */
    double layer_norm_eps;       /* GPT-2: layer_norm_epsilon */
    double initializer_range;
    double hidden_dropout_prob;          /* GPT-2: resid_pdrop */
    double embedding_dropout_prob;       /* GPT-2: embd_pdrop; BERT: hidden_dropout_prob */
    double attention_probs_dropout_prob; /* GPT-2: attn_pdrop */
    /* BERT's dropout before the classifier: classifier_dropout, or
     * hidden_dropout_prob when that is null/absent. GPT-2's score head has
     * none (0). */
    double classifier_dropout;
    hf_act hidden_act;     /* GPT-2: activation_function */
    char *hidden_act_name; /* the spelling in the file, written back as is */
    int pad_token_id;      /* -1 when null or absent (GPT-2's default) */
    int num_labels;
    char **id2label;    /* num_labels names, index = class id */
    char *problem_type; /* NULL, or single_label_classification,
                           multi_label_classification, regression */
    char *path;         /* where it was loaded from (for messages) */
    void *json;         /* the parsed document (cJSON *), for round trips */
    bool decoder;       /* a decoder LLM's config.json (hf_llm.h): only path and
                           json are set; the model's model_config has the sizes */
} hf_config;

/* Read and validate path. On failure cfg is left empty and err names the
 * file and the key (FT_EINVAL for bad values, FT_ENOTFOUND, FT_EIO). */
ft_status hf_config_load(const char *path, hf_config *cfg, ft_error *err);

/* The same from JSON text; `source` names it in messages. */
ft_status hf_config_parse(const char *text, size_t len, const char *source, hf_config *cfg,
                          ft_error *err);

/* A config for arch with transformers' defaults (bert-base / gpt2 sizes)
 * and num_labels 2; for models built from scratch and for tests. */
ft_status hf_config_default(hf_arch arch, hf_config *cfg, ft_error *err);

/* Replace the labels with names[0..n-1] (the dataset's, in id order):
 * sets num_labels, id2label and label2id. FT_EINVAL for n < 1 or above
 * HF_MAX_LABELS, an empty or repeated name (found in O(n log n)). */
ft_status hf_config_set_labels(hf_config *cfg, const char *const *names, int n, ft_error *err);

/* Write config.json for transformers' from_pretrained: the document that
 * was loaded with ftune's fields set from cfg (architectures, model_type,
 * the sizes under the architecture's names, id2label with string keys,
 * label2id, problem_type, ...), atomically. With overwrite false an
 * existing path is FT_EEXIST. */
ft_status hf_config_write(const char *path, const hf_config *cfg, bool overwrite, ft_error *err);

/* The JSON text hf_config_write writes; caller frees. NULL when out of
 * memory. */
char *hf_config_to_json(const hf_config *cfg);

void hf_config_free(hf_config *cfg); /* NULL and empty configs are fine */

/* ---- parameter names ----------------------------------------------------- */

typedef struct hf_param {
    char name[96]; /* Hugging Face name in the *ForSequenceClassification model */
    int ndim;
    int64_t shape[2];
    size_t numel;
    int layer; /* -1 embeddings, 0..L-1 blocks, L final norm / pooler / head */
    bool head; /* classifier.* / score.*: may be absent in a checkpoint */
} hf_param;

/* Every trainable tensor of cfg's architecture, in the model's order
 * (embeddings, blocks, final norm or pooler, head). Caller frees *params. */
ft_status hf_params_make(const hf_config *cfg, hf_param **params, size_t *n, ft_error *err);

/* The name under which file f stores param p: the canonical name or one
 * of the variants above; NULL when none is present. */
const st_tensor_info *hf_param_find(const st_file *f, const hf_param *p);

/* Find every param in f and check its shape and dtype. index[i] is the
 * st_info_at() position of params[i], or -1 for a head that is absent (or,
 * with reinit_mismatched_head, sized for another number of labels; HF's
 * ignore_mismatched_sizes). Anything else missing or misshapen is
 * FT_ENOTFOUND / FT_EINVAL naming the file, the first few missing names
 * and what the file holds instead. *heads_missing (may be NULL) counts the
 * params the caller must initialise. */
ft_status hf_params_match(const hf_param *params, size_t n, const st_file *f,
                          bool reinit_mismatched_head, long *index, size_t *heads_missing,
                          ft_error *err);

#endif
