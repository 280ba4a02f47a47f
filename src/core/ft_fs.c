/* ft_fs: see ft_fs.h. */
#define _GNU_SOURCE
#include "core/ft_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ft_alloc.h"

ft_status ft_read_file(const char *path, char **data, size_t *len, ft_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ft_fail(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "%s: cannot open: %s", path,
                       strerror(errno));
    ft_status st = FT_OK;
    size_t cap = 1 << 16, used = 0;
    char *buf = ft_malloc_array(cap, 1);
    while (buf) {
        if (used + 1 >= cap) {
            char *grown = ft_realloc_array(buf, cap, 2);
            if (!grown) break;
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + used, 1, cap - used - 1, f);
        used += got;
        if (got == 0) break;
    }
    if (!buf || used + 1 >= cap)
        st = ft_fail(err, FT_ENOMEM, "%s: out of memory reading the file", path);
    else if (ferror(f))
        st = ft_fail(err, FT_EIO, "%s: read failed: %s", path, strerror(errno));
    fclose(f);
    if (st != FT_OK) {
        free(buf);
        return st;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return FT_OK;
}

char *ft_temp_sibling(const char *path)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    size_t size = strlen(path) + 64;
    char *name = ft_malloc_array(size, 1);
    if (name) snprintf(name, size, "%s.tmp.%ld.%u", path, (long)getpid(), n);
    return name;
}

ft_status ft_fsync_parent(const char *path, ft_error *err)
{
    char *copy = ft_strdup(path);
    if (!copy) return ft_fail(err, FT_ENOMEM, "out of memory");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    ft_status st = FT_OK;
    if (fd < 0 || fsync(fd) != 0)
        st = ft_fail(err, FT_EIO, "%s: cannot sync its folder: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    free(copy);
    return st;
}

static ft_status write_all(int fd, const char *path, const void *data, size_t len, ft_error *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t put = write(fd, p, len);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return ft_fail(err, FT_EIO, "%s: write failed: %s", path, strerror(errno));
        p += put;
        len -= (size_t)put;
    }
    return FT_OK;
}

ft_status ft_write_file_atomic(const char *path, const void *data, size_t len, bool overwrite,
                               ft_error *err)
{
    if (!overwrite && ft_path_exists(path))
        return ft_fail(err, FT_EEXIST, "%s: already exists; not overwriting it", path);
    char *tmp = ft_temp_sibling(path);
    if (!tmp) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = FT_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        st = ft_fail(err, FT_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        goto cleanup;
    }
    st = write_all(fd, tmp, data, len, err);
    if (st == FT_OK && fsync(fd) != 0)
        st = ft_fail(err, FT_EIO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == FT_OK)
        st = ft_fail(err, FT_EIO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == FT_OK && rename(tmp, path) != 0)
        st = ft_fail(err, FT_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (st == FT_OK) st = ft_fsync_parent(path, err);
    if (st != FT_OK) unlink(tmp);
cleanup:
    free(tmp);
    return st;
}

ft_status ft_mkdir_p(const char *path, ft_error *err)
{
    char *copy = ft_strdup(path);
    if (!copy) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = FT_OK;
    for (char *p = copy + 1; st == FT_OK; p++) {
        bool end = *p == '\0';
        if (*p != '/' && !end) continue;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST)
            st = ft_fail(err, FT_EIO, "%s: cannot create folder: %s", copy, strerror(errno));
        else if (!ft_is_dir(copy))
            st = ft_fail(err, FT_EIO, "%s: exists and is not a folder", copy);
        if (end) break;
        *p = '/';
    }
    free(copy);
    return st;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

ft_status ft_remove_tree(const char *path, ft_error *err)
{
    if (!ft_path_exists(path)) return FT_OK;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return ft_fail(err, FT_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return FT_OK;
}

bool ft_path_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

bool ft_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *ft_path_join(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *joined = ft_malloc_array(size, 1);
    if (!joined) return NULL;
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    snprintf(joined, size, "%s%s%s", dir, slash ? "" : "/", name);
    return joined;
}
