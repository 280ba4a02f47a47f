/* ft_hook: the fault-injection hooks of the test suite, present only in test
 * builds.
 *
 * The tests make a run fail at an exact point through environment variables
 * (a signal at step k, a crash inside a checkpoint write, the Nth allocation
 * failing; docs/CONFIG.md "Test hooks" lists them). Only a build configured with
 * FTUNE_TEST_HOOKS=ON (env/test.sh builds build-test/ and build-asan/ so)
 * reads them: in any other build ft_hook_env is a constant NULL, the
 * compiler drops the hook code and its variable names, and nothing a user
 * sets in the environment can make a program fail on purpose. */
#ifndef FT_HOOK_H
#define FT_HOOK_H

#include <stdbool.h>
#include <stdlib.h>

/* True in a test build. */
static inline bool ft_hook_enabled(void)
{
#ifdef FTUNE_TEST_HOOKS
    return true;
#else
    return false;
#endif
}

/* The value of hook variable name, or NULL (always NULL outside test builds). */
static inline const char *ft_hook_env(const char *name)
{
#ifdef FTUNE_TEST_HOOKS
    return getenv(name);
#else
    (void)name;
    return NULL;
#endif
}

#endif
