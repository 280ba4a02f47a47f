/* ftune-train: data-parallel fine-tuning (src/train). This file only turns
 * argv into a config and statuses into exit codes: 0 done, 1 runtime
 * failure, 2 usage or input error, 3 checkpointed for requeue.
 *
 * Usage: ftune-train [--config FILE.json] [--key value ...] */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "core/cfg.h"
#include "core/ft_log.h"
#include "train/train.h"

static void usage(FILE *f)
{
    size_t n = 0;
    const cfg_key_spec *specs = train_key_specs(&n);
    fprintf(f, "usage: ftune-train [--config FILE.json] [--key value ...]\n"
               "Fine-tunes a sequence classifier, or a decoder LLM on a causal_lm dataset, on a\n"
               "prepared dataset; exit 0 done, 1 runtime failure, 2 usage or input error, 3\n"
               "checkpointed for requeue.\nKeys:\n");
    cfg_print_help(specs, n, f);
}

int main(int argc, char **argv)
{
    /* Checkpoints are written by a thread that never calls MPI. */
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank = 0, world = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    ft_log_set_rank(rank, world);
    ft_log_init_from_env();
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            if (rank == 0) usage(stdout);
            MPI_Finalize();
            return 0;
        }
    train_install_signal_handlers();
    size_t n = 0;
    const cfg_key_spec *specs = train_key_specs(&n);
    ft_error err;
    ft_error_clear(&err);
    cfg *c = NULL;
    ft_status st = cfg_create(specs, n, &c, &err);
    if (st == FT_OK) st = cfg_load_command_line(c, argc, argv, 1, &err);
    if (st == FT_OK) st = train_run(c, MPI_COMM_WORLD, &err);
    if (st != FT_OK && st != FT_EREQUEUE && rank == 0)
        fprintf(stderr, "ftune-train: error: %s\n", err.msg);
    cfg_free(c);
    MPI_Finalize();
    return ft_status_exit_code(st);
}
