/* shard_manifest: manifest.json of a prepared dataset (see shard.h).
 *
 * Layout (keys in this order, written by cJSON with fixed number format):
 *   format "ftune-shards", version 1,
 *   tokenizer {kind, fingerprint (16 hex digits), path, vocab_size, pad_id},
 *   max_length, labels [names in id order],
 *   sources [{role "input"|"test", path, format, text_field, label_field,
 *             bytes, files, records, crc32 (8 hex digits)}],
 *   seed, split {fractions [train, validation, test], stratify,
 *                balance "none"|"undersample", balanced_out},
 *   splits {train|validation|test: {rows, truncated, class_rows [per label],
 *           files [{name, rows, bytes, crc32}]}},
 *   skipped {reason: count}.
 * A causal_lm dataset has "task": "causal_lm" after version, an object
 *   lm {mode "prompt_completion"|"text", completion_only_loss, eos_id,
 *       truncation "prompt_left"|"right", packing} after max_length,
 *   no labels; its sources name prompt_field and completion_field (text
 *   data: text_field), its splits {rows, examples, truncated, dropped,
 *   files} (no class_rows). A manifest without "task" is a classification
 *   one, which is why the classification writer leaves the key out.
 *
 * Design: the reader treats the file as hostile input. Every key is checked
 * for presence, type and range, and the message names the key by its path
 * ("manifest.json: key 'splits.train.files[0].rows': ..."); the counts are
 * checked against each other (files add up to their split, class rows to the
 * split's rows) and file names must be SPLIT-KKKKK-of-NNNNN.h5 of their own
 * split, so a manifest cannot point a reader outside its folder.
 * Not here: checking the shard files' bytes (shard_file_check does that). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_json.h"
#include "core/ft_unique.h"
#include "shard/shard.h"

enum { MAX_FILES_PER_SPLIT = 99999, MAX_LENGTH_LIMIT = 1 << 20 };
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: integers a JSON number holds exactly */

/* --- writing ------------------------------------------------------------- */

static void add_hex32(cJSON *obj, const char *key, uint32_t v)
{
    char hex[9];
    snprintf(hex, sizeof hex, "%08x", v);
    cJSON_AddStringToObject(obj, key, hex);
}

static cJSON *u64_array(const uint64_t *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static cJSON *tokenizer_json(const shard_manifest *m)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "kind", m->tokenizer_kind);
    cJSON_AddStringToObject(t, "fingerprint", m->tokenizer_fingerprint);
    cJSON_AddStringToObject(t, "path", m->tokenizer_path ? m->tokenizer_path : "");
    cJSON_AddNumberToObject(t, "vocab_size", m->vocab_size);
    cJSON_AddNumberToObject(t, "pad_id", m->pad_id);
    return t;
}

/* The names of a source's two field keys (the second NULL: none). */
static void field_keys(const shard_manifest *m, const char **k1, const char **k2)
{
    bool lm = m->task == SHARD_TASK_CAUSAL_LM, text = lm && !strcmp(m->lm_mode, "text");
    bool chat = lm && !strcmp(m->lm_mode, "messages");
    *k1 = chat ? "messages_field" : lm && !text ? "prompt_field" : "text_field";
    *k2 = text || chat ? NULL : lm ? "completion_field" : "label_field";
}

static cJSON *source_json(const shard_manifest *m, const shard_manifest_source *s)
{
    cJSON *o = cJSON_CreateObject();
    const char *k1, *k2;
    field_keys(m, &k1, &k2);
    cJSON_AddStringToObject(o, "role", s->role);
    cJSON_AddStringToObject(o, "path", s->path ? s->path : "");
    cJSON_AddStringToObject(o, "format", s->format);
    cJSON_AddStringToObject(o, k1, s->text_field ? s->text_field : "");
    if (k2) cJSON_AddStringToObject(o, k2, s->label_field ? s->label_field : "");
    cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
    cJSON_AddNumberToObject(o, "files", (double)s->files);
    cJSON_AddNumberToObject(o, "records", (double)s->records);
    add_hex32(o, "crc32", s->crc32);
    return o;
}

static cJSON *lm_json(const shard_manifest *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "mode", m->lm_mode);
    cJSON_AddBoolToObject(o, "completion_only_loss", m->completion_only_loss);
    cJSON_AddNumberToObject(o, "eos_id", m->eos_id);
    cJSON_AddStringToObject(o, "truncation", shard_truncation_name(m->truncation));
    cJSON_AddBoolToObject(o, "packing", m->packed);
    return o;
}

