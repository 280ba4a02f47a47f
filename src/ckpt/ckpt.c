/* ckpt.c: writing and reading one checkpoint file (see ckpt.h). */
#define _GNU_SOURCE
#include "ckpt/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_impl.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_h5.h"
#include "core/ft_hook.h"

enum { CKPT_CHUNK_FLOATS = 1 << 20 };

static const char CKPT_RNG_TEXT[] =
    "philox4x32-10 counter-based: epoch order = rng_permutation(seed, SAMPLER_STREAM_BASE + "
    "epoch); dropout keyed by (seed, step, example_index, layer); no state beyond seed and step";

void ckpt_hdf5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

void ckpt_state_free(ckpt_state *s)
{
    if (!s) return;
    free(s->config_json);
    s->config_json = NULL;
}

/* ---- writing ------------------------------------------------------------ */

static herr_t attr_write(hid_t loc, const char *name, hid_t type, const void *v)
{
    return ft_h5_attr_write(loc, name, type, type, 0, 1, v);
}

static herr_t attr_write_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    herr_t rc = attr_write(loc, name, t, v);
    H5Tclose(t);
    return rc;
}

static herr_t write_attrs(hid_t f, const ckpt_state *s)
{
    int64_t version = CKPT_FORMAT_VERSION;
    herr_t rc = attr_write_str(f, "format", CKPT_FORMAT_NAME);
    rc |= attr_write(f, "version", H5T_NATIVE_INT64, &version);
    rc |= attr_write(f, "step", H5T_NATIVE_INT64, &s->step);
    rc |= attr_write(f, "epoch", H5T_NATIVE_INT64, &s->epoch);
    rc |= attr_write(f, "step_in_epoch", H5T_NATIVE_INT64, &s->step_in_epoch);
    rc |= attr_write(f, "optimizer_steps", H5T_NATIVE_INT64, &s->optimizer_steps);
    rc |= attr_write(f, "global_batch", H5T_NATIVE_INT64, &s->global_batch);
    rc |= attr_write(f, "world_size", H5T_NATIVE_INT64, &s->world_size);
    rc |= attr_write(f, "seed", H5T_NATIVE_UINT64, &s->seed);
    rc |= attr_write(f, "loss_scale", H5T_NATIVE_DOUBLE, &s->loss_scale);
    rc |= attr_write(f, "loss_scale_good_steps", H5T_NATIVE_INT64, &s->loss_scale_good_steps);
    rc |= attr_write(f, "best_metric", H5T_NATIVE_DOUBLE, &s->best_metric);
    rc |= attr_write(f, "best_step", H5T_NATIVE_INT64, &s->best_step);
    rc |= attr_write_str(f, "rng", CKPT_RNG_TEXT);
    rc |= attr_write_str(f, "config", s->config_json ? s->config_json : "{}");
    rc |= attr_write_str(f, "data_fingerprint", s->data_fingerprint);
    if (s->run_fingerprint[0]) rc |= attr_write_str(f, "run_fingerprint", s->run_fingerprint);
    return rc;
}

