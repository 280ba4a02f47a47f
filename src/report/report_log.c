/* report_log: the loss curves of a training log (OUTPUT/log.jsonl).
 *
 * Design: the log is written by a job that may be killed at any moment, so
 * its last line may be cut short, and a report must not fail for that. A
 * missing file gives empty curves; a malformed line is skipped, counted and
 * named (path:line) in a warning. Each line is parsed with cJSON. Not here:
 * writing the log (the trainer does), any figure other than the losses. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "core/ft_log.h"
#include "report/report.h"

enum { WARN_LINES = 5 };

typedef struct series {
    report_point *pts;
    int n, cap;
} series;

static bool push(series *s, double step, double value)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 256;
        report_point *p = ft_realloc_array(s->pts, (size_t)cap, sizeof *p);
        if (!p || cap < 0) return false;
        s->pts = p;
        s->cap = cap;
    }
    s->pts[s->n++] = (report_point){step, value};
    return true;
}

static void malformed(report_curves *c, const char *path, int line, const char *why)
{
    if (c->malformed_lines == 0)
        snprintf(c->first_malformed, sizeof c->first_malformed, "%s:%d: %s", path, line, why);
    if (c->malformed_lines < WARN_LINES) ft_log_warn("%s:%d: %s; line skipped", path, line, why);
    c->malformed_lines++;
}

/* A finite number under key, or why not: NULL when the key is absent. */
static const char *number_at(const cJSON *obj, const char *key, double *v, bool *present)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *present = item != NULL;
    if (!item) return NULL;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return "expected a finite number";
    *v = item->valuedouble;
    return NULL;
}

/* Parse one line; returns false only when out of memory. */
static bool read_line(report_curves *c, series *train, series *eval, const char *path, int line,
                      const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(text, len, &end, false);
    while (obj && end < text + len && *end && strchr(" \t\r", *end)) end++;
    char why[128] = "";
    double step = 0, loss = 0, eval_loss = 0;
    bool has_step, has_loss, has_eval, ok = true;
    if (!cJSON_IsObject(obj) || end != text + len) {
        snprintf(why, sizeof why, "not a JSON object (cut short?)");
    } else {
        const char *e1 = number_at(obj, "step", &step, &has_step);
        const char *e2 = number_at(obj, "loss", &loss, &has_loss);
        const char *e3 = number_at(obj, "eval_loss", &eval_loss, &has_eval);
        if (e1 || e2 || e3)
            snprintf(why, sizeof why, "key '%s': %s",
                     e1   ? "step"
                     : e2 ? "loss"
                          : "eval_loss",
                     e1   ? e1
                     : e2 ? e2
                          : e3);
        else if ((has_loss || has_eval) && !has_step)
            snprintf(why, sizeof why, "a loss without a 'step'");
        else {
            if (has_loss) ok = push(train, step, loss);
            if (has_eval && ok) ok = push(eval, step, eval_loss);
        }
    }
    if (why[0]) malformed(c, path, line, why);
    cJSON_Delete(obj);
    return ok;
}

ft_status report_curves_read(const char *path, report_curves **out, ft_error *err)
{
    *out = NULL;
    report_curves *c = ft_calloc_array(1, sizeof *c);
    if (!c) return ft_fail(err, FT_ENOMEM, "out of memory");
    char *data = NULL;
    size_t len = 0;
    series train = {0}, eval = {0};
    ft_status st = ft_read_file(path, &data, &len, err);
    if (st == FT_ENOTFOUND) {
        c->file_missing = true;
        ft_error_clear(err);
        st = FT_OK;
    }
    int line = 0;
    for (size_t at = 0; st == FT_OK && at < len; line++) {
        size_t end = at;
        while (end < len && data[end] != '\n') end++;
        size_t from = at;
        while (from < end && (data[from] == ' ' || data[from] == '\t' || data[from] == '\r'))
            from++;
        if (from < end && !read_line(c, &train, &eval, path, line + 1, data + from, end - from))
            st = ft_fail(err, FT_ENOMEM, "%s: out of memory reading the log", path);
        at = end + 1;
    }
    if (c->malformed_lines > WARN_LINES)
        ft_log_warn("%s: %d malformed lines skipped in all", path, c->malformed_lines);
    free(data);
    c->train = train.pts, c->num_train = train.n;
    c->eval = eval.pts, c->num_eval = eval.n;
    if (st != FT_OK) {
        report_curves_free(c);
        return st;
    }
    *out = c;
    return FT_OK;
}

void report_curves_free(report_curves *c)
{
    if (!c) return;
    free(c->train);
    free(c->eval);
    free(c);
}
