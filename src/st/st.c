/* st: the reader. Maps a safetensors file and validates its header once
 * (see st.h for the list of checks); afterwards every access is a copy from
 * a range proven to lie inside the mapping.
 *
 * Design: the parsed cJSON tree is kept for the life of the file, and the
 * tensor table points at its key strings. Tensors are kept sorted by data
 * offset (the order the reference reader reports) plus an index sorted by
 * name for lookups; both sorts also serve the duplicate and overlap checks.
 *
 * Not here: writing (st_write.c), number conversions (st_convert.c). */
#include "st/st.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ft_alloc.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "st reads and writes little-endian data by copying: a big-endian host needs byte swaps"
#endif

struct st_file {
    char *path;
    unsigned char *map;
    size_t map_bytes;
    const unsigned char *data; /* the data area, data_bytes long */
    size_t data_bytes;
    cJSON *header;
    const cJSON *metadata;   /* "__metadata__" or NULL */
    st_tensor_info *tensors; /* sorted by offset */
    size_t count;
    const st_tensor_info **by_name; /* sorted by name */
};

static const struct {
    const char *name;
    size_t size;
} dtype_table[] = {
    [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2},   [ST_BF16] = {"BF16", 2}, [ST_F64] = {"F64", 8},
    [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},   [ST_I16] = {"I16", 2},   [ST_I8] = {"I8", 1},
    [ST_U8] = {"U8", 1},   [ST_BOOL] = {"BOOL", 1},
};
enum { N_DTYPES = sizeof dtype_table / sizeof dtype_table[0] };

/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define JSON_EXACT_INT_MAX 9007199254740992.0

const char *st_dtype_name(st_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtype_table[dtype].name : "?";
}

size_t st_dtype_size(st_dtype dtype)
{
    return (unsigned)dtype < N_DTYPES ? dtype_table[dtype].size : 0;
}

bool st_dtype_is_float(st_dtype dtype)
{
    return dtype == ST_F32 || dtype == ST_F16 || dtype == ST_BF16 || dtype == ST_F64;
}

static bool dtype_from_name(const char *s, st_dtype *out)
{
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(s, dtype_table[i].name) == 0) {
            *out = (st_dtype)i;
            return true;
        }
    return false;
}

/* ---- mapping ----------------------------------------------------------- */

static ft_status map_file(st_file *f, ft_error *err)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ft_fail(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "%s: cannot open: %s", f->path,
                       strerror(errno));
    ft_status st = FT_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = ft_fail(err, FT_EIO, "%s: cannot stat: %s", f->path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = ft_fail(err, FT_EFORMAT, "%s: not a regular file", f->path);
    } else if (sb.st_size < 8) {
        st = ft_fail(err, FT_EFORMAT,
                     "%s: %lld bytes is too short for a safetensors file "
                     "(it starts with an 8-byte header length)",
                     f->path, (long long)sb.st_size);
    } else if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = ft_fail(err, FT_EFORMAT, "%s: too large to map", f->path);
    } else {
        f->map_bytes = (size_t)sb.st_size;
        void *p = mmap(NULL, f->map_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            st = ft_fail(err, FT_EIO, "%s: cannot map: %s", f->path, strerror(errno));
        else
            f->map = p;
    }
    close(fd);
    return st;
}

/* ---- header text --------------------------------------------------------- */

