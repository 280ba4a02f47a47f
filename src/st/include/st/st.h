/* st: safetensors files, read (memory-mapped, fully bounds-checked) and
 * written (atomically).
 *
 * The format: 8 bytes little-endian u64 N, N bytes of a JSON object
 * {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]},
 *  ..., "__metadata__": {"key": "string", ...}}, then the data area; offsets
 * are relative to the start of the data area, tensors are C-ordered and
 * little-endian.
 *
 * Design: a file is mmap'd read-only and its header is treated as hostile
 * input. st_open() checks everything a later read relies on (header length
 * against the file size, JSON shape, dtype names, shapes, overflow-checked
 * sizes, offsets inside the data area, no two tensors overlapping, no
 * duplicate names, metadata of strings), so every later call is a plain
 * copy from a range known to be inside the mapping. Tensor data may sit at
 * any alignment: reads go through memcpy. The writer lays tensors out the
 * way the reference (Rust) safetensors writer does, so a file written here
 * is byte-identical to what `safetensors.torch.save_file` writes for the
 * same tensors and one metadata key: tensors sorted by dtype (widest
 * first) then by name, compact JSON with "__metadata__" first, the header
 * padded with spaces to a multiple of 8 bytes.
 *
 * Not here: integer tensors are described and their bytes handed out but
 * not converted; no F8 dtypes; no sharded checkpoints
 * (model.safetensors.index.json); no big-endian hosts. A file truncated by
 * another process while mapped raises SIGBUS, as with any mmap reader. */
#ifndef ST_H
#define ST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"

typedef enum st_dtype {
    ST_F32 = 0, /* the default of st_tensor_out */
    ST_F16,
    ST_BF16,
    ST_F64,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL
} st_dtype;

/* Dimensions a tensor may have; a header with more is rejected. */
enum { ST_MAX_NDIM = 8 };

/* Upper bound on the JSON header (as the reference reader: 100 MB). */
#define ST_MAX_HEADER_BYTES ((uint64_t)100000000)

typedef struct st_tensor_info {
    const char *name; /* owned by the st_file */
    st_dtype dtype;
    int ndim; /* 0 for a scalar */
    int64_t shape[ST_MAX_NDIM];
    size_t numel;  /* product of shape (1 for a scalar) */
    size_t nbytes; /* numel * st_dtype_size(dtype) */
    size_t offset; /* from the start of the data area */
} st_tensor_info;

typedef struct st_file st_file;

/* "F32", "BF16", ... (the header's spelling). */
const char *st_dtype_name(st_dtype dtype);
/* Bytes per element. */
size_t st_dtype_size(st_dtype dtype);
/* F32, F16, BF16 and F64: the dtypes st_read_f32 converts. */
bool st_dtype_is_float(st_dtype dtype);

/* Map and validate path. On failure *file is NULL and err names the file
 * (and the tensor) and what is wrong: FT_ENOTFOUND / FT_EIO for the
 * operating system, FT_EFORMAT for bytes that do not follow the format,
 * FT_ENOMEM. The caller closes the file with st_close(). */
ft_status st_open(const char *path, st_file **file, ft_error *err);
void st_close(st_file *file); /* NULL is a no-op */

const char *st_path(const st_file *file);
/* Tensors, in the order of their data in the file. */
size_t st_count(const st_file *file);
const st_tensor_info *st_info_at(const st_file *file, size_t i);
/* The tensor called name, or NULL. */
const st_tensor_info *st_find(const st_file *file, const char *name);
/* Value of "__metadata__"[key], or NULL. */
const char *st_metadata(const st_file *file, const char *key);
/* The tensor's raw little-endian bytes inside the mapping (any alignment;
 * info->nbytes long). Valid until st_close(). */
const void *st_data(const st_file *file, const st_tensor_info *info);

/* Copy tensor `name` into dst as fp32, converting F16 and BF16 exactly
 * (subnormals, infinities and NaN included) and F64 by rounding to nearest.
 * expected_numel is the number of floats dst holds: a tensor with another
 * element count is FT_EINVAL naming both counts; an absent tensor is
 * FT_ENOTFOUND; an integer dtype is FT_EINVAL. */
ft_status st_read_f32(const st_file *file, const char *name, float *dst, size_t expected_numel,
                      ft_error *err);

/* Conversions used above and by the writer (exposed for tests). */
float st_f16_to_f32(uint16_t h);
float st_bf16_to_f32(uint16_t b);
uint16_t st_f32_to_f16(float f);  /* round to nearest even; NaN stays NaN */
uint16_t st_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */

/* One tensor to write: fp32 data stored as dtype (ST_F32, ST_F16 or
 * ST_BF16; the narrow ones rounded to nearest even). */
typedef struct st_tensor_out {
    const char *name;
    const float *data;
    int ndim;
    const int64_t *shape; /* ndim entries, each >= 0 */
    st_dtype dtype;
} st_tensor_out;

/* Write n tensors to path: temp sibling, fsync, rename, fsync of the
 * folder, so a crash leaves either the old file or the new one (and at
 * most a stray "path.tmp.*"). metadata_json, when not NULL, is a JSON object
 * of strings stored as "__metadata__" (e.g. {"format":"pt"}, which
 * transformers expects). With overwrite false an existing path is
 * FT_EEXIST. Names must be distinct and not "__metadata__" (FT_EINVAL). */
ft_status st_write(const char *path, const st_tensor_out *tensors, size_t n,
                   const char *metadata_json, bool overwrite, ft_error *err);

/* st_write with every tensor stored as F32 whatever its dtype field says. */
ft_status st_write_f32(const char *path, const st_tensor_out *tensors, size_t n,
                       const char *metadata_json, bool overwrite, ft_error *err);

#endif
