/* report_predictions: predictions.jsonl, one line per example, streamed.
 *
 * Design: the file can be far larger than the report, so lines go through a
 * stdio stream into a temporary sibling ("path.tmp.PID.N"); close flushes,
 * fsyncs and renames it into place, abort removes it. A killed job leaves at
 * most the temporary file, never a truncated predictions.jsonl. Not here:
 * merging the files of several ranks (the caller gathers or concatenates in
 * rank order). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "report_impl.h"

struct report_predictions {
    char *path, *tmp;
    FILE *f;
    int num_classes;
    report_buf line;
};

ft_status report_predictions_open(const char *path, int num_classes, bool force,
                                  report_predictions **out, ft_error *err)
{
    *out = NULL;
    if (num_classes < 2)
        return ft_fail(err, FT_EINVAL, "%s: num_classes must be >= 2, got %d", path, num_classes);
    if (!force && ft_path_exists(path))
        return ft_fail(err, FT_EEXIST,
                       "%s: already exists; not overwriting it "
                       "(use --force to replace it)",
                       path);
    report_predictions *w = ft_calloc_array(1, sizeof *w);
    if (w) {
        w->path = ft_strdup(path);
        w->tmp = ft_temp_sibling(path);
    }
    if (!w || !w->path || !w->tmp) {
        report_predictions_abort(w);
        return ft_fail(err, FT_ENOMEM, "out of memory");
    }
    w->num_classes = num_classes;
    w->f = fopen(w->tmp, "wx");
    if (!w->f) {
        ft_status st = ft_fail(err, FT_EIO, "%s: cannot create: %s", w->tmp, strerror(errno));
        report_predictions_abort(w);
        return st;
    }
    *out = w;
    return FT_OK;
}

ft_status report_predictions_write(report_predictions *w, int64_t example_index, int true_label,
                                   int pred_label, const float *probs, ft_error *err)
{
    report_buf *b = &w->line;
    b->len = 0;
    report_buf_printf(b,
                      "{\"example_index\":%lld,\"true_label\":%d,\"pred_label\""
                      ":%d,\"probabilities\":[",
                      (long long)example_index, true_label, pred_label);
    for (int c = 0; c < w->num_classes; c++) {
        if (c) report_buf_puts(b, ",");
        report_buf_json_float(b, probs[c]);
    }
    report_buf_puts(b, "]}\n");
    if (b->failed) return ft_fail(err, FT_ENOMEM, "%s: out of memory", w->path);
    if (fwrite(b->data, 1, b->len, w->f) != b->len)
        return ft_fail(err, FT_EIO, "%s: write failed: %s", w->tmp, strerror(errno));
    return FT_OK;
}

ft_status report_predictions_close(report_predictions *w, ft_error *err)
{
    ft_status st = FT_OK;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        st = ft_fail(err, FT_EIO, "%s: flush failed: %s", w->tmp, strerror(errno));
    if (fclose(w->f) != 0 && st == FT_OK)
        st = ft_fail(err, FT_EIO, "%s: close failed: %s", w->tmp, strerror(errno));
    w->f = NULL;
    if (st == FT_OK && rename(w->tmp, w->path) != 0)
        st = ft_fail(err, FT_EIO, "%s: cannot rename into place: %s", w->path, strerror(errno));
    if (st == FT_OK) st = ft_fsync_parent(w->path, err);
    report_predictions_abort(w); /* removes the temporary file if still there */
    return st;
}

void report_predictions_abort(report_predictions *w)
{
    if (!w) return;
    if (w->f) fclose(w->f);
    if (w->tmp) unlink(w->tmp);
    free(w->path);
    free(w->tmp);
    report_buf_free(&w->line);
    free(w);
}
