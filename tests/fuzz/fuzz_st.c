/* fuzz_st: the safetensors header (src/st). The input is a whole file;
 * st_open maps and validates it, and for an accepted file every promise
 * st.h makes is checked: each tensor lies inside the data area, its byte
 * count is numel x dtype size, st_find finds it by name, and st_read_f32
 * converts every float tensor. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "st/st.h"

static void check_tensor(const st_file *f, const st_tensor_info *t, size_t data_bytes)
{
    fuzz_require(t->offset <= data_bytes && t->nbytes <= data_bytes - t->offset,
                 "st: tensor outside the data area");
    fuzz_require(t->nbytes == t->numel * st_dtype_size(t->dtype), "st: nbytes != numel x size");
    fuzz_require(st_find(f, t->name) == t, "st_find does not find a listed tensor");
    if (!st_dtype_is_float(t->dtype) || t->numel > (1u << 20)) return;
    float *dst = malloc(t->numel ? t->numel * sizeof *dst : 1);
    ft_error err;
    fuzz_require(dst && st_read_f32(f, t->name, dst, t->numel, &err) == FT_OK,
                 "st_read_f32 fails on an accepted tensor");
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fuzz_write_file("model.safetensors", data, size);
    st_file *f = NULL;
    ft_error err;
    if (st_open(path, &f, &err) == FT_OK) {
        /* The data area is what follows the 8-byte length and the header. */
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | data[i];
        size_t data_bytes = size - 8 - (size_t)n;
        for (size_t i = 0; i < st_count(f); i++) check_tensor(f, st_info_at(f, i), data_bytes);
        (void)st_metadata(f, "format");
        (void)st_find(f, "__metadata__");
    } else {
        fuzz_require(f == NULL && err.msg[0] != '\0', "st_open failed without a message");
    }
    st_close(f);
    free(path);
    return 0;
}
