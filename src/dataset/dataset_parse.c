/* dataset_parse: the bytes of one record -> (text, label) or a reason, and
 * the detection of the text and label fields from the first records.
 *
 * Design: records are parsed one at a time from their own bytes (cJSON for
 * JSON, a strict RFC 4180 splitter for CSV, plain tab splitting for TSV), so
 * a bad record costs only itself. UTF-8 is checked on the raw bytes and again
 * on the decoded JSON string (escapes can produce anything).
 * Not here: finding the records (dataset_read.c). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dataset_impl.h"
#include "core/ft_alloc.h"

bool dataset_utf8_valid(const char *text, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            min = 0x10000;
        } else
            break;
        if (i + n >= len) break;
        unsigned cp = c & (0x3Fu >> n);
        size_t k = 1;
        for (; k <= n && i + k < len && (s[i + k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (s[i + k] & 0x3F);
        if (k <= n || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) break;
        i += n + 1;
    }
    if (bad_offset) *bad_offset = i;
    return i == len;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return false;
    return true;
}

static ft_status arena_put(dataset_records *out, const char *s, size_t n, size_t *off,
                           ft_error *err)
{
    if (out->arena_len + n + 1 > out->arena_cap) {
        size_t cap = out->arena_cap ? out->arena_cap : 1 << 16;
        while (cap < out->arena_len + n + 1) cap *= 2;
        char *grown = ft_realloc_array(out->arena, cap, 1);
        if (!grown) return ft_fail(err, FT_ENOMEM, "out of memory holding %zu bytes of text", cap);
        out->arena = grown;
        out->arena_cap = cap;
    }
    memcpy(out->arena + out->arena_len, s, n);
    out->arena[out->arena_len + n] = '\0';
    *off = out->arena_len;
    out->arena_len += n + 1;
    return FT_OK;
}

static ft_status push_record(dataset_records *out, const dataset_record *rec, ft_error *err)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 1024;
        dataset_record *grown = ft_realloc_array(out->items, cap, sizeof *grown);
        if (!grown) return ft_fail(err, FT_ENOMEM, "out of memory for %zu records", cap);
        out->items = grown;
        out->cap = cap;
    }
    out->items[out->n++] = *rec;
    return FT_OK;
}

void dataset_record_where(const dataset_source *src, const dataset_record *rec, char *buf,
                          size_t size)
{
    if (src->format == DATASET_FOLDER)
        snprintf(buf, size, "%s/%s", src->path, src->file_names[rec->file]);
    else
        snprintf(buf, size, "%s:%llu", src->path, (unsigned long long)rec->line);
}

/* Records a bad record (and its message when it is the part's first). */
static ft_status push_bad(const dataset_source *src, const dataset_raw *raw, dataset_reason why,
                          dataset_records *out, ft_error *err, const char *fmt, const char *arg)
{
    dataset_record rec = {raw->line, raw->file, why, 0, 0, 0, 0};
    if (out->bad_count++ == 0) {
        char where[FT_ERROR_MSG_BYTES / 2], what[FT_ERROR_MSG_BYTES / 2 - 40];
        dataset_record_where(src, &rec, where, sizeof where);
        snprintf(what, sizeof what, fmt, arg);
        snprintf(out->first_bad_msg, sizeof out->first_bad_msg, "%s: %s (%s)", where, what,
                 dataset_reason_name(why));
        out->first_bad = out->n;
    }
    return push_record(out, &rec, err);
}

static ft_status push_good(dataset_records *out, const dataset_raw *raw, const char *text,
                           size_t text_len, const char *label, size_t label_len, ft_error *err)
{
    dataset_record rec = {raw->line, raw->file, DATASET_OK, 0, text_len, 0, label_len};
    ft_status st = arena_put(out, text, text_len, &rec.text_off, err);
    if (st == FT_OK) st = arena_put(out, label, label_len, &rec.label_off, err);
    return st == FT_OK ? push_record(out, &rec, err) : st;
}

/* A JSON label as text: strings as they are, integers without a fraction. */
static bool json_label_text(const cJSON *v, char *buf, size_t size, const char **text)
{
    if (cJSON_IsString(v)) {
        *text = v->valuestring;
        return v->valuestring[0] != '\0';
    }
    if (cJSON_IsBool(v)) {
        *text = cJSON_IsTrue(v) ? "true" : "false";
        return true;
    }
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        snprintf(buf, size, "%lld", (long long)d);
    else
        snprintf(buf, size, "%.17g", d);
    *text = buf;
    return true;
}

