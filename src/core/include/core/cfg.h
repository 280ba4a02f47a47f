/* cfg: typed run configuration from a JSON file plus --key value overrides.
 *
 * A program declares its keys once (name, type, default, range or choices,
 * one line of help); cfg loads a JSON object, then applies command-line
 * overrides, and checks every value against the declaration. An unknown key,
 * a wrong type or an impossible value is an FT_EINVAL naming the key, where
 * it came from (file or command line) and what is accepted; an unknown key
 * also gets the closest known name ("did you mean 'learning_rate'?").
 * Key names follow Hugging Face TrainingArguments where one exists.
 *
 * cfg holds values only; what they mean belongs to the program. */
#ifndef CFG_H
#define CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"

typedef enum cfg_type { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STRING } cfg_type;

typedef struct cfg_key_spec {
    const char *name;
    cfg_type type;
    const char *default_value; /* parsed like a command-line value */
    double min, max;           /* for CFG_INT/CFG_FLOAT; ignored if min > max */
    const char *choices;       /* CFG_STRING: "a|b|c", or NULL for any */
    const char *help;
} cfg_key_spec;

typedef struct cfg cfg;

/* The specs array must outlive the cfg. Defaults are checked too. */
ft_status cfg_create(const cfg_key_spec *specs, size_t n_specs, cfg **out, ft_error *err);
void cfg_free(cfg *c);

/* Apply every key of a JSON object file. */
ft_status cfg_load_json_file(cfg *c, const char *path, ft_error *err);
/* Apply every key of a JSON object text; origin names it in messages. */
ft_status cfg_load_json_text(cfg *c, const char *text, const char *origin, ft_error *err);

/* Set one key from a string ("2e-5", "true", "cosine"). */
ft_status cfg_set(cfg *c, const char *key, const char *value, const char *origin, ft_error *err);

/* Apply "--key value" and "--key=value" pairs from argv[first..argc). */
ft_status cfg_apply_args(cfg *c, int argc, char **argv, int first, ft_error *err);
/* A program's command line: the JSON file of "--config FILE" (or
 * "--config=FILE") first, then every other pair of argv[first..argc) over it
 * (cfg_apply_args), so the command line wins wherever it stands. */
ft_status cfg_load_command_line(cfg *c, int argc, char **argv, int first, ft_error *err);

/* Getters FT_CHECK that the key exists with that type: a wrong name in the
 * program is a bug, not an input error. */
int64_t cfg_get_int(const cfg *c, const char *key);
double cfg_get_float(const cfg *c, const char *key);
bool cfg_get_bool(const cfg *c, const char *key);
const char *cfg_get_string(const cfg *c, const char *key);

/* The whole config as a JSON object text (for checkpoints and reports);
 * caller frees. NULL on allocation failure. */
char *cfg_to_json(const cfg *c);

/* One line per key: name, type, default, help (for --help). */
void cfg_print_help(const cfg_key_spec *specs, size_t n_specs, void *file);

#endif
