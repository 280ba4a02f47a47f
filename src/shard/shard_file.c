/* shard_file: one HDF5 shard file of a prepared dataset (see shard.h).
 *
 * Design: every file is written with the sec2 driver by the one rank that
 * owns it (no parallel HDF5 needed), contiguous datasets, object time
 * tracking off and the earliest file format, so equal content gives equal
 * bytes on every run and for every rank count. The file is created under a
 * temporary sibling name, fsync'ed, then linked into place (link(2) fails
 * rather than overwrite) so a killed writer never leaves a half-written
 * shard under its real name. Readers trust nothing: ranks, shapes, types and
 * value ranges are checked against each other and against the attributes.
 * No filters (compression, Fletcher32 need chunked layout): the manifest's
 * crc32 of the whole file catches damage instead.
 * Not here: the manifest (shard_manifest.c), the plan (shard_plan.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <zlib.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_h5.h"
#include "shard/shard.h"

enum { ATTR_BYTES_MAX = 60000, MAX_LENGTH_LIMIT = 1 << 20 };

/* --- writing ------------------------------------------------------------- */

static herr_t put_scalar(hid_t loc, const char *name, hid_t file_type, hid_t mem_type,
                         const void *v)
{
    return ft_h5_attr_write(loc, name, file_type, mem_type, 0, 1, v);
}