static cJSON *split_json(const shard_manifest *m, int split)
{
    cJSON *o = cJSON_CreateObject();
    bool lm = m->task == SHARD_TASK_CAUSAL_LM;
    cJSON_AddNumberToObject(o, "rows", (double)m->split_rows[split]);
    if (lm) cJSON_AddNumberToObject(o, "examples", (double)m->split_examples[split]);
    cJSON_AddNumberToObject(o, "truncated", (double)m->split_truncated[split]);
    if (lm)
        cJSON_AddNumberToObject(o, "dropped", (double)m->split_dropped[split]);
    else
        cJSON_AddItemToObject(
            o, "class_rows",
            u64_array(m->class_rows[split], m->class_rows[split] ? m->n_labels : 0));
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    for (int f = 0; f < m->n_files; f++) {
        if (m->files[f].split != split) continue;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", m->files[f].name);
        cJSON_AddNumberToObject(e, "rows", (double)m->files[f].rows);
        cJSON_AddNumberToObject(e, "bytes", (double)m->files[f].bytes);
        add_hex32(e, "crc32", m->files[f].crc32);
        cJSON_AddItemToArray(files, e);
    }
    return o;
}

char *shard_manifest_to_json(const shard_manifest *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", SHARD_FORMAT_NAME);
    cJSON_AddNumberToObject(root, "version", SHARD_FORMAT_VERSION);
    bool lm = m->task == SHARD_TASK_CAUSAL_LM;
    if (lm) cJSON_AddStringToObject(root, "task", shard_task_name(m->task));
    cJSON_AddItemToObject(root, "tokenizer", tokenizer_json(m));
    cJSON_AddNumberToObject(root, "max_length", m->max_length);
    if (lm)
        cJSON_AddItemToObject(root, "lm", lm_json(m));
    else
        cJSON_AddItemToObject(root, "labels",
                              cJSON_CreateStringArray((const char *const *)m->labels, m->n_labels));
    cJSON *sources = cJSON_AddArrayToObject(root, "sources");
    for (int s = 0; s < m->n_sources; s++)
        cJSON_AddItemToArray(sources, source_json(m, &m->sources[s]));
    cJSON_AddNumberToObject(root, "seed", (double)m->seed);
    cJSON *split = cJSON_AddObjectToObject(root, "split");
    cJSON_AddItemToObject(split, "fractions",
                          cJSON_CreateDoubleArray(m->fractions, SHARD_N_SPLITS));
    cJSON_AddBoolToObject(split, "stratify", m->stratify);
    cJSON_AddStringToObject(split, "balance", m->undersample ? "undersample" : "none");
    cJSON_AddNumberToObject(split, "balanced_out", (double)m->balanced_out);
    cJSON *splits = cJSON_AddObjectToObject(root, "splits");
    for (int s = 0; s < SHARD_N_SPLITS; s++)
        cJSON_AddItemToObject(splits, shard_split_name(s), split_json(m, s));
    cJSON *skipped = cJSON_AddObjectToObject(root, "skipped");
    for (int r = 0; r < m->n_skip_reasons; r++)
        cJSON_AddNumberToObject(skipped, m->skip_reasons[r], (double)m->skipped[r]);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return NULL;
    /* One trailing newline, in our own allocation (the caller uses free()). */
    size_t n = strlen(text);
    char *out = ft_malloc_array(n + 2, 1);
    if (out) {
        memcpy(out, text, n);
        memcpy(out + n, "\n", 2);
    }
    cJSON_free(text);
    return out;
}

/* --- reading ------------------------------------------------------------- */

/* Where we are: the file name for messages and the error to fill. */
typedef struct reader {
    const char *file;
    ft_error *err;
} reader;

static ft_status bad_key(const reader *r, const char *key, const char *expected, const cJSON *got)
{
    ft_json_src s = {r->file, FT_EFORMAT, r->err};
    return ft_json_bad(&s, key, got, expected);
}

static const cJSON *item(const cJSON *obj, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(obj, name);
}

/* key names a member of obj: "prefix.name" (or "name" at the top). */
static void key_path(char *buf, size_t size, const char *prefix, const char *name)
{
    snprintf(buf, size, "%s%s%s", prefix, *prefix ? "." : "", name);
}

