/* ft_fs: atomic writes never overwrite unless asked and leave no temp file. */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/ftune-test-fs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    ft_error err;
    char *nested = ft_path_join(dir, "a/b/c");
    CHECK(ft_mkdir_p(nested, &err) == FT_OK);
    CHECK(ft_is_dir(nested));
    char *file = ft_path_join(nested, "x.txt");
    CHECK(ft_write_file_atomic(file, "hello", 5, false, &err) == FT_OK);
    CHECK(ft_write_file_atomic(file, "world", 5, false, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "not overwriting");
    char *data;
    size_t len;
    CHECK(ft_read_file(file, &data, &len, &err) == FT_OK);
    CHECK(len == 5 && !memcmp(data, "hello", 5));
    free(data);
    CHECK(ft_write_file_atomic(file, "world!", 6, true, &err) == FT_OK);
    CHECK(ft_read_file(file, &data, &len, &err) == FT_OK);
    CHECK(len == 6 && !memcmp(data, "world!", 6));
    free(data);
    CHECK_EQ_INT(count_entries(nested), 1); /* no temp file left behind */
    CHECK(ft_read_file("/nonexistent/file", &data, &len, &err) == FT_ENOTFOUND);
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    CHECK(!ft_path_exists(dir));
    free(file);
    free(nested);
    return check_finish();
}
