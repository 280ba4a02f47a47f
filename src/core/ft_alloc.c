/* ft_alloc: see ft_alloc.h. */
#include "ft_alloc.h"

#include <stdlib.h>
#include <string.h>

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