static ft_status get_u64(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                         uint64_t max, uint64_t *out)
{
    char key[160];
    key_path(key, sizeof key, prefix, name);
    ft_json_src s = {r->file, FT_EFORMAT, r->err};
    int64_t v = 0;
    ft_status st = ft_json_int(&s, key, item(obj, name), 0,
                               (int64_t)(max < MAX_EXACT_INT ? max : MAX_EXACT_INT), &v);
    *out = (uint64_t)v;
    return st;
}

static ft_status get_i32(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                         int32_t min, int32_t max, int32_t *out)
{
    char key[160];
    key_path(key, sizeof key, prefix, name);
    ft_json_src s = {r->file, FT_EFORMAT, r->err};
    int64_t v = 0;
    ft_status st = ft_json_int(&s, key, item(obj, name), min, max, &v);
    *out = (int32_t)v;
    return st;
}

/* A string member: copied into buf (size bytes) or strdup'ed into *dup. */
static ft_status get_str(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                         char *buf, size_t size, char **dup)
{
    char key[160];
    key_path(key, sizeof key, prefix, name);
    const cJSON *v = item(obj, name);
    if (!cJSON_IsString(v) || (buf && strlen(v->valuestring) >= size)) {
        char what[64];
        snprintf(what, sizeof what, buf ? "a string of at most %zu bytes" : "a string", size - 1);
        return bad_key(r, key, what, v);
    }
    if (buf)
        snprintf(buf, size, "%s", v->valuestring);
    else if (!(*dup = ft_strdup(v->valuestring)))
        return ft_fail(r->err, FT_ENOMEM, "out of memory");
    return FT_OK;
}

static ft_status get_obj(const reader *r, const cJSON *obj, const char *prefix, const char *name,
                         const cJSON **out)
{
    char key[160];
    key_path(key, sizeof key, prefix, name);
    *out = item(obj, name);
    return cJSON_IsObject(*out) ? FT_OK : bad_key(r, key, "an object", *out);
}

static bool all_hex(const char *s, size_t n)
{
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return false;
    return true;
}

static ft_status get_hex32(const reader *r, const cJSON *obj, const char *prefix, uint32_t *out)
{
    char key[160], buf[16];
    key_path(key, sizeof key, prefix, "crc32");
    const cJSON *v = item(obj, "crc32");
    if (get_str(r, obj, prefix, "crc32", buf, sizeof buf, NULL) != FT_OK || !all_hex(buf, 8))
        return bad_key(r, key, "8 lower-case hex digits", v);
    *out = (uint32_t)strtoul(buf, NULL, 16);
    return FT_OK;
}

static ft_status read_tokenizer(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *t = NULL;
    ft_status st = get_obj(r, root, "", "tokenizer", &t);
    if (st == FT_OK)
        st = get_str(r, t, "tokenizer", "kind", m->tokenizer_kind, sizeof m->tokenizer_kind, NULL);
    if (st == FT_OK && strcmp(m->tokenizer_kind, "wordpiece") &&
        strcmp(m->tokenizer_kind, "byte_bpe"))
        st = bad_key(r, "tokenizer.kind", "\"wordpiece\" or \"byte_bpe\"", item(t, "kind"));
    if (st == FT_OK)
        st = get_str(r, t, "tokenizer", "fingerprint", m->tokenizer_fingerprint,
                     sizeof m->tokenizer_fingerprint, NULL);
    if (st == FT_OK && !all_hex(m->tokenizer_fingerprint, 16))
        st =
            bad_key(r, "tokenizer.fingerprint", "16 lower-case hex digits", item(t, "fingerprint"));
    if (st == FT_OK) st = get_str(r, t, "tokenizer", "path", NULL, 0, &m->tokenizer_path);
    if (st == FT_OK) st = get_i32(r, t, "tokenizer", "vocab_size", 1, INT32_MAX, &m->vocab_size);
    if (st == FT_OK) st = get_i32(r, t, "tokenizer", "pad_id", 0, m->vocab_size - 1, &m->pad_id);
    if (st == FT_OK) st = get_i32(r, root, "", "max_length", 1, MAX_LENGTH_LIMIT, &m->max_length);
    return st;
}

