/* ft_fs: whole-file reads, atomic writes and folder helpers.
 *
 * The rule for every output ftune writes: write to a temporary name in the
 * same folder, fsync, rename over the final name, fsync the folder. A killed
 * writer leaves at most a stray "*.tmp.*" file, never a half-written output.
 * Nothing here overwrites an existing file unless the caller says so. */
#ifndef FT_FS_H
#define FT_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ft_error.h"

/* Read a whole file into a NUL-terminated buffer (*len excludes the NUL).
 * The caller frees *data. */
ft_status ft_read_file(const char *path, char **data, size_t *len, ft_error *err);

/* Write len bytes to path atomically (temp + fsync + rename + fsync dir).
 * With overwrite false an existing path is FT_EEXIST. */
ft_status ft_write_file_atomic(const char *path, const void *data, size_t len, bool overwrite,
                               ft_error *err);

/* A unique temporary sibling name for path ("path.tmp.PID.N"); caller frees. */
char *ft_temp_sibling(const char *path);

/* fsync the folder that holds path (makes a rename durable). */
ft_status ft_fsync_parent(const char *path, ft_error *err);

/* mkdir -p. */
ft_status ft_mkdir_p(const char *path, ft_error *err);

/* rm -rf of a folder ftune created itself (temporary output folders). */
ft_status ft_remove_tree(const char *path, ft_error *err);

bool ft_path_exists(const char *path);
bool ft_is_dir(const char *path);

/* "dir/name" in a fresh buffer; caller frees. NULL on allocation failure. */
char *ft_path_join(const char *dir, const char *name);

#endif