/* What kind of JSON value v is, for messages. */
static const char *json_kind(const cJSON *v)
{
    return cJSON_IsNumber(v)   ? "a number"
           : cJSON_IsBool(v)   ? "a boolean"
           : cJSON_IsNull(v)   ? "null"
           : cJSON_IsArray(v)  ? "an array"
           : cJSON_IsObject(v) ? "an object"
                               : "a string";
}

/* A string field of a language-model record, or a bad record naming the
 * key (and what it holds instead). *bad set when the record was pushed bad. */
static ft_status lm_string(const dataset_source *src, const dataset_raw *raw, const cJSON *obj,
                           const char *key, const char *role, dataset_reason why, const char **out,
                           bool *bad, dataset_records *recs, ft_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    char what[DATASET_NAME_BYTES + 96];
    *bad = true;
    if (!v)
        snprintf(what, sizeof what, "no %s field '%s'", role, key);
    else if (!cJSON_IsString(v))
        snprintf(what, sizeof what, "%s field '%s' is %s, not a string", role, key, json_kind(v));
    else if (!dataset_utf8_valid(v->valuestring, strlen(v->valuestring), NULL))
        return push_bad(src, raw, DATASET_INVALID_UTF8, recs, err,
                        "%s field decodes to invalid UTF-8", role);
    else {
        *bad = false;
        *out = v->valuestring;
        return FT_OK;
    }
    return push_bad(src, raw, why, recs, err, "%s", what);
}

/* Chat records: a non-empty array of objects with string role and content,
 * stored as compact JSON for the chat template (ftune-shard renders it). */
static ft_status parse_messages(const dataset_source *src, const dataset_raw *raw, const cJSON *obj,
                                dataset_records *out, ft_error *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, src->text_key);
    char what[DATASET_NAME_BYTES + 128];
    what[0] = '\0';
    if (!m)
        snprintf(what, sizeof what, "no messages field '%s'", src->text_key);
    else if (!cJSON_IsArray(m) || !cJSON_GetArraySize(m))
        snprintf(what, sizeof what, "messages field '%s' is %s, not a non-empty list",
                 src->text_key, cJSON_IsArray(m) ? "an empty list" : json_kind(m));
    int i = 0;
    for (const cJSON *e = m && !what[0] ? m->child : NULL; e && !what[0]; e = e->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!cJSON_IsObject(e) || !cJSON_IsString(role) || !cJSON_IsString(content))
            snprintf(what, sizeof what,
                     "%s[%d]: a message must be an object with string 'role' and 'content'",
                     src->text_key, i);
        else if (!dataset_utf8_valid(content->valuestring, strlen(content->valuestring), NULL))
            return push_bad(src, raw, DATASET_INVALID_UTF8, out, err, "%s",
                            "a message decodes to invalid UTF-8");
    }
    if (what[0]) return push_bad(src, raw, DATASET_MISSING_TEXT, out, err, "%s", what);
    char *json = cJSON_PrintUnformatted(m);
    if (!json) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = push_good(out, raw, json, strlen(json), "", 0, err);
    cJSON_free(json);
    return st;
}

/* Language-model records: text = the prompt (+ "\n\n" + a non-empty input),
 * label = the completion; text data: text = the text, label empty. */
static ft_status parse_lm(const dataset_source *src, const dataset_raw *raw, const cJSON *obj,
                          dataset_records *out, ft_error *err)
{
    if (src->lm_mode == DATASET_LM_MESSAGES) return parse_messages(src, raw, obj, out, err);
    const char *prompt = NULL, *completion = "", *input = NULL;
    bool bad = false, text = src->lm_mode == DATASET_LM_TEXT;
    ft_status st = lm_string(src, raw, obj, src->text_key, text ? "text" : "prompt",
                             DATASET_MISSING_TEXT, &prompt, &bad, out, err);
    if (st == FT_OK && !bad && !text)
        st = lm_string(src, raw, obj, src->label_key, "completion", DATASET_MISSING_COMPLETION,
                       &completion, &bad, out, err);
    const cJSON *in =
        src->input_key[0] ? cJSON_GetObjectItemCaseSensitive(obj, src->input_key) : NULL;
    if (st == FT_OK && !bad && in && !cJSON_IsNull(in))
        st = lm_string(src, raw, obj, src->input_key, "input", DATASET_MISSING_TEXT, &input, &bad,
                       out, err);
    if (st != FT_OK || bad) return st;
    if (text && is_blank(prompt, strlen(prompt)))
        return push_bad(src, raw, DATASET_EMPTY_TEXT, out, err, "text field '%s' is empty",
                        src->text_key);
    if (!text && is_blank(completion, strlen(completion)))
        return push_bad(src, raw, DATASET_MISSING_COMPLETION, out, err,
                        "completion field '%s' is empty", src->label_key);
    if (!input || !input[0])
        return push_good(out, raw, prompt, strlen(prompt), completion, strlen(completion), err);
    size_t np = strlen(prompt), ni = strlen(input);
    char *joined = ft_malloc_array(np + ni + 3, 1);
    if (!joined) return ft_fail(err, FT_ENOMEM, "out of memory");
    memcpy(joined, prompt, np);
    memcpy(joined + np, "\n\n", 2);
    memcpy(joined + np + 2, input, ni + 1);
    st = push_good(out, raw, joined, np + ni + 2, completion, strlen(completion), err);
    free(joined);
    return st;
}