/* Sorted, not pairwise (ft_unique.h): SHARD_MAX_LABELS names would take
 * 5 * 10^9 strcmp calls. Names labels[i], the first repeat in order. */
static ft_status check_distinct_labels(const reader *r, const cJSON *a, const shard_manifest *m)
{
    bool found = false;
    size_t first = 0, second = 0;
    if (ft_find_repeat((const char *const *)m->labels, (size_t)m->n_labels, &found, &first,
                       &second) != FT_OK)
        return ft_fail(r->err, FT_ENOMEM, "out of memory");
    if (!found) return FT_OK;
    char key[32];
    snprintf(key, sizeof key, "labels[%zu]", second);
    return bad_key(r, key, "a name not already in 'labels'", cJSON_GetArrayItem(a, (int)second));
}

static ft_status read_labels(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *a = item(root, "labels");
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    if (n < 1 || n > SHARD_MAX_LABELS) {
        char what[64];
        snprintf(what, sizeof what, "a non-empty array of at most %d label names",
                 SHARD_MAX_LABELS);
        return bad_key(r, "labels", what, a);
    }
    if (!(m->labels = ft_calloc_array((size_t)n, sizeof *m->labels)))
        return ft_fail(r->err, FT_ENOMEM, "out of memory");
    m->n_labels = n;
    int i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        char key[32];
        snprintf(key, sizeof key, "labels[%d]", i);
        if (!cJSON_IsString(v) || !v->valuestring[0])
            return bad_key(r, key, "a non-empty string", v);
        if (!(m->labels[i] = ft_strdup(v->valuestring)))
            return ft_fail(r->err, FT_ENOMEM, "out of memory");
    }
    return check_distinct_labels(r, a, m);
}

static ft_status read_source(const reader *r, const shard_manifest *m, const cJSON *o,
                             const char *key, shard_manifest_source *s)
{
    const char *k1, *k2;
    field_keys(m, &k1, &k2);
    if (!cJSON_IsObject(o)) return bad_key(r, key, "an object", o);
    ft_status st = get_str(r, o, key, "role", s->role, sizeof s->role, NULL);
    if (st == FT_OK && strcmp(s->role, "input") && strcmp(s->role, "test"))
        st = bad_key(r, key, "a role \"input\" or \"test\"", item(o, "role"));
    if (st == FT_OK) st = get_str(r, o, key, "path", NULL, 0, &s->path);
    if (st == FT_OK) st = get_str(r, o, key, "format", s->format, sizeof s->format, NULL);
    if (st == FT_OK) st = get_str(r, o, key, k1, NULL, 0, &s->text_field);
    if (st == FT_OK && k2) st = get_str(r, o, key, k2, NULL, 0, &s->label_field);
    if (st == FT_OK) st = get_u64(r, o, key, "bytes", UINT64_MAX, &s->bytes);
    if (st == FT_OK) st = get_u64(r, o, key, "files", UINT64_MAX, &s->files);
    if (st == FT_OK) st = get_u64(r, o, key, "records", UINT64_MAX, &s->records);
    if (st == FT_OK) st = get_hex32(r, o, key, &s->crc32);
    return st;
}

static ft_status read_sources(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *a = item(root, "sources");
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 1 || n > 2) return bad_key(r, "sources", "an array of 1 or 2 sources", a);
    ft_status st = FT_OK;
    for (int i = 0; st == FT_OK && i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "sources[%d]", i);
        m->n_sources = i + 1;
        st = read_source(r, m, cJSON_GetArrayItem(a, i), key, &m->sources[i]);
    }
    return st;
}

static ft_status read_split_options(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *s = NULL, *fr = NULL, *b = NULL;
    ft_status st = get_u64(r, root, "", "seed", UINT64_MAX, &m->seed);
    if (st == FT_OK) st = get_obj(r, root, "", "split", &s);
    if (st != FT_OK) return st;
    fr = item(s, "fractions");
    double sum = 0;
    bool ok = cJSON_IsArray(fr) && cJSON_GetArraySize(fr) == SHARD_N_SPLITS;
    for (int k = 0; ok && k < SHARD_N_SPLITS; k++) {
        const cJSON *v = cJSON_GetArrayItem(fr, k);
        ok = cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1;
        if (ok) sum += m->fractions[k] = v->valuedouble;
    }
    if (!ok || fabs(sum - 1) > 1e-6)
        return bad_key(r, "split.fractions", "3 numbers in [0, 1] adding up to 1", fr);
    b = item(s, "stratify");
    if (!cJSON_IsBool(b)) return bad_key(r, "split.stratify", "true or false", b);
    m->stratify = cJSON_IsTrue(b);
    b = item(s, "balance");
    if (!cJSON_IsString(b) ||
        (strcmp(b->valuestring, "none") && strcmp(b->valuestring, "undersample")))
        return bad_key(r, "split.balance", "\"none\" or \"undersample\"", b);
    m->undersample = !strcmp(b->valuestring, "undersample");
    return get_u64(r, s, "split", "balanced_out", UINT64_MAX, &m->balanced_out);
}

