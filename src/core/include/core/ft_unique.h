/* ft_unique: finding a repeated name in a list of strings in O(n log n).
 *
 * Label names, config keys and manifest labels come from outside files that
 * may hold 10^5 entries or more; a pairwise check is 5 * 10^9 strcmp calls
 * at that size (minutes), so every "names must be distinct" rule goes
 * through here instead: sort pointers to the names, then compare neighbours.
 *
 * Not here: messages (the caller names the file and the key). */
#ifndef FT_UNIQUE_H
#define FT_UNIQUE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ft_error.h"

/* Looks for two equal strings among names[0..n-1] (none NULL). On a repeat,
 * *found is true and *first < *second are the indices a reader going in
 * order meets first: *second is the smallest index whose name appeared
 * before, *first the earliest index with that name. FT_ENOMEM (the caller
 * writes the message) when the scratch array cannot be allocated. */
ft_status ft_find_repeat(const char *const *names, size_t n, bool *found, size_t *first,
                         size_t *second);

#endif
