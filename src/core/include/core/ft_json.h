/* ft_json: the JSON field readers shared by every parser of outside JSON
 * (the tokenizers' files, a model's config.json, manifest.json).
 *
 * Design: one message shape for every bad value, the one STYLE.md asks for:
 * "ORIGIN: key 'KEY': expected WHAT, got VALUE" (VALUE is the item's JSON,
 * cut at 80 characters; "nothing (missing)" when absent). The status is the
 * caller's: FT_EFORMAT for files a tool wrote, FT_EINVAL for a user's
 * config. Integers are JSON numbers with no fraction inside the caller's
 * bounds (which must lie within 2^53, where doubles are exact).
 * Not here: reading the file (ft_fs), defaults for absent keys beyond the
 * optional boolean (each format says its own). */
#ifndef FT_JSON_H
#define FT_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/ft_error.h"

/* A document being read: its name for messages, the status of a bad value,
 * and the caller's error. */
typedef struct ft_json_src {
    const char *origin;
    ft_status code;
    ft_error *err;
} ft_json_src;

/* Fails with s->code and the message above; returns s->code. */
ft_status ft_json_bad(const ft_json_src *s, const char *key, const cJSON *got,
                      const char *expected);

/* The value v of key (NULL: missing), checked and converted. */
ft_status ft_json_int(const ft_json_src *s, const char *key, const cJSON *v, int64_t lo, int64_t hi,
                      int64_t *out);
/* A number in [lo, hi) (hi_open) or [lo, hi]. */
ft_status ft_json_number(const ft_json_src *s, const char *key, const cJSON *v, double lo,
                         double hi, bool hi_open, double *out);
ft_status ft_json_bool(const ft_json_src *s, const char *key, const cJSON *v, bool *out);
/* *out points into the document. */
ft_status ft_json_string(const ft_json_src *s, const char *key, const cJSON *v, const char **out);

/* Member key of obj as a boolean; def when it is absent or null (the
 * tokenizers' files write null for "the default"). */
ft_status ft_json_opt_bool(const ft_json_src *s, const cJSON *obj, const char *key, bool def,
                           bool *out);

#endif
