/* st: the writer. Lays tensors out as the reference safetensors writer does
 * (sorted by dtype, widest first, then by name; compact JSON header with
 * "__metadata__" first, padded with spaces to a multiple of 8 bytes) and
 * writes the file atomically: a temporary sibling, fsync, rename, fsync of
 * the folder.
 *
 * Design: the header is built with cJSON (which escapes names the way the
 * reference does for ordinary names) and the data is streamed from the
 * caller's arrays, narrowed to F16/BF16 through a small buffer, so writing
 * a 400 MB model needs no second copy of it.
 *
 * Not here: integer dtypes, appending to an existing file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "st/st.h"

enum { CHUNK_ELEMS = 1 << 15 };

/* Position of a dtype in the reference writer's ordering (its Dtype enum:
 * BOOL U8 I8 F8_E5M2 F8_E4M3 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64). */
static int reference_rank(st_dtype d)
{
    switch (d) {
    case ST_BOOL: return 0;
    case ST_U8: return 1;
    case ST_I8: return 2;
    case ST_I16: return 5;
    case ST_F16: return 7;
    case ST_BF16: return 8;
    case ST_I32: return 9;
    case ST_F32: return 11;
    case ST_F64: return 12;
    case ST_I64: return 13;
    }
    return -1;
}

typedef struct out_plan {
    const st_tensor_out *t;
    st_dtype dtype; /* as stored */
    size_t numel, nbytes, offset;
} out_plan;

static int plan_order(const void *a, const void *b)
{
    const out_plan *x = a, *y = b;
    int rx = reference_rank(x->dtype), ry = reference_rank(y->dtype);
    if (rx != ry) return ry - rx; /* widest first */
    return strcmp(x->t->name, y->t->name);
}

static ft_status plan_one(const char *path, const st_tensor_out *t, bool force_f32, out_plan *p,
                          ft_error *err)
{
    p->t = t;
    p->dtype = force_f32 ? ST_F32 : t->dtype;
    if (!t->name || strcmp(t->name, "__metadata__") == 0)
        return ft_fail(err, FT_EINVAL, "%s: a tensor needs a name other than '__metadata__'", path);
    if (p->dtype != ST_F32 && p->dtype != ST_F16 && p->dtype != ST_BF16)
        return ft_fail(err, FT_EINVAL,
                       "%s: tensor '%s': can only write F32, F16 or BF16, "
                       "not %s",
                       path, t->name, st_dtype_name(p->dtype));
    if (t->ndim < 0 || t->ndim > ST_MAX_NDIM || (t->ndim > 0 && !t->shape))
        return ft_fail(err, FT_EINVAL, "%s: tensor '%s': %d dimensions (0..%d allowed)", path,
                       t->name, t->ndim, ST_MAX_NDIM);
    size_t numel = 1;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] < 0 || ft_mul_overflows(numel, (size_t)t->shape[d], &numel))
            return ft_fail(err, FT_EINVAL, "%s: tensor '%s': bad dimension %d", path, t->name, d);
    if (ft_mul_overflows(numel, st_dtype_size(p->dtype), &p->nbytes))
        return ft_fail(err, FT_EINVAL, "%s: tensor '%s': too large", path, t->name);
    if (numel > 0 && !t->data)
        return ft_fail(err, FT_EINVAL, "%s: tensor '%s': no data", path, t->name);
    p->numel = numel;
    return FT_OK;
}

static int name_order(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ft_status check_distinct(const char *path, const out_plan *plan, size_t n, ft_error *err)
{
    const char **names = ft_malloc_array(n ? n : 1, sizeof *names);
    if (!names) return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) names[i] = plan[i].t->name;
    qsort(names, n, sizeof *names, name_order);
    ft_status st = FT_OK;
    for (size_t i = 1; i < n && st == FT_OK; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            st = ft_fail(err, FT_EINVAL, "%s: tensor '%s' given twice", path, names[i]);
    free(names);
    return st;
}

/* Validate, sort and assign offsets. */
static ft_status make_plan(const char *path, const st_tensor_out *tensors, size_t n, bool force_f32,
                           out_plan **out, ft_error *err)
{
    out_plan *plan = ft_calloc_array(n ? n : 1, sizeof *plan);
    if (!plan) return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    ft_status st = FT_OK;
    for (size_t i = 0; i < n && st == FT_OK; i++)
        st = plan_one(path, &tensors[i], force_f32, &plan[i], err);
    if (st == FT_OK) st = check_distinct(path, plan, n, err);
    if (st != FT_OK) {
        free(plan);
        return st;
    }
    qsort(plan, n, sizeof *plan, plan_order);
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        plan[i].offset = offset;
        offset += plan[i].nbytes;
    }
    *out = plan;
    return FT_OK;
}

static ft_status add_metadata(const char *path, cJSON *header, const char *metadata_json,
                              ft_error *err)
{
    cJSON *meta = cJSON_Parse(metadata_json);
    bool ok = cJSON_IsObject(meta);
    for (const cJSON *kv = ok ? meta->child : NULL; kv; kv = kv->next)
        ok = ok && cJSON_IsString(kv);
    if (!ok) {
        cJSON_Delete(meta);
        return ft_fail(err, FT_EINVAL,
                       "%s: metadata must be a JSON object of strings, "
                       "got %.200s",
                       path, metadata_json);
    }
    cJSON_AddItemToObject(header, "__metadata__", meta);
    return FT_OK;
}

