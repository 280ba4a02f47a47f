/* cfg: see cfg.h. Values are kept typed; JSON values are converted to the
 * declared type strictly (a JSON string "3" for an integer key is accepted
 * only because users copy values from the command line; 3.5 is not an int). */
#include "core/cfg.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"

typedef struct cfg_value {
    int64_t i;
    double f;
    bool b;
    char *s;
} cfg_value;

struct cfg {
    const cfg_key_spec *specs;
    size_t n;
    cfg_value *values;
};

static const char *type_name(cfg_type t)
{
    switch (t) {
    case CFG_INT: return "an integer";
    case CFG_FLOAT: return "a number";
    case CFG_BOOL: return "true or false";
    case CFG_STRING: return "a string";
    }
    return "?";
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t sub = diag + (a[i - 1] != b[j - 1]);
            size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < best ? sub : best;
            diag = up;
        }
    }
    return row[lb];
}

static long find_key(const cfg *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->specs[i].name, key)) return (long)i;
    return -1;
}

static ft_status unknown_key(const cfg *c, const char *key, const char *origin, ft_error *err)
{
    size_t best = (size_t)-1, best_i = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t d = edit_distance(key, c->specs[i].name);
        if (d < best) {
            best = d;
            best_i = i;
        }
    }
    if (c->n && best <= 3)
        return ft_fail(err, FT_EINVAL, "%s: unknown key '%s' (did you mean '%s'?)", origin, key,
                       c->specs[best_i].name);
    return ft_fail(err, FT_EINVAL, "%s: unknown key '%s' (run with --help for the keys)", origin,
                   key);
}

static bool choice_allowed(const char *choices, const char *value)
{
    size_t len = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == len && !strncmp(p, value, n)) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

static ft_status check_range(const cfg_key_spec *s, double v, const char *origin, ft_error *err)
{
    if (s->min <= s->max && (v < s->min || v > s->max))
        return ft_fail(err, FT_EINVAL, "%s: key '%s': expected a value in [%g, %g], got %g", origin,
                       s->name, s->min, s->max, v);
    return FT_OK;
}

static ft_status parse_into(const cfg_key_spec *s, const char *text, const char *origin,
                            cfg_value *out, ft_error *err)
{
    char *end = NULL;
    errno = 0;
    switch (s->type) {
    case CFG_INT: {
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || errno) break;
        ft_status st = check_range(s, (double)v, origin, err);
        if (st == FT_OK) out->i = v;
        return st;
    }
    case CFG_FLOAT: {
        double v = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v)) break;
        ft_status st = check_range(s, v, origin, err);
        if (st == FT_OK) out->f = v;
        return st;
    }
    case CFG_BOOL:
        if (!strcasecmp(text, "true") || !strcmp(text, "1") || !strcasecmp(text, "yes")) {
            out->b = true;
            return FT_OK;
        }
        if (!strcasecmp(text, "false") || !strcmp(text, "0") || !strcasecmp(text, "no")) {
            out->b = false;
            return FT_OK;
        }
        break;
    case CFG_STRING: {
        if (s->choices && !choice_allowed(s->choices, text))
            return ft_fail(err, FT_EINVAL, "%s: key '%s': expected one of %s, got \"%s\"", origin,
                           s->name, s->choices, text);
        char *copy = ft_strdup(text);
        if (!copy) return ft_fail(err, FT_ENOMEM, "out of memory");
        free(out->s);
        out->s = copy;
        return FT_OK;
    }
    }
    return ft_fail(err, FT_EINVAL, "%s: key '%s': expected %s, got \"%s\"", origin, s->name,
                   type_name(s->type), text);
}

ft_status cfg_create(const cfg_key_spec *specs, size_t n_specs, cfg **out, ft_error *err)
{
    *out = NULL;
    cfg *c = ft_calloc_array(1, sizeof *c);
    cfg_value *values = ft_calloc_array(n_specs, sizeof *values);
    if (!c || !values) {
        free(c);
        free(values);
        return ft_fail(err, FT_ENOMEM, "out of memory");
    }
    c->specs = specs;
    c->n = n_specs;
    c->values = values;
    for (size_t i = 0; i < n_specs; i++) {
        ft_status st = parse_into(&specs[i], specs[i].default_value, "default", &values[i], err);
        if (st != FT_OK) {
            cfg_free(c);
            return st;
        }
    }
    *out = c;
    return FT_OK;
}

void cfg_free(cfg *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->values[i].s);
    free(c->values);
    free(c);
}

ft_status cfg_set(cfg *c, const char *key, const char *value, const char *origin, ft_error *err)
{
    long i = find_key(c, key);
    if (i < 0) return unknown_key(c, key, origin, err);
    return parse_into(&c->specs[i], value, origin, &c->values[i], err);
}

/* A JSON value as the text a user would type for it, checked for type. */
static ft_status json_value_text(const cfg_key_spec *s, const cJSON *item, const char *origin,
                                 char *buf, size_t size, ft_error *err)
{
    if (cJSON_IsString(item) && s->type != CFG_BOOL) {
        snprintf(buf, size, "%s", item->valuestring);
        return FT_OK;
    }
    if (cJSON_IsBool(item) && s->type == CFG_BOOL) {
        snprintf(buf, size, "%s", cJSON_IsTrue(item) ? "true" : "false");
        return FT_OK;
    }
    if (cJSON_IsNumber(item) && (s->type == CFG_INT || s->type == CFG_FLOAT)) {
        double v = item->valuedouble;
        if (s->type == CFG_INT && (v != floor(v) || fabs(v) > 9.0e15))
            return ft_fail(err, FT_EINVAL, "%s: key '%s': expected an integer, got %g", origin,
                           s->name, v);
        snprintf(buf, size, s->type == CFG_INT ? "%.0f" : "%.17g", v);
        return FT_OK;
    }
    return ft_fail(err, FT_EINVAL, "%s: key '%s': expected %s", origin, s->name,
                   type_name(s->type));
}