/* A fixed-length string type of n bytes (NUL-padded, at least 1). */
static hid_t str_type(size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, n ? n : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
                   H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static herr_t put_string(hid_t loc, const char *name, const char *value)
{
    hid_t t = str_type(strlen(value));
    herr_t rc = t < 0 ? -1 : ft_h5_attr_write(loc, name, t, t, 0, 1, value);
    if (t >= 0) H5Tclose(t);
    return rc;
}

/* The label names as fixed-length strings of *width bytes, NUL-padded (the
 * label_names attribute's data), or NULL when out of memory: made before
 * HDF5 starts, so the failure is named as what it is. */
static char *label_buffer(const shard_meta *meta, size_t *width)
{
    *width = 1;
    for (int i = 0; i < meta->n_labels; i++)
        if (strlen(meta->label_names[i]) > *width) *width = strlen(meta->label_names[i]);
    char *buf = ft_calloc_array(meta->n_labels > 0 ? (size_t)meta->n_labels : 1, *width);
    if (!buf) return NULL;
    for (int i = 0; i < meta->n_labels; i++)
        memcpy(buf + (size_t)i * *width, meta->label_names[i], strlen(meta->label_names[i]));
    return buf;
}

/* label_names: a 1-D attribute of fixed-length strings (label_buffer). */
static herr_t put_labels(hid_t loc, int n_labels, const char *names, size_t width)
{
    hid_t t = str_type(width);
    herr_t rc =
        t < 0 ? -1 : ft_h5_attr_write(loc, "label_names", t, t, 1, (hsize_t)n_labels, names);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static herr_t put_meta(hid_t root, const shard_meta *meta, uint64_t rows, const char *names,
                       size_t width, const shard_lm *lm)
{
    int32_t version = SHARD_FORMAT_VERSION, shard = meta->shard, num = meta->num_shards;
    int32_t n_labels = meta->n_labels;
    herr_t rc = 0;
    rc |= put_string(root, "format", SHARD_FORMAT_NAME);
    rc |= put_scalar(root, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT32, &version);
    if (lm) rc |= put_string(root, "task", shard_task_name(SHARD_TASK_CAUSAL_LM));
    rc |= put_string(root, "split", meta->split);
    rc |= put_scalar(root, "shard", H5T_STD_I32LE, H5T_NATIVE_INT32, &shard);
    rc |= put_scalar(root, "num_shards", H5T_STD_I32LE, H5T_NATIVE_INT32, &num);
    rc |= put_scalar(root, "rows", H5T_STD_U64LE, H5T_NATIVE_UINT64, &rows);
    rc |= put_scalar(root, "max_length", H5T_STD_I32LE, H5T_NATIVE_INT32, &meta->max_length);
    rc |= put_scalar(root, "pad_id", H5T_STD_I32LE, H5T_NATIVE_INT32, &meta->pad_id);
    rc |= put_scalar(root, "vocab_size", H5T_STD_I32LE, H5T_NATIVE_INT32, &meta->vocab_size);
    rc |= put_string(root, "tokenizer_kind", meta->tokenizer_kind);
    rc |= put_string(root, "tokenizer_fingerprint", meta->tokenizer_fingerprint);
    if (lm) {
        int32_t packed = lm->packed;
        rc |= put_scalar(root, "packed", H5T_STD_I32LE, H5T_NATIVE_INT32, &packed);
    } else {
        rc |= put_scalar(root, "n_labels", H5T_STD_I32LE, H5T_NATIVE_INT32, &n_labels);
        rc |= put_labels(root, meta->n_labels, names, width);
    }
    rc |= put_scalar(root, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &meta->seed);
    return rc < 0 ? -1 : 0;
}

static herr_t put_dataset(hid_t file, hid_t dcpl, const char *name, int rank, const hsize_t *dims,
                          hid_t file_type, hid_t mem_type, const void *data)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = s < 0 ? -1 : H5Dcreate2(file, name, file_type, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : 0;
    if (d >= 0 && dims[0] > 0) rc = H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    if (d >= 0 && H5Dclose(d) < 0) rc = -1;
    if (s >= 0) H5Sclose(s);
    return rc;
}

/* A causal_lm file's token columns (after lengths). */
static herr_t put_lm_columns(hid_t file, hid_t dcpl, const shard_rows *rows, const shard_lm *lm)
{
    hsize_t dims[2] = {rows->rows, (hsize_t)rows->max_length};
    herr_t rc =
        put_dataset(file, dcpl, "labels", 2, dims, H5T_STD_I32LE, H5T_NATIVE_INT32, lm->labels);
    if (rc >= 0 && lm->packed)
        rc = put_dataset(file, dcpl, "position_ids", 2, dims, H5T_STD_I32LE, H5T_NATIVE_INT32,
                         lm->position_ids);
    if (rc >= 0 && lm->packed)
        rc = put_dataset(file, dcpl, "segment_ids", 2, dims, H5T_STD_I32LE, H5T_NATIVE_INT32,
                         lm->segment_ids);
    hsize_t seg_dims[1] = {lm->segments};
    if (rc >= 0 && lm->packed)
        rc = put_dataset(file, dcpl, "segment_example_index", 1, seg_dims, H5T_STD_I64LE,
                         H5T_NATIVE_INT64, lm->segment_example_index);
    return rc;
}

static herr_t put_columns(hid_t file, const shard_rows *rows, const shard_lm *lm)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0) return -1;
    herr_t rc = H5Pset_layout(dcpl, H5D_CONTIGUOUS) | H5Pset_obj_track_times(dcpl, 0) |
                H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY) |
                H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC);
    hsize_t ids_dims[2] = {rows->rows, (hsize_t)rows->max_length}, dims[1] = {rows->rows};
    if (rc >= 0)
        rc = put_dataset(file, dcpl, "input_ids", 2, ids_dims,
                         rows->wide_ids ? H5T_STD_I32LE : H5T_STD_U16LE,
                         rows->wide_ids ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT16, rows->input_ids);
    if (rc >= 0)
        rc = put_dataset(file, dcpl, "lengths", 1, dims, H5T_STD_I32LE, H5T_NATIVE_INT32,
                         rows->lengths);
    if (rc >= 0 && lm)
        rc = put_lm_columns(file, dcpl, rows, lm);
    else if (rc >= 0)
        rc = put_dataset(file, dcpl, "labels", 1, dims, H5T_STD_I32LE, H5T_NATIVE_INT32,
                         rows->labels);
    if (rc >= 0)
        rc = put_dataset(file, dcpl, "example_index", 1, dims, H5T_STD_I64LE, H5T_NATIVE_INT64,
                         rows->example_index);
    H5Pclose(dcpl);
    return rc;
}