/* Length of the UTF-8 sequence starting at s (at most n bytes), 0 if bad. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    if (len == 0 || len > n) return 0;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

static ft_status check_header_text(const st_file *f, const unsigned char *text, size_t n,
                                   ft_error *err)
{
    for (size_t i = 0; i < n;) {
        if (text[i] == 0)
            return ft_fail(err, FT_EFORMAT, "%s: header holds a NUL byte at offset %zu", f->path,
                           8 + i);
        size_t len = utf8_sequence(text + i, n - i);
        if (len == 0)
            return ft_fail(err, FT_EFORMAT, "%s: header is not valid UTF-8 (byte offset %zu)",
                           f->path, 8 + i);
        i += len;
    }
    return FT_OK;
}

static ft_status parse_header(st_file *f, ft_error *err)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | f->map[i];
    size_t room = f->map_bytes - 8;
    if (n < 2)
        return ft_fail(err, FT_EFORMAT,
                       "%s: header length %llu is too small for a JSON object "
                       "(not a safetensors file?)",
                       f->path, (unsigned long long)n);
    /* The limit first: a length in the exabytes says "not a safetensors
     * file" more plainly than "larger than the file". */
    if (n > ST_MAX_HEADER_BYTES)
        return ft_fail(err, FT_EFORMAT,
                       "%s: header length %llu is absurd (limit %llu; "
                       "not a safetensors file?)",
                       f->path, (unsigned long long)n, (unsigned long long)ST_MAX_HEADER_BYTES);
    if (n > room)
        return ft_fail(err, FT_EFORMAT,
                       "%s: header length %llu is larger than the file "
                       "(%zu bytes after the length; truncated or not a safetensors file?)",
                       f->path, (unsigned long long)n, room);
    const unsigned char *text = f->map + 8;
    ft_status st = check_header_text(f, text, (size_t)n, err);
    if (st != FT_OK) return st;
    const char *end = NULL;
    f->header = cJSON_ParseWithLengthOpts((const char *)text, (size_t)n, &end, 0);
    if (!f->header)
        return ft_fail(err, FT_EFORMAT, "%s: header is not JSON (error near byte %zu)", f->path,
                       end ? 8 + (size_t)(end - (const char *)text) : 8);
    for (const char *p = end; p < (const char *)text + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return ft_fail(err, FT_EFORMAT,
                           "%s: header has bytes after its JSON value "
                           "(byte %zu)",
                           f->path, 8 + (size_t)(p - (const char *)text));
    if (!cJSON_IsObject(f->header))
        return ft_fail(err, FT_EFORMAT, "%s: header is JSON but not an object", f->path);
    f->data = text + n;
    f->data_bytes = room - (size_t)n;
    return FT_OK;
}

/* ---- one tensor entry ------------------------------------------------------ */

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return false;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= JSON_EXACT_INT_MAX) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

static ft_status parse_shape(const st_file *f, const cJSON *entry, st_tensor_info *t, ft_error *err)
{
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!cJSON_IsArray(shape))
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': 'shape' must be an array "
                       "of non-negative integers",
                       f->path, t->name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_NDIM)
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': shape has %d dimensions "
                       "(at most %d supported)",
                       f->path, t->name, ndim, ST_MAX_NDIM);
    size_t numel = 1;
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
        uint64_t v;
        if (!json_uint(dim, &v) || v > (uint64_t)INT64_MAX)
            return ft_fail(err, FT_EFORMAT,
                           "%s: tensor '%.200s': 'shape' must be an array "
                           "of non-negative integers (dimension %d is not)",
                           f->path, t->name, d);
        t->shape[d] = (int64_t)v;
        if (v > SIZE_MAX || ft_mul_overflows(numel, (size_t)v, &numel))
            return ft_fail(err, FT_EFORMAT,
                           "%s: tensor '%.200s': shape overflows the "
                           "element count",
                           f->path, t->name);
    }
    t->ndim = ndim;
    t->numel = numel;
    if (ft_mul_overflows(numel, st_dtype_size(t->dtype), &t->nbytes))
        return ft_fail(err, FT_EFORMAT, "%s: tensor '%.200s': shape x dtype size overflows",
                       f->path, t->name);
    return FT_OK;
}