static cJSON *tensor_entry(const out_plan *p)
{
    cJSON *e = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
    bool ok = e && shape && offs;
    for (int d = 0; ok && d < p->t->ndim; d++)
        ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)p->t->shape[d]));
    ok = ok && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)p->offset)) &&
         cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(p->offset + p->nbytes)));
    ok = ok && cJSON_AddStringToObject(e, "dtype", st_dtype_name(p->dtype)) &&
         cJSON_AddItemToObject(e, "shape", shape);
    if (ok) shape = NULL;
    ok = ok && cJSON_AddItemToObject(e, "data_offsets", offs);
    if (ok) return e;
    cJSON_Delete(shape);
    cJSON_Delete(offs);
    cJSON_Delete(e);
    return NULL;
}

/* The 8-byte length and the padded header text, in one malloc'd buffer. */
static ft_status make_header(const char *path, const out_plan *plan, size_t n,
                             const char *metadata_json, char **buf, size_t *len, ft_error *err)
{
    ft_status st = FT_OK;
    char *text = NULL;
    cJSON *header = cJSON_CreateObject();
    if (!header) return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    if (metadata_json) st = add_metadata(path, header, metadata_json, err);
    for (size_t i = 0; i < n && st == FT_OK; i++) {
        cJSON *e = tensor_entry(&plan[i]);
        if (!e || !cJSON_AddItemToObject(header, plan[i].t->name, e)) {
            cJSON_Delete(e);
            st = ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
        }
    }
    if (st == FT_OK && !(text = cJSON_PrintUnformatted(header)))
        st = ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    if (st == FT_OK) {
        size_t tl = strlen(text), padded = (tl + 7) / 8 * 8;
        *buf = ft_malloc_array(8 + padded, 1);
        if (!*buf) {
            st = ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
        } else {
            for (int i = 0; i < 8; i++) (*buf)[i] = (char)((uint64_t)padded >> (8 * i));
            memcpy(*buf + 8, text, tl);
            memset(*buf + 8 + tl, ' ', padded - tl);
            *len = 8 + padded;
        }
    }
    cJSON_free(text);
    cJSON_Delete(header);
    return st;
}

static ft_status write_all(int fd, const char *tmp, const void *data, size_t len, ft_error *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0)
            return ft_fail(err, FT_EIO, "%s: write failed: %s", tmp,
                           put < 0 ? strerror(errno) : "no progress");
        p += put;
        len -= (size_t)put;
    }
    return FT_OK;
}

static ft_status write_tensor(int fd, const char *tmp, const out_plan *p, ft_error *err)
{
    if (p->dtype == ST_F32) return write_all(fd, tmp, p->t->data, p->nbytes, err);
    uint16_t buf[CHUNK_ELEMS];
    ft_status st = FT_OK;
    for (size_t at = 0; at < p->numel && st == FT_OK; at += CHUNK_ELEMS) {
        size_t m = p->numel - at < CHUNK_ELEMS ? p->numel - at : CHUNK_ELEMS;
        for (size_t i = 0; i < m; i++) {
            float v = p->t->data[at + i];
            buf[i] = p->dtype == ST_F16 ? st_f32_to_f16(v) : st_f32_to_bf16(v);
        }
        st = write_all(fd, tmp, buf, 2 * m, err);
    }
    return st;
}

static ft_status write_temp(const char *tmp, const char *header, size_t header_len,
                            const out_plan *plan, size_t n, ft_error *err)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ft_fail(err, FT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    ft_status st = write_all(fd, tmp, header, header_len, err);
    for (size_t i = 0; i < n && st == FT_OK; i++) st = write_tensor(fd, tmp, &plan[i], err);
    if (st == FT_OK && fsync(fd) != 0)
        st = ft_fail(err, FT_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == FT_OK)
        st = ft_fail(err, FT_EIO, "%s: close failed: %s", tmp, strerror(errno));
    return st;
}

static ft_status write_impl(const char *path, const st_tensor_out *tensors, size_t n,
                            const char *metadata_json, bool overwrite, bool force_f32,
                            ft_error *err)
{
    if (!overwrite && ft_path_exists(path))
        return ft_fail(err, FT_EEXIST, "%s: already exists; not overwriting it", path);
    out_plan *plan = NULL;
    char *header = NULL, *tmp = NULL;
    size_t header_len = 0;
    ft_status st = make_plan(path, tensors, n, force_f32, &plan, err);
    if (st == FT_OK) st = make_header(path, plan, n, metadata_json, &header, &header_len, err);
    if (st == FT_OK && !(tmp = ft_temp_sibling(path)))
        st = ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    if (st != FT_OK) goto cleanup;
    st = write_temp(tmp, header, header_len, plan, n, err);
    if (st == FT_OK && rename(tmp, path) != 0)
        st = ft_fail(err, FT_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (st == FT_OK) st = ft_fsync_parent(path, err);
    if (st != FT_OK) unlink(tmp);
cleanup:
    free(tmp);
    free(header);
    free(plan);
    return st;
}

ft_status st_write(const char *path, const st_tensor_out *tensors, size_t n,
                   const char *metadata_json, bool overwrite, ft_error *err)
{
    return write_impl(path, tensors, n, metadata_json, overwrite, false, err);
}

ft_status st_write_f32(const char *path, const st_tensor_out *tensors, size_t n,
                       const char *metadata_json, bool overwrite, ft_error *err)
{
    return write_impl(path, tensors, n, metadata_json, overwrite, true, err);
}
