/* ckpt: training checkpoints as single HDF5 files (docs/FORMATS.md,
 * "Checkpoints"), and the folder of checkpoints a run keeps.
 *
 * A checkpoint file CHECKPOINT = OUTPUT/checkpoint-STEP.h5 holds
 *   /model/NAME                  every trainable tensor (HF name, its shape)
 *   /optimizer/exp_avg/NAME      AdamW's first moment, same layout
 *   /optimizer/exp_avg_sq/NAME   AdamW's second moment
 * and, as attributes of the root group: format "ftune-checkpoint", version,
 * step (global optimizer steps done), epoch, step_in_epoch, optimizer_steps,
 * global_batch, world_size, seed, loss_scale, rng (how every random number
 * is derived: counter-based, so (seed, step) is the whole generator state),
 * config (the run's config as JSON), data_fingerprint (of manifest.json),
 * best_metric and best_step (the best checkpoint so far; -1 none), and
 * run_fingerprint (the caller's digest of the settings that define the run;
 * absent in files written before it existed, read back as "").
 * Frozen tensors are not stored: they are the pretrained (or seeded) weights
 * that the run loads again.
 *
 * Design: every dataset is chunked with the Fletcher32 filter, and the file
 * uses the 1.10 format, whose superblock and object headers carry
 * checksums, so a flipped bit anywhere that matters fails the read. The file
 * is written by one rank to a temporary sibling, flushed, fsync'd, renamed,
 * and the folder fsync'd; `latest` (a text file naming the checkpoint) is
 * replaced atomically after that. A reader loads into scratch buffers and
 * touches the model only when every dataset verified, so a damaged file
 * leaves the model as it was. Object time tracking is off (equal state,
 * equal bytes).
 *
 * Not here: deciding when to save (train), MPI (the caller broadcasts). */
#ifndef CKPT_H
#define CKPT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "model/model.h"
#include "optim/optim.h"

#define CKPT_FORMAT_NAME "ftune-checkpoint"
enum { CKPT_FORMAT_VERSION = 1 };

typedef struct ckpt_state {
    int64_t step, epoch, step_in_epoch, optimizer_steps;
    int64_t global_batch, world_size;
    uint64_t seed;
    double loss_scale;             /* fp16's dynamic loss scale (1 otherwise) */
    int64_t loss_scale_good_steps; /* its growth tracker (optim.h, scaler) */
    double best_metric;            /* NaN when none */
    int64_t best_step;             /* -1 when none */
    char *config_json;             /* owned; NULL allowed when writing */
    char data_fingerprint[64];
    char run_fingerprint[40]; /* "" when none: not written, absent on read */
} ckpt_state;

void ckpt_state_free(ckpt_state *s); /* frees config_json only */

/* Write path atomically (temp, fsync, rename, fsync folder). An existing
 * path is replaced. Test hook: FTUNE_CKPT_CRASH_AFTER_TENSORS=k raises
 * SIGKILL after k tensors have been written (a crash mid-save). */
ft_status ckpt_write(const char *path, const model *m, optim *o, const ckpt_state *s,
                     ft_error *err);

/* ckpt_write from buffers in m's layout instead of m's and o's own:
 * bufs[0] the parameters, bufs[1], bufs[2] AdamW's moments (NULL: none).
 * Only m's tensor table is read. */
ft_status ckpt_write_buffers(const char *path, const model *m, const float *const bufs[3],
                             const ckpt_state *s, ft_error *err);

/* ---- writing in the background ------------------------------------------
 * A save copies the parameters and moments (a memcpy: about 0.3 s for
 * BERT-base's 1.3 GB) and returns; a thread writes the file, then moves
 * `latest` and prunes, as the blocking path does, while training goes on.
 * Only this thread uses HDF5 meanwhile. The next save (or ckpt_async_wait)
 * first waits for the previous one and returns its status, so a failed
 * write stops the run one save later, and a killed process leaves at worst
 * a temporary file (ckpt_prune removes it), never a damaged checkpoint.
 * The model's tensor table must stay as it is until the write ends. */
typedef struct ckpt_async ckpt_async;

