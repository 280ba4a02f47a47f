/* ft_log: see ft_log.h. One fprintf per line so lines from threads do not
 * interleave mid-line. */
#include "core/ft_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int log_rank = -1;
static int log_world = 1;
static int log_all_ranks = 0;
static ft_log_level log_threshold = FT_LOG_INFO;

void ft_log_set_rank(int rank, int world_size)
{
    log_rank = rank;
    log_world = world_size;
}

void ft_log_init_from_env(void)
{
    const char *level = getenv("FTUNE_LOG_LEVEL");
    if (level) {
        if (!strcasecmp(level, "debug"))
            log_threshold = FT_LOG_DEBUG;
        else if (!strcasecmp(level, "info"))
            log_threshold = FT_LOG_INFO;
        else if (!strcasecmp(level, "warn"))
            log_threshold = FT_LOG_WARN;
        else if (!strcasecmp(level, "error"))
            log_threshold = FT_LOG_ERROR;
    }
    const char *all = getenv("FTUNE_LOG_ALL_RANKS");
    log_all_ranks = all && all[0] == '1';
}

static const char *level_name(ft_log_level level)
{
    switch (level) {
    case FT_LOG_DEBUG: return "debug";
    case FT_LOG_INFO: return "info";
    case FT_LOG_WARN: return "warning";
    case FT_LOG_ERROR: return "error";
    }
    return "?";
}

void ft_log(ft_log_level level, const char *fmt, ...)
{
    if (level < log_threshold) return;
    if (level < FT_LOG_WARN && log_rank > 0 && !log_all_ranks) return;
    char body[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (log_rank >= 0 && log_world > 1)
        fprintf(stderr, "ftune[%d/%d] %s: %s\n", log_rank, log_world, level_name(level), body);
    else
        fprintf(stderr, "ftune %s: %s\n", level_name(level), body);
}
