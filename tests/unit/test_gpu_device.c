/* gpu_device (CUDA build): on a machine with GPUs, every rank selects one and
 * an NCCL all-reduce sums correctly; without a GPU the test exits 77 and CTest
 * reports it skipped, never passed. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gpu_device.h"

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
    CHECK(gpu_device_select(MPI_COMM_WORLD, &info, &err) == FT_OK);
    CHECK(info.device >= 0 && info.device < info.count);
    fprintf(stderr, "rank %d: GPU %d of %d: %s, %.1f GiB, sm_%d%d\n", rank,
            info.device, info.count, info.name, info.memory_bytes / 1073741824.0,
            info.cc_major, info.cc_minor);
    int failed = check_finish();
    MPI_Finalize();
    return failed;
}
