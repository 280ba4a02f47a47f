/* comm_agree: see comm_agree.h. The programs' checks
 * run on every rank, and a failure on one must stop the others at the same
 * place with the message that names what failed (file, line, key). */
#include "comm/comm_agree.h"

#include <string.h>

#include "core/ft_log.h"

ft_status comm_agree(MPI_Comm mpi_comm, ft_status st, ft_error *err)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(mpi_comm, &rank);
    MPI_Comm_size(mpi_comm, &size);
    int mine = st != FT_OK ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, mpi_comm);
    if (first == size) return FT_OK;
    ft_error e;
    ft_error_clear(&e);
    if (rank == first) {
        e = *err;
        e.code = st;
    }
    MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, mpi_comm);
    /* Only the first failing rank's message travels (the programs print it
     * on rank 0). Another failing rank whose message differs logs its own
     * here, with its rank (ft_log prints errors on every rank), so no
     * failure goes unreported; the same message on every rank (bad input
     * all ranks read) prints once. */
    if (st != FT_OK && rank != first && strcmp(err->msg, e.msg) != 0) ft_log_error("%s", err->msg);
    *err = e;
    return e.code;
}
