/* dataset_detect: which field is the text and which the label, from the
 * caller's names or from the first DATASET_SAMPLE_RECORDS records.
 *
 * Design: a plain rule a user can predict and check in the printed summary:
 * the text is the field with the most characters over the sample; the label
 * is a field named like a label (label, class, category, target, y,
 * sentiment, or a name containing label/class/category), else, in a CSV/TSV,
 * the other column with the fewest distinct values. A CSV/TSV first row is a
 * header when one of its fields is a given field name or named like a text or
 * a label field. Every rank runs this on the same bytes, so all agree.
 * Not done: guessing types or multi-field texts. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "dataset_impl.h"
#include "core/ft_alloc.h"

enum { MAX_KEYS = 64 };

static const char *const LABEL_NAMES[] = {"label", "labels",    "class", "category", "target",
                                          "y",     "sentiment", "party", NULL};
static const char *const LABEL_PARTS[] = {"label", "class", "category", NULL};
static const char *const TEXT_NAMES[] = {"text",    "sentence", "review",   "message", "content",
                                         "body",    "response", "document", "email",   "sms",
                                         "comment", "tweet",    "prompt",   NULL};

static bool in_list(const char *name, size_t len, const char *const *list, bool part)
{
    for (int i = 0; list[i]; i++) {
        size_t n = strlen(list[i]);
        if (!part && n == len && !strncasecmp(name, list[i], n)) return true;
        if (part)
            for (size_t j = 0; j + n <= len; j++)
                if (!strncasecmp(name + j, list[i], n)) return true;
    }
    return false;
}

/* 2 for an exact label name, 1 for a name containing one, else 0. */
static int label_score(const char *name, size_t len)
{
    if (in_list(name, len, LABEL_NAMES, false)) return 2;
    return in_list(name, len, LABEL_PARTS, true) ? 1 : 0;
}

typedef struct key_stats {
    char name[DATASET_NAME_BYTES];
    size_t chars;
} key_stats;

/* The sample records of a JSON source, one parsed object at a time. */
static void sample_json(const dataset_source *src, key_stats *keys, size_t *n_keys)
{
    dataset_cursor c = {0, 0, 1};
    for (size_t r = 0; r < DATASET_SAMPLE_RECORDS; r++) {
        dataset_raw raw = {0};
        if (src->format == DATASET_JSON) {
            if (r >= src->n_elems) break;
            raw.bytes = src->data + src->elem_off[r];
            raw.len = src->elem_len[r];
        } else {
            if (c.pos >= src->size) break;
            dataset_cursor_next(src, &c, &raw);
        }
        cJSON *obj = cJSON_ParseWithLength(raw.bytes, raw.len);
        for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next) {
            if (!it->string || strlen(it->string) >= DATASET_NAME_BYTES) continue;
            size_t k = 0;
            while (k < *n_keys && strcmp(keys[k].name, it->string)) k++;
            if (k == *n_keys && k < MAX_KEYS) {
                snprintf(keys[k].name, DATASET_NAME_BYTES, "%s", it->string);
                keys[k].chars = 0;
                (*n_keys)++;
            }
            if (k < *n_keys && cJSON_IsString(it)) keys[k].chars += strlen(it->valuestring);
        }
        cJSON_Delete(obj);
    }
}

static void list_keys(const key_stats *keys, size_t n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s'%s'", k ? ", " : "", keys[k].name);
    }
}