/* A writer for models of n parameters (the copies are allocated here). */
ft_status ckpt_async_create(ckpt_async **out, size_t n, ft_error *err);
/* Wait for the write in flight, if any; its status. Safe to call anytime. */
ft_status ckpt_async_wait(ckpt_async *a, ft_error *err);
/* Wait, copy m's parameters and o's moments and s (config_json too), and
 * start writing DIR/checkpoint-STEP.h5 (s->step), then latest, then prune
 * (keep, s->best_step as ckpt_prune). */
ft_status ckpt_async_start(ckpt_async *a, const char *dir, const model *m, optim *o,
                           const ckpt_state *s, int keep, ft_error *err);
/* Waits, then frees (NULL: nothing). */
void ckpt_async_free(ckpt_async *a);

/* Read and verify path into m, o (o may be NULL) and s. On any failure
 * (missing, truncated, checksum, a tensor missing or of another shape than
 * m's) FT_EFORMAT/FT_ENOTFOUND with a message naming the file and the
 * object, and m, o, s unchanged. */
ft_status ckpt_read(const char *path, model *m, optim *o, ckpt_state *s, ft_error *err);

/* The attributes of path alone (no tensor is read): enough to tell which
 * run a checkpoint belongs to before loading gigabytes. Errors as ckpt_read. */
ft_status ckpt_read_state(const char *path, ckpt_state *s, ft_error *err);

/* ---- the folder -------------------------------------------------------- */

/* "DIR/checkpoint-STEP.h5"; caller frees. */
char *ckpt_path(const char *dir, int64_t step);

/* Steps of the checkpoint-STEP.h5 files in dir, newest first. Caller frees
 * *steps. A missing folder is 0 files. */
ft_status ckpt_list(const char *dir, int64_t **steps, int *n, ft_error *err);

/* Replace DIR/latest with the checkpoint's file name (atomically). */
ft_status ckpt_set_latest(const char *dir, int64_t step, ft_error *err);

/* Find the newest checkpoint in dir that verifies and load it (as
 * ckpt_read). Damaged or incomplete ones are skipped with a warning naming
 * the file and the reason. *found false (FT_OK) when none verifies. */
ft_status ckpt_load_newest(const char *dir, model *m, optim *o, ckpt_state *s, bool *found,
                           int64_t *loaded_step, ft_error *err);

/* Delete checkpoints beyond the newest `keep` (keep <= 0: keep all) counted
 * from saved_step, the one just written (which is never deleted), and never
 * best_step; files of steps above saved_step are not this run's history and
 * are left alone. Also removes leftover temporary files of a killed save
 * ("checkpoint-*.h5.tmp.*"). */
ft_status ckpt_prune(const char *dir, int keep, int64_t saved_step, int64_t best_step,
                     ft_error *err);

/* ---- the folder lock (ckpt_lock.c) -------------------------------------
 * One live job per output folder. DIR/.ftune.lock is created with O_EXCL and
 * held with flock() for the life of the process; it names its owner
 * ("slurm_job_id=J host=H pid=P"; J is "-" outside Slurm). flock is what
 * tells a live owner from a dead one: the kernel (or the NFS server) drops it
 * when the process dies, however it dies. A lock file that no process holds
 * is stale and is taken over with a warning naming the old owner. Where the
 * file system refuses flock (Lustre's default noflock), a lock is stale only
 * when its owner is on this host and its PID is gone, or it is this same
 * Slurm job on another host (a requeue); otherwise it is refused, and the
 * message says to delete it once the named job is known to be gone. A
 * requeued job (same SLURM_JOB_ID, another host) also takes over a lock the
 * file server still thinks is held (an NFS lease of a crashed node).
 * What this guarantees where: docs/RELIABILITY.md "Checkpoints and the output folder". */
#define CKPT_LOCK_NAME ".ftune.lock"
typedef struct ckpt_lock ckpt_lock;

/* Take DIR/.ftune.lock. FT_EEXIST with a message naming the owner when a
 * live job holds it; FT_EIO when it cannot be created. */
ft_status ckpt_lock_take(const char *dir, ckpt_lock **out, ft_error *err);
/* Remove the lock file and drop the lock (NULL: nothing). */
void ckpt_lock_release(ckpt_lock *l);

#endif