/* One float tensor with Fletcher32 over chunks of at most 1 Mi floats. */
static herr_t write_tensor(hid_t group, const model_tensor *t, const float *data)
{
    hsize_t dims[2] = {(hsize_t)t->shape[0], t->ndim == 2 ? (hsize_t)t->shape[1] : 1};
    hsize_t chunk[2] = {dims[0], dims[1]};
    while (chunk[0] > 1 && chunk[0] * chunk[1] > CKPT_CHUNK_FLOATS) chunk[0] = (chunk[0] + 1) / 2;
    hid_t space = H5Screate_simple(t->ndim, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, t->ndim, chunk);
    H5Pset_fletcher32(dcpl);
    H5Pset_obj_track_times(dcpl, 0);
    hid_t d = H5Dcreate2(group, t->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t rc = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    /* Closing writes the chunks still in HDF5's cache: a full disk may fail
     * only here, and the file would otherwise look complete. */
    if (d >= 0 && H5Dclose(d) < 0) rc = -1;
    H5Pclose(dcpl);
    H5Sclose(space);
    return rc;
}

static hid_t make_group(hid_t loc, const char *name)
{
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

static long crash_after_tensors(void)
{
    const char *e = ft_hook_env("FTUNE_CKPT_CRASH_AFTER_TENSORS");
    return e && *e ? strtol(e, NULL, 10) : -1;
}

/* /model, /optimizer/exp_avg, /optimizer/exp_avg_sq for every trainable
 * tensor, from bufs (in m's layout; the moments may be NULL). */
static herr_t write_tensors(hid_t f, const model *m, const float *const bufs[3])
{
    const char *names[3] = {"model", "optimizer/exp_avg", "optimizer/exp_avg_sq"};
    hid_t opt = make_group(f, "optimizer");
    herr_t rc = opt < 0 ? -1 : 0;
    if (opt >= 0) H5Gclose(opt);
    long crash = crash_after_tensors(), written = 0;
    for (int b = 0; b < 3 && rc >= 0; b++) {
        if (!bufs[b]) continue;
        hid_t g = make_group(f, names[b]);
        if (g < 0) return -1;
        for (int i = 0; i < model_tensor_count(m) && rc >= 0; i++) {
            const model_tensor *t = model_tensor_at(m, i);
            if (!model_tensor_trainable(m, t)) continue;
            rc = write_tensor(g, t, bufs[b] + t->offset);
            if (++written == crash) {
                H5Fflush(f, H5F_SCOPE_GLOBAL);
                raise(SIGKILL);
            }
        }
        if (H5Gclose(g) < 0) rc = -1;
    }
    return rc;
}

static ft_status fsync_path(const char *path, ft_error *err)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return ft_fail(err, FT_EIO, "%s: cannot open to fsync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) return ft_fail(err, FT_EIO, "%s: fsync failed: %s", path, strerror(e));
    return FT_OK;
}

/* The new file's handle, or -1. Object time tracking off for the root
 * group too: it takes the setting from the file creation list (a subclass of
 * the group creation list), not from make_group's, and a tracked root group
 * stamps its times into its object header, so two saves of equal state in
 * different seconds would differ in bytes (ckpt.h: equal state, equal bytes). */
static hid_t create_file(const char *tmp)
{
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1;
    if (fcpl >= 0 && fapl >= 0 && H5Pset_obj_track_times(fcpl, 0) >= 0 &&
        H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0)
        f = H5Fcreate(tmp, H5F_ACC_TRUNC, fcpl, fapl);
    if (fapl >= 0) H5Pclose(fapl);
    if (fcpl >= 0) H5Pclose(fcpl);
    return f;
}

/* The errno of the first system call that failed under HDF5 during a write.
 * HDF5 reports it only as text on its error stack ("..., errno = 28, error
 * message = ..."), and the calls that follow a failure (closing) overwrite
 * errno itself, so an error handler notes it while the stack is there.
 * Thread-local: the background writer and the main thread may both write
 * (never at once: ckpt.h). */
static _Thread_local int write_errno;

static herr_t note_errno(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    (void)data;
    const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (p && write_errno == 0) write_errno = atoi(p + strlen("errno = "));
    return 0;
}

static herr_t on_write_error(hid_t stack, void *data)
{
    (void)data;
    if (write_errno == 0) H5Ewalk2(stack, H5E_WALK_DOWNWARD, note_errno, NULL);
    return 0;
}

/* "No space left on device (ENOSPC)": users search for the symbol. */
static const char *errno_symbol(int e)
{
    switch (e) {
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EIO: return "EIO";
    case EROFS: return "EROFS";
    case EACCES: return "EACCES";
    default: return "errno";
    }
}

static ft_status write_failed(const char *path, const char *tmp, ft_error *err)
{
    if (write_errno == 0)
        return ft_fail(err, FT_EIO,
                       "%s: writing the checkpoint (as %s) failed; the partial file "
                       "was removed",
                       path, tmp);
    return ft_fail(err, FT_EIO,
                   "%s: writing the checkpoint (as %s) failed: %s (%s); the partial "
                   "file was removed, earlier checkpoints and 'latest' are unchanged",
                   path, tmp, strerror(write_errno), errno_symbol(write_errno));
}

/* Close a file being written; rc < 0: a write already failed. A close that
 * fails (a full disk while it flushes) leaves the file open inside HDF5,
 * which then crashes when the library shuts down (found by
 * test_train_diskfull) and keeps the disk space until exit. The temporary
 * file is doomed then: empty it to give the space back, so that the close
 * can flush what little it still holds, and close again. */
static herr_t close_file(hid_t f, const char *tmp, herr_t rc)
{
    if (rc < 0 && truncate(tmp, 0) != 0) { /* best effort: the close decides */
    }
    if (H5Fclose(f) >= 0) return rc;
    if (H5Iis_valid(f) > 0) {
        if (truncate(tmp, 0) != 0) { /* as above */
        }
        H5Fclose(f);
    }
    return -1;
}

static ft_status write_hdf5(const char *path, const char *tmp, const model *m,
                            const float *const bufs[3], const ckpt_state *s, ft_error *err)
{
    write_errno = 0;
    H5Eset_auto2(H5E_DEFAULT, on_write_error, NULL);
    hid_t f = create_file(tmp);
    herr_t rc = f < 0 ? -1 : write_attrs(f, s);
    if (rc >= 0) rc = write_tensors(f, m, bufs);
    if (rc >= 0) rc = H5Fflush(f, H5F_SCOPE_GLOBAL);
    if (f >= 0) rc = close_file(f, tmp, rc);
    ckpt_hdf5_quiet();
    if (rc < 0) return write_failed(path, tmp, err);
    return fsync_path(tmp, err);
}

ft_status ckpt_write(const char *path, const model *m, optim *o, const ckpt_state *s, ft_error *err)
{
    const float *bufs[3] = {model_params_read(m), o ? optim_exp_avg(o) : NULL,
                            o ? optim_exp_avg_sq(o) : NULL};
    return ckpt_write_buffers(path, m, bufs, s, err);
}

ft_status ckpt_write_buffers(const char *path, const model *m, const float *const bufs[3],
                             const ckpt_state *s, ft_error *err)
{
    ckpt_hdf5_quiet();
    char *tmp = ft_temp_sibling(path);
    if (!tmp) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = write_hdf5(path, tmp, m, bufs, s, err);
    if (st == FT_OK && rename(tmp, path) != 0)
        st = ft_fail(err, FT_EIO, "%s: rename from %s failed: %s", path, tmp, strerror(errno));
    if (st == FT_OK) st = ft_fsync_parent(path, err);
    if (st != FT_OK) unlink(tmp);
    free(tmp);
    return st;
}

/* ---- reading ------------------------------------------------------------ */

static ft_status read_attrs(hid_t f, const char *path, ckpt_state *s, ft_error *err)
{
    char *format = NULL;
    int64_t version = 0;
    ft_status st = ft_h5_attr_read_string(f, path, "format", &format, err);
    if (st == FT_OK && strcmp(format, CKPT_FORMAT_NAME) != 0)
        st = ft_fail(err, FT_EFORMAT, "%s: format '%s', expected '%s'", path, format,
                     CKPT_FORMAT_NAME);
    free(format);
    if (st == FT_OK) st = ft_h5_attr_read(f, path, "version", H5T_NATIVE_INT64, 1, &version, err);
    if (st == FT_OK && version != CKPT_FORMAT_VERSION)
        st = ft_fail(err, FT_EFORMAT, "%s: version %lld, this program reads %d", path,
                     (long long)version, CKPT_FORMAT_VERSION);
    struct {
        const char *name;
        hid_t type;
        void *v;
    } fields[] = {
        {"step", H5T_NATIVE_INT64, &s->step},
        {"epoch", H5T_NATIVE_INT64, &s->epoch},
        {"step_in_epoch", H5T_NATIVE_INT64, &s->step_in_epoch},
        {"optimizer_steps", H5T_NATIVE_INT64, &s->optimizer_steps},
        {"global_batch", H5T_NATIVE_INT64, &s->global_batch},
        {"world_size", H5T_NATIVE_INT64, &s->world_size},
        {"seed", H5T_NATIVE_UINT64, &s->seed},
        {"loss_scale", H5T_NATIVE_DOUBLE, &s->loss_scale},
        {"best_metric", H5T_NATIVE_DOUBLE, &s->best_metric},
        {"best_step", H5T_NATIVE_INT64, &s->best_step},
    };
    for (size_t i = 0; st == FT_OK && i < sizeof fields / sizeof fields[0]; i++)
        st = ft_h5_attr_read(f, path, fields[i].name, fields[i].type, 1, fields[i].v, err);
    /* Added after the first checkpoints of this version: absent means 0. */
    s->loss_scale_good_steps = 0;
    if (st == FT_OK && H5Aexists(f, "loss_scale_good_steps") > 0)
        st = ft_h5_attr_read(f, path, "loss_scale_good_steps", H5T_NATIVE_INT64, 1,
                             &s->loss_scale_good_steps, err);
    char *fp = NULL;
    if (st == FT_OK) st = ft_h5_attr_read_string(f, path, "data_fingerprint", &fp, err);
    if (st == FT_OK) snprintf(s->data_fingerprint, sizeof s->data_fingerprint, "%s", fp);
    free(fp);
    if (st == FT_OK) st = ft_h5_attr_read_string(f, path, "config", &s->config_json, err);
    s->run_fingerprint[0] = '\0'; /* absent in files written before it existed */
    if (st == FT_OK && H5Aexists(f, "run_fingerprint") > 0) {
        char *rf = NULL;
        st = ft_h5_attr_read_string(f, path, "run_fingerprint", &rf, err);
        if (st == FT_OK) snprintf(s->run_fingerprint, sizeof s->run_fingerprint, "%s", rf);
        free(rf);
    }
    return st;
}

/* Read group/NAME into dst after checking its shape; Fletcher32 verifies. */
static ft_status read_tensor(hid_t f, const char *path, const char *group, const model_tensor *t,
                             float *dst, ft_error *err)
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", group, t->name);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return ft_fail(err, FT_EFORMAT, "%s: dataset /%s missing or unreadable", path, name);
    hid_t space = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    int nd = space < 0 ? -1 : H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0) H5Sclose(space);
    bool ok = nd == t->ndim && dims[0] == (hsize_t)t->shape[0] &&
              (nd == 1 || dims[1] == (hsize_t)t->shape[1]);
    herr_t rc = ok ? H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) : -1;
    H5Dclose(d);
    if (!ok)
        return ft_fail(err, FT_EFORMAT, "%s: /%s has another shape than the model's", path, name);
    if (rc < 0)
        return ft_fail(err, FT_EFORMAT, "%s: /%s fails its checksum or is cut short", path, name);
    return FT_OK;
}