static ft_status check_write_args(const char *path, const shard_meta *meta, const shard_rows *rows,
                                  const shard_lm *lm, ft_error *err)
{
    size_t width = 1;
    for (int i = 0; i < meta->n_labels; i++)
        if (strlen(meta->label_names[i]) > width) width = strlen(meta->label_names[i]);
    if (rows->max_length < 1 || rows->max_length != meta->max_length)
        return ft_fail(err, FT_EINVAL,
                       "%s: max_length %d of the rows does not match %d of the meta", path,
                       rows->max_length, meta->max_length);
    if (rows->wide_ids != shard_needs_wide_ids(meta->vocab_size))
        return ft_fail(err, FT_EINVAL, "%s: input id width does not fit vocab_size %d", path,
                       meta->vocab_size);
    if (lm && meta->n_labels != 0)
        return ft_fail(err, FT_EINVAL, "%s: a causal_lm file has no class labels (n_labels %d)",
                       path, meta->n_labels);
    if (!lm && (meta->n_labels < 1 || width * (size_t)meta->n_labels > ATTR_BYTES_MAX))
        return ft_fail(err, FT_EINVAL,
                       "%s: %d labels: need at least one, and their names must fit "
                       "in %d bytes of HDF5 attribute",
                       path, meta->n_labels, ATTR_BYTES_MAX);
    if (ft_path_exists(path))
        return ft_fail(err, FT_EEXIST, "%s: exists; not overwriting it", path);
    return FT_OK;
}

/* fsync the written temporary file, then link it to path (never over an
 * existing file) and drop the temporary name. */
static ft_status publish(const char *tmp, const char *path, ft_error *err)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return ft_fail(err, FT_EIO, "%s: cannot sync: %s", tmp, strerror(e));
    }
    close(fd);
    if (link(tmp, path) != 0) {
        int e = errno;
        if (e == EEXIST) return ft_fail(err, FT_EEXIST, "%s: exists; not overwriting it", path);
        /* File systems without hard links: rename (path was checked absent). */
        if (rename(tmp, path) != 0)
            return ft_fail(err, FT_EIO, "%s: cannot rename %s into place: %s", path, tmp,
                           strerror(errno));
    } else
        unlink(tmp);
    return ft_fsync_parent(path, err);
}

static ft_status write_any(const char *path, const shard_meta *meta, const shard_rows *rows,
                           const shard_lm *lm, ft_error *err)
{
    ft_status st = check_write_args(path, meta, rows, lm, err);
    if (st != FT_OK) return st;
    size_t width;
    char *tmp = ft_temp_sibling(path), *names = label_buffer(meta, &width);
    if (!tmp || !names) {
        free(tmp);
        free(names);
        return ft_fail(err, FT_ENOMEM, "%s: out of memory", path);
    }
    ft_h5_quiet q = ft_h5_quiet_begin();
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
    herr_t rc = fcpl < 0 || fapl < 0 ? -1 : 0;
    if (rc >= 0) rc = H5Pset_obj_track_times(fcpl, 0) | H5Pset_fapl_sec2(fapl);
    if (rc >= 0) rc = H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18);
    if (rc >= 0) file = H5Fcreate(tmp, H5F_ACC_EXCL, fcpl, fapl);
    if (file < 0) rc = -1;
    if (rc >= 0) rc = put_meta(file, meta, rows->rows, names, width, lm);
    if (rc >= 0) rc = put_columns(file, rows, lm);
    if (file >= 0 && H5Fclose(file) < 0) rc = -1;
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    ft_h5_quiet_end(q);
    if (rc < 0)
        st = ft_fail(err, FT_EIO, "%s: HDF5 failed writing the shard (temporary file %s)", path,
                     tmp);
    if (st == FT_OK) st = publish(tmp, path, err);
    if (st != FT_OK) unlink(tmp);
    free(tmp);
    free(names);
    return st;
}

