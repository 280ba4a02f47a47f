/* ft_h5: the HDF5 attribute helpers shared by the shard files (src/shard)
 * and the checkpoints (src/ckpt).
 *
 * Design: an attribute read from a file trusts nothing. H5Aread copies every
 * element the attribute holds, so a reader checks the element count before
 * it reads (an array where the format has a scalar would overrun the
 * caller's variable), and every failure is FT_EFORMAT with a message naming
 * the file and the attribute: missing, the wrong number of elements, the
 * wrong class, or not convertible to the caller's type.
 * Not here: datasets (each format checks its own shapes), string types of a
 * format (each writer makes the one its format specifies). */
#ifndef FT_H5_H
#define FT_H5_H

#include <stddef.h>
#include <stdint.h>

#include <hdf5.h>

#include "core/ft_error.h"

/* HDF5's own error printing, off between begin and end (every failure
 * becomes a status and a message of ours); end restores what was there. */
typedef struct ft_h5_quiet {
    H5E_auto2_t func;
    void *data;
} ft_h5_quiet;
ft_h5_quiet ft_h5_quiet_begin(void);
void ft_h5_quiet_end(ft_h5_quiet q);

/* Exactly `count` elements of attribute `name` of loc into v, converted to
 * mem_type; path names the file in messages. */
ft_status ft_h5_attr_read(hid_t loc, const char *path, const char *name, hid_t mem_type,
                          size_t count, void *v, ft_error *err);
/* One element of integer class, as int64. */
ft_status ft_h5_attr_read_int(hid_t loc, const char *path, const char *name, int64_t *v,
                              ft_error *err);
/* One fixed-length string, NUL-terminated into *out (caller frees). */
ft_status ft_h5_attr_read_string(hid_t loc, const char *path, const char *name, char **out,
                                 ft_error *err);

/* Create attribute name of loc: a scalar (rank 0) or n elements (rank 1)
 * of file_type, written from v as mem_type. < 0 on failure. */
herr_t ft_h5_attr_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                        hsize_t n, const void *v);

#endif