/* "SPLIT-KKKKK-of-NNNNN.h5" of this split, K == index, N == count. */
static bool file_name_ok(const char *name, int split, int index, int count)
{
    char want[64];
    shard_plan_file f = {split, index, count, 0};
    shard_file_name(&f, want, sizeof want);
    return !strcmp(name, want);
}

static ft_status read_files(const reader *r, const cJSON *a, const char *key, int split,
                            shard_manifest *m, uint64_t *rows_sum)
{
    int n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : -1;
    if (n < 0 || n > MAX_FILES_PER_SPLIT) return bad_key(r, key, "an array of files", a);
    shard_manifest_file *grown =
        ft_realloc_array(m->files, (size_t)(m->n_files + n) + 1, sizeof *grown);
    if (!grown) return ft_fail(r->err, FT_ENOMEM, "out of memory");
    m->files = grown;
    ft_status st = FT_OK;
    for (int i = 0; st == FT_OK && i < n; i++) {
        const cJSON *o = cJSON_GetArrayItem(a, i);
        char fkey[112];
        snprintf(fkey, sizeof fkey, "%s[%d]", key, i);
        shard_manifest_file *f = &m->files[m->n_files];
        memset(f, 0, sizeof *f);
        f->split = split;
        if (!cJSON_IsObject(o)) return bad_key(r, fkey, "an object", o);
        st = get_str(r, o, fkey, "name", f->name, sizeof f->name, NULL);
        char nkey[128];
        key_path(nkey, sizeof nkey, fkey, "name");
        if (st == FT_OK && !file_name_ok(f->name, split, i, n))
            st =
                bad_key(r, nkey, "the file name SPLIT-KKKKK-of-NNNNN.h5 of this split and position",
                        item(o, "name"));
        if (st == FT_OK) st = get_u64(r, o, fkey, "rows", UINT64_MAX, &f->rows);
        if (st == FT_OK && f->rows == 0)
            st = bad_key(r, nkey, "a file with at least one row", item(o, "rows"));
        if (st == FT_OK) st = get_u64(r, o, fkey, "bytes", UINT64_MAX, &f->bytes);
        if (st == FT_OK) st = get_hex32(r, o, fkey, &f->crc32);
        if (st == FT_OK) {
            *rows_sum += f->rows;
            m->n_files++;
        }
    }
    return st;
}

/* The files of a split, adding up to its rows. */
static ft_status read_split_files(const reader *r, const cJSON *o, const char *key, int split,
                                  shard_manifest *m)
{
    char fkey[96];
    key_path(fkey, sizeof fkey, key, "files");
    uint64_t rows_sum = 0;
    ft_status st = read_files(r, item(o, "files"), fkey, split, m, &rows_sum);
    if (st == FT_OK && rows_sum != m->split_rows[split])
        st = bad_key(r, fkey, "files whose rows add up to the split's 'rows'", item(o, "files"));
    return st;
}

/* A causal_lm split: rows (of the files), examples in them (a packed row
 * holds one or more), truncated (at most the examples), dropped. */
static ft_status read_lm_split(const reader *r, const cJSON *o, const char *key, int split,
                               shard_manifest *m, ft_status st)
{
    if (st == FT_OK) st = get_u64(r, o, key, "examples", UINT64_MAX, &m->split_examples[split]);
    if (st == FT_OK && m->split_examples[split] < m->split_rows[split])
        st = bad_key(r, key, "at least as many 'examples' as 'rows'", item(o, "examples"));
    if (st == FT_OK)
        st = get_u64(r, o, key, "truncated", m->split_examples[split], &m->split_truncated[split]);
    if (st == FT_OK) st = get_u64(r, o, key, "dropped", UINT64_MAX, &m->split_dropped[split]);
    return st == FT_OK ? read_split_files(r, o, key, split, m) : st;
}