static ft_status parse_json(const dataset_source *src, const dataset_raw *raw, dataset_records *out,
                            ft_error *err)
{
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(raw->bytes, raw->len, &end, 0);
    ft_status st;
    if (!obj || !is_blank(end, raw->len - (size_t)(end - raw->bytes)) || !cJSON_IsObject(obj)) {
        size_t col = obj ? (size_t)(end - raw->bytes) : (size_t)(cJSON_GetErrorPtr() - raw->bytes);
        char at[64];
        snprintf(at, sizeof at, "%zu", col + 1);
        st = push_bad(src, raw, DATASET_MALFORMED_JSON, out, err,
                      obj && !cJSON_IsObject(obj) ? "not a JSON object%.0s"
                                                  : "malformed JSON at column %s",
                      at);
        cJSON_Delete(obj);
        return st;
    }
    if (src->lm_mode) {
        st = parse_lm(src, raw, obj, out, err);
        cJSON_Delete(obj);
        return st;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, src->text_key);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, src->label_key);
    char num[64];
    const char *label = NULL;
    size_t bad = 0, text_len = cJSON_IsString(t) ? strlen(t->valuestring) : 0, label_len = 0;
    if (!cJSON_IsString(t))
        st = push_bad(src, raw, DATASET_MISSING_TEXT, out, err,
                      t ? "text field '%s' is not a string" : "no text field '%s'", src->text_key);
    else if (!dataset_utf8_valid(t->valuestring, text_len, &bad))
        st = push_bad(src, raw, DATASET_INVALID_UTF8, out, err, "%s",
                      "the text decodes to invalid UTF-8");
    else if (is_blank(t->valuestring, text_len))
        st = push_bad(src, raw, DATASET_EMPTY_TEXT, out, err, "text field '%s' is empty",
                      src->text_key);
    else if (!json_label_text(l, num, sizeof num, &label))
        st = push_bad(src, raw, DATASET_MISSING_LABEL, out, err,
                      l ? "label field '%s' is empty, null or not a string, number or boolean"
                        : "no label field '%s'",
                      src->label_key);
    else if (!dataset_utf8_valid(label, label_len = strlen(label), &bad))
        st = push_bad(src, raw, DATASET_INVALID_UTF8, out, err, "%s",
                      "the label decodes to invalid UTF-8");
    else
        st = push_good(out, raw, t->valuestring, text_len, label, label_len, err);
    cJSON_Delete(obj);
    return st;
}

static ft_status fields_push(dataset_fields *f, size_t off, size_t len, ft_error *err)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        size_t *o = ft_realloc_array(f->offs, cap, sizeof *o);
        if (o) f->offs = o;
        size_t *l = ft_realloc_array(f->lens, cap, sizeof *l);
        if (l) f->lens = l;
        if (!o || !l) return ft_fail(err, FT_ENOMEM, "out of memory splitting fields");
        f->cap = cap;
    }
    f->offs[f->n] = off;
    f->lens[f->n] = len;
    f->n++;
    return FT_OK;
}

void dataset_fields_free(dataset_fields *f)
{
    if (!f) return;
    free(f->buf);
    free(f->offs);
    free(f->lens);
    *f = (dataset_fields){0};
}