ft_status shard_write_file(const char *path, const shard_meta *meta, const shard_rows *rows,
                           ft_error *err)
{
    return write_any(path, meta, rows, NULL, err);
}

ft_status shard_write_lm_file(const char *path, const shard_meta *meta, const shard_rows *rows,
                              const shard_lm *lm, ft_error *err)
{
    return write_any(path, meta, rows, lm, err);
}

/* --- reading ------------------------------------------------------------- */

void shard_rows_free(shard_rows *rows)
{
    if (!rows) return;
    free(rows->input_ids);
    free(rows->lengths);
    free(rows->labels);
    free(rows->example_index);
    memset(rows, 0, sizeof *rows);
}

ft_status shard_rows_alloc(shard_rows *r, uint64_t rows, int32_t max_length, bool wide_ids,
                           ft_error *err)
{
    size_t n = rows ? (size_t)rows : 1;
    *r = (shard_rows){.rows = rows, .max_length = max_length, .wide_ids = wide_ids};
    r->input_ids = ft_malloc_array(n, (size_t)max_length * (wide_ids ? 4 : 2));
    r->lengths = ft_malloc_array(n, sizeof(int32_t));
    r->labels = ft_malloc_array(n, sizeof(int32_t));
    r->example_index = ft_malloc_array(n, sizeof(int64_t));
    if (r->input_ids && r->lengths && r->labels && r->example_index) return FT_OK;
    shard_rows_free(r);
    return ft_fail(err, FT_ENOMEM, "out of memory for %llu rows of %d tokens",
                   (unsigned long long)rows, max_length);
}

/* A string attribute equal to want (ft_h5_attr_read_string checks it is
 * one fixed-length string before the read). */
static ft_status check_str_attr(hid_t root, const char *path, const char *name, const char *want,
                                ft_error *err)
{
    char *got = NULL;
    ft_status st = ft_h5_attr_read_string(root, path, name, &got, err);
    if (st == FT_OK && strcmp(got, want) != 0)
        st = ft_fail(err, FT_EFORMAT,
                     "%s: attribute '%s' is \"%.40s\", not \"%s\" (not an ftune shard "
                     "of format version %d?)",
                     path, name, got, want, SHARD_FORMAT_VERSION);
    free(got);
    return st;
}

/* Opens dataset name and checks its rank, shape and integer type. */
static ft_status open_column(hid_t file, const char *path, const char *name, int rank,
                             const hsize_t *want, hid_t *out, size_t *type_size, bool *is_signed,
                             ft_error *err)
{
    hid_t d = H5Lexists(file, name, H5P_DEFAULT) > 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
    if (d < 0) return ft_fail(err, FT_EFORMAT, "%s: no dataset '%s'", path, name);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[2] = {0, 0};
    int r = s < 0 ? -1 : H5Sget_simple_extent_dims(s, NULL, NULL);
    bool ok = r == rank && H5Sget_simple_extent_dims(s, dims, NULL) == rank && dims[0] == want[0] &&
              (rank == 1 || dims[1] == want[1]) && t >= 0 && H5Tget_class(t) == H5T_INTEGER;
    *type_size = ok ? H5Tget_size(t) : 0;
    *is_signed = ok && H5Tget_sign(t) == H5T_SGN_2;
    if (t >= 0) H5Tclose(t);
    if (s >= 0) H5Sclose(s);
    if (!ok) {
        H5Dclose(d);
        return ft_fail(err, FT_EFORMAT,
                       "%s: dataset '%s' must be an integer array of shape [%llu%s%llu]", path,
                       name, (unsigned long long)want[0], rank == 2 ? ", " : "",
                       rank == 2 ? (unsigned long long)want[1] : 0ULL);
    }
    *out = d;
    return FT_OK;
}