static ft_status parse_offsets(const st_file *f, const cJSON *entry, st_tensor_info *t,
                               ft_error *err)
{
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    uint64_t begin = 0, end = 0;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_uint(offs->child, &begin) ||
        !json_uint(offs->child->next, &end))
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': 'data_offsets' must be "
                       "2 non-negative integers [begin, end]",
                       f->path, t->name);
    if (begin > end)
        return ft_fail(err, FT_EFORMAT, "%s: tensor '%.200s': data_offsets begin %llu > end %llu",
                       f->path, t->name, (unsigned long long)begin, (unsigned long long)end);
    if (end > f->data_bytes)
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': data_offsets end %llu is past "
                       "the end of the data area (%zu bytes; truncated file?)",
                       f->path, t->name, (unsigned long long)end, f->data_bytes);
    if (end - begin != t->nbytes)
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': %zu elements of %s need %zu "
                       "bytes but data_offsets span %llu",
                       f->path, t->name, t->numel, st_dtype_name(t->dtype), t->nbytes,
                       (unsigned long long)(end - begin));
    t->offset = (size_t)begin;
    return FT_OK;
}

static ft_status parse_tensor(const st_file *f, const cJSON *entry, st_tensor_info *t,
                              ft_error *err)
{
    t->name = entry->string;
    if (!cJSON_IsObject(entry))
        return ft_fail(err, FT_EFORMAT, "%s: tensor '%.200s': entry is not an object", f->path,
                       t->name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dtype))
        return ft_fail(err, FT_EFORMAT, "%s: tensor '%.200s': 'dtype' must be a string", f->path,
                       t->name);
    if (!dtype_from_name(dtype->valuestring, &t->dtype))
        return ft_fail(err, FT_EFORMAT,
                       "%s: tensor '%.200s': unknown dtype \"%.40s\" "
                       "(known: F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL)",
                       f->path, t->name, dtype->valuestring);
    ft_status st = parse_shape(f, entry, t, err);
    return st != FT_OK ? st : parse_offsets(f, entry, t, err);
}

static ft_status check_metadata(const st_file *f, const cJSON *meta, ft_error *err)
{
    if (!cJSON_IsObject(meta))
        return ft_fail(err, FT_EFORMAT, "%s: '__metadata__' must be an object of strings", f->path);
    for (const cJSON *kv = meta->child; kv; kv = kv->next)
        if (!cJSON_IsString(kv))
            return ft_fail(err, FT_EFORMAT,
                           "%s: '__metadata__' must be an object of "
                           "strings ('%.200s' is not a string)",
                           f->path, kv->string);
    return FT_OK;
}

/* ---- the whole table ---------------------------------------------------------- */

static int by_offset(const void *a, const void *b)
{
    const st_tensor_info *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
    const st_tensor_info *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static ft_status parse_entries(st_file *f, ft_error *err)
{
    size_t n = 0;
    for (const cJSON *e = f->header->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") != 0) {
            n++;
            continue;
        }
        if (f->metadata) return ft_fail(err, FT_EFORMAT, "%s: duplicate '__metadata__'", f->path);
        f->metadata = e;
        ft_status st = check_metadata(f, e, err);
        if (st != FT_OK) return st;
    }
    f->tensors = ft_calloc_array(n ? n : 1, sizeof *f->tensors);
    f->by_name = ft_calloc_array(n ? n : 1, sizeof *f->by_name);
    if (!f->tensors || !f->by_name)
        return ft_fail(err, FT_ENOMEM, "%s: out of memory for %zu tensors", f->path, n);
    for (const cJSON *e = f->header->child; e; e = e->next) {
        if (e == f->metadata) continue;
        ft_status st = parse_tensor(f, e, &f->tensors[f->count], err);
        if (st != FT_OK) return st;
        f->count++;
    }
    return FT_OK;
}