static ft_status read_split(const reader *r, const cJSON *splits, int split, shard_manifest *m)
{
    const char *name = shard_split_name(split);
    char key[64];
    snprintf(key, sizeof key, "splits.%s", name);
    const cJSON *o = NULL;
    ft_status st = get_obj(r, splits, "splits", name, &o);
    if (st == FT_OK) st = get_u64(r, o, key, "rows", UINT64_MAX, &m->split_rows[split]);
    if (m->task == SHARD_TASK_CAUSAL_LM) return read_lm_split(r, o, key, split, m, st);
    if (st == FT_OK)
        st = get_u64(r, o, key, "truncated", m->split_rows[split], &m->split_truncated[split]);
    if (st != FT_OK) return st;
    char ckey[96];
    key_path(ckey, sizeof ckey, key, "class_rows");
    const cJSON *cr = item(o, "class_rows");
    if (!cJSON_IsArray(cr) || cJSON_GetArraySize(cr) != m->n_labels)
        return bad_key(r, ckey, "one row count per label", cr);
    if (!(m->class_rows[split] = ft_calloc_array((size_t)m->n_labels, sizeof(uint64_t))))
        return ft_fail(r->err, FT_ENOMEM, "out of memory");
    uint64_t sum = 0;
    int i = 0;
    for (const cJSON *v = cr->child; v; v = v->next, i++) {
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (!(d >= 0 && d == floor(d) && d <= MAX_EXACT_INT))
            return bad_key(r, ckey, "non-negative integers", cr);
        sum += m->class_rows[split][i] = (uint64_t)d;
    }
    if (sum != m->split_rows[split])
        return bad_key(r, ckey, "counts adding up to the split's 'rows'", cr);
    return read_split_files(r, o, key, split, m);
}

static ft_status read_skipped(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *o = NULL;
    ft_status st = get_obj(r, root, "", "skipped", &o);
    if (st != FT_OK) return st;
    int n = cJSON_GetArraySize(o);
    m->skip_reasons = ft_calloc_array((size_t)n + 1, sizeof *m->skip_reasons);
    m->skipped = ft_calloc_array((size_t)n + 1, sizeof *m->skipped);
    if (!m->skip_reasons || !m->skipped) return ft_fail(r->err, FT_ENOMEM, "out of memory");
    for (const cJSON *v = o->child; v && st == FT_OK; v = v->next) {
        st = get_u64(r, o, "skipped", v->string, UINT64_MAX, &m->skipped[m->n_skip_reasons]);
        if (st == FT_OK && !(m->skip_reasons[m->n_skip_reasons] = ft_strdup(v->string)))
            st = ft_fail(r->err, FT_ENOMEM, "out of memory");
        if (st == FT_OK) m->n_skip_reasons++;
    }
    return st;
}

/* "task": absent or "sequence_classification" (classification), or
 * "causal_lm". */
static ft_status read_task(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *t = item(root, "task");
    m->task = SHARD_TASK_CLASSIFICATION;
    if (!t) return FT_OK;
    if (!cJSON_IsString(t) || shard_task_of_name(t->valuestring) < 0)
        return bad_key(r, "task", "\"sequence_classification\" or \"causal_lm\"", t);
    m->task = shard_task_of_name(t->valuestring);
    return FT_OK;
}

static ft_status get_bool(const reader *r, const cJSON *obj, const char *key, const char *name,
                          bool *out)
{
    const cJSON *v = item(obj, name);
    char k[64];
    key_path(k, sizeof k, key, name);
    if (!cJSON_IsBool(v)) return bad_key(r, k, "true or false", v);
    *out = cJSON_IsTrue(v);
    return FT_OK;
}