static ft_status read_column(hid_t file, const char *path, const char *name, int rank,
                             const hsize_t *dims, size_t want_size, bool want_signed,
                             hid_t mem_type, void **buf, ft_error *err)
{
    hid_t d = -1;
    size_t size = 0;
    bool is_signed = false;
    ft_status st = open_column(file, path, name, rank, dims, &d, &size, &is_signed, err);
    if (st != FT_OK) return st;
    size_t n = (size_t)dims[0] * (rank == 2 ? (size_t)dims[1] : 1);
    if (size != want_size || is_signed != want_signed)
        st = ft_fail(err, FT_EFORMAT, "%s: dataset '%s' must be %s%zu-bit integers", path, name,
                     want_signed ? "signed " : "unsigned ", 8 * want_size);
    else if (!(*buf = ft_malloc_array(n ? n : 1, want_size)))
        st = ft_fail(err, FT_ENOMEM, "%s: out of memory for '%s' (%zu values)", path, name, n);
    else if (n && H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) < 0)
        st = ft_fail(err, FT_EIO, "%s: cannot read dataset '%s'", path, name);
    H5Dclose(d);
    return st;
}

/* The task attribute: absent in classification files (format version 1 as
 * first written), "causal_lm" in causal_lm files. */
static ft_status read_task(hid_t root, const char *path, int *task, ft_error *err)
{
    *task = SHARD_TASK_CLASSIFICATION;
    if (H5Aexists(root, "task") <= 0) return FT_OK;
    char *got = NULL;
    ft_status st = ft_h5_attr_read_string(root, path, "task", &got, err);
    if (st == FT_OK && shard_task_of_name(got) < 0)
        st = ft_fail(err, FT_EFORMAT,
                     "%s: attribute 'task' is \"%.40s\", not \"sequence_classification\" or "
                     "\"causal_lm\"",
                     path, got);
    if (st == FT_OK) *task = shard_task_of_name(got);
    free(got);
    return st;
}

/* What the attributes say about the shapes, checked. */
typedef struct file_shape {
    int64_t rows, max_length, n_labels, vocab_size;
    int task;
    bool packed;
} file_shape;

static ft_status read_shape(hid_t root, const char *path, file_shape *f, ft_error *err)
{
    int64_t version = 0, packed = 0;
    ft_status st = check_str_attr(root, path, "format", SHARD_FORMAT_NAME, err);
    if (st == FT_OK) st = ft_h5_attr_read_int(root, path, "format_version", &version, err);
    if (st == FT_OK && version != SHARD_FORMAT_VERSION)
        st = ft_fail(err, FT_EFORMAT, "%s: format_version %lld, this build reads %d", path,
                     (long long)version, SHARD_FORMAT_VERSION);
    if (st == FT_OK) st = read_task(root, path, &f->task, err);
    bool lm = f->task == SHARD_TASK_CAUSAL_LM;
    if (st == FT_OK) st = ft_h5_attr_read_int(root, path, "rows", &f->rows, err);
    if (st == FT_OK) st = ft_h5_attr_read_int(root, path, "max_length", &f->max_length, err);
    if (st == FT_OK && !lm) st = ft_h5_attr_read_int(root, path, "n_labels", &f->n_labels, err);
    if (st == FT_OK && lm) st = ft_h5_attr_read_int(root, path, "packed", &packed, err);
    if (st == FT_OK) st = ft_h5_attr_read_int(root, path, "vocab_size", &f->vocab_size, err);
    if (st == FT_OK && lm && packed != 0 && packed != 1)
        st = ft_fail(err, FT_EFORMAT, "%s: attribute 'packed' is %lld, not 0 or 1", path,
                     (long long)packed);
    f->packed = packed == 1;
    if (st == FT_OK && (f->rows < 0 || f->max_length < 1 || f->max_length > MAX_LENGTH_LIMIT ||
                        (!lm && f->n_labels < 1) || f->n_labels > INT32_MAX || f->vocab_size < 1 ||
                        f->vocab_size > INT32_MAX))
        st = ft_fail(err, FT_EFORMAT,
                     "%s: impossible attributes rows=%lld max_length=%lld n_labels=%lld "
                     "vocab_size=%lld",
                     path, (long long)f->rows, (long long)f->max_length, (long long)f->n_labels,
                     (long long)f->vocab_size);
    return st;
}

