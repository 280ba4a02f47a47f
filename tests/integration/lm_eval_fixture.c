/* lm_eval_fixture: a tiny decoder LLM folder for ftune-eval's causal-LM
 * tests.
 *
 *   lm_eval_fixture OUT_DIR TOKENIZER_DIR SEED
 *       a LlamaForCausalLM folder (vocab 50257, hidden 32, 2 layers, 4
 *       query / 2 key-value heads, tied embeddings) with random weights
 *       (model_init_random, initializer_range 0.2 so that the logits spread
 *       and the loss is not just log(vocab)) and TOKENIZER_DIR's tokenizer
 *       files (models/gpt2-tiny: GPT-2's byte-level BPE), written by
 *       hf_model_export, so AutoModelForCausalLM loads it too.
 *
 * Built here rather than committed: the embeddings alone are 6.4 MB.
 * Deterministic: the same arguments give the same files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_fs.h"
#include "hf/hf_model.h"

static const char CONFIG[] =
    "{\n  \"architectures\": [\"LlamaForCausalLM\"],\n  \"model_type\": \"llama\",\n"
    "  \"vocab_size\": 50257,\n  \"hidden_size\": 32,\n  \"intermediate_size\": 64,\n"
    "  \"num_hidden_layers\": 2,\n  \"num_attention_heads\": 4,\n"
    "  \"num_key_value_heads\": 2,\n  \"hidden_act\": \"silu\",\n"
    "  \"max_position_embeddings\": 256,\n  \"initializer_range\": 0.2,\n"
    "  \"rms_norm_eps\": 1e-06,\n  \"rope_theta\": 10000.0,\n  \"attention_bias\": false,\n"
    "  \"mlp_bias\": false,\n  \"tie_word_embeddings\": true,\n  \"bos_token_id\": 50256,\n"
    "  \"eos_token_id\": 50256,\n  \"torch_dtype\": \"float32\"\n}\n";

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: lm_eval_fixture OUT_DIR TOKENIZER_DIR SEED\n");
        return 2;
    }
    ft_error err = {0};
    char *tmp = malloc(strlen(argv[1]) + 16);
    if (!tmp) return 1;
    sprintf(tmp, "%s.config", argv[1]);
    char *config = ft_path_join(tmp, "config.json");
    model *m = NULL;
    hf_config cfg = {0};
    hf_model_load_options opt = {.allow_random_init = true,
                                 .init_seed = strtoull(argv[3], NULL, 10)};
    ft_status st = config ? ft_mkdir_p(tmp, &err) : ft_fail(&err, FT_ENOMEM, "out of memory");
    if (st == FT_OK) st = ft_write_file_atomic(config, CONFIG, sizeof CONFIG - 1, true, &err);
    if (st == FT_OK) st = hf_model_load(tmp, &opt, &m, &cfg, &err);
    if (st == FT_OK) st = hf_model_export(m, &cfg, argv[2], argv[1], true, &err);
    if (st != FT_OK) fprintf(stderr, "lm_eval_fixture: %s\n", err.msg);
    model_free(m);
    hf_config_free(&cfg);
    if (config) remove(config);
    remove(tmp);
    free(config);
    free(tmp);
    return st == FT_OK ? 0 : 1;
}
