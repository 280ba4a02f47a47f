/* dataset: opening a source (see dataset.h): the format from the name and
 * the first bytes, the file list of a folder, the element boundaries of a
 * JSON array, and the per-part statistics (newlines, quote parity, crc32).
 *
 * Design: a single file is mmap'ed read-only, so each rank touches only the
 * pages of its own part and nothing is copied until a record is parsed. A
 * folder's files are listed once (sorted by byte order, not locale), so every
 * rank sees the same numbering.
 * Not here: parsing records (dataset_parse.c), walking a part (dataset_read.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset_impl.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"

static const char *const REASON_NAMES[DATASET_N_REASONS] = {
    "ok",           "malformed_json", "malformed_csv", "invalid_utf8",
    "missing_text", "empty_text",     "missing_label", "missing_completion"};

const char *dataset_reason_name(dataset_reason r)
{
    return (unsigned)r < DATASET_N_REASONS ? REASON_NAMES[r] : "unknown";
}

static const char *const FORMAT_NAMES[] = {"auto", "jsonl", "json", "csv", "tsv", "folder"};

const char *dataset_format_name(dataset_format f)
{
    return (unsigned)f <= DATASET_FOLDER ? FORMAT_NAMES[f] : "unknown";
}

bool dataset_format_parse(const char *name, dataset_format *out)
{
    for (int f = DATASET_AUTO; f <= DATASET_FOLDER; f++) {
        if (!strcmp(name, FORMAT_NAMES[f])) {
            *out = (dataset_format)f;
            return true;
        }
    }
    return false;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

/* From the name first, then the first bytes. */
static dataset_format sniff_format(const dataset_source *src)
{
    const char *p = src->path;
    if (has_suffix(p, ".jsonl") || has_suffix(p, ".ndjson")) return DATASET_JSONL;
    if (has_suffix(p, ".csv")) return DATASET_CSV;
    if (has_suffix(p, ".tsv") || has_suffix(p, ".tab")) return DATASET_TSV;
    size_t i = 0;
    if (src->size >= 3 && !memcmp(src->data, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < src->size && strchr(" \t\r\n", src->data[i])) i++;
    char first = i < src->size ? src->data[i] : '\0';
    if (first == '[') return DATASET_JSON;
    if (first == '{' || has_suffix(p, ".json")) return DATASET_JSONL;
    /* An empty file is not mapped (data is NULL, and memchr(NULL, c, 0) is
     * undefined): CSV, whose detection then stops with "FILE:1: the file
     * is empty". */
    if (src->size == 0) return DATASET_CSV;
    const char *nl = memchr(src->data, '\n', src->size);
    size_t line_len = nl ? (size_t)(nl - src->data) : src->size;
    return memchr(src->data, '\t', line_len) ? DATASET_TSV : DATASET_CSV;
}

static ft_status map_file(dataset_source *src, ft_error *err)
{
    int fd = open(src->path, O_RDONLY);
    if (fd < 0)
        return ft_fail(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "%s: cannot open: %s",
                       src->path, strerror(errno));
    struct stat sb;
    ft_status st = FT_OK;
    if (fstat(fd, &sb) != 0) {
        st = ft_fail(err, FT_EIO, "%s: cannot stat: %s", src->path, strerror(errno));
    } else if (sb.st_size > 0) {
        void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
            st = ft_fail(err, FT_EIO, "%s: cannot map: %s", src->path, strerror(errno));
        else {
            src->data = m;
            src->size = (size_t)sb.st_size;
            madvise(m, src->size, MADV_SEQUENTIAL);
        }
    }
    close(fd);
    src->n_files = 1;
    return st;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entries of dir of one kind (folders or regular files), sorted. */
static ft_status list_dir(const char *dir, bool want_dirs, char ***names, size_t *n, ft_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return ft_fail(err, FT_EIO, "%s: cannot list: %s", dir, strerror(errno));
    ft_status st = FT_OK;
    size_t cap = 0;
    struct dirent *e;
    while (st == FT_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *full = ft_path_join(dir, e->d_name);
        struct stat sb;
        bool keep =
            full && stat(full, &sb) == 0 && (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
        free(full);
        if (!keep) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = ft_realloc_array(*names, cap, sizeof *grown);
            if (!grown) {
                st = ft_fail(err, FT_ENOMEM, "%s: out of memory listing", dir);
                break;
            }
            *names = grown;
        }
        if (!((*names)[*n] = ft_strdup(e->d_name)))
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, cmp_names);
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* Appends the files of one class folder to src's lists. */
static ft_status add_class_files(dataset_source *src, size_t c, size_t *cap, ft_error *err)
{
    char *dir = ft_path_join(src->path, src->classes[c]);
    char **names = NULL;
    size_t n = 0;
    ft_status st =
        dir ? list_dir(dir, false, &names, &n, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    for (size_t i = 0; st == FT_OK && i < n; i++) {
        if (src->n_files == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            char **f = ft_realloc_array(src->files, *cap, sizeof *f);
            if (f) src->files = f;
            char **fn = ft_realloc_array(src->file_names, *cap, sizeof *fn);
            if (fn) src->file_names = fn;
            const char **fc = ft_realloc_array(src->file_class, *cap, sizeof *fc);
            if (fc) src->file_class = fc;
            if (!f || !fn || !fc) {
                st = ft_fail(err, FT_ENOMEM, "out of memory listing %s", dir);
                break;
            }
        }
        char *full = ft_path_join(dir, names[i]);
        char *rel = ft_path_join(src->classes[c], names[i]);
        struct stat sb;
        if (!full || !rel)
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else if (stat(full, &sb) != 0)
            st = ft_fail(err, FT_EIO, "%s: cannot stat: %s", full, strerror(errno));
        if (st != FT_OK) {
            free(full);
            free(rel);
            break;
        }
        src->files[src->n_files] = full;
        src->file_names[src->n_files] = rel;
        src->file_class[src->n_files] = src->classes[c];
        src->n_files++;
    }
    free_names(names, n);
    free(dir);
    return st;
}

static ft_status open_folder(dataset_source *src, ft_error *err)
{
    ft_status st = list_dir(src->path, true, &src->classes, &src->n_classes, err);
    size_t cap = 0;
    for (size_t c = 0; st == FT_OK && c < src->n_classes; c++)
        st = add_class_files(src, c, &cap, err);
    if (st == FT_OK && src->n_files == 0)
        st = ft_fail(err, FT_EINVAL,
                     "%s: no CLASS/FILE examples: a folder input holds one folder "
                     "per class with one text file per example",
                     src->path);
    if (st == FT_OK)
        snprintf(src->summary, sizeof src->summary,
                 "text: each file's contents; label: its folder's name (%zu classes, %zu files)",
                 src->n_classes, src->n_files);
    return st;
}

/* Skips one JSON value starting at data[i]; returns the index after it, or
 * size when it does not end. Tracks strings, escapes and nesting only. */
static size_t skip_json_value(const char *data, size_t size, size_t i, uint64_t *line)
{
    int depth = 0;
    bool in_string = false;
    for (; i < size; i++) {
        char ch = data[i];
        if (ch == '\n') (*line)++;
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (ch == '"')
            in_string = true;
        else if (ch == '{' || ch == '[')
            depth++;
        else if (ch == '}' || ch == ']') {
            if (depth == 0) return i;
            depth--;
        } else if (ch == ',' && depth == 0)
            return i;
    }
    return size;
}

static ft_status push_elem(dataset_source *src, size_t *cap, size_t off, size_t len, uint64_t line,
                           ft_error *err)
{
    if (src->n_elems == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        size_t *o = ft_realloc_array(src->elem_off, *cap, sizeof *o);
        if (o) src->elem_off = o;
        size_t *l = ft_realloc_array(src->elem_len, *cap, sizeof *l);
        if (l) src->elem_len = l;
        uint64_t *ln = ft_realloc_array(src->elem_line, *cap, sizeof *ln);
        if (ln) src->elem_line = ln;
        if (!o || !l || !ln) return ft_fail(err, FT_ENOMEM, "%s: out of memory", src->path);
    }
    src->elem_off[src->n_elems] = off;
    src->elem_len[src->n_elems] = len;
    src->elem_line[src->n_elems] = line;
    src->n_elems++;
    return FT_OK;
}

/* The elements of a top-level JSON array: byte ranges and lines. */
static ft_status index_json_array(dataset_source *src, ft_error *err)
{
    const char *d = src->data;
    size_t n = src->size, i = 0, cap = 0;
    uint64_t line = 1;
    if (n >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) i = 3;
    for (; i < n && strchr(" \t\r\n", d[i]); i++) line += d[i] == '\n';
    if (i == n || d[i] != '[')
        return ft_fail(err, FT_EINVAL, "%s:%llu: expected a JSON array '['", src->path,
                       (unsigned long long)line);
    for (i++;;) {
        for (; i < n && strchr(" \t\r\n", d[i]); i++) line += d[i] == '\n';
        if (i < n && d[i] == ']' && src->n_elems == 0) break;
        uint64_t start_line = line;
        size_t start = i, end = skip_json_value(d, n, i, &line);
        if (end == n)
            return ft_fail(err, FT_EINVAL, "%s:%llu: the JSON array does not end (missing ']')",
                           src->path, (unsigned long long)start_line);
        size_t len = end - start;
        while (len && strchr(" \t\r\n", d[start + len - 1])) len--;
        ft_status st = push_elem(src, &cap, start, len, start_line, err);
        if (st != FT_OK) return st;
        i = end + 1;
        if (d[end] == ']') break;
    }
    for (; i < n && strchr(" \t\r\n", d[i]); i++) line += d[i] == '\n';
    if (i < n)
        return ft_fail(err, FT_EINVAL, "%s:%llu: unexpected bytes after the JSON array", src->path,
                       (unsigned long long)line);
    return FT_OK;
}

static ft_status open_any(const char *path, const dataset_options *opt,
                          const dataset_lm_options *lm, dataset_source **out, ft_error *err)
{
    *out = NULL;
    dataset_source *src = ft_calloc_array(1, sizeof *src);
    if (!src || !(src->path = ft_strdup(path))) {
        free(src);
        return ft_fail(err, FT_ENOMEM, "out of memory");
    }
    ft_status st = FT_OK;
    bool is_dir = ft_is_dir(path);
    src->format = opt->format;
    if (src->format == DATASET_FOLDER && !is_dir)
        st = ft_fail(err, FT_EINVAL, "%s: --format folder needs a folder", path);
    else if (is_dir && src->format != DATASET_AUTO && src->format != DATASET_FOLDER)
        st = ft_fail(err, FT_EINVAL, "%s: is a folder, not a %s file", path,
                     dataset_format_name(src->format));
    else if (is_dir && lm)
        st = ft_fail(err, FT_EINVAL,
                     "%s: language-model data must be JSONL or a JSON array, not a folder", path);
    else if (is_dir) {
        src->format = DATASET_FOLDER;
        st = open_folder(src, err);
    } else {
        st = map_file(src, err);
        if (st == FT_OK && src->format == DATASET_AUTO) src->format = sniff_format(src);
        src->sep = src->format == DATASET_TSV ? '\t' : ',';
        src->quoting = src->format == DATASET_CSV;
        if (st == FT_OK && lm && src->format != DATASET_JSON && src->format != DATASET_JSONL)
            st = ft_fail(err, FT_EINVAL,
                         "%s: language-model data must be JSONL or a JSON array, not %s", path,
                         dataset_format_name(src->format));
        if (st == FT_OK && src->format == DATASET_JSON) st = index_json_array(src, err);
        if (st == FT_OK) st = dataset_detect_fields(src, opt, lm, err);
    }
    if (st != FT_OK) {
        dataset_close(src);
        return st;
    }
    *out = src;
    return FT_OK;
}

ft_status dataset_open(const char *path, const dataset_options *opt, dataset_source **out,
                       ft_error *err)
{
    return open_any(path, opt, NULL, out, err);
}

ft_status dataset_open_lm(const char *path, const dataset_options *opt,
                          const dataset_lm_options *lm, dataset_source **out, ft_error *err)
{
    return open_any(path, opt, lm, out, err);
}

void dataset_close(dataset_source *src)
{
    if (!src) return;
    if (src->data) munmap((void *)src->data, src->size);
    for (size_t i = 0; i < src->n_files && src->files; i++) {
        free(src->files[i]);
        free(src->file_names[i]);
    }
    free(src->files);
    free(src->file_names);
    free(src->file_class);
    free_names(src->classes, src->n_classes);
    free(src->elem_off);
    free(src->elem_len);
    free(src->elem_line);
    free(src->path);
    free(src);
}

dataset_format dataset_get_format(const dataset_source *src) { return src->format; }
const char *dataset_get_path(const dataset_source *src) { return src->path; }
const char *dataset_fields_summary(const dataset_source *src) { return src->summary; }
size_t dataset_file_count(const dataset_source *src) { return src->n_files; }

const char *dataset_lm_mode(const dataset_source *src)
{
    switch (src->lm_mode) {
    case DATASET_LM_PROMPT_COMPLETION: return "prompt_completion";
    case DATASET_LM_TEXT: return "text";
    case DATASET_LM_MESSAGES: return "messages";
    default: return NULL;
    }
}

const char *dataset_text_field(const dataset_source *src)
{
    return src->format == DATASET_FOLDER ? "(file contents)" : src->text_key;
}

const char *dataset_label_field(const dataset_source *src)
{
    return src->format == DATASET_FOLDER ? "(folder name)" : src->label_key;
}

static void scan_bytes(const char *p, size_t n, dataset_scan *s)
{
    for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))); q++)
        s->newlines++;
    size_t quotes = 0;
    for (const char *q = p, *end = p + n; (q = memchr(q, '"', (size_t)(end - q))); q++) quotes++;
    s->quotes_odd ^= (uint32_t)(quotes & 1);
    s->crc32 = (uint32_t)crc32_z(s->crc32, (const unsigned char *)p, n);
    s->bytes += n;
}

