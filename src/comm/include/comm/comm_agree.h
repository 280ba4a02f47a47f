/* comm_agree: one status for all ranks after a step that every rank runs
 * and that may fail on some (reading a part of the input, checking a config,
 * writing a file). Kept apart from comm.h (the training all-reduce) because
 * the sharding and evaluation programs need only this. */
#ifndef COMM_AGREE_H
#define COMM_AGREE_H

#include <mpi.h>

#include "core/ft_error.h"

/* Every rank of mpi_comm returns the status of the lowest-numbered failing rank
 * with its message, so all ranks stop at the same point and none is left
 * waiting in a collective. FT_OK on every rank when none failed (err then
 * untouched). A failing rank whose own message differs from the one agreed
 * logs it (ft_log_error, with its rank) before taking the agreed one.
 * Collective: one int MPI_Allreduce, plus one MPI_Bcast of the message
 * only when some rank failed. */
ft_status comm_agree(MPI_Comm mpi_comm, ft_status st, ft_error *err);

#endif
