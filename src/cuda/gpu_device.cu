/* gpu_device: see gpu_device.h. CUDA and NCCL calls that fail because of a
 * bug or a broken node abort through FT_CHECK (every rank must stop, none may
 * wait in a collective); a missing GPU is an ordinary status. */
#include <mpi.h> /* before extern "C": it pulls C++ headers */
extern "C" {
#include "cuda/gpu_device.h"
#include "core/ft_alloc.h"
}

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct gpu_nccl {
    ncclComm_t comm;
    cudaStream_t stream;
};

extern "C" int gpu_device_count(void)
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError(); /* clear the sticky "no device" error */
        return 0;
    }
    return count;
}

/* How many other ranks of the node communicator use the GPU with this UUID. */
static int count_sharing(MPI_Comm node, int local_size, const char uuid[16])
{
    char *all = (char *)malloc((size_t)local_size * 16);
    FT_CHECK(all != NULL);
    FT_CHECK(MPI_Allgather(uuid, 16, MPI_BYTE, all, 16, MPI_BYTE, node) == MPI_SUCCESS);
    int same = 0;
    for (int r = 0; r < local_size; r++) same += memcmp(all + 16 * r, uuid, 16) == 0;
    free(all);
    return same - 1;
}

extern "C" ft_status gpu_device_select(MPI_Comm comm, gpu_device_info *info, ft_error *err)
{
    memset(info, 0, sizeof *info);
    info->device = -1;
    MPI_Comm node;
    FT_CHECK(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
             MPI_SUCCESS);
    MPI_Comm_rank(node, &info->local_rank);
    MPI_Comm_size(node, &info->local_size);
    info->count = gpu_device_count();
    if (info->count == 0) {
        MPI_Comm_free(&node);
        return ft_fail(err, FT_ENOTFOUND,
                       "no CUDA GPU visible to this process "
                       "(CUDA_VISIBLE_DEVICES='%s')",
                       getenv("CUDA_VISIBLE_DEVICES") ? getenv("CUDA_VISIBLE_DEVICES") : "");
    }
    info->device = info->local_rank % info->count;
    FT_CHECK(cudaSetDevice(info->device) == cudaSuccess);
    cudaDeviceProp prop;
    FT_CHECK(cudaGetDeviceProperties(&prop, info->device) == cudaSuccess);
    snprintf(info->name, sizeof info->name, "%s", prop.name);
    info->memory_bytes = prop.totalGlobalMem;
    info->cc_major = prop.major;
    info->cc_minor = prop.minor;
    info->sharing = count_sharing(node, info->local_size, prop.uuid.bytes);
    MPI_Comm_free(&node);
    /* cuBLAS is linked and usable on this device: the matmul back end needs it. */
    cublasHandle_t blas;
    FT_CHECK(cublasCreate(&blas) == CUBLAS_STATUS_SUCCESS);
    cublasDestroy(blas);
    return FT_OK;
}

extern "C" ft_status gpu_nccl_create(MPI_Comm comm, gpu_nccl **out, ft_error *err)
{
    *out = NULL;
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    ncclUniqueId id;
    if (rank == 0) FT_CHECK(ncclGetUniqueId(&id) == ncclSuccess);
    FT_CHECK(MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm) == MPI_SUCCESS);
    gpu_nccl *nccl = (gpu_nccl *)calloc(1, sizeof *nccl);
    if (!nccl) return ft_fail(err, FT_ENOMEM, "out of memory");
    FT_CHECK(ncclCommInitRank(&nccl->comm, size, id, rank) == ncclSuccess);
    FT_CHECK(cudaStreamCreateWithFlags(&nccl->stream, cudaStreamNonBlocking) == cudaSuccess);
    *out = nccl;
    return FT_OK;
}

extern "C" ft_status gpu_nccl_allreduce_sum(gpu_nccl *nccl, float *device_buffer, size_t n,
                                            ft_error *err)
{
    (void)err;
    /* nccl->stream is non-blocking: it would not wait for copies the caller
     * made on the legacy stream (a cudaMemcpy from pageable memory may
     * return before its data has landed). A reference, not a fast path. */
    FT_CHECK(cudaDeviceSynchronize() == cudaSuccess);
    FT_CHECK(ncclAllReduce(device_buffer, device_buffer, n, ncclFloat, ncclSum, nccl->comm,
                           nccl->stream) == ncclSuccess);
    FT_CHECK(cudaStreamSynchronize(nccl->stream) == cudaSuccess);
    return FT_OK;
}

extern "C" void gpu_nccl_free(gpu_nccl *nccl)
{
    if (!nccl) return;
    ncclCommDestroy(nccl->comm);
    cudaStreamDestroy(nccl->stream);
    free(nccl);
}
