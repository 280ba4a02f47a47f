/* gpu_device (CUDA build): every rank selects a GPU, node-local rank r
 * taking GPU r % (GPUs on the node), and reads its properties. Ranks may
 * share a GPU here (one H200 and 2 ranks is a valid case: only NCCL needs a
 * GPU per rank), and `sharing` counts the other ranks on the same physical
 * GPU. Without a GPU the test exits 77 and CTest reports it skipped, never
 * passed. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cuda/gpu_device.h"
#include "gpu_test_util.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int skip = gpu_test_skip_code(MPI_COMM_WORLD, 0);
    if (skip) {
        MPI_Finalize();
        return skip;
    }
    gpu_device_info info;
    ft_error err;
    CHECK(gpu_device_select(MPI_COMM_WORLD, &info, &err) == FT_OK);
    CHECK_EQ_INT(info.count, gpu_device_count());
    CHECK(info.local_size >= 1 && info.local_size <= size);
    CHECK(info.local_rank >= 0 && info.local_rank < info.local_size);
    CHECK_EQ_INT(info.device, info.local_rank % info.count);
    CHECK(strlen(info.name) > 0);
    CHECK(info.memory_bytes > ((size_t)1 << 30));
    CHECK(info.cc_major >= 5);
    if (size == 1) CHECK_EQ_INT(info.local_size, 1);
    /* With every GPU visible to every rank (no per-task CUDA_VISIBLE_DEVICES
     * here), ranks share a physical GPU exactly when they picked the same
     * index: on one H200 with 2 ranks, each sees 1 other. */
    if (!getenv("CUDA_VISIBLE_DEVICES")) {
        int same = 0, *all = malloc((size_t)size * sizeof *all);
        MPI_Allgather(&info.device, 1, MPI_INT, all, 1, MPI_INT, MPI_COMM_WORLD);
        for (int r = 0; r < size; r++) same += all[r] == info.device;
        free(all);
        if (info.local_size == size) CHECK_EQ_INT(info.sharing, same - 1);
    }
    fprintf(stderr, "rank %d: GPU %d of %d: %s, %.1f GiB, sm_%d%d (%d ranks on the node)\n", rank,
            info.device, info.count, info.name, info.memory_bytes / 1073741824.0, info.cc_major,
            info.cc_minor, info.local_size);
    int failed = check_finish();
    MPI_Finalize();
    return failed;
}