static ft_status detect_json(dataset_source *src, const dataset_options *opt, ft_error *err)
{
    key_stats *keys = ft_calloc_array(MAX_KEYS, sizeof *keys);
    if (!keys) return ft_fail(err, FT_ENOMEM, "out of memory");
    size_t n = 0, best_text = SIZE_MAX, best_label = SIZE_MAX;
    int label_best_score = 0;
    sample_json(src, keys, &n);
    for (size_t k = 0; k < n; k++)
        if (keys[k].chars && (best_text == SIZE_MAX || keys[k].chars > keys[best_text].chars))
            best_text = k;
    if (opt->text_field)
        snprintf(src->text_key, sizeof src->text_key, "%s", opt->text_field);
    else if (best_text != SIZE_MAX)
        snprintf(src->text_key, sizeof src->text_key, "%s", keys[best_text].name);
    for (size_t k = 0; k < n; k++) {
        int s = strcmp(keys[k].name, src->text_key)
                    ? label_score(keys[k].name, strlen(keys[k].name))
                    : 0;
        if (s > label_best_score) {
            label_best_score = s;
            best_label = k;
        }
    }
    if (opt->label_field)
        snprintf(src->label_key, sizeof src->label_key, "%s", opt->label_field);
    else if (best_label != SIZE_MAX)
        snprintf(src->label_key, sizeof src->label_key, "%s", keys[best_label].name);
    ft_status st = FT_OK;
    char names[512];
    list_keys(keys, n, names, sizeof names);
    if (!src->text_key[0])
        st = ft_fail(err, FT_EINVAL,
                     "%s: cannot detect the text field (no string field in the first "
                     "records; fields: %s): pass --text-field",
                     src->path, n ? names : "none");
    else if (!src->label_key[0])
        st = ft_fail(err, FT_EINVAL,
                     "%s: cannot detect the label field (none named like label, class "
                     "or category; fields: %s): pass --label-field",
                     src->path, names);
    snprintf(src->summary, sizeof src->summary, "text field '%s' (%s), label field '%s' (%s)",
             src->text_key, opt->text_field ? "given" : "detected: the longest strings",
             src->label_key, opt->label_field ? "given" : "detected: named like a label");
    free(keys);
    return st;
}

/* A given CSV/TSV field: a header name, else a 1-based column number. */
static bool find_column(const char *given, const dataset_fields *head, bool header,
                        size_t n_columns, size_t *col)
{
    for (size_t i = 0; header && i < head->n; i++)
        if (strlen(given) == head->lens[i] &&
            !memcmp(given, head->buf + head->offs[i], head->lens[i])) {
            *col = i;
            return true;
        }
    char *end;
    long v = strtol(given, &end, 10);
    if (*end || end == given || v < 1 || (size_t)v > n_columns) return false;
    *col = (size_t)v - 1;
    return true;
}

static bool header_auto(const dataset_options *opt, const dataset_fields *head)
{
    for (size_t i = 0; i < head->n; i++) {
        const char *f = head->buf + head->offs[i];
        size_t n = head->lens[i];
        if ((opt->text_field && strlen(opt->text_field) == n && !memcmp(f, opt->text_field, n)) ||
            (opt->label_field && strlen(opt->label_field) == n &&
             !memcmp(f, opt->label_field, n)) ||
            label_score(f, n) == 2 || in_list(f, n, TEXT_NAMES, false))
            return true;
    }
    return false;
}

/* Sample column statistics: total characters and distinct values. */
typedef struct column_stats {
    size_t chars, distinct;
    char **seen;
} column_stats;

/* false when out of memory. */
static bool sample_columns(const dataset_source *src, column_stats *cols, dataset_fields *f)
{
    dataset_cursor c = {0, 0, 1};
    size_t rows = 0;
    for (size_t r = 0; c.pos < src->size && rows < DATASET_SAMPLE_RECORDS; r++) {
        dataset_raw raw;
        dataset_cursor_next(src, &c, &raw);
        const char *why = NULL;
        if ((r == 0 && src->has_header) || raw.len == 0) continue;
        if (dataset_split_fields(src, raw.bytes, raw.len, f, &why, NULL) != FT_OK || why ||
            f->n != src->n_columns)
            continue;
        for (size_t i = 0; i < f->n; i++) {
            column_stats *cs = &cols[i];
            cs->chars += f->lens[i];
            bool dup = false;
            for (size_t k = 0; k < cs->distinct && !dup; k++)
                dup = strlen(cs->seen[k]) == f->lens[i] &&
                      !memcmp(cs->seen[k], f->buf + f->offs[i], f->lens[i]);
            if (!dup && !(cs->seen[cs->distinct++] = ft_strndup(f->buf + f->offs[i], f->lens[i])))
                return false;
        }
        rows++;
    }
    return true;
}

static void column_name(const dataset_source *src, const dataset_fields *head, size_t col,
                        char *buf)
{
    if (src->has_header)
        snprintf(buf, DATASET_NAME_BYTES, "%.*s",
                 (int)(head->lens[col] < 200 ? head->lens[col] : 200), head->buf + head->offs[col]);
    else
        snprintf(buf, DATASET_NAME_BYTES, "column %zu", col + 1);
}

