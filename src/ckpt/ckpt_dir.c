/* ckpt_dir.c: the folder of checkpoints: naming, `latest`, the newest
 * checkpoint that verifies, and retention (see ckpt.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"

char *ckpt_path(const char *dir, int64_t step)
{
    char name[64];
    snprintf(name, sizeof name, "checkpoint-%" PRId64 ".h5", step);
    return ft_path_join(dir, name);
}

/* checkpoint-STEP.h5 exactly: the step, or -1. */
static int64_t parse_name(const char *name)
{
    const char *p = name + strlen("checkpoint-");
    if (strncmp(name, "checkpoint-", strlen("checkpoint-")) != 0 || *p < '0' || *p > '9') return -1;
    char *end = NULL;
    long long v = strtoll(p, &end, 10);
    return end && strcmp(end, ".h5") == 0 ? (int64_t)v : -1;
}

static int by_step_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

ft_status ckpt_list(const char *dir, int64_t **steps, int *n, ft_error *err)
{
    *steps = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return FT_OK;
        return ft_fail(err, FT_EIO, "%s: cannot list: %s", dir, strerror(errno));
    }
    int cap = 0;
    ft_status st = FT_OK;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int64_t step = parse_name(e->d_name);
        if (step < 0) continue;
        if (*n == cap) {
            int64_t *grown = ft_realloc_array(*steps, (size_t)(cap ? cap * 2 : 16), sizeof **steps);
            if (!grown) {
                st = ft_fail(err, FT_ENOMEM, "out of memory");
                break;
            }
            *steps = grown;
            cap = cap ? cap * 2 : 16;
        }
        (*steps)[(*n)++] = step;
    }
    closedir(d);
    if (*n > 1) qsort(*steps, (size_t)*n, sizeof **steps, by_step_desc);
    return st;
}

ft_status ckpt_set_latest(const char *dir, int64_t step, ft_error *err)
{
    char text[64];
    int len = snprintf(text, sizeof text, "checkpoint-%" PRId64 ".h5\n", step);
    char *path = ft_path_join(dir, "latest");
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = ft_write_file_atomic(path, text, (size_t)len, true, err);
    free(path);
    return st;
}

/* The step `latest` names, or -1 (absent or unreadable). */
static int64_t read_latest(const char *dir)
{
    char *path = ft_path_join(dir, "latest"), *text = NULL;
    size_t len = 0;
    ft_error e;
    int64_t step = -1;
    if (path && ft_read_file(path, &text, &len, &e) == FT_OK) {
        text[strcspn(text, "\r\n")] = '\0';
        step = parse_name(text);
    }
    free(text);
    free(path);
    return step;
}

ft_status ckpt_load_newest(const char *dir, model *m, optim *o, ckpt_state *s, bool *found,
                           int64_t *loaded_step, ft_error *err)
{
    *found = false;
    *loaded_step = -1;
    int64_t *steps = NULL;
    int n = 0;
    ft_status st = ckpt_list(dir, &steps, &n, err);
    int64_t latest = read_latest(dir);
    for (int i = 0; st == FT_OK && i < n && !*found; i++) {
        char *path = ckpt_path(dir, steps[i]);
        if (!path) {
            st = ft_fail(err, FT_ENOMEM, "out of memory");
            break;
        }
        ft_error e;
        if (ckpt_read(path, m, o, s, &e) == FT_OK) {
            *found = true;
            *loaded_step = steps[i];
            if (latest >= 0 && latest != steps[i])
                ft_log_warn("%s/latest names checkpoint-%" PRId64 ".h5; resuming from %s, the "
                            "newest that verifies",
                            dir, latest, path);
        } else {
            ft_log_warn("skipping damaged or incomplete checkpoint: %s", e.msg);
        }
        free(path);
    }
    free(steps);
    return st;
}

/* Remove leftover "checkpoint-*.h5.tmp.*" files of a killed save. */
static void remove_temps(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, "checkpoint-", 11) != 0 || !strstr(e->d_name, ".h5.tmp.")) continue;
        char *path = ft_path_join(dir, e->d_name);
        if (path && unlink(path) == 0)
            ft_log_info("removed %s (left by an interrupted save)", path);
        free(path);
    }
    closedir(d);
}

ft_status ckpt_prune(const char *dir, int keep, int64_t saved_step, int64_t best_step,
                     ft_error *err)
{
    remove_temps(dir);
    if (keep <= 0) return FT_OK;
    int64_t *steps = NULL;
    int n = 0;
    ft_status st = ckpt_list(dir, &steps, &n, err);
    /* Count from the checkpoint just saved: files of higher steps (a run that
     * fell back past a damaged one, or an older run in the same folder) are
     * not this run's and must not push saved_step out. */
    int rank = 0; /* position among steps <= saved_step, newest first */
    for (int i = 0; st == FT_OK && i < n; i++) {
        if (steps[i] > saved_step || rank++ < keep || steps[i] == best_step) continue;
        char *path = ckpt_path(dir, steps[i]);
        if (!path) {
            st = ft_fail(err, FT_ENOMEM, "out of memory");
            break;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            st = ft_fail(err, FT_EIO, "%s: cannot delete: %s", path, strerror(errno));
        free(path);
    }
    free(steps);
    return st;
}