ft_status cfg_load_json_text(cfg *c, const char *text, const char *origin, ft_error *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ft_fail(err, FT_EINVAL, "%s: expected a JSON object of config keys", origin);
    }
    ft_status st = FT_OK;
    for (const cJSON *item = root->child; item && st == FT_OK; item = item->next) {
        long i = find_key(c, item->string);
        if (i < 0) {
            st = unknown_key(c, item->string, origin, err);
            break;
        }
        char buf[4096];
        st = json_value_text(&c->specs[i], item, origin, buf, sizeof buf, err);
        if (st == FT_OK) st = parse_into(&c->specs[i], buf, origin, &c->values[i], err);
    }
    cJSON_Delete(root);
    return st;
}

ft_status cfg_load_json_file(cfg *c, const char *path, ft_error *err)
{
    char *text;
    size_t len;
    ft_status st = ft_read_file(path, &text, &len, err);
    if (st != FT_OK) return st;
    st = cfg_load_json_text(c, text, path, err);
    free(text);
    return st;
}

ft_status cfg_apply_args(cfg *c, int argc, char **argv, int first, ft_error *err)
{
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        if (strncmp(arg, "--", 2) != 0 || !arg[2])
            return ft_fail(err, FT_EINVAL, "command line: expected --key value, got \"%s\"", arg);
        char key[256];
        const char *eq = strchr(arg, '=');
        const char *value;
        if (eq) {
            snprintf(key, sizeof key, "%.*s", (int)(eq - arg - 2), arg + 2);
            value = eq + 1;
        } else {
            if (a + 1 >= argc)
                return ft_fail(err, FT_EINVAL, "command line: --%s needs a value", arg + 2);
            snprintf(key, sizeof key, "%s", arg + 2);
            value = argv[++a];
        }
        ft_status st = cfg_set(c, key, value, "command line", err);
        if (st != FT_OK) return st;
    }
    return FT_OK;
}

/* argv[i] is "--config" (its value follows) or "--config=FILE": *file set,
 * *used the number of arguments it takes (0 when it is another key). */
static int config_arg(int argc, char **argv, int i, const char **file)
{
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
        *file = argv[i + 1];
        return 2;
    }
    if (strncmp(argv[i], "--config=", 9) == 0) {
        *file = argv[i] + 9;
        return 1;
    }
    return 0;
}

ft_status cfg_load_command_line(cfg *c, int argc, char **argv, int first, ft_error *err)
{
    char **rest = ft_calloc_array((size_t)argc + 1, sizeof *rest);
    if (!rest) return ft_fail(err, FT_ENOMEM, "out of memory");
    const char *file = NULL;
    int n = 0;
    for (int i = first; i < argc; i++) {
        int used = config_arg(argc, argv, i, &file);
        if (used == 0)
            rest[n++] = argv[i];
        else
            i += used - 1;
    }
    ft_status st = file ? cfg_load_json_file(c, file, err) : FT_OK;
    if (st == FT_OK) st = cfg_apply_args(c, n, rest, 0, err);
    free(rest);
    return st;
}

static const cfg_value *typed_value(const cfg *c, const char *key, cfg_type t)
{
    long i = find_key(c, key);
    FT_CHECK_MSG(i >= 0, key);
    FT_CHECK_MSG(c->specs[i].type == t, key);
    return &c->values[i];
}

int64_t cfg_get_int(const cfg *c, const char *key) { return typed_value(c, key, CFG_INT)->i; }
double cfg_get_float(const cfg *c, const char *key) { return typed_value(c, key, CFG_FLOAT)->f; }
bool cfg_get_bool(const cfg *c, const char *key) { return typed_value(c, key, CFG_BOOL)->b; }
const char *cfg_get_string(const cfg *c, const char *key)
{
    return typed_value(c, key, CFG_STRING)->s;
}

char *cfg_to_json(const cfg *c)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; root && i < c->n; i++) {
        const cfg_value *v = &c->values[i];
        const char *name = c->specs[i].name;
        switch (c->specs[i].type) {
        case CFG_INT: cJSON_AddNumberToObject(root, name, (double)v->i); break;
        case CFG_FLOAT: cJSON_AddNumberToObject(root, name, v->f); break;
        case CFG_BOOL: cJSON_AddBoolToObject(root, name, v->b); break;
        case CFG_STRING: cJSON_AddStringToObject(root, name, v->s); break;
        }
    }
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    return text;
}

void cfg_print_help(const cfg_key_spec *specs, size_t n_specs, void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < n_specs; i++) {
        const cfg_key_spec *s = &specs[i];
        fprintf(f, "  --%-30s %s (default %s%s%s)\n", s->name, s->help,
                s->default_value[0] ? s->default_value : "\"\"", s->choices ? "; one of " : "",
                s->choices ? s->choices : "");
    }
}