/* One field from bytes[*i..]: a quoted field unescaped, else raw up to sep. */
static bool split_one(const dataset_source *src, const char *b, size_t len, size_t *i, char *dst,
                      size_t *dst_len, const char **why)
{
    size_t j = *i, n = 0;
    if (src->quoting && j < len && b[j] == '"') {
        for (j++;; j++) {
            if (j >= len) {
                *why = "a quoted field does not end (missing '\"')";
                return false;
            }
            if (b[j] == '"') {
                if (j + 1 < len && b[j + 1] == '"') {
                    dst[n++] = '"';
                    j++;
                    continue;
                }
                j++;
                break;
            }
            dst[n++] = b[j];
        }
        if (j < len && b[j] != src->sep) {
            *why = "text after the closing '\"' of a quoted field";
            return false;
        }
    } else {
        for (; j < len && b[j] != src->sep; j++) {
            if (src->quoting && b[j] == '"') {
                *why =
                    "a '\"' inside an unquoted field (quote the whole field and double the '\"')";
                return false;
            }
            dst[n++] = b[j];
        }
    }
    *i = j;
    *dst_len = n;
    return true;
}

ft_status dataset_split_fields(const dataset_source *src, const char *bytes, size_t len,
                               dataset_fields *f, const char **why, ft_error *err)
{
    f->n = 0;
    *why = NULL;
    if (f->buf_cap < len + 1) {
        char *grown = ft_realloc_array(f->buf, len + 1, 1);
        if (!grown) return ft_fail(err, FT_ENOMEM, "out of memory for a %zu-byte record", len);
        f->buf = grown;
        f->buf_cap = len + 1;
    }
    size_t i = 0, used = 0;
    for (;;) {
        size_t n = 0;
        if (!split_one(src, bytes, len, &i, f->buf + used, &n, why)) return FT_OK;
        ft_status st = fields_push(f, used, n, err);
        if (st != FT_OK) return st;
        used += n;
        if (i >= len) break;
        i++;            /* the separator */
        if (i == len) { /* a trailing separator: one more, empty field */
            st = fields_push(f, used, 0, err);
            if (st != FT_OK) return st;
            break;
        }
    }
    return FT_OK;
}

static ft_status parse_csv(const dataset_source *src, const dataset_raw *raw, dataset_fields *f,
                           dataset_records *out, ft_error *err)
{
    const char *why = NULL;
    ft_status st = dataset_split_fields(src, raw->bytes, raw->len, f, &why, err);
    if (st != FT_OK) return st;
    if (why) return push_bad(src, raw, DATASET_MALFORMED_CSV, out, err, "%s", why);
    if (f->n != src->n_columns) {
        char msg[96];
        snprintf(msg, sizeof msg, "%zu fields, expected %zu", f->n, src->n_columns);
        return push_bad(src, raw, DATASET_MALFORMED_CSV, out, err, "%s", msg);
    }
    const char *text = f->buf + f->offs[src->text_col], *label = f->buf + f->offs[src->label_col];
    size_t text_len = f->lens[src->text_col], label_len = f->lens[src->label_col];
    if (is_blank(text, text_len))
        return push_bad(src, raw, DATASET_EMPTY_TEXT, out, err, "text field '%s' is empty",
                        src->text_key);
    if (is_blank(label, label_len))
        return push_bad(src, raw, DATASET_MISSING_LABEL, out, err, "label field '%s' is empty",
                        src->label_key);
    return push_good(out, raw, text, text_len, label, label_len, err);
}

ft_status dataset_parse_record(const dataset_source *src, const dataset_raw *raw,
                               dataset_fields *scratch, dataset_records *out, ft_error *err)
{
    size_t bad = 0;
    if (!dataset_utf8_valid(raw->bytes, raw->len, &bad)) {
        char at[96];
        snprintf(at, sizeof at, "byte 0x%02X at offset %zu of the record",
                 (unsigned)(unsigned char)raw->bytes[bad], bad);
        return push_bad(src, raw, DATASET_INVALID_UTF8, out, err, "invalid UTF-8: %s", at);
    }
    switch (src->format) {
    case DATASET_JSONL:
    case DATASET_JSON: return parse_json(src, raw, out, err);
    case DATASET_CSV:
    case DATASET_TSV: return parse_csv(src, raw, scratch, out, err);
    case DATASET_FOLDER:
        if (is_blank(raw->bytes, raw->len))
            return push_bad(src, raw, DATASET_EMPTY_TEXT, out, err, "%s", "the file is empty");
        {
            const char *label = src->file_class[raw->file];
            return push_good(out, raw, raw->bytes, raw->len, label, strlen(label), err);
        }
    default: return ft_fail(err, FT_EINVAL, "%s: unknown format", src->path);
    }
}

void dataset_records_free(dataset_records *r)
{
    if (!r) return;
    free(r->items);
    free(r->arena);
    *r = (dataset_records){0};
}
