/* check.h: the tests' assertions. A failed CHECK prints file:line and the
 * expression and marks the test failed; the test goes on so one run shows
 * every failure. Tests end with `return check_finish();`. */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(expr)                                                                  \
    do {                                                                             \
        check_count++;                                                               \
        if (!(expr)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
        }                                                                            \
    } while (0)

#define CHECK_MSG(expr, ...)                                                         \
    do {                                                                             \
        check_count++;                                                               \
        if (!(expr)) {                                                               \
            check_failures++;                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #expr); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(a, b) \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

#define CHECK_STR_CONTAINS(haystack, needle) \
    CHECK_MSG(strstr((haystack), (needle)) != NULL, "\"%s\" lacks \"%s\"", (haystack), (needle))

/* |a - b| <= tol * max(1, |b|) */
#define CHECK_CLOSE(a, b, tol)                                                       \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol)*fmax(1.0, fabs((double)(b))), \
              "%.9g vs %.9g (tol %g)", (double)(a), (double)(b), (double)(tol))

static inline int check_finish(void)
{
    if (check_failures) {
        fprintf(stderr, "%d of %d checks failed\n", check_failures, check_count);
        return 1;
    }
    fprintf(stderr, "all %d checks passed\n", check_count);
    return 0;
}

#endif
