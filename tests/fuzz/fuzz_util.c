/* fuzz_util: see fuzz_util.h. */
#include "fuzz_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ft_error.h"
#include "core/ft_fs.h"

static char temp_dir[256];

static void remove_temp_dir(void)
{
    ft_error err;
    if (temp_dir[0]) ft_remove_tree(temp_dir, &err);
}

const char *fuzz_temp_dir(void)
{
    if (temp_dir[0]) return temp_dir;
    struct stat sb;
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(temp_dir, sizeof temp_dir, "%s/ftune-fuzz-XXXXXX", base);
    if (!mkdtemp(temp_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_temp_dir);
    return temp_dir;
}

char *fuzz_write_file(const char *name, const void *data, size_t size)
{
    char *path = ft_path_join(fuzz_temp_dir(), name);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    const char *p = data;
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t n = write(fd, p + done, size - done);
        if (n <= 0) break;
        done += (size_t)n;
    }
    if (fd < 0 || done != size || close(fd) != 0) {
        perror("fuzz: writing the input file");
        abort();
    }
    return path;
}

char *fuzz_strndup(const void *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) abort();
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fuzz_require(int cond, const char *what)
{
    if (cond) return;
    fprintf(stderr, "fuzz: broken invariant: %s\n", what);
    abort();
}