/* The lm object of a causal_lm manifest. */
static ft_status read_lm(const reader *r, const cJSON *root, shard_manifest *m)
{
    const cJSON *o = NULL;
    ft_status st = get_obj(r, root, "", "lm", &o);
    if (st == FT_OK) st = get_str(r, o, "lm", "mode", m->lm_mode, sizeof m->lm_mode, NULL);
    if (st == FT_OK && strcmp(m->lm_mode, "prompt_completion") && strcmp(m->lm_mode, "text") &&
        strcmp(m->lm_mode, "messages"))
        st = bad_key(r, "lm.mode", "\"prompt_completion\", \"text\" or \"messages\"",
                     item(o, "mode"));
    if (st == FT_OK) st = get_bool(r, o, "lm", "completion_only_loss", &m->completion_only_loss);
    if (st == FT_OK) st = get_i32(r, o, "lm", "eos_id", -1, m->vocab_size - 1, &m->eos_id);
    const cJSON *t = item(o, "truncation");
    if (st == FT_OK && (!cJSON_IsString(t) || shard_truncation_of_name(t->valuestring) < 0))
        st = bad_key(r, "lm.truncation", "\"prompt_left\" or \"right\"", t);
    if (st == FT_OK) m->truncation = shard_truncation_of_name(t->valuestring);
    if (st == FT_OK) st = get_bool(r, o, "lm", "packing", &m->packed);
    return st;
}

static ft_status read_root(const reader *r, const cJSON *root, shard_manifest *m)
{
    if (!cJSON_IsObject(root))
        return ft_fail(r->err, FT_EFORMAT, "%s: expected a JSON object", r->file);
    const cJSON *f = item(root, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, SHARD_FORMAT_NAME))
        return bad_key(r, "format", "\"" SHARD_FORMAT_NAME "\" (not an ftune dataset manifest?)",
                       f);
    int32_t version = 0;
    ft_status st = get_i32(r, root, "", "version", 0, INT32_MAX, &version);
    if (st == FT_OK && version != SHARD_FORMAT_VERSION)
        return ft_fail(r->err, FT_EFORMAT,
                       "%s: key 'version': this build reads format version %d, the dataset "
                       "has %d (prepare it again with this build's ftune-shard)",
                       r->file, SHARD_FORMAT_VERSION, version);
    if (st == FT_OK) st = read_task(r, root, m);
    if (st == FT_OK) st = read_tokenizer(r, root, m);
    if (st == FT_OK && m->task == SHARD_TASK_CAUSAL_LM)
        st = read_lm(r, root, m);
    else if (st == FT_OK)
        st = read_labels(r, root, m);
    if (st == FT_OK) st = read_sources(r, root, m);
    if (st == FT_OK) st = read_split_options(r, root, m);
    const cJSON *splits = NULL;
    if (st == FT_OK) st = get_obj(r, root, "", "splits", &splits);
    for (int s = 0; st == FT_OK && s < SHARD_N_SPLITS; s++) st = read_split(r, splits, s, m);
    if (st == FT_OK) st = read_skipped(r, root, m);
    return st;
}

/* 1-based line of byte offset off in text. */
static int line_of(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && text[i]; i++) line += text[i] == '\n';
    return line;
}

ft_status shard_manifest_read(const char *dir, shard_manifest *m, ft_error *err)
{
    memset(m, 0, sizeof *m);
    char *path = ft_path_join(dir, "manifest.json"), *text = NULL;
    size_t len = 0;
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = ft_read_file(path, &text, &len, err);
    cJSON *root = NULL;
    if (st == FT_OK && !(root = cJSON_ParseWithLength(text, len))) {
        const char *at = cJSON_GetErrorPtr();
        st = ft_fail(err, FT_EFORMAT, "%s:%d: not valid JSON", path,
                     at && at >= text && at <= text + len ? line_of(text, (size_t)(at - text)) : 1);
    }
    if (st == FT_OK) st = read_root(&(reader){path, err}, root, m);
    cJSON_Delete(root);
    free(text);
    free(path);
    if (st != FT_OK) shard_manifest_free(m);
    return st;
}

void shard_manifest_free(shard_manifest *m)
{
    if (!m) return;
    free(m->tokenizer_path);
    for (int i = 0; i < m->n_labels && m->labels; i++) free(m->labels[i]);
    free(m->labels);
    for (int s = 0; s < 2; s++) {
        free(m->sources[s].path);
        free(m->sources[s].text_field);
        free(m->sources[s].label_field);
    }
    for (int s = 0; s < SHARD_N_SPLITS; s++) free(m->class_rows[s]);
    free(m->files);
    for (int r = 0; r < m->n_skip_reasons && m->skip_reasons; r++) free(m->skip_reasons[r]);
    free(m->skip_reasons);
    free(m->skipped);
    memset(m, 0, sizeof *m);
}