/* Sort both ways, then: no name twice, no byte in two tensors. */
static ft_status check_layout(st_file *f, ft_error *err)
{
    qsort(f->tensors, f->count, sizeof *f->tensors, by_offset);
    for (size_t i = 0; i < f->count; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, f->count, sizeof *f->by_name, by_name);
    for (size_t i = 1; i < f->count; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return ft_fail(err, FT_EFORMAT,
                           "%s: tensor '%.200s' appears twice in the header "
                           "(duplicate name)",
                           f->path, f->by_name[i]->name);
    size_t covered = 0; /* end of the furthest tensor so far */
    const char *last = NULL;
    for (size_t i = 0; i < f->count; i++) {
        const st_tensor_info *t = &f->tensors[i];
        if (t->offset < covered)
            return ft_fail(err, FT_EFORMAT,
                           "%s: tensors '%.200s' and '%.200s' overlap in "
                           "the data area (bytes from %zu)",
                           f->path, last, t->name, t->offset);
        if (t->offset + t->nbytes > covered) {
            covered = t->offset + t->nbytes;
            last = t->name;
        }
    }
    return FT_OK;
}

ft_status st_open(const char *path, st_file **file, ft_error *err)
{
    *file = NULL;
    st_file *f = ft_calloc_array(1, sizeof *f);
    if (!f || !(f->path = ft_strdup(path))) {
        free(f);
        return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    }
    ft_status st = map_file(f, err);
    if (st == FT_OK) st = parse_header(f, err);
    if (st == FT_OK) st = parse_entries(f, err);
    if (st == FT_OK) st = check_layout(f, err);
    if (st != FT_OK) {
        st_close(f);
        return st;
    }
    *file = f;
    return FT_OK;
}

void st_close(st_file *f)
{
    if (!f) return;
    if (f->map) munmap(f->map, f->map_bytes);
    cJSON_Delete(f->header);
    free(f->tensors);
    free(f->by_name);
    free(f->path);
    free(f);
}

/* ---- access ----------------------------------------------------------------------- */

const char *st_path(const st_file *f) { return f->path; }
size_t st_count(const st_file *f) { return f->count; }

const st_tensor_info *st_info_at(const st_file *f, size_t i)
{
    return i < f->count ? &f->tensors[i] : NULL;
}

const st_tensor_info *st_find(const st_file *f, const char *name)
{
    st_tensor_info key = {.name = name};
    const st_tensor_info *kp = &key;
    const st_tensor_info **hit = bsearch(&kp, f->by_name, f->count, sizeof *f->by_name, by_name);
    return hit ? *hit : NULL;
}

const char *st_metadata(const st_file *f, const char *key)
{
    if (!f->metadata) return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->metadata, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const void *st_data(const st_file *f, const st_tensor_info *info) { return f->data + info->offset; }

static void convert_to_f32(const unsigned char *src, st_dtype dtype, float *dst, size_t n)
{
    switch (dtype) {
    case ST_F32: /* little-endian host (checked at the top of the file) */
        memcpy(dst, src, 4 * n);
        break;
    case ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, src + 8 * i, 8);
            dst[i] = (float)d;
        }
        break;
    case ST_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = st_f16_to_f32((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
        break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = st_bf16_to_f32((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)));
        break;
    default: FT_CHECK_MSG(0, "convert_to_f32 called on an integer dtype");
    }
}

ft_status st_read_f32(const st_file *f, const char *name, float *dst, size_t expected_numel,
                      ft_error *err)
{
    const st_tensor_info *t = st_find(f, name);
    if (!t) return ft_fail(err, FT_ENOTFOUND, "%s: no tensor '%s'", f->path, name);
    if (!st_dtype_is_float(t->dtype))
        return ft_fail(err, FT_EINVAL,
                       "%s: tensor '%s' is %s; expected a floating-point "
                       "dtype (F32, F16, BF16 or F64)",
                       f->path, name, st_dtype_name(t->dtype));
    if (t->numel != expected_numel)
        return ft_fail(err, FT_EINVAL, "%s: tensor '%s' has %zu elements; expected %zu", f->path,
                       name, t->numel, expected_numel);
    if (t->numel == 0) return FT_OK;
    convert_to_f32(f->data + t->offset, t->dtype, dst, t->numel);
    return FT_OK;
}
