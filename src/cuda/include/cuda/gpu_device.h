/* gpu_device: choosing and describing the GPU of this rank (CUDA build only).
 *
 * One rank per GPU: the node-local rank comes from
 * MPI_Comm_split_type(MPI_COMM_TYPE_SHARED), and rank r on a node takes GPU
 * r % (GPUs on the node). The NCCL communicator is made from a unique id that
 * rank 0 creates afresh at every start and broadcasts over MPI, so a requeued
 * job never reads a stale id from a file (llm.c's trap).
 *
 * This header has no CUDA types, so C code of the programs can include it;
 * only src/cuda/ includes CUDA and NCCL headers. The operations of the CUDA
 * back end are ops_cuda.h's (kernels in src/cuda/kern_*.cuh, launched by
 * src/cuda/ops_cuda_*.cu); this file only picks and describes the GPU. */
#ifndef GPU_DEVICE_H
#define GPU_DEVICE_H

#include <mpi.h>
#include <stddef.h>

#include "core/ft_error.h"

typedef struct gpu_device_info {
    int count;      /* GPUs visible to this process */
    int local_rank; /* rank among the ranks of this node */
    int local_size; /* ranks on this node */
    int device;     /* the GPU this rank uses, or -1 */
    char name[256];
    size_t memory_bytes;
    int cc_major, cc_minor;
    int sharing; /* other ranks of this node on the same physical GPU
                           (by UUID: with per-task CUDA_VISIBLE_DEVICES every
                           rank sees "GPU 0", yet they differ) */
} gpu_device_info;

/* How many GPUs this process sees (0 without a driver or a device). */
int gpu_device_count(void);

/* Pick this rank's GPU from its node-local rank and make it current. With no
 * GPU it fills info->device = -1 and returns FT_ENOTFOUND. */
ft_status gpu_device_select(MPI_Comm comm, gpu_device_info *info, ft_error *err);

typedef struct gpu_nccl gpu_nccl;

/* An NCCL communicator over comm's ranks (collective over comm). */
ft_status gpu_nccl_create(MPI_Comm comm, gpu_nccl **out, ft_error *err);
/* In-place sum of n floats of device memory across the communicator. */
ft_status gpu_nccl_allreduce_sum(gpu_nccl *nccl, float *device_buffer, size_t n, ft_error *err);
void gpu_nccl_free(gpu_nccl *nccl);

#endif
