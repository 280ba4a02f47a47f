/* ops_devsim_backend: a simulated device back end for tests, on the CPU.
 *
 * Why: the GPU back end (src/cuda) cannot run where there is no GPU, yet
 * most of what can go wrong with it is not in its kernels but in the host
 * code around them: a missing to_device or to_host, a host pointer handed
 * to an operation, a buffer planned too small, a free of the wrong size.
 * On the CPU back end (host_memory = true) all of those silently work.
 *
 * What: an ops_backend (host_memory = false) whose operations are the CUDA
 * back end's kernel bodies (src/cuda/kern_*.cuh) run through the host
 * runner (kern_host_runner.h), in the launch plan of src/cuda/ops_cuda_*.cu
 * (grid sizes, column sums in two passes, the stable sort before the
 * embedding gradient, the attention plan), with ops_cpu_backend()'s
 * float32 and bf16 products standing in for cuBLAS and cuBLASLt.
 *
 * Its memory behaves like device memory: every allocation is its own mmap
 * region, PROT_NONE while host code runs; the back end's own functions
 * make every live region readable and writable on entry and take that
 * back on exit. Host code that touches back-end memory therefore dies of
 * SIGSEGV (a handler names the address, the region and a backtrace).
 * Every pointer an operation gets is checked to be back-end memory of the
 * extent the operation will touch, naturally aligned (host-memory
 * arguments of ops.h, such as AdamW's span table, the reverse); a free
 * must name a region's start and its size. A failed check prints the
 * operation and argument and aborts.
 *
 * Not simulated: asynchrony (every operation is done when it returns), the
 * GPU's summation orders in warps (one thread per warp here), cuBLAS's
 * products, TF32. Test support only: not part of the library. */
#ifndef OPS_DEVSIM_BACKEND_H
#define OPS_DEVSIM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/ops_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The back end ("devsim"); installs the SIGSEGV reporter on first use. */
const ops_backend *ops_devsim_backend(void);

/* Live allocations of the back end and their bytes (a test ends with 0:
 * everything the model, the optimizer and the plans made was freed). */
size_t ops_devsim_live_regions(void);
size_t ops_devsim_live_bytes(void);

/* Whether [p, p + bytes) lies in one live region. */
bool ops_devsim_owns(const void *p, size_t bytes);

/* Operations run and bytes moved each way since the start (for tests that
 * want to see that a step moved nothing it need not move). device_work:
 * what the CUDA back end would put on its stream for the same calls, one
 * per kernel launch, cuBLAS product, memset or device copy (the devsim
 * mirrors ops_cuda's launches; a bf16 linear forward counts as
 * cuBLASLt's fallback, bias rows + product). */
typedef struct ops_devsim_counts {
    size_t ops, to_device_bytes, to_host_bytes, to_device_calls, to_host_calls;
    size_t device_work;
} ops_devsim_counts;
ops_devsim_counts ops_devsim_get_counts(void);

#ifdef __cplusplus
}
#endif

#endif
