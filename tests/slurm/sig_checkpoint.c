/* sig_checkpoint.c: a stand-in for ftune's programs in the requeue tests.
 *
 * Behaves as docs/RELIABILITY.md describes of ftune-train: SIGUSR1 and SIGTERM only set a
 * flag; at each "step" (100 ms) all ranks agree through one small all-reduce;
 * once any rank has the flag, rank 0 writes STATE_DIR/checkpoint and every rank
 * exits 3 (checkpointed for requeue). A later run that finds the checkpoint
 * "resumes" and exits 0. Rank 0 writes STATE_DIR/ready once every rank has its
 * handlers installed, so a test knows when a signal can no longer kill it.
 * The checkpoint records the signal and how many ranks received it, so a test
 * can check that the launcher forwarded the signal to every rank.
 * Usage: sig_checkpoint STATE_DIR [TIMEOUT_S]; exit 1 when no signal came within
 * TIMEOUT_S (default 60), 2 on a usage or file error. */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t sig_seen;

static void on_signal(int sig) { sig_seen = sig; }

static int install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGTERM, &sa, NULL);
}

/* Writes TEXT to DIR/NAME through a temporary name and a rename. */
static int write_file(const char *dir, const char *name, const char *text)
{
    char path[4096], tmp[4200];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "sig_checkpoint: cannot write %s\n", path);
        return 2;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

/* One "step" loop: returns 3 after a checkpoint, 1 on timeout, 2 on error. */
static int wait_for_signal(const char *dir, int rank, int size, double timeout_s)
{
    double t0 = MPI_Wtime(), first_seen = -1.0;
    for (;;) {
        int mine = sig_seen != 0, any = 0, all = 0;
        sleep_ms(100);
        MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (any && first_seen < 0) first_seen = MPI_Wtime();
        /* Give slow forwarding 3 s to reach every rank, then record the count. */
        if (any && (all == size || MPI_Wtime() - first_seen > 3.0)) {
            int my_sig = sig_seen, sig = 0, rc = 0;
            char text[256];
            MPI_Allreduce(&my_sig, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            snprintf(text, sizeof text, "signal=%d ranks_signalled=%d ranks=%d\n", sig, all, size);
            if (rank == 0) {
                printf("sig_checkpoint: %s", text);
                rc = write_file(dir, "checkpoint", text);
            }
            MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
            return rc ? rc : 3;
        }
        if (MPI_Wtime() - t0 > timeout_s) {
            if (rank == 0) fprintf(stderr, "sig_checkpoint: no signal within %.0f s\n", timeout_s);
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    int rank = 0, size = 0, rc = 0, resumed = 0;
    char path[4096];
    FILE *f;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc < 2 || argc > 3 || install_handlers() != 0) {
        if (rank == 0) fprintf(stderr, "usage: sig_checkpoint STATE_DIR [TIMEOUT_S]\n");
        MPI_Finalize();
        return 2;
    }
    snprintf(path, sizeof path, "%s/checkpoint", argv[1]);
    if (rank == 0 && (f = fopen(path, "r")) != NULL) {
        resumed = 1;
        fclose(f);
    }
    MPI_Bcast(&resumed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (resumed) {
        if (rank == 0)
            printf("sig_checkpoint: resumed from %s on %d ranks; finishing\n", path, size);
        rc = 0;
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
        if (rank == 0) rc = write_file(argv[1], "ready", "ready\n");
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rc == 0) rc = wait_for_signal(argv[1], rank, size, argc == 3 ? atof(argv[2]) : 60.0);
    }
    fflush(stdout);
    MPI_Finalize();
    return rc;
}
