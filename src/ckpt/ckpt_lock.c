/* ckpt_lock.c: one live job per output folder (see ckpt.h, "the folder lock").
 *
 * Design: the lock file is created with O_CREAT|O_EXCL (atomic on local file
 * systems and on NFSv3+), and held with flock(LOCK_EX|LOCK_NB) for the life
 * of the process. The file alone cannot tell a crashed owner from a live
 * one; the flock can, because the kernel drops it when the holder dies. So
 * whoever gets the flock owns the lock, whether it created the file or found
 * it (then it was stale: its owner died without removing it). Taking over
 * rewrites the same file in place rather than unlinking it, so two jobs that
 * race for a stale lock contend for one inode and one of them wins. A holder
 * removes the file while still holding the flock; a racer that opened the
 * old inode just before sees, after its flock, that the path now names
 * another inode (or none) and starts over.
 *
 * Not here: deciding when to lock (train_setup), MPI (rank 0 locks). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"

struct ckpt_lock {
    int fd;
    char *path;
};

typedef struct lock_owner {
    char job[64], host[256];
    long pid;
} lock_owner;

typedef enum { FLOCK_TAKEN, FLOCK_BUSY, FLOCK_UNSUPPORTED } flock_result;

static void owner_self(lock_owner *o)
{
    const char *job = getenv("SLURM_JOB_ID");
    snprintf(o->job, sizeof o->job, "%s", job && *job ? job : "-");
    if (gethostname(o->host, sizeof o->host) != 0) snprintf(o->host, sizeof o->host, "unknown");
    o->host[sizeof o->host - 1] = '\0';
    o->pid = (long)getpid();
}

/* "slurm_job_id=J host=H pid=P"; false when the file holds something else
 * (empty: its creator died between creating and writing it). */
static bool owner_read(int fd, lock_owner *o)
{
    char text[512];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return false;
    text[n] = '\0';
    return sscanf(text, "slurm_job_id=%63s host=%255s pid=%ld", o->job, o->host, &o->pid) == 3;
}

static void owner_describe(const lock_owner *o, bool known, char *buf, size_t n)
{
    if (!known)
        snprintf(buf, n, "an unknown owner (the file is empty or garbled)");
    else if (strcmp(o->job, "-") == 0)
        snprintf(buf, n, "pid %ld on host %s (no Slurm job)", o->pid, o->host);
    else
        snprintf(buf, n, "Slurm job %s, pid %ld on host %s", o->job, o->pid, o->host);
}

static flock_result try_flock(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return FLOCK_TAKEN;
    return errno == EWOULDBLOCK || errno == EAGAIN || errno == EINTR ? FLOCK_BUSY
                                                                     : FLOCK_UNSUPPORTED;
}

/* Is the owner gone, as far as this host can tell without flock? On this
 * host: its PID is gone. Elsewhere: only when it is this very Slurm job
 * (a requeue never runs beside its earlier instance). */
static bool owner_gone(const lock_owner *me, const lock_owner *o, bool known)
{
    if (!known) return false;
    if (strcmp(o->host, me->host) == 0) return kill((pid_t)o->pid, 0) != 0 && errno == ESRCH;
    return strcmp(o->job, "-") != 0 && strcmp(o->job, me->job) == 0;
}

/* Does path still name the inode fd has open? */
static bool same_file(int fd, const char *path)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static ft_status write_owner(int fd, const char *path, const lock_owner *me, ft_error *err)
{
    char text[400];
    int len = snprintf(text, sizeof text, "slurm_job_id=%s host=%s pid=%ld\n", me->job, me->host,
                       me->pid);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len || fsync(fd) != 0)
        return ft_fail(err, FT_EIO, "%s: cannot write the lock: %s", path, strerror(errno));
    return FT_OK;
}

static ft_status refuse(const char *path, const lock_owner *o, bool known, bool no_flock,
                        ft_error *err)
{
    char who[400];
    owner_describe(o, known, who, sizeof who);
    return ft_fail(err, FT_EEXIST,
                   "%s is held by %s: another job is using this output_dir. Wait for it to end, "
                   "or use another output_dir%s",
                   path, who,
                   no_flock ? " (this file system has no flock, so a crash on another host "
                              "cannot be told from a live job: delete the file once that job "
                              "is known to be gone)"
                            : "");
}

