/* ft_error: see ft_error.h. The abort path calls MPI_Abort only when MPI is
 * initialised and not finalised, so unit tests without MPI abort normally. */
#include "core/ft_error.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ft_status ft_fail(ft_error *err, ft_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void ft_error_prefix(ft_error *err, const char *fmt, ...)
{
    if (!err) return;
    char prefix[FT_ERROR_MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* prefix + ": " + old message, cut to the buffer. */
    char joined[FT_ERROR_MSG_BYTES];
    size_t p = strlen(prefix), m = strlen(err->msg), cap = sizeof joined - 1;
    size_t n = 0;
    memcpy(joined, prefix, p < cap ? p : cap);
    n = p < cap ? p : cap;
    if (n + 2 <= cap) {
        memcpy(joined + n, ": ", 2);
        n += 2;
    }
    size_t rest = m < cap - n ? m : cap - n;
    memcpy(joined + n, err->msg, rest);
    joined[n + rest] = '\0';
    memcpy(err->msg, joined, n + rest + 1);
}

void ft_error_clear(ft_error *err)
{
    if (!err) return;
    err->code = FT_OK;
    err->msg[0] = '\0';
}

const char *ft_status_name(ft_status code)
{
    switch (code) {
    case FT_OK: return "ok";
    case FT_EINVAL: return "invalid input";
    case FT_EFORMAT: return "bad file format";
    case FT_ENOTFOUND: return "not found";
    case FT_EEXIST: return "already exists";
    case FT_EIO: return "I/O error";
    case FT_ENOMEM: return "out of memory";
    case FT_ERUNTIME: return "runtime failure";
    case FT_EREQUEUE: return "checkpointed for requeue";
    }
    return "unknown status";
}

int ft_status_exit_code(ft_status code)
{
    switch (code) {
    case FT_OK: return 0;
    case FT_EINVAL:
    case FT_EFORMAT:
    case FT_ENOTFOUND:
    case FT_EEXIST: return 2;
    case FT_EREQUEUE: return 3;
    case FT_EIO:
    case FT_ENOMEM:
    case FT_ERUNTIME: return 1;
    }
    return 1;
}

void ft_check_failed(const char *file, int line, const char *expr, const char *what)
{
    int initialised = 0, finalised = 0, rank = -1;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    if (initialised && !finalised) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "ftune: rank %d: %s:%d: check failed: %s%s%s\n", rank, file, line, expr,
            what ? ": " : "", what ? what : "");
    fflush(stderr);
    if (initialised && !finalised) MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
}
