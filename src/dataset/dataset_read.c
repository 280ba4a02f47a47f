/* dataset_read: the records of one part of a source.
 *
 * Design: a line-based part [a, b) starts at the first record boundary at or
 * after a, given the quote parity and line number at a from the parts before
 * it (dataset_prefix), and reads every record that starts before b, even when
 * it ends after b. So the union of the parts is exactly the sequence one
 * reader sees, for any number of parts.
 * Not here: parsing a record (dataset_parse.c). */
#include <stdlib.h>
#include <string.h>

#include "dataset_impl.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"

void dataset_cursor_align(const dataset_source *src, dataset_cursor *c)
{
    if (c->pos == 0 || c->pos >= src->size) return;
    if (src->data[c->pos - 1] == '\n' && !c->quoted) return;
    const char *d = src->data;
    size_t i = c->pos;
    if (!src->quoting) {
        const char *nl = memchr(d + i, '\n', src->size - i);
        c->pos = nl ? (size_t)(nl - d) + 1 : src->size;
        c->line += nl != NULL;
        return;
    }
    for (; i < src->size; i++) {
        if (d[i] == '"')
            c->quoted ^= 1;
        else if (d[i] == '\n') {
            c->line++;
            if (!c->quoted) {
                i++;
                break;
            }
        }
    }
    c->pos = i;
}

void dataset_cursor_next(const dataset_source *src, dataset_cursor *c, dataset_raw *raw)
{
    const char *d = src->data;
    size_t start = c->pos, end = start;
    uint64_t line = c->line;
    if (!src->quoting) {
        const char *nl = memchr(d + start, '\n', src->size - start);
        end = nl ? (size_t)(nl - d) : src->size;
        c->line += nl != NULL;
    } else {
        for (; end < src->size; end++) {
            if (d[end] == '"')
                c->quoted ^= 1;
            else if (d[end] == '\n') {
                c->line++;
                if (!c->quoted) break;
            }
        }
    }
    c->pos = end < src->size ? end + 1 : src->size;
    size_t len = end - start;
    if (start == 0 && len >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) { /* a byte-order mark */
        start += 3;
        len -= 3;
    }
    if (len && d[start + len - 1] == '\r') len--;
    *raw = (dataset_raw){d + start, len, line, 0};
    /* White space alone is a blank line, not a record. */
    size_t k = 0;
    while (k < len && strchr(" \t\r", raw->bytes[k])) k++;
    if (k == len) raw->len = 0;
}

static ft_status read_lines(dataset_source *src, int part, int n_parts,
                            const dataset_prefix *prefix, dataset_records *out, ft_error *err)
{
    size_t a = (size_t)((unsigned __int128)src->size * (unsigned)part / (unsigned)n_parts);
    size_t b = (size_t)((unsigned __int128)src->size * (unsigned)(part + 1) / (unsigned)n_parts);
    if (a >= b) return FT_OK;
    /* The texts and labels of a part take at most its bytes (unescaping only
     * shrinks): one allocation instead of a doubling series of copies. */
    if (out->arena_cap < b - a + 4096) {
        char *grown = ft_realloc_array(out->arena, b - a + 4096, 1);
        if (grown) {
            out->arena = grown;
            out->arena_cap = b - a + 4096;
        }
    }
    dataset_cursor c = {a, src->quoting ? prefix->quotes_odd : 0, prefix->newlines + 1};
    dataset_cursor_align(src, &c);
    dataset_fields scratch = {0};
    ft_status st = FT_OK;
    while (st == FT_OK && c.pos < b) {
        bool header = c.pos == 0 && src->has_header;
        dataset_raw raw;
        dataset_cursor_next(src, &c, &raw);
        if (!header && raw.len) st = dataset_parse_record(src, &raw, &scratch, out, err);
    }
    dataset_fields_free(&scratch);
    return st;
}

static ft_status read_elements(dataset_source *src, int part, int n_parts, dataset_records *out,
                               ft_error *err)
{
    size_t first = src->n_elems * (size_t)part / (size_t)n_parts;
    size_t last = src->n_elems * (size_t)(part + 1) / (size_t)n_parts;
    ft_status st = FT_OK;
    for (size_t i = first; st == FT_OK && i < last; i++) {
        dataset_raw raw = {src->data + src->elem_off[i], src->elem_len[i], src->elem_line[i], 0};
        st = dataset_parse_record(src, &raw, NULL, out, err);
    }
    return st;
}

static ft_status read_files(dataset_source *src, int part, int n_parts, dataset_records *out,
                            ft_error *err)
{
    size_t first = src->n_files * (size_t)part / (size_t)n_parts;
    size_t last = src->n_files * (size_t)(part + 1) / (size_t)n_parts;
    ft_status st = FT_OK;
    for (size_t i = first; st == FT_OK && i < last; i++) {
        char *data = NULL;
        size_t len = 0;
        st = ft_read_file(src->files[i], &data, &len, err);
        dataset_raw raw = {data, len, 1, (uint32_t)i};
        if (st == FT_OK) st = dataset_parse_record(src, &raw, NULL, out, err);
        free(data);
    }
    return st;
}

ft_status dataset_read_part(dataset_source *src, int part, int n_parts,
                            const dataset_prefix *prefix, dataset_records *out, ft_error *err)
{
    out->n = 0;
    out->arena_len = 0;
    out->bad_count = 0;
    out->first_bad = 0;
    out->first_bad_msg[0] = '\0';
    if (part < 0 || part >= n_parts) return ft_fail(err, FT_EINVAL, "part %d of %d", part, n_parts);
    switch (src->format) {
    case DATASET_JSON: return read_elements(src, part, n_parts, out, err);
    case DATASET_FOLDER: return read_files(src, part, n_parts, out, err);
    default: return read_lines(src, part, n_parts, prefix, out, err);
    }
}
