/* gpu_test_util.h: when a GPU test over MPI ranks must skip (exit 77), with
 * the same answer on every rank so none is left waiting in a collective.
 * C and CUDA C++ (the .cu tests include it too). Header only. */
#ifndef GPU_TEST_UTIL_H
#define GPU_TEST_UTIL_H

#include <mpi.h>
#include <stdio.h>

#include "cuda/gpu_device.h"

/* 77 when any rank sees no GPU, or, if need_gpu_per_rank (NCCL: it refuses
 * two ranks of one communicator on one GPU), when any node has fewer GPUs
 * than ranks; otherwise 0. Rank 0 says why on stderr. */
static inline int gpu_test_skip_code(MPI_Comm comm, int need_gpu_per_rank)
{
    int rank = 0, local_size = 1;
    MPI_Comm node;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &local_size);
    MPI_Comm_free(&node);
    int count = gpu_device_count();
    int mine[2] = {count == 0, need_gpu_per_rank && count < local_size}, any[2];
    MPI_Allreduce(mine, any, 2, MPI_INT, MPI_MAX, comm);
    if (any[0] && rank == 0)
        fprintf(stderr, "no GPU visible to some rank: skipped\n");
    else if (any[1] && rank == 0)
        fprintf(stderr,
                "fewer GPUs than ranks on a node (%d GPUs, %d ranks on rank 0's): "
                "NCCL needs one GPU per rank: skipped\n",
                count, local_size);
    return any[0] || any[1] ? 77 : 0;
}

#endif