/* The lock file is held by a live process: refuse, unless it is this same
 * Slurm job on another host (requeued after its node died: the file server
 * may keep the dead node's lock for a lease period). Then the old file is
 * unlinked and the caller retries with a fresh one (*retry). */
static ft_status busy(const char *path, const lock_owner *me, const lock_owner *o, bool known,
                      bool *retry, ft_error *err)
{
    if (!known || strcmp(o->job, "-") == 0 || strcmp(o->job, me->job) != 0 ||
        strcmp(o->host, me->host) == 0)
        return refuse(path, o, known, false, err);
    ft_log_warn("%s: taking over the lock of this same Slurm job %s from host %s (a requeue; "
                "the file server still holds the earlier run's lock)",
                path, o->job, o->host);
    if (unlink(path) != 0 && errno != ENOENT)
        return ft_fail(err, FT_EIO, "%s: cannot remove: %s", path, strerror(errno));
    *retry = true;
    return FT_OK;
}

/* One attempt: *fd_out >= 0 when taken, *retry when the file changed under
 * us (removed by its owner, replaced by a requeue) and a new try may succeed. */
static ft_status take_once(const char *path, const lock_owner *me, int *fd_out, bool *retry,
                           ft_error *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool created = fd >= 0;
    if (!created && errno == EEXIST) fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *retry = errno == ENOENT; /* removed between the two opens */
        return *retry ? FT_OK
                      : ft_fail(err, FT_EIO, "%s: cannot create the lock file: %s", path,
                                strerror(errno));
    }
    lock_owner old = {0};
    bool known = !created && owner_read(fd, &old);
    flock_result r = try_flock(fd);
    ft_status st = FT_OK;
    if (r == FLOCK_BUSY)
        st = busy(path, me, &old, known, retry, err);
    else if (r == FLOCK_UNSUPPORTED && !created && !owner_gone(me, &old, known))
        st = refuse(path, &old, known, true, err);
    else if (!same_file(fd, path))
        *retry = true;
    if (st != FT_OK || *retry) {
        close(fd);
        return st;
    }
    if (!created) {
        char who[400];
        owner_describe(&old, known, who, sizeof who);
        ft_log_warn("%s: recovered a stale lock left by %s, which is gone", path, who);
    }
    st = write_owner(fd, path, me, err);
    if (st != FT_OK)
        close(fd);
    else
        *fd_out = fd;
    return st;
}

ft_status ckpt_lock_take(const char *dir, ckpt_lock **out, ft_error *err)
{
    *out = NULL;
    ckpt_lock *l = ft_calloc_array(1, sizeof *l);
    if (l) l->path = ft_path_join(dir, CKPT_LOCK_NAME);
    if (!l || !l->path) {
        free(l);
        return ft_fail(err, FT_ENOMEM, "out of memory");
    }
    lock_owner me;
    owner_self(&me);
    l->fd = -1;
    ft_status st = FT_OK;
    /* A few tries: each retry means another job just released or replaced it. */
    for (int attempt = 0; attempt < 8 && st == FT_OK && l->fd < 0; attempt++) {
        bool retry = false;
        st = take_once(l->path, &me, &l->fd, &retry, err);
    }
    if (st == FT_OK && l->fd < 0)
        st = ft_fail(err, FT_EEXIST,
                     "%s: the lock kept changing hands; is another job "
                     "starting in this output_dir?",
                     l->path);
    if (st != FT_OK) {
        free(l->path);
        free(l);
        return st;
    }
    *out = l;
    return FT_OK;
}

void ckpt_lock_release(ckpt_lock *l)
{
    if (!l) return;
    /* Unlink while still holding the flock, and only our own file. */
    if (same_file(l->fd, l->path) && unlink(l->path) != 0)
        ft_log_warn("%s: cannot remove the lock file: %s", l->path, strerror(errno));
    close(l->fd);
    free(l->path);
    free(l);
}
