/* train_log.c: what rank 0 tells the user: one line per logging step on
 * stderr (through ft_log), a progress bar when stderr is a terminal, and
 * OUTPUT/log.jsonl with the same figures (keys as Trainer's log_history:
 * step, epoch, loss, learning_rate, grad_norm, plus tokens_per_s; eval_*
 * at evaluation steps), which report_ reads for the loss curve. On resume
 * the lines of steps after the checkpoint (logged by the interrupted run,
 * then redone) are dropped, so the file reads as one uninterrupted run. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "train_impl.h"

/* Keep the lines whose step is at most `step` (and malformed ones as they are). */
static ft_status truncate_log(const char *path, int64_t step, ft_error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (!ft_path_exists(path)) return FT_OK;
    ft_status st = ft_read_file(path, &text, &len, err);
    if (st != FT_OK) return st;
    char *out = ft_malloc_array(len + 1, 1);
    size_t used = 0;
    for (char *line = text; out && line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t n = nl ? (size_t)(nl - line) + 1 : (size_t)(text + len - line);
        cJSON *j = cJSON_ParseWithLength(line, n);
        cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "step") : NULL;
        if (!cJSON_IsNumber(s) || s->valuedouble <= (double)step) {
            memcpy(out + used, line, n);
            used += n;
        }
        cJSON_Delete(j);
        line += n;
    }
    st = out ? ft_write_file_atomic(path, out, used, true, err)
             : ft_fail(err, FT_ENOMEM, "out of memory");
    free(out);
    free(text);
    return st;
}

ft_status train_log_open(train_ctx *t, ft_error *err)
{
    if (t->rank != 0) return FT_OK;
    char *path = ft_path_join(t->o.output_dir, "log.jsonl");
    if (!path) return ft_fail(err, FT_ENOMEM, "out of memory");
    ft_status st = truncate_log(path, t->step, err);
    if (st == FT_OK) {
        t->log = fopen(path, "a");
        if (!t->log) st = ft_fail(err, FT_EIO, "%s: cannot open for appending", path);
    }
    free(path);
    return st;
}

void train_log_close(train_ctx *t)
{
    if (t->log) fclose(t->log);
    t->log = NULL;
}

void train_log_json(train_ctx *t, const char *json_object_text)
{
    if (!t->log) return;
    fprintf(t->log, "%s\n", json_object_text);
    fflush(t->log);
}

static bool show_bar(const train_ctx *t)
{
    return t->rank == 0 && !t->o.disable_tqdm && isatty(STDERR_FILENO);
}

void train_log_step(train_ctx *t, double loss, double lr, double grad_norm, double tokens_per_s,
                    double seconds_per_step)
{
    if (t->rank != 0) return;
    double epoch = (double)t->step / (double)t->smp.steps_per_epoch;
    char line[512];
    snprintf(line, sizeof line,
             "{\"step\": %lld, \"epoch\": %.6g, \"loss\": %.17g, \"learning_rate\": %.9g, "
             "\"grad_norm\": %.9g, \"tokens_per_s\": %.1f}",
             (long long)t->step, epoch, loss, lr, grad_norm, tokens_per_s);
    train_log_json(t, line);
    double eta = seconds_per_step * (double)(t->total_steps - t->step);
    if (show_bar(t)) fputs("\r\033[K", stderr);
    ft_log_info("step %lld/%lld epoch %.2f loss %.4f lr %.3g grad_norm %.3f tokens/s %.0f "
                "ETA %dm%02ds",
                (long long)t->step, (long long)t->total_steps, epoch, loss, lr, grad_norm,
                tokens_per_s, (int)(eta / 60), (int)eta % 60);
}

void train_progress(train_ctx *t)
{
    if (!show_bar(t)) return;
    int width = 30, done = (int)(width * t->step / (t->total_steps ? t->total_steps : 1));
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %lld/%lld", bar, (long long)t->step, (long long)t->total_steps);
    fflush(stderr);
}
