/* ft_alloc: see ft_alloc.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "core/ft_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/ft_hook.h"

enum { FT_HUGE_PAGE_BYTES = 2 * 1024 * 1024 };

/* Test hook FTUNE_ALLOC_FAIL_AT=N (test builds only, ft_hook.h): the Nth
 * call to an allocating function of this module (counted from 1 over the
 * process, all threads) returns NULL, once. The line on stderr tells a
 * driver that the failure happened: a run that ends before allocation N
 * prints nothing, and the driver (tests/reliability/alloc_fail.sh) stops
 * raising N there (stderr is unbuffered: the line needs no allocation). */
static bool alloc_fails_now(void)
{
    if (!ft_hook_enabled()) return false;
    static atomic_long at = -2;
    static atomic_long calls = 0;
    long target = atomic_load(&at);
    if (target == -2) {
        const char *e = ft_hook_env("FTUNE_ALLOC_FAIL_AT");
        char *end = NULL;
        long v = e && *e ? strtol(e, &end, 10) : -1;
        target = end && *end == '\0' && v >= 1 ? v : -1;
        atomic_store(&at, target);
    }
    if (target < 1 || atomic_fetch_add(&calls, 1) + 1 != target) return false;
    fprintf(stderr, "ftune test hook: allocation %ld fails (FTUNE_ALLOC_FAIL_AT)\n", target);
    return true;
}

void *ft_malloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes) || alloc_fails_now()) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *ft_calloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes) || alloc_fails_now()) return NULL;
    return calloc(bytes ? n : 1, bytes ? size : 1);
}

void *ft_realloc_array(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes) || alloc_fails_now()) return NULL;
    return realloc(p, bytes ? bytes : 1);
}

char *ft_strdup(const char *s) { return s ? ft_strndup(s, strlen(s)) : NULL; }

char *ft_strndup(const char *s, size_t n)
{
    if (!s || alloc_fails_now()) return NULL;
    char *copy = malloc(n + 1);
    if (!copy) return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

/* The mapping covers whole 2 MiB pages, so its length is a function of the
 * byte count alone and ft_free_large can unmap exactly what was mapped. */
static size_t large_mapping_bytes(size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes) || bytes > SIZE_MAX - FT_HUGE_PAGE_BYTES) return 0;
    if (bytes == 0) bytes = 1;
    return (bytes + FT_HUGE_PAGE_BYTES - 1) / FT_HUGE_PAGE_BYTES * FT_HUGE_PAGE_BYTES;
}

void *ft_calloc_large(size_t n, size_t size)
{
    size_t bytes = large_mapping_bytes(n, size);
    if (bytes == 0 || bytes > SIZE_MAX - FT_HUGE_PAGE_BYTES || alloc_fails_now()) return NULL;
    /* Map one huge page more than needed, then trim both ends so that the
     * start is 2 MiB aligned (mmap only promises 4 KiB). */
    size_t over = bytes + FT_HUGE_PAGE_BYTES;
    char *raw = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start =
        ((uintptr_t)raw + FT_HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(FT_HUGE_PAGE_BYTES - 1);
    char *p = (char *)start;
    size_t head = (size_t)(p - raw), tail = over - head - bytes;
    if (head) munmap(raw, head);
    if (tail) munmap(p + bytes, tail);
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: ignored where THP is off */
    return p;
}

void ft_free_large(void *p, size_t n, size_t size)
{
    if (p) munmap(p, large_mapping_bytes(n, size));
}
