/* ops_cpu_backend: the CPU back end's table (ops_backend.h), one
 * ops_cpu_<name> per entry of ops_list.h. Its memory is
 * host memory: blocks of 1 MiB and more come from ft_calloc_large (huge pages,
 * see ft_alloc.h), smaller ones from calloc; moves are memcpy, and nothing is
 * ever pending, so synchronize has nothing to wait for. */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "ops/ops_backend.h"
#include "ops/ops_cpu.h"

enum { LARGE_BYTES = 1 << 20 };

static void *cpu_alloc(size_t bytes)
{
    if (bytes >= LARGE_BYTES) return ft_calloc_large(bytes, 1);
    return ft_calloc_array(bytes ? bytes : 1, 1);
}

static void cpu_free(void *p, size_t bytes)
{
    if (bytes >= LARGE_BYTES)
        ft_free_large(p, bytes, 1);
    else
        free(p);
}

static void cpu_zero(void *p, size_t bytes)
{
    if (bytes) memset(p, 0, bytes);
}

static void cpu_move(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src) memcpy(dst, src, bytes);
}

static void cpu_synchronize(void) {}

static const ops_backend cpu_backend = {.name = "cpu",
                                        .host_memory = true,
                                        .alloc = cpu_alloc,
                                        .free = cpu_free,
                                        .zero = cpu_zero,
                                        .to_device = cpu_move,
                                        .to_host = cpu_move,
                                        .copy = cpu_move,
                                        .synchronize = cpu_synchronize,
#define OPS_CPU_ENTRY(name, params, args)          .name = ops_cpu_##name,
#define OPS_CPU_ENTRY_RET(ret, name, params, args) .name = ops_cpu_##name,
                                        OPS_LIST(OPS_CPU_ENTRY, OPS_CPU_ENTRY_RET)
#undef OPS_CPU_ENTRY
#undef OPS_CPU_ENTRY_RET
};

const ops_backend *ops_cpu_backend(void) { return &cpu_backend; }
