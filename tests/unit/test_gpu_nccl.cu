// gpu_nccl on real GPUs: every rank contributes rank+1 in each element, so
// the sum is size*(size+1)/2 exactly. NCCL needs a GPU per rank: with fewer
// GPUs than ranks on a node (one H200, 2 ranks) the test exits 77 (skipped);
// the 1-rank variant (test_gpu_nccl_1) runs on any machine with a GPU.
#include <mpi.h> /* before extern "C": it pulls C++ headers */
#include <cuda_runtime.h>
#include <stdio.h>
#include <vector>

extern "C" {
#include "cuda/gpu_device.h"
#include "gpu_test_util.h"
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int skip = gpu_test_skip_code(MPI_COMM_WORLD, 1);
    if (skip) {
        MPI_Finalize();
        return skip;
    }
    gpu_device_info info;
    ft_error err;
    if (gpu_device_select(MPI_COMM_WORLD, &info, &err) != FT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    gpu_nccl *nccl = NULL;
    if (gpu_nccl_create(MPI_COMM_WORLD, &nccl, &err) != FT_OK) {
        fprintf(stderr, "%s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const size_t n = (1 << 20) + 3;
    std::vector<float> host(n, (float)(rank + 1));
    float *dev = NULL;
    if (cudaMalloc(&dev, n * sizeof(float)) != cudaSuccess ||
        cudaMemcpy(dev, host.data(), n * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
        fprintf(stderr, "rank %d: cudaMalloc/cudaMemcpy failed\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    gpu_nccl_allreduce_sum(nccl, dev, n, &err);
    std::vector<float> out(n, -1.0f);
    cudaMemcpy(out.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost);
    float expect = (float)(size * (size + 1) / 2);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += out[i] != expect;
    fprintf(stderr, "rank %d (GPU %d): %zu of %zu elements wrong (expected %g)\n", rank,
            info.device, wrong, n, expect);
    cudaFree(dev);
    gpu_nccl_free(nccl);
    MPI_Finalize();
    return wrong ? 1 : 0;
}
