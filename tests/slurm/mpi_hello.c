/* mpi_hello.c: the smallest real MPI job for the launcher tests.
 *
 * Every rank reports its rank, the world size and its host; the world size must
 * equal the count given on the command line and an all-reduce of the ranks must
 * give n(n-1)/2. That catches the classic launcher failure where srun or mpirun
 * starts N unrelated singletons (a PMI mismatch) instead of one N-rank world.
 * Exit 0 when the world is right, 1 when not, 2 on a usage error.
 * It does not test performance or anything beyond one collective. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int rank = 0, size = 0, sum = 0, expected = 0, status = 0;
    char host[256] = "?";

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 2 || (expected = atoi(argv[1])) < 1) {
        if (rank == 0) fprintf(stderr, "usage: mpi_hello EXPECTED_RANKS\n");
        MPI_Finalize();
        return 2;
    }
    gethostname(host, sizeof host - 1);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    printf("mpi_hello: rank %d of %d on %s\n", rank, size, host);
    fflush(stdout);
    if (size != expected || sum != size * (size - 1) / 2) {
        fprintf(stderr, "mpi_hello: rank %d: world size %d (expected %d), rank sum %d\n", rank,
                size, expected, sum);
        status = 1;
    }
    MPI_Finalize();
    return status;
}
