/* fuzz_hf_config: a model folder's config.json (src/hf/hf_config.c). The
 * input is the file's text; hf_config_parse is the buffer entry point of
 * hf_config_load. An accepted config is also written back as JSON and
 * parsed again (the round trip hf_config_write relies on), and its
 * parameter table is made when the sizes are small enough to list. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "hf/hf_config.h"

static void check_accepted(const hf_config *cfg)
{
    fuzz_require(cfg->num_labels >= 1 && cfg->num_labels <= HF_MAX_LABELS, "hf: num_labels range");
    for (int i = 0; i < cfg->num_labels; i++)
        fuzz_require(cfg->id2label[i] != NULL, "hf: id2label hole");
    char *json = hf_config_to_json(cfg);
    fuzz_require(json != NULL, "hf_config_to_json failed");
    hf_config back = {0};
    ft_error err;
    ft_status st = hf_config_parse(json, strlen(json), "round trip", &back, &err);
    fuzz_require(st == FT_OK, "a config hf_config_to_json wrote does not parse again");
    fuzz_require(back.num_labels == cfg->num_labels && back.hidden_size == cfg->hidden_size &&
                     back.num_hidden_layers == cfg->num_hidden_layers && back.arch == cfg->arch,
                 "hf: round trip changed the config");
    hf_config_free(&back);
    free(json);
    if (cfg->num_hidden_layers <= 64) {
        hf_param *params = NULL;
        size_t n = 0;
        if (hf_params_make(cfg, &params, &n, &err) == FT_OK) free(params);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hf_config cfg = {0};
    ft_error err;
    if (hf_config_parse((const char *)data, size, "config.json", &cfg, &err) == FT_OK)
        check_accepted(&cfg);
    else
        fuzz_require(err.msg[0] != '\0', "hf_config_parse failed without a message");
    hf_config_free(&cfg);
    return 0;
}
