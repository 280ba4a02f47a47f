/* ft_alloc: see ft_alloc.h. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#include "ft_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { FT_HUGE_PAGE_BYTES = 2 * 1024 * 1024 };

void *ft_malloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *ft_calloc_array(size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes)) return NULL;
    return calloc(bytes ? n : 1, bytes ? size : 1);
}

void *ft_realloc_array(void *p, size_t n, size_t size)
{
    size_t bytes;
    if (ft_mul_overflows(n, size, &bytes)) return NULL;
    return realloc(p, bytes ? bytes : 1);
}

char *ft_strdup(const char *s)
{
    return s ? ft_strndup(s, strlen(s)) : NULL;
}

char *ft_strndup(const char *s, size_t n)
{
    if (!s) return NULL;
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
    if (ft_mul_overflows(n, size, &bytes) || bytes > SIZE_MAX - FT_HUGE_PAGE_BYTES)
        return 0;
    if (bytes == 0) bytes = 1;
    return (bytes + FT_HUGE_PAGE_BYTES - 1) / FT_HUGE_PAGE_BYTES * FT_HUGE_PAGE_BYTES;
}

void *ft_calloc_large(size_t n, size_t size)
{
    size_t bytes = large_mapping_bytes(n, size);
    if (bytes == 0 || bytes > SIZE_MAX - FT_HUGE_PAGE_BYTES) return NULL;
    /* Map one huge page more than needed, then trim both ends so that the
     * start is 2 MiB aligned (mmap only promises 4 KiB). */
    size_t over = bytes + FT_HUGE_PAGE_BYTES;
    char *raw = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    uintptr_t start = ((uintptr_t)raw + FT_HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(FT_HUGE_PAGE_BYTES - 1);
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