static ft_status pick_columns(dataset_source *src, const dataset_options *opt,
                              const dataset_fields *head, const column_stats *cols, ft_error *err)
{
    size_t nc = src->n_columns, text = 0, label = SIZE_MAX;
    if (opt->text_field) {
        if (!find_column(opt->text_field, head, src->has_header, nc, &text))
            return ft_fail(err, FT_EINVAL,
                           "%s: --text-field '%s' is not a column name%s or a number in [1, %zu]",
                           src->path, opt->text_field, src->has_header ? "" : " (no header)", nc);
    } else {
        for (size_t i = 1; i < nc; i++)
            if (cols[i].chars > cols[text].chars) text = i;
    }
    if (opt->label_field) {
        if (!find_column(opt->label_field, head, src->has_header, nc, &label))
            return ft_fail(err, FT_EINVAL,
                           "%s: --label-field '%s' is not a column name%s or a number in [1, %zu]",
                           src->path, opt->label_field, src->has_header ? "" : " (no header)", nc);
    } else {
        int best = 0;
        for (size_t i = 0; src->has_header && i < nc; i++) {
            int s = i == text ? 0 : label_score(head->buf + head->offs[i], head->lens[i]);
            if (s > best) {
                best = s;
                label = i;
            }
        }
        /* No header name like a label: the other column with the fewest distinct values. */
        for (size_t j = 0; best == 0 && j < nc; j++)
            if (j != text && (label == SIZE_MAX || cols[j].distinct < cols[label].distinct))
                label = j;
    }
    if (label == SIZE_MAX || label == text)
        return ft_fail(err, FT_EINVAL,
                       "%s: cannot tell the label column from the text column (%zu "
                       "column%s): pass --label-field",
                       src->path, nc, nc == 1 ? "" : "s");
    src->text_col = text;
    src->label_col = label;
    column_name(src, head, text, src->text_key);
    column_name(src, head, label, src->label_key);
    snprintf(src->summary, sizeof src->summary,
             "%s %s, text field '%s' (%s), label field '%s' (%s)", dataset_format_name(src->format),
             src->has_header ? "with header" : "without header", src->text_key,
             opt->text_field ? "given" : "detected: the longest strings", src->label_key,
             opt->label_field  ? "given"
             : src->has_header ? "detected: named like a label"
                               : "detected: fewest distinct values");
    return FT_OK;
}

static ft_status detect_csv(dataset_source *src, const dataset_options *opt, ft_error *err)
{
    dataset_fields head = {0}, scratch = {0};
    dataset_cursor c = {0, 0, 1};
    dataset_raw raw = {0};
    const char *why = NULL;
    column_stats *cols = NULL;
    ft_status st = FT_OK;
    if (src->size) dataset_cursor_next(src, &c, &raw);
    if (raw.len == 0) {
        st = ft_fail(
            err, FT_EINVAL, "%s:1: %s", src->path,
            src->size ? "the first line is empty (a CSV/TSV starts with its header or first record)"
                      : "the file is empty");
        goto cleanup;
    }
    st = dataset_split_fields(src, raw.bytes, raw.len, &head, &why, err);
    if (st == FT_OK && why)
        st = ft_fail(err, FT_EINVAL, "%s:%llu: %s", src->path, (unsigned long long)raw.line, why);
    if (st != FT_OK) goto cleanup;
    src->n_columns = head.n;
    src->has_header = opt->header == DATASET_HEADER_YES ||
                      (opt->header == DATASET_HEADER_AUTO && header_auto(opt, &head));
    cols = ft_calloc_array(src->n_columns, sizeof *cols);
    bool ok = cols != NULL;
    for (size_t i = 0; ok && i < src->n_columns; i++)
        ok = (cols[i].seen = ft_calloc_array(DATASET_SAMPLE_RECORDS, sizeof(char *))) != NULL;
    if (ok) ok = sample_columns(src, cols, &scratch);
    st = ok ? pick_columns(src, opt, &head, cols, err) : ft_fail(err, FT_ENOMEM, "out of memory");
cleanup:
    for (size_t i = 0; cols && i < src->n_columns; i++) {
        for (size_t k = 0; k < cols[i].distinct; k++) free(cols[i].seen[k]);
        free(cols[i].seen);
    }
    free(cols);
    dataset_fields_free(&head);
    dataset_fields_free(&scratch);
    return st;
}

/* Language-model field pairs, tried in this order: prompt, completion and
 * an optional second prompt part (Alpaca's "input"). */