static ft_status read_tensors(hid_t f, const char *path, const model *m, float **bufs,
                              ft_error *err)
{
    const char *groups[3] = {"model", "optimizer/exp_avg", "optimizer/exp_avg_sq"};
    for (int b = 0; b < 3; b++) {
        if (!bufs[b]) continue;
        for (int i = 0; i < model_tensor_count(m); i++) {
            const model_tensor *t = model_tensor_at(m, i);
            if (!model_tensor_trainable(m, t)) continue;
            ft_status st = read_tensor(f, path, groups[b], t, bufs[b] + t->offset, err);
            if (st != FT_OK) return st;
        }
    }
    return FT_OK;
}

ft_status ckpt_read(const char *path, model *m, optim *o, ckpt_state *s, ft_error *err)
{
    ckpt_hdf5_quiet();
    if (!ft_path_exists(path)) return ft_fail(err, FT_ENOTFOUND, "%s: no such checkpoint", path);
    size_t n = model_param_count(m);
    float *bufs[3] = {NULL, NULL, NULL};
    ckpt_state tmp = {0};
    ft_status st = FT_OK;
    for (int b = 0; b < (o ? 3 : 1); b++) {
        const float *src = b == 0   ? model_params(m)
                           : b == 1 ? optim_exp_avg(o)
                                    : optim_exp_avg_sq(o);
        bufs[b] = ft_malloc_array(n, sizeof(float));
        if (!bufs[b])
            st = ft_fail(err, FT_ENOMEM, "out of memory reading %s", path);
        else
            memcpy(bufs[b], src, n * sizeof(float)); /* frozen tensors keep their values */
    }
    hid_t f = st == FT_OK ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (st == FT_OK && f < 0)
        st = ft_fail(err, FT_EFORMAT, "%s: not a readable HDF5 file (truncated or damaged)", path);
    if (st == FT_OK) st = read_attrs(f, path, &tmp, err);
    if (st == FT_OK) st = read_tensors(f, path, m, bufs, err);
    if (f >= 0 && H5Fclose(f) < 0 && st == FT_OK)
        st = ft_fail(err, FT_EFORMAT, "%s: closing failed (damaged)", path);
    if (st == FT_OK) {
        memcpy(model_params(m), bufs[0], n * sizeof(float));
        if (o) {
            memcpy(optim_exp_avg(o), bufs[1], n * sizeof(float));
            memcpy(optim_exp_avg_sq(o), bufs[2], n * sizeof(float));
            optim_set_step_count(o, (long)tmp.optimizer_steps);
        }
        ckpt_state_free(s);
        *s = tmp;
    } else {
        ckpt_state_free(&tmp);
    }
    for (int b = 0; b < 3; b++) free(bufs[b]);
    return st;
}

ft_status ckpt_read_state(const char *path, ckpt_state *s, ft_error *err)
{
    ckpt_hdf5_quiet();
    if (!ft_path_exists(path)) return ft_fail(err, FT_ENOTFOUND, "%s: no such checkpoint", path);
    ckpt_state tmp = {0};
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return ft_fail(err, FT_EFORMAT, "%s: not a readable HDF5 file (truncated or damaged)",
                       path);
    ft_status st = read_attrs(f, path, &tmp, err);
    H5Fclose(f);
    if (st == FT_OK) {
        ckpt_state_free(s);
        *s = tmp;
    } else {
        ckpt_state_free(&tmp);
    }
    return st;
}