/* The first id of ids[0..n) outside [0, vocab) (n when none). The scan
 * ORs one unsigned compare per id, which vectorizes; the search for the
 * position runs only when there is a bad id. */
static size_t first_bad_id(const shard_rows *r, size_t n, uint32_t vocab)
{
    bool bad = false;
    if (r->wide_ids) {
        const int32_t *ids = r->input_ids;
        for (size_t i = 0; i < n; i++) bad |= (uint32_t)ids[i] >= vocab; /* negative: huge */
        for (size_t i = 0; bad && i < n; i++)
            if ((uint32_t)ids[i] >= vocab) return i;
    } else {
        const uint16_t *ids = r->input_ids;
        for (size_t i = 0; i < n; i++) bad |= ids[i] >= vocab;
        for (size_t i = 0; bad && i < n; i++)
            if (ids[i] >= vocab) return i;
    }
    return n;
}

static int64_t id_at(const shard_rows *r, size_t i)
{
    return r->wide_ids ? ((const int32_t *)r->input_ids)[i] : ((const uint16_t *)r->input_ids)[i];
}

ft_status shard_rows_check(const char *path, const shard_rows *r, int32_t n_labels,
                           int32_t vocab_size, ft_error *err)
{
    for (uint64_t i = 0; i < r->rows; i++) {
        if (r->lengths[i] < 1 || r->lengths[i] > r->max_length)
            return ft_fail(err, FT_EFORMAT, "%s: row %llu: length %d not in [1, %d]", path,
                           (unsigned long long)i, r->lengths[i], r->max_length);
        if (n_labels > 0 && (r->labels[i] < 0 || r->labels[i] >= n_labels))
            return ft_fail(err, FT_EFORMAT, "%s: row %llu: label %d not in [0, %d)", path,
                           (unsigned long long)i, r->labels[i], n_labels);
        if (r->example_index[i] < 0)
            return ft_fail(err, FT_EFORMAT, "%s: row %llu: negative example_index", path,
                           (unsigned long long)i);
    }
    if (!r->input_ids) return FT_OK;
    size_t n = (size_t)r->rows * (size_t)r->max_length;
    size_t i = first_bad_id(r, n, (uint32_t)vocab_size);
    if (i == n) return FT_OK;
    return ft_fail(err, FT_EFORMAT,
                   "%s: row %zu, position %zu: token id %lld not in the "
                   "model's vocabulary [0, %d): the file is damaged or was made with another "
                   "tokenizer",
                   path, i / (size_t)r->max_length, i % (size_t)r->max_length,
                   (long long)id_at(r, i), vocab_size);
}

void shard_rows_copy_ids(const shard_rows *r, uint64_t row, int32_t t, int32_t *dst)
{
    size_t at = (size_t)row * (size_t)r->max_length;
    if (r->wide_ids) {
        memcpy(dst, (const int32_t *)r->input_ids + at, (size_t)t * sizeof *dst);
        return;
    }
    const uint16_t *src = (const uint16_t *)r->input_ids + at;
    for (int32_t j = 0; j < t; j++) dst[j] = src[j];
}

/* An attribute that differs from the manifest's figure. */
static ft_status check_expected(const char *path, const char *name, int64_t got, int64_t want,
                                ft_error *err)
{
    if (got == want) return FT_OK;
    return ft_fail(err, FT_EFORMAT, "%s: %s %lld, but manifest.json says %lld", path, name,
                   (long long)got, (long long)want);
}

