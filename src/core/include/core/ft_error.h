/* ft_error: status codes and caller-owned error messages.
 *
 * Every library function that can fail returns an ft_status and, on failure,
 * writes a message into an ft_error the caller owns. The message names the
 * file, line or key and what was expected ("manifest.json: key 'max_length':
 * expected an integer, got \"128x\""). The library never exits and never
 * prints to stdout; programs map statuses to exit codes with
 * ft_status_exit_code().
 *
 * Bugs and MPI/CUDA/NCCL failures are not statuses: FT_CHECK prints the rank
 * and file:line and aborts (MPI_Abort when MPI is up) so no rank is left
 * waiting in a collective. */
#ifndef FT_ERROR_H
#define FT_ERROR_H

#include <stddef.h>

typedef enum ft_status {
    FT_OK = 0,
    FT_EINVAL,    /* bad argument or bad outside data (usage/input error) */
    FT_EFORMAT,   /* a file's bytes do not follow its format */
    FT_ENOTFOUND, /* a file, key or tensor that must exist does not */
    FT_EEXIST,    /* refusing to overwrite something the user has */
    FT_EIO,       /* the operating system failed a read, write or rename */
    FT_ENOMEM,    /* allocation failed or a size overflowed */
    FT_ERUNTIME,  /* anything else that fails while running */
    FT_EREQUEUE   /* stopped on purpose after a checkpoint: requeue me */
} ft_status;

enum { FT_ERROR_MSG_BYTES = 1024 };

typedef struct ft_error {
    ft_status code;
    char msg[FT_ERROR_MSG_BYTES];
} ft_error;

/* Fill err (may be NULL) with a printf-style message and return code. */
ft_status ft_fail(ft_error *err, ft_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend "prefix: " to err's message (adds context on the way up). */
void ft_error_prefix(ft_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ft_error_clear(ft_error *err);

const char *ft_status_name(ft_status code);

/* Process exit code for a status: 0 done, 1 runtime failure, 2 usage or
 * input error, 3 checkpointed for requeue. */
int ft_status_exit_code(ft_status code);

/* Called by FT_CHECK on a broken invariant; never returns. */
void ft_check_failed(const char *file, int line, const char *expr, const char *what)
    __attribute__((noreturn));

#define FT_CHECK(expr)                                                 \
    do {                                                               \
        if (!(expr)) ft_check_failed(__FILE__, __LINE__, #expr, NULL); \
    } while (0)

#define FT_CHECK_MSG(expr, what)                                         \
    do {                                                                 \
        if (!(expr)) ft_check_failed(__FILE__, __LINE__, #expr, (what)); \
    } while (0)

#endif
