/* fuzz_replay_main: runs a fuzz target without libFuzzer, over every file
 * of the folders (or the files) given, in byte order of their names; CI
 * replays each target's seed corpus this way with any compiler, and the
 * sanitizer stage of env/test.sh under ASan + UBSan. A crash or a broken
 * invariant aborts, as under libFuzzer; an empty or missing corpus folder
 * is exit status 1, so a wrong path never passes.
 *
 * Usage: fuzz_replay_TARGET DIR_OR_FILE...
 * Not here: mutation, coverage (that is libFuzzer's part). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ft_error.h"
#include "core/ft_fs.h"
#include "fuzz_util.h"

static int replay_file(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    ft_error err;
    if (ft_read_file(path, &data, &len, &err) != FT_OK) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir; *count gets how many were replayed. */
static int replay_dir(const char *dir, size_t *count)
{
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, NULL, NULL);
    if (n < 0) {
        perror(dir);
        return 1;
    }
    char **names = calloc((size_t)n + 1, sizeof *names);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (names && entries[i]->d_name[0] != '.')
            names[k++] = ft_path_join(dir, entries[i]->d_name);
        free(entries[i]);
    }
    free(entries);
    if (!names) return 1;
    qsort(names, k, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        struct stat sb;
        if (names[i] && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
            rc |= replay_file(names[i]);
            (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (int a = 1; a < argc; a++) {
        size_t count = 0;
        if (ft_is_dir(argv[a])) {
            rc |= replay_dir(argv[a], &count);
        } else {
            rc |= replay_file(argv[a]);
            count = 1;
        }
        if (count == 0) {
            fprintf(stderr, "replay: %s holds no inputs\n", argv[a]);
            rc = 1;
        }
        printf("replay: %s: %zu inputs, no crash\n", argv[a], count);
    }
    return rc;
}
