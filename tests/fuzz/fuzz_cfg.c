/* fuzz_cfg: the run configuration (src/core/cfg.c) with ftune-train's own
 * keys (train_key_specs): the input as a JSON config file
 * (cfg_load_json_text) and, split at newlines, as the command line's
 * "--key value" / "--key=value" arguments (cfg_apply_args). A config that
 * loads is written with cfg_to_json, which must load again into a fresh
 * config (checkpoints store the config that way). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "fuzz_util.h"
#include "train/train.h"

enum { MAX_ARGS = 256 };

static void check_round_trip(const cfg *c, const cfg_key_spec *specs, size_t n_specs)
{
    char *json = cfg_to_json(c);
    fuzz_require(json != NULL, "cfg_to_json failed");
    cfg *back = NULL;
    ft_error err;
    fuzz_require(cfg_create(specs, n_specs, &back, &err) == FT_OK, "cfg_create failed");
    if (cfg_load_json_text(back, json, "round trip", &err) != FT_OK) {
        fprintf(stderr, "%s\n%s\n", err.msg, json);
        fuzz_require(0, "a config cfg_to_json wrote does not load again");
    }
    free(json);
    cfg_free(back);
}

/* The input's lines as argv[1..] (argv[0] the program). */
static void apply_lines(cfg *c, char *text)
{
    char *argv[MAX_ARGS];
    int argc = 0;
    argv[argc++] = "ftune-train";
    for (char *line = text; line && argc < MAX_ARGS;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        argv[argc++] = line;
        line = nl ? nl + 1 : NULL;
    }
    ft_error err;
    if (cfg_apply_args(c, argc, argv, 1, &err) != FT_OK)
        fuzz_require(err.msg[0] != '\0', "cfg_apply_args failed without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n_specs = 0;
    const cfg_key_spec *specs = train_key_specs(&n_specs);
    char *text = fuzz_strndup(data, size);
    ft_error err;
    cfg *c = NULL;
    fuzz_require(cfg_create(specs, n_specs, &c, &err) == FT_OK, "cfg_create failed");
    if (cfg_load_json_text(c, text, "config.json", &err) == FT_OK)
        check_round_trip(c, specs, n_specs);
    cfg_free(c);
    fuzz_require(cfg_create(specs, n_specs, &c, &err) == FT_OK, "cfg_create failed");
    apply_lines(c, text);
    check_round_trip(c, specs, n_specs);
    cfg_free(c);
    free(text);
    return 0;
}
