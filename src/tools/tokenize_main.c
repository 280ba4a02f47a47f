/* ftune-tokenize: a model folder's tokenizer on the command line.
 *
 * Texts one per line (or JSON lines with --field) in, one JSON array of ids
 * per line out; --decode the other way. The same code path as ftune-shard,
 * so it shows exactly what a model will see. A thin shell over tok.h: the
 * only logic here is reading lines and writing JSON.
 *
 * Not done: batching several files, offsets, pairs of texts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/ft_alloc.h"
#include "tok/tok.h"

static const char USAGE[] =
    "usage: ftune-tokenize --model DIR [--field NAME] [--max-length N] [--decode]\n"
    "                      [--keep-special] [FILE|-]\n"
    "  Texts, one per line (JSON lines with --field NAME: the string field NAME),\n"
    "  become one JSON array of token ids per line: the ids without special tokens,\n"
    "  or with --max-length N the model input ([CLS] .. [SEP] for BERT), truncated\n"
    "  and padded to N ids. --decode reads JSON arrays of ids and prints texts (one\n"
    "  per line, or {\"NAME\": text} lines with --field); special tokens are left out\n"
    "  unless --keep-special. DIR holds tokenizer.json, vocab.txt or vocab.json +\n"
    "  merges.txt. Reads FILE, or standard input when FILE is - or absent.\n"
    "  Exit status: 0 done, 1 system failure, 2 bad usage or input (file:line).\n";

typedef struct opts {
    const char *model, *field, *input;
    long max_length; /* 0: no framing */
    bool decode, keep_special;
} opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ftune-tokenize: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return 2;
}

/* 0 parsed, 1 help printed, 2 usage error. */
static int parse_args(int argc, char **argv, opts *o)
{
    *o = (opts){NULL, NULL, "-", 0, false, false};
    bool have_input = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value =
            !strcmp(a, "--model") || !strcmp(a, "--field") || !strcmp(a, "--max-length");
        if (has_value && i + 1 >= argc) return usage_error("%s needs a value", a);
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            return 1;
        } else if (!strcmp(a, "--model")) {
            o->model = argv[++i];
        } else if (!strcmp(a, "--field")) {
            o->field = argv[++i];
        } else if (!strcmp(a, "--max-length")) {
            char *end;
            errno = 0;
            o->max_length = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || o->max_length < 1 || o->max_length > 1 << 20)
                return usage_error("--max-length: expected an integer in [1, 1048576], got \"%s\"",
                                   argv[i]);
        } else if (!strcmp(a, "--decode")) {
            o->decode = true;
        } else if (!strcmp(a, "--keep-special")) {
            o->keep_special = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option %s", a);
        } else if (have_input) {
            return usage_error("more than one input file (%s)", a);
        } else {
            o->input = a;
            have_input = true;
        }
    }
    if (!o->model) return usage_error("%s", "--model DIR is required");
    return 0;
}

/* ---- one line each way ----------------------------------------------------- */

static void print_ids(const int32_t *ids, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) printf(i ? ",%ld" : "%ld", (long)ids[i]);
    puts("]");
}

/* Whether a JSON line holds the escape \u0000, which cJSON's C strings
 * would silently cut the text at. */
static bool has_nul_escape(const char *line, size_t len)
{
    for (size_t i = 0; i + 6 <= len; i++) {
        if (line[i] != '\\' || memcmp(line + i + 1, "u0000", 5)) continue;
        size_t slashes = 0;
        while (slashes < i + 1 && line[i - slashes] == '\\') slashes++;
        if (slashes % 2) return true;
    }
    return false;
}

/* The text of one input line: the line itself or its JSON field. *json is
 * the parsed line the text points into (caller deletes). */
