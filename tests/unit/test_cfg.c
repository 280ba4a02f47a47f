/* cfg: typed keys, JSON loading, overrides, and the messages for bad input. */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "check.h"
#include "core/ft_fs.h"

static const cfg_key_spec specs[] = {
    {"learning_rate", CFG_FLOAT, "5e-5", 0, 1, NULL, "peak learning rate"},
    {"per_device_train_batch_size", CFG_INT, "8", 1, 65536, NULL, "batch per rank"},
    {"bf16", CFG_BOOL, "false", 1, 0, NULL, "bf16 mixed precision"},
    {"lr_scheduler_type", CFG_STRING, "linear", 1, 0, "linear|constant|cosine", "schedule"},
    {"output_dir", CFG_STRING, "out", 1, 0, NULL, "run folder"},
};
enum { N_SPECS = sizeof specs / sizeof specs[0] };

/* cfg_load_command_line: the --config file first wherever it stands, the
 * other pairs over it; a --config without a value is an error, not skipped. */
static void test_command_line(void)
{
    char dir[] = "/tmp/test_cfg_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *path = ft_path_join(dir, "run.json");
    ft_error err;
    const char *json = "{\"learning_rate\": 1e-4, \"bf16\": true}";
    CHECK(ft_write_file_atomic(path, json, strlen(json), true, &err) == FT_OK);
    cfg *c = NULL;
    CHECK(cfg_create(specs, N_SPECS, &c, &err) == FT_OK);
    char arg[300];
    snprintf(arg, sizeof arg, "--config=%s", path);
    char *argv[] = {"prog", "--learning_rate", "7e-5", arg, "--output_dir", "o"};
    CHECK_MSG(cfg_load_command_line(c, 6, argv, 1, &err) == FT_OK, "%s", err.msg);
    CHECK_CLOSE(cfg_get_float(c, "learning_rate"), 7e-5, 1e-15); /* the command line wins */
    CHECK(cfg_get_bool(c, "bf16"));                              /* from the file */
    CHECK(!strcmp(cfg_get_string(c, "output_dir"), "o"));
    char *split[] = {"prog", "--config", path, "--bf16", "false"};
    CHECK_MSG(cfg_load_command_line(c, 5, split, 1, &err) == FT_OK, "%s", err.msg);
    CHECK(!cfg_get_bool(c, "bf16"));
    CHECK_CLOSE(cfg_get_float(c, "learning_rate"), 1e-4, 1e-15);
    char *dangling[] = {"prog", "--bf16", "true", "--config"};
    CHECK(cfg_load_command_line(c, 4, dangling, 1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "--config needs a value");
    char *missing[] = {"prog", "--config", "/nonexistent/run.json"};
    CHECK(cfg_load_command_line(c, 3, missing, 1, &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/run.json");
    cfg_free(c);
    unlink(path);
    rmdir(dir);
    free(path);
}

int main(void)
{
    cfg *c = NULL;
    ft_error err;
    CHECK(cfg_create(specs, N_SPECS, &c, &err) == FT_OK);
    CHECK_CLOSE(cfg_get_float(c, "learning_rate"), 5e-5, 1e-12);
    CHECK_EQ_INT(cfg_get_int(c, "per_device_train_batch_size"), 8);

    CHECK(cfg_load_json_text(c,
                             "{\"learning_rate\": 2e-5, \"bf16\": true, "
                             "\"per_device_train_batch_size\": 16}",
                             "a.json", &err) == FT_OK);
    CHECK_CLOSE(cfg_get_float(c, "learning_rate"), 2e-5, 1e-12);
    CHECK(cfg_get_bool(c, "bf16"));
    CHECK_EQ_INT(cfg_get_int(c, "per_device_train_batch_size"), 16);

    char *argv[] = {"prog",         "--learning_rate", "3e-5", "--lr_scheduler_type=cosine",
                    "--output_dir", "/tmp/x"};
    CHECK(cfg_apply_args(c, 6, argv, 1, &err) == FT_OK);
    CHECK_CLOSE(cfg_get_float(c, "learning_rate"), 3e-5, 1e-12);
    CHECK(!strcmp(cfg_get_string(c, "lr_scheduler_type"), "cosine"));
    CHECK(!strcmp(cfg_get_string(c, "output_dir"), "/tmp/x"));

    /* Hostile or mistaken input: each names the key and what was expected. */
    CHECK(cfg_load_json_text(c, "{\"learning_rat\": 1e-5}", "a.json", &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "did you mean 'learning_rate'");
    CHECK_STR_CONTAINS(err.msg, "a.json");
    CHECK(cfg_set(c, "per_device_train_batch_size", "16x", "command line", &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "expected an integer, got \"16x\"");
    CHECK(cfg_load_json_text(c, "{\"per_device_train_batch_size\": 2.5}", "b.json", &err) ==
          FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "expected an integer");
    CHECK(cfg_set(c, "per_device_train_batch_size", "0", "command line", &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "[1, 65536]");
    CHECK(cfg_set(c, "lr_scheduler_type", "exp", "command line", &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "linear|constant|cosine");
    CHECK(cfg_load_json_text(c, "{\"bf16\": \"maybe\"}", "c.json", &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "'bf16'");
    CHECK(cfg_load_json_text(c, "[1,2]", "d.json", &err) == FT_EINVAL);
    CHECK(cfg_load_json_text(c, "{\"learning_rate\": ", "e.json", &err) == FT_EINVAL);
    char *argv_bad[] = {"prog", "--learning_rate"};
    CHECK(cfg_apply_args(c, 2, argv_bad, 1, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "needs a value");
    /* A failed set leaves the earlier value. */
    CHECK_EQ_INT(cfg_get_int(c, "per_device_train_batch_size"), 16);
    CHECK(cfg_load_json_file(c, "/nonexistent/cfg.json", &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/cfg.json");

    char *json = cfg_to_json(c);
    CHECK(json && strstr(json, "\"lr_scheduler_type\":\t\"cosine\""));
    cfg *d = NULL;
    CHECK(cfg_create(specs, N_SPECS, &d, &err) == FT_OK);
    CHECK(json && cfg_load_json_text(d, json, "round trip", &err) == FT_OK);
    CHECK_CLOSE(cfg_get_float(d, "learning_rate"), 3e-5, 1e-15);
    free(json);
    cfg_free(d);
    cfg_free(c);
    cfg_free(NULL);
    test_command_line();
    return check_finish();
}