ft_status dataset_scan_part(dataset_source *src, int part, int n_parts, dataset_scan *out,
                            ft_error *err)
{
    *out = (dataset_scan){0, 0, (uint32_t)crc32_z(0, NULL, 0), 0};
    if (src->format != DATASET_FOLDER) {
        size_t a = (size_t)((unsigned __int128)src->size * (unsigned)part / (unsigned)n_parts);
        size_t b =
            (size_t)((unsigned __int128)src->size * (unsigned)(part + 1) / (unsigned)n_parts);
        /* An empty file has no mapping: data is NULL, and NULL + 0 is
         * undefined, so an empty range is not scanned (it adds nothing). */
        if (b > a) scan_bytes(src->data + a, b - a, out);
        return FT_OK;
    }
    size_t first = src->n_files * (size_t)part / (size_t)n_parts;
    size_t last = src->n_files * (size_t)(part + 1) / (size_t)n_parts;
    for (size_t i = first; i < last; i++) {
        char *data = NULL;
        size_t len = 0;
        ft_status st = ft_read_file(src->files[i], &data, &len, err);
        if (st != FT_OK) return st;
        out->crc32 = (uint32_t)crc32_z(out->crc32, (const unsigned char *)data, len);
        out->bytes += len;
        free(data);
    }
    return FT_OK;
}

uint32_t dataset_combine_crc(const dataset_scan *scans, int n_parts)
{
    uLong crc = crc32_z(0, NULL, 0);
    for (int p = 0; p < n_parts; p++)
        crc = crc32_combine64(crc, scans[p].crc32, (z_off64_t)scans[p].bytes);
    return (uint32_t)crc;
}