static ft_status line_text(const opts *o, const char *line, size_t len, cJSON **json,
                           const char **text, size_t *text_len, ft_error *err)
{
    *json = NULL;
    if (!o->field) {
        *text = line;
        *text_len = len;
        return FT_OK;
    }
    *json = cJSON_ParseWithLength(line, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(*json, o->field);
    if (!*json) return ft_fail(err, FT_EINVAL, "not a JSON object");
    if (!cJSON_IsString(v))
        return ft_fail(err, FT_EINVAL, "field '%s' is missing or not a string", o->field);
    if (has_nul_escape(line, len))
        return ft_fail(err, FT_EINVAL,
                       "the line holds \\u0000, which ftune-tokenize cannot "
                       "pass on (remove it or use plain-text input)");
    *text = v->valuestring;
    *text_len = strlen(v->valuestring);
    return FT_OK;
}

static ft_status encode_line(tok_tokenizer *t, const opts *o, const char *line, size_t len,
                             tok_ids *ids, int32_t *model, ft_error *err)
{
    cJSON *json = NULL;
    const char *text = NULL;
    size_t text_len = 0;
    ft_status st = line_text(o, line, len, &json, &text, &text_len, err);
    if (st == FT_OK && o->max_length) {
        int32_t length;
        bool truncated;
        st = tok_encode_for_model(t, text, text_len, (int32_t)o->max_length, model, &length,
                                  &truncated, err);
        if (st == FT_OK) print_ids(model, (size_t)o->max_length);
    } else if (st == FT_OK) {
        ids->len = 0;
        st = tok_encode(t, text, text_len, ids, err);
        if (st == FT_OK) print_ids(ids->ids, ids->len);
    }
    cJSON_Delete(json);
    return st;
}

/* A JSON array of integer ids into ids. */
static ft_status parse_ids(const char *line, size_t len, tok_ids *ids, ft_error *err)
{
    cJSON *json = cJSON_ParseWithLength(line, len);
    size_t n = cJSON_IsArray(json) ? (size_t)cJSON_GetArraySize(json) : 0;
    ft_status st =
        cJSON_IsArray(json) ? FT_OK : ft_fail(err, FT_EINVAL, "expected a JSON array of ids");
    if (st == FT_OK && n > ids->cap) {
        int32_t *grown = ft_realloc_array(ids->ids, n, sizeof *grown);
        if (grown) {
            ids->ids = grown;
            ids->cap = n;
        } else {
            st = ft_fail(err, FT_ENOMEM, "out of memory for %zu ids", n);
        }
    }
    ids->len = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, json)
    {
        if (st != FT_OK) break;
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= INT32_MIN && e->valuedouble <= INT32_MAX) ||
            e->valuedouble != (double)(int32_t)e->valuedouble)
            st = ft_fail(err, FT_EINVAL, "expected integer ids in the array");
        else
            ids->ids[ids->len++] = (int32_t)e->valuedouble;
    }
    cJSON_Delete(json);
    return st;
}

static ft_status decode_line(tok_tokenizer *t, const opts *o, const char *line, size_t len,
                             tok_ids *ids, ft_error *err)
{
    char *text = NULL;
    size_t text_len = 0;
    ft_status st = parse_ids(line, len, ids, err);
    if (st == FT_OK)
        st = tok_decode(t, ids->ids, ids->len, !o->keep_special, &text, &text_len, err);
    if (st != FT_OK) return st;
    if (o->field) {
        cJSON *obj = cJSON_CreateObject();
        char *json = NULL;
        if (obj && cJSON_AddStringToObject(obj, o->field, text)) json = cJSON_PrintUnformatted(obj);
        if (json)
            puts(json);
        else
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        free(json);
        cJSON_Delete(obj);
    } else {
        fwrite(text, 1, text_len, stdout);
        putchar('\n');
    }
    free(text);
    return st;
}

/* ---- the loop ------------------------------------------------------------ */

static ft_status run(tok_tokenizer *t, const opts *o, FILE *in, const char *name, ft_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    tok_ids ids = {0};
    int32_t *model = o->max_length ? ft_malloc_array((size_t)o->max_length, sizeof *model) : NULL;
    ft_status st = (o->max_length && !model) ? ft_fail(err, FT_ENOMEM, "out of memory") : FT_OK;
    long lineno = 0;
    ssize_t got;
    while (st == FT_OK && (got = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        st = o->decode ? decode_line(t, o, line, len, &ids, err)
                       : encode_line(t, o, line, len, &ids, model, err);
        if (st != FT_OK) ft_error_prefix(err, "%s:%ld", name, lineno);
    }
    if (st == FT_OK && ferror(in))
        st = ft_fail(err, FT_EIO, "%s: read failed: %s", name, strerror(errno));
    free(line);
    free(model);
    tok_ids_free(&ids);
    return st;
}

int main(int argc, char **argv)
{
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    ft_error err;
    tok_tokenizer *t = NULL;
    ft_status st = tok_open(o.model, &t, &err);
    bool from_stdin = !strcmp(o.input, "-");
    FILE *in = NULL;
    if (st == FT_OK) {
        in = from_stdin ? stdin : fopen(o.input, "rb");
        if (!in)
            st = ft_fail(&err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "%s: cannot open: %s",
                         o.input, strerror(errno));
    }
    static char out_buf[1 << 16];
    setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
    if (st == FT_OK) st = run(t, &o, in, from_stdin ? "<stdin>" : o.input, &err);
    if (in && !from_stdin) fclose(in);
    if (fflush(stdout) != 0 && st == FT_OK)
        st = ft_fail(&err, FT_EIO, "writing the output failed: %s", strerror(errno));
    tok_close(t);
    if (st != FT_OK) fprintf(stderr, "ftune-tokenize: %s\n", err.msg);
    return ft_status_exit_code(st);
}