static ft_status check_shape(const char *path, const file_shape *f, const shard_expect *want,
                             ft_error *err)
{
    if (!want) return FT_OK;
    ft_status st = check_expected(path, "rows", f->rows, (int64_t)want->rows, err);
    if (st == FT_OK) st = check_expected(path, "max_length", f->max_length, want->max_length, err);
    if (st == FT_OK) st = check_expected(path, "n_labels", f->n_labels, want->n_labels, err);
    if (st == FT_OK) st = check_expected(path, "vocab_size", f->vocab_size, want->vocab_size, err);
    if (st == FT_OK && f->task == SHARD_TASK_CAUSAL_LM)
        st = check_expected(path, "packed", f->packed, want->packed, err);
    return st;
}

/* A file of the other task than the reader's is an error naming both. */
static ft_status check_task(const char *path, const file_shape *f, bool lm, ft_error *err)
{
    int want = lm ? SHARD_TASK_CAUSAL_LM : SHARD_TASK_CLASSIFICATION;
    if (f->task == want) return FT_OK;
    return ft_fail(err, FT_EFORMAT,
                   "%s: a %s shard (attribute 'task'), but this reader reads %s data", path,
                   shard_task_name(f->task), shard_task_name(want));
}

/* The segments of packed rows (each row's last segment id), before the
 * validator has seen the columns: a length or id out of range is an error
 * here already. */
static ft_status count_segments(const char *path, const int32_t *lengths, const hsize_t *dims,
                                shard_lm *lm, ft_error *err)
{
    lm->segments = 0;
    for (hsize_t i = 0; i < dims[0]; i++) {
        int32_t n = lengths[i], seg = n >= 1 && (hsize_t)n <= dims[1]
                                          ? lm->segment_ids[i * dims[1] + (hsize_t)n - 1]
                                          : -1;
        if (seg < 1 || (hsize_t)seg > dims[1])
            return ft_fail(err, FT_EFORMAT,
                           "%s: row %llu: length %d or its last segment id %d out of range", path,
                           (unsigned long long)i, n, seg);
        lm->segments += (uint64_t)seg;
    }
    return FT_OK;
}

static ft_status read_lm_columns(hid_t file, const char *path, const hsize_t *dims, bool packed,
                                 const int32_t *lengths, shard_lm *lm, ft_error *err)
{
    lm->packed = packed;
    ft_status st = read_column(file, path, "labels", 2, dims, 4, true, H5T_NATIVE_INT32,
                               (void **)&lm->labels, err);
    if (st == FT_OK && packed)
        st = read_column(file, path, "position_ids", 2, dims, 4, true, H5T_NATIVE_INT32,
                         (void **)&lm->position_ids, err);
    if (st == FT_OK && packed)
        st = read_column(file, path, "segment_ids", 2, dims, 4, true, H5T_NATIVE_INT32,
                         (void **)&lm->segment_ids, err);
    if (st == FT_OK && packed) st = count_segments(path, lengths, dims, lm, err);
    hsize_t seg_dims[1] = {lm->segments};
    if (st == FT_OK && packed)
        st = read_column(file, path, "segment_example_index", 1, seg_dims, 8, true,
                         H5T_NATIVE_INT64, (void **)&lm->segment_example_index, err);
    return st;
}

