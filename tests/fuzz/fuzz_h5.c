/* fuzz_h5: see fuzz_h5.h. */
#include "fuzz_h5.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

enum { N_KINDS = 11, MAX_POINTS = 4096 };

/* Bytes left to read from the input. */
typedef struct cursor {
    const uint8_t *p;
    size_t left;
} cursor;

static unsigned take(cursor *c)
{
    if (!c->left) return 0;
    c->left--;
    return *c->p++;
}

/* The file type of kind k (caller closes), size len for fixed strings. */
static hid_t kind_type(unsigned k, bool vlen, size_t len)
{
    /* The H5T_ names are function calls (library initialisation), not constants. */
    hid_t ints[N_KINDS - 1] = {H5T_STD_I8LE,   H5T_STD_U8LE,  H5T_STD_I16LE, H5T_STD_U16LE,
                               H5T_STD_I32LE,  H5T_STD_U32LE, H5T_STD_I64LE, H5T_STD_U64LE,
                               H5T_IEEE_F32LE, H5T_IEEE_F64LE};
    if (k < N_KINDS - 1) return H5Tcopy(ints[k]);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, vlen ? H5T_VARIABLE : len + 1);
    return t;
}

/* The space of an edit: rank 0..3, dimensions from the input. */
static hid_t edit_space(cursor *c, int rank, hsize_t *points)
{
    hsize_t dims[3] = {0, 0, 0};
    *points = 1;
    for (int i = 0; i < rank; i++) {
        unsigned b = take(c);
        dims[i] = b & 0x80 ? (hsize_t)1 << ((b & 63) % 63) : b % 17;
        *points = *points > UINT64_MAX / (dims[i] ? dims[i] : 1) ? UINT64_MAX : *points * dims[i];
    }
    return rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
}

/* The values of a write: fixed-size elements from the input, or pointers to
 * NUL-terminated strings for a variable-length one. */
static void *edit_values(cursor *c, hid_t type, bool vlen, hsize_t points, char **text)
{
    size_t each = vlen ? sizeof(char *) : H5Tget_size(type);
    uint8_t *buf = calloc((size_t)points ? (size_t)points : 1, each);
    if (!buf) abort();
    if (vlen) {
        size_t len = take(c) % 64;
        *text = calloc(len + 1, 1);
        for (size_t i = 0; i < len; i++) (*text)[i] = (char)take(c);
        for (hsize_t i = 0; i < points; i++) ((char **)buf)[i] = *text;
        return buf;
    }
    for (size_t i = 0; i < (size_t)points * each; i++) buf[i] = (uint8_t)take(c);
    return buf;
}

static void edit_one(hid_t file, cursor *c, const char *name, bool dataset)
{
    unsigned kind = take(c);
    if (dataset) {
        if (H5Lexists(file, name, H5P_DEFAULT) > 0) H5Ldelete(file, name, H5P_DEFAULT);
    } else if (H5Aexists(file, name) > 0) {
        H5Adelete(file, name);
    }
    if (kind == 0) return;
    bool vlen = (kind / 44) % 2 == 1;
    unsigned k = kind % N_KINDS;
    size_t len = k == N_KINDS - 1 && !vlen ? take(c) % 64 : 0;
    hsize_t points = 0;
    hid_t space = edit_space(c, (int)(kind / N_KINDS % 4), &points);
    hid_t type = kind_type(k, vlen && k == N_KINDS - 1, len);
    vlen = vlen && k == N_KINDS - 1;
    char *text = NULL;
    void *values = points <= MAX_POINTS ? edit_values(c, type, vlen, points, &text) : NULL;
    /* An attribute's values live in its object header: HDF5 allocates all
     * of them at creation, so a huge one is out of the harness's memory. */
    hid_t obj = !dataset && points > MAX_POINTS ? -1
                : dataset
                    ? H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                    : H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (obj >= 0 && values && points)
        dataset ? H5Dwrite(obj, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values)
                : H5Awrite(obj, type, values);
    if (obj >= 0) dataset ? H5Dclose(obj) : H5Aclose(obj);
    free(values);
    free(text);
    H5Tclose(type);
    H5Sclose(space);
}

void fuzz_h5_edit(const char *path, const uint8_t *data, size_t size, const char *const *attrs,
                  size_t n_attrs, const char *const *dsets, size_t n_dsets)
{
    if (!size) return;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    fuzz_require(file >= 0, "fuzz_h5: cannot open the template copy");
    cursor c = {data, size};
    while (c.left) {
        unsigned what = take(&c);
        bool dataset = what & 1;
        size_t index = (what >> 1) % (dataset ? n_dsets : n_attrs);
        edit_one(file, &c, dataset ? dsets[index] : attrs[index], dataset);
    }
    H5Fclose(file);
}
