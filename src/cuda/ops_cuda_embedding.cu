/* ops_cuda_embedding: the embedding gradient of the CUDA back end,
 * deterministic without atomics (kern_rows.cuh): the (id, row) pairs are
 * sorted by id with CUB's radix sort, which is stable, so each id's rows
 * keep their order; then the blocks of each run of equal ids (one per slice
 * of 128 columns) add its rows into the table in that order, the CPU's
 * order of additions. */
#include "ops_cuda_impl.h"

#include <cub/device/device_radix_sort.cuh>

#include "kern_rows.cuh"

KERN_GLOBAL(kern_embedding_backward_sorted)

__global__ static void iota_rows(int32_t *rows, int n)
{
    for (int i = (int)(blockIdx.x * blockDim.x + threadIdx.x); i < n;
         i += (int)(gridDim.x * blockDim.x))
        rows[i] = i;
}

/* Bytes rounded up to 256 so that the pieces of the scratch stay aligned. */
static size_t aligned(size_t bytes) { return (bytes + 255) & ~(size_t)255; }

void ops_cuda_embedding_backward(float *dtable, const int32_t *ids, const float *dout, int n, int c)
{
    if (n == 0 || c == 0) return;
    size_t ints = aligned((size_t)n * sizeof(int32_t)), temp_bytes = 0;
    CUDA_OK(cub::DeviceRadixSort::SortPairs(NULL, temp_bytes, (const int32_t *)NULL,
                                            (int32_t *)NULL, (const int32_t *)NULL, (int32_t *)NULL,
                                            n, 0, 32, ops_cuda_s()));
    char *base = (char *)ops_cuda_scratch(3 * ints + aligned(temp_bytes));
    int32_t *rows = (int32_t *)base, *sorted_ids = (int32_t *)(base + ints);
    int32_t *sorted_rows = (int32_t *)(base + 2 * ints);
    void *temp = base + 3 * ints;
    iota_rows<<<ops_cuda_grid((size_t)n, OPS_THREADS), OPS_THREADS, 0, ops_cuda_s()>>>(rows, n);
    FT_CHECK(cudaPeekAtLastError() == cudaSuccess);
    CUDA_OK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids,
                                            (const int32_t *)rows, sorted_rows, n, 0, 32,
                                            ops_cuda_s()));
    /* one block of KERN_EMB_COLS threads per (sorted position, column
     * slice); most return at once */
    size_t groups = kern_embedding_backward_groups(n, c);
    OPS_LAUNCH(kern_embedding_backward_sorted, groups < 65535 * 16 ? (int)groups : 65535 * 16,
               KERN_EMB_COLS, dtable, (const int32_t *)sorted_ids, (const int32_t *)sorted_rows,
               dout, n, c);
}
