/* ops_mirror: a back-end float array with a host copy (see ops_backend.h).
 * The flags make every copy lazy: a checkpoint every 500 steps costs one
 * download of the parameters, not one per step. */
#include "core/ft_alloc.h"
#include "ops/ops_backend.h"

ft_status ops_mirror_create(ops_mirror *mr, size_t n, const char *what, ft_error *err)
{
    const ops_backend *be = ops_backend_current();
    *mr = (ops_mirror){.be = be, .n = n};
    size_t bytes;
    if (ft_mul_overflows(n, sizeof(float), &bytes))
        return ft_fail(err, FT_ENOMEM, "%s: %zu floats overflow", what, n);
    mr->device = be->alloc(bytes);
    mr->host = be->host_memory ? mr->device : ft_calloc_large(n, sizeof(float));
    if (!mr->device || !mr->host) {
        ops_mirror_free(mr);
        return ft_fail(err, FT_ENOMEM, "%s: cannot allocate %zu floats on the %s", what, n,
                       be->name);
    }
    return FT_OK;
}

void ops_mirror_free(ops_mirror *mr)
{
    const ops_backend *be = mr->be;
    if (mr->host && mr->host != mr->device) ft_free_large(mr->host, mr->n, sizeof(float));
    if (mr->device) be->free(mr->device, mr->n * sizeof(float));
    *mr = (ops_mirror){0};
}

const float *ops_mirror_host_read(ops_mirror *mr)
{
    if (mr->device_newer) {
        mr->be->to_host(mr->host, mr->device, mr->n * sizeof(float));
        mr->device_newer = false;
    }
    return mr->host;
}

float *ops_mirror_host(ops_mirror *mr)
{
    ops_mirror_host_read(mr);
    mr->host_newer = mr->host != mr->device;
    return mr->host;
}

const float *ops_mirror_device_read(ops_mirror *mr)
{
    if (mr->host_newer) {
        mr->be->to_device(mr->device, mr->host, mr->n * sizeof(float));
        mr->host_newer = false;
    }
    return mr->device;
}

float *ops_mirror_device(ops_mirror *mr)
{
    ops_mirror_device_read(mr);
    mr->device_newer = mr->host != mr->device;
    return mr->device;
}
