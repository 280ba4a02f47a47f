/* ft_h5: HDF5 attribute helpers (see ft_h5.h). */
#include "core/ft_h5.h"

#include <stdbool.h>
#include <stdlib.h>

#include "core/ft_alloc.h"

ft_h5_quiet ft_h5_quiet_begin(void)
{
    ft_h5_quiet q = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &q.func, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void ft_h5_quiet_end(ft_h5_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.func, q.data); }

/* Opens attribute name after checking that it holds count elements; -1 and
 * the message otherwise. */
static hid_t open_counted(hid_t loc, const char *path, const char *name, size_t count,
                          ft_error *err)
{
    hid_t a = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : -1;
    if (a < 0) {
        ft_fail(err, FT_EFORMAT, "%s: attribute '%s' is missing", path, name);
        return -1;
    }
    hid_t s = H5Aget_space(a);
    hssize_t n = s < 0 ? -1 : H5Sget_simple_extent_npoints(s);
    if (s >= 0) H5Sclose(s);
    if (n == (hssize_t)count) return a;
    H5Aclose(a);
    ft_fail(err, FT_EFORMAT, "%s: attribute '%s' holds %lld element(s), expected %zu", path, name,
            (long long)n, count);
    return -1;
}

ft_status ft_h5_attr_read(hid_t loc, const char *path, const char *name, hid_t mem_type,
                          size_t count, void *v, ft_error *err)
{
    hid_t a = open_counted(loc, path, name, count, err);
    if (a < 0) return FT_EFORMAT;
    herr_t rc = H5Aread(a, mem_type, v);
    H5Aclose(a);
    if (rc < 0)
        return ft_fail(err, FT_EFORMAT,
                       "%s: attribute '%s' cannot be read as the format's "
                       "type (another type in the file?)",
                       path, name);
    return FT_OK;
}

ft_status ft_h5_attr_read_int(hid_t loc, const char *path, const char *name, int64_t *v,
                              ft_error *err)
{
    hid_t a = open_counted(loc, path, name, 1, err);
    if (a < 0) return FT_EFORMAT;
    hid_t t = H5Aget_type(a);
    bool integer = t >= 0 && H5Tget_class(t) == H5T_INTEGER;
    herr_t rc = integer ? H5Aread(a, H5T_NATIVE_INT64, v) : -1;
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    if (rc >= 0) return FT_OK;
    return ft_fail(err, FT_EFORMAT, "%s: attribute '%s' is not an integer%s", path, name,
                   integer ? " that fits in 64 bits" : "");
}

ft_status ft_h5_attr_read_string(hid_t loc, const char *path, const char *name, char **out,
                                 ft_error *err)
{
    *out = NULL;
    hid_t a = open_counted(loc, path, name, 1, err);
    if (a < 0) return FT_EFORMAT;
    hid_t t = H5Aget_type(a);
    bool fixed = t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0;
    size_t size = fixed ? H5Tget_size(t) : 0;
    /* Read as the file's own type: the bytes as stored, NUL-terminated by
     * the extra byte of the buffer whatever the padding. */
    char *buf = size ? ft_calloc_array(size + 1, 1) : NULL;
    herr_t rc = buf ? H5Aread(a, t, buf) : -1;
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
    if (rc >= 0) {
        *out = buf;
        return FT_OK;
    }
    free(buf);
    if (fixed && !buf)
        return ft_fail(err, FT_ENOMEM, "%s: out of memory for attribute '%s'", path, name);
    return ft_fail(err, FT_EFORMAT, "%s: attribute '%s' is not a fixed-length string", path, name);
}

herr_t ft_h5_attr_write(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                        hsize_t n, const void *v)
{
    hid_t s = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = s < 0 ? -1 : H5Acreate2(loc, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = a < 0 ? -1 : H5Awrite(a, mem_type, v);
    if (a >= 0 && H5Aclose(a) < 0) rc = -1;
    if (s >= 0) H5Sclose(s);
    return rc;
}
