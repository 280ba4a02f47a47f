/* tok_test_util.h: what the tokenizer tests share: a scratch folder made
 * with mkdtemp in main (TOK_TEST_NAME, defined before including, names it)
 * and small helpers to fill it. Include after check.h. */
#ifndef TOK_TEST_UTIL_H
#define TOK_TEST_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ft_fs.h"

static char scratch_dir[] = "/tmp/ftune-test-" TOK_TEST_NAME "-XXXXXX";

/* scratch_dir/name, made as a folder (the caller frees the path). */
static inline char *make_dir(const char *name)
{
    char *dir = ft_path_join(scratch_dir, name);
    ft_error err;
    CHECK(dir && ft_mkdir_p(dir, &err) == FT_OK);
    return dir;
}

static inline void write_file(const char *dir, const char *name, const char *data, size_t len)
{
    char *path = ft_path_join(dir, name);
    ft_error err;
    CHECK(path && ft_write_file_atomic(path, data, len, true, &err) == FT_OK);
    free(path);
}

static inline void write_text(const char *dir, const char *name, const char *text)
{
    write_file(dir, name, text, strlen(text));
}

static inline void link_file(const char *dir, const char *name, const char *target)
{
    char *path = ft_path_join(dir, name);
    CHECK(path && symlink(target, path) == 0);
    free(path);
}

/* The whole file (the caller frees it); NULL after a failed check. */
static inline char *read_text(const char *path, size_t *len)
{
    char *data = NULL;
    ft_error err;
    CHECK_MSG(ft_read_file(path, &data, len, &err) == FT_OK, "%s", err.msg);
    return data;
}

#endif
