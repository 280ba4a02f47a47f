/* ft_unique: a repeated name in O(n log n) (see ft_unique.h).
 *
 * Design: qsort an array of pointers into the caller's array (not copies of
 * the strings), ordered by the string and then by position, so equal names
 * sit together in index order and a pointer's distance from names[0] is the
 * name's index. C11 qsort has no context argument; pointers into one array
 * carry the index without one. */
#include "core/ft_unique.h"

#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"

/* By string, then by position in the caller's array (equal names keep their
 * order, so the first of a run is the earliest). */
static int cmp_slots(const void *pa, const void *pb)
{
    const char *const *a = *(const char *const *const *)pa;
    const char *const *b = *(const char *const *const *)pb;
    int c = strcmp(*a, *b);
    if (c) return c;
    return a < b ? -1 : a > b;
}

ft_status ft_find_repeat(const char *const *names, size_t n, bool *found, size_t *first,
                         size_t *second)
{
    *found = false;
    if (n < 2) return FT_OK;
    const char *const **slots = ft_malloc_array(n, sizeof *slots);
    if (!slots) return FT_ENOMEM;
    for (size_t i = 0; i < n; i++) slots[i] = &names[i];
    qsort(slots, n, sizeof *slots, cmp_slots);
    /* A run of equal names is in index order, so its first neighbour pair
     * holds the run's two earliest indices; the pair with the smallest
     * second index over all runs is the repeat met first in order. */
    for (size_t k = 1; k < n; k++) {
        size_t a = (size_t)(slots[k - 1] - names), b = (size_t)(slots[k] - names);
        if (strcmp(names[a], names[b]) != 0 || (*found && b >= *second)) continue;
        *found = true;
        *first = a;
        *second = b;
    }
    free(slots);
    return FT_OK;
}