static ft_status read_all(hid_t file, const char *path, bool with_ids, const shard_expect *want,
                          shard_rows *out, shard_lm *lm, ft_error *err)
{
    file_shape f = {0};
    ft_status st = read_shape(file, path, &f, err);
    if (st == FT_OK) st = check_task(path, &f, lm != NULL, err);
    if (st == FT_OK) st = check_shape(path, &f, want, err);
    if (st != FT_OK) return st;
    out->rows = (uint64_t)f.rows;
    out->max_length = (int32_t)f.max_length;
    out->wide_ids = shard_needs_wide_ids((int32_t)f.vocab_size);
    hsize_t dims[2] = {(hsize_t)f.rows, (hsize_t)f.max_length};
    st = read_column(file, path, "lengths", 1, dims, 4, true, H5T_NATIVE_INT32,
                     (void **)&out->lengths, err);
    if (st == FT_OK && lm)
        st = read_lm_columns(file, path, dims, f.packed, out->lengths, lm, err);
    else if (st == FT_OK)
        st = read_column(file, path, "labels", 1, dims, 4, true, H5T_NATIVE_INT32,
                         (void **)&out->labels, err);
    if (st == FT_OK)
        st = read_column(file, path, "example_index", 1, dims, 8, true, H5T_NATIVE_INT64,
                         (void **)&out->example_index, err);
    if (st == FT_OK && with_ids)
        st =
            read_column(file, path, "input_ids", 2, dims, out->wide_ids ? 4 : 2, out->wide_ids,
                        out->wide_ids ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT16, &out->input_ids, err);
    if (st == FT_OK)
        st = shard_rows_check(path, out, (int32_t)f.n_labels, (int32_t)f.vocab_size, err);
    if (st == FT_OK && lm) st = shard_lm_check(path, out, lm, (int32_t)f.vocab_size, err);
    return st;
}

ft_status shard_read_file(const char *path, bool with_ids, shard_rows *out, ft_error *err)
{
    return shard_read_expected(path, with_ids, NULL, out, err);
}

static ft_status read_any(const char *path, bool with_ids, const shard_expect *want,
                          shard_rows *out, shard_lm *lm, ft_error *err)
{
    memset(out, 0, sizeof *out);
    if (lm) memset(lm, 0, sizeof *lm);
    if (!ft_path_exists(path)) return ft_fail(err, FT_ENOTFOUND, "%s: no such shard file", path);
    ft_h5_quiet q = ft_h5_quiet_begin();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fapl_sec2(fapl);
    hid_t file = fapl < 0 || H5Fis_hdf5(path) <= 0 ? -1 : H5Fopen(path, H5F_ACC_RDONLY, fapl);
    ft_status st = file < 0 ? ft_fail(err, FT_EFORMAT,
                                      "%s: not a readable HDF5 file (damaged, or a "
                                      "half-written copy?)",
                                      path)
                            : read_all(file, path, with_ids, want, out, lm, err);
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    ft_h5_quiet_end(q);
    if (st != FT_OK) {
        shard_rows_free(out);
        shard_lm_free(lm);
    }
    return st;
}

ft_status shard_read_expected(const char *path, bool with_ids, const shard_expect *want,
                              shard_rows *out, ft_error *err)
{
    return read_any(path, with_ids, want, out, NULL, err);
}

ft_status shard_read_lm(const char *path, bool with_ids, const shard_expect *want, shard_rows *out,
                        shard_lm *lm, ft_error *err)
{
    return read_any(path, with_ids, want, out, lm, err);
}

ft_status shard_file_crc32(const char *path, uint32_t *crc, uint64_t *bytes, ft_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ft_fail(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    unsigned char buf[1 << 16];
    uLong c = crc32_z(0, NULL, 0);
    uint64_t total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        c = crc32_z(c, buf, n);
        total += n;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) return ft_fail(err, FT_EIO, "%s: read error", path);
    *crc = (uint32_t)c;
    *bytes = total;
    return FT_OK;
}

ft_status shard_file_check(const char *path, const shard_manifest_file *want, ft_error *err)
{
    uint32_t crc = 0;
    uint64_t bytes = 0;
    ft_status st = shard_file_crc32(path, &crc, &bytes, err);
    if (st == FT_OK && bytes != want->bytes)
        st = ft_fail(err, FT_EFORMAT,
                     "%s: %llu bytes, but manifest.json says %llu: the file is "
                     "damaged or changed",
                     path, (unsigned long long)bytes, (unsigned long long)want->bytes);
    else if (st == FT_OK && crc != want->crc32)
        st = ft_fail(err, FT_EFORMAT,
                     "%s: crc32 %08x, but manifest.json says %08x: the file is "
                     "damaged or changed, or from another dataset",
                     path, (unsigned)crc, (unsigned)want->crc32);
    return st;
}