static const char *const LM_PAIRS[][3] = {
    {"prompt", "completion", ""}, {"instruction", "output", "input"}, {"question", "answer", ""}};

static bool has_key(const key_stats *keys, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(keys[k].name, name)) return true;
    return false;
}

static void copy_key(char *dst, const char *src) { snprintf(dst, DATASET_NAME_BYTES, "%s", src); }

/* The fields of language-model data: given, else the first pair of
 * LM_PAIRS present in the sample, else "text". */
static ft_status pick_lm_fields(dataset_source *src, const dataset_options *opt,
                                const dataset_lm_options *lm, const key_stats *keys, size_t n,
                                ft_error *err)
{
    char names[512];
    list_keys(keys, n, names, sizeof names);
    if (lm->prompt_field || lm->completion_field) {
        if (!lm->prompt_field || !lm->completion_field)
            return ft_fail(err, FT_EINVAL, "%s: --prompt-field and --completion-field go together",
                           src->path);
        src->lm_mode = DATASET_LM_PROMPT_COMPLETION;
        copy_key(src->text_key, lm->prompt_field);
        copy_key(src->label_key, lm->completion_field);
        return FT_OK;
    }
    if (opt->text_field) {
        src->lm_mode = DATASET_LM_TEXT;
        copy_key(src->text_key, opt->text_field);
        return FT_OK;
    }
    for (size_t p = 0; p < sizeof LM_PAIRS / sizeof LM_PAIRS[0]; p++)
        if (has_key(keys, n, LM_PAIRS[p][0]) && has_key(keys, n, LM_PAIRS[p][1])) {
            src->lm_mode = DATASET_LM_PROMPT_COMPLETION;
            copy_key(src->text_key, LM_PAIRS[p][0]);
            copy_key(src->label_key, LM_PAIRS[p][1]);
            if (LM_PAIRS[p][2][0] && has_key(keys, n, LM_PAIRS[p][2]))
                copy_key(src->input_key, LM_PAIRS[p][2]);
            return FT_OK;
        }
    if (has_key(keys, n, "messages")) {
        src->lm_mode = DATASET_LM_MESSAGES;
        copy_key(src->text_key, "messages");
        return FT_OK;
    }
    if (has_key(keys, n, "text")) {
        src->lm_mode = DATASET_LM_TEXT;
        copy_key(src->text_key, "text");
        return FT_OK;
    }
    return ft_fail(
        err, FT_EINVAL,
        "%s: cannot detect the language-model fields (no prompt/completion, "
        "instruction/output, question/answer or text in the first records; fields: %s): pass "
        "--prompt-field and --completion-field, or --text-field",
        src->path, n ? names : "none");
}

static ft_status detect_lm(dataset_source *src, const dataset_options *opt,
                           const dataset_lm_options *lm, ft_error *err)
{
    key_stats *keys = ft_calloc_array(MAX_KEYS, sizeof *keys);
    if (!keys) return ft_fail(err, FT_ENOMEM, "out of memory");
    size_t n = 0;
    sample_json(src, keys, &n);
    ft_status st = pick_lm_fields(src, opt, lm, keys, n, err);
    const char *how = lm->prompt_field || opt->text_field ? "given" : "detected";
    if (src->lm_mode == DATASET_LM_MESSAGES)
        snprintf(src->summary, sizeof src->summary,
                 "messages field '%.200s' (%s; chat, rendered by the chat "
                 "template)",
                 src->text_key, how);
    else if (src->lm_mode == DATASET_LM_TEXT)
        snprintf(src->summary, sizeof src->summary,
                 "text field '%.200s' (%s; continued pre-training)", src->text_key, how);
    else
        snprintf(src->summary, sizeof src->summary,
                 "prompt field '%.200s'%s%.200s%s, completion field '%.200s' (%s)", src->text_key,
                 src->input_key[0] ? " + '" : "", src->input_key, src->input_key[0] ? "'" : "",
                 src->label_key, how);
    free(keys);
    return st;
}

ft_status dataset_detect_fields(dataset_source *src, const dataset_options *opt,
                                const dataset_lm_options *lm, ft_error *err)
{
    if (lm) return detect_lm(src, opt, lm, err);
    if (src->format == DATASET_CSV || src->format == DATASET_TSV) return detect_csv(src, opt, err);
    return detect_json(src, opt, err);
}
