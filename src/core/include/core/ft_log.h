/* ft_log: rank-aware logging to stderr.
 *
 * Every line carries the level and, once ft_log_set_rank() has been called,
 * the MPI rank, so interleaved output from many ranks stays readable. By
 * default only rank 0 prints INFO and DEBUG; WARN and ERROR print on every
 * rank. FTUNE_LOG_LEVEL=debug|info|warn|error and FTUNE_LOG_ALL_RANKS=1 change
 * that. The library logs only through here and never writes stdout. */
#ifndef FT_LOG_H
#define FT_LOG_H

typedef enum ft_log_level { FT_LOG_DEBUG = 0, FT_LOG_INFO, FT_LOG_WARN, FT_LOG_ERROR } ft_log_level;

void ft_log_set_rank(int rank, int world_size);
/* Reads FTUNE_LOG_LEVEL and FTUNE_LOG_ALL_RANKS. */
void ft_log_init_from_env(void);

void ft_log(ft_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ft_log_debug(...) ft_log(FT_LOG_DEBUG, __VA_ARGS__)
#define ft_log_info(...)  ft_log(FT_LOG_INFO, __VA_ARGS__)
#define ft_log_warn(...)  ft_log(FT_LOG_WARN, __VA_ARGS__)
#define ft_log_error(...) ft_log(FT_LOG_ERROR, __VA_ARGS__)

#endif
