/* ft_json: JSON field readers (see ft_json.h). */
#include "core/ft_json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { SHOWN_CHARS = 80 };

ft_status ft_json_bad(const ft_json_src *s, const char *key, const cJSON *got, const char *expected)
{
    char *shown = got ? cJSON_PrintUnformatted(got) : NULL;
    ft_fail(s->err, s->code, "%s: key '%s': expected %s, got %.*s%s", s->origin, key, expected,
            SHOWN_CHARS, shown ? shown : "nothing (missing)",
            shown && strlen(shown) > SHOWN_CHARS ? "..." : "");
    cJSON_free(shown);
    return s->code;
}

ft_status ft_json_int(const ft_json_src *s, const char *key, const cJSON *v, int64_t lo, int64_t hi,
                      int64_t *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (d >= (double)lo && d <= (double)hi && d == floor(d)) {
        *out = (int64_t)d;
        return FT_OK;
    }
    char expected[96];
    snprintf(expected, sizeof expected, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
    return ft_json_bad(s, key, v, expected);
}

ft_status ft_json_number(const ft_json_src *s, const char *key, const cJSON *v, double lo,
                         double hi, bool hi_open, double *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (d >= lo && (hi_open ? d < hi : d <= hi)) {
        *out = d;
        return FT_OK;
    }
    char expected[96];
    snprintf(expected, sizeof expected, "a number in [%g, %g%s", lo, hi, hi_open ? ")" : "]");
    return ft_json_bad(s, key, v, expected);
}

ft_status ft_json_bool(const ft_json_src *s, const char *key, const cJSON *v, bool *out)
{
    if (!cJSON_IsBool(v)) return ft_json_bad(s, key, v, "true or false");
    *out = cJSON_IsTrue(v);
    return FT_OK;
}

ft_status ft_json_string(const ft_json_src *s, const char *key, const cJSON *v, const char **out)
{
    if (!cJSON_IsString(v)) return ft_json_bad(s, key, v, "a string");
    *out = v->valuestring;
    return FT_OK;
}

ft_status ft_json_opt_bool(const ft_json_src *s, const cJSON *obj, const char *key, bool def,
                           bool *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = def;
    if (!v || cJSON_IsNull(v)) return FT_OK;
    return ft_json_bool(s, key, v, out);
}
