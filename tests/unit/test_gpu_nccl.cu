// NCCL all-reduce through gpu_nccl on real GPUs: every rank contributes
// rank+1 in each element, so the sum is size*(size+1)/2 exactly.
#include <cuda_runtime.h>
#include <mpi.h>
#include <stdio.h>
#include <vector>

#include <mpi.h> /* before extern "C": it pulls C++ headers */
extern "C" {
#include "gpu_device.h"
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int count = gpu_device_count(), min_count;
    MPI_Allreduce(&count, &min_count, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (min_count == 0) {
        if (rank == 0) fprintf(stderr, "no GPU on this machine: skipped\n");
        MPI_Finalize();
        return 77;
    }
    gpu_device_info info;
    ft_error err;
    if (gpu_device_select(MPI_COMM_WORLD, &info, &err) != FT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    gpu_nccl *nccl = NULL;
    gpu_nccl_create(MPI_COMM_WORLD, &nccl, &err);
    const size_t n = 1 << 20;
    std::vector<float> host(n, (float)(rank + 1));
    float *dev = NULL;
    cudaMalloc(&dev, n * sizeof(float));
    cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice);
    gpu_nccl_allreduce_sum(nccl, dev, n, &err);
    cudaMemcpy(host.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost);
    float expect = (float)(size * (size + 1) / 2);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += host[i] != expect;
    fprintf(stderr, "rank %d: %zu of %zu elements wrong (expected %g)\n", rank, wrong, n, expect);
    cudaFree(dev);
    gpu_nccl_free(nccl);
    MPI_Finalize();
    return wrong ? 1 : 0;
}
