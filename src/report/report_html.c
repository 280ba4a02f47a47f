/* report_html: report.html, one self-contained page a person opens from a
 * cluster's file system or gets by mail.
 *
 * Design: no script, no external asset, no web font: inline CSS and inline
 * SVG drawn here (confusion matrix heat map, loss curves, reliability
 * diagram), so the page renders the same offline and in years. Everything
 * from outside (label names, paths, the command line, example texts) goes
 * through report_buf_html_text, which escapes it; example texts are
 * untrusted user data. Not here: interactivity, figures other than those in
 * report.json. */
#include <math.h>

#include "report_impl.h"

static const char *const style =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:1100px;padding:0 1em;color:#1b1f24;line-height:1.4}"
    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #d0d7de}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #d0d7de;padding:.25em .6em}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "th{background:#f6f8fa;text-align:left}"
    "td.text{max-width:560px;white-space:pre-wrap;word-break:break-word;font-size:.9em}"
    ".meta{color:#57606a;font-size:.9em}.meta code{word-break:break-all}"
    ".undef{color:#9a6700}svg{display:block;margin:.5em 0}"
    "svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#1b1f24}";

static void text(report_buf *b, const char *s) { report_buf_html_text(b, s, 0); }

void report_html_head(report_buf *b, const report_input *in)
{
    report_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                       "<meta charset=\"utf-8\">\n<title>ftune evaluation "
                       "report</title>\n<style>");
    report_buf_puts(b, style);
    report_buf_puts(b, "</style>\n</head>\n<body>\n<h1>Evaluation report</h1>\n"
                       "<p class=\"meta\">");
    const struct {
        const char *name, *value;
    } meta[] = {{"model", in->model_path},
                {"data manifest", in->manifest_fingerprint},
                {"command", in->command_line},
                {"precision", in->precision}};
    for (int i = 0; i < 4; i++) {
        if (!meta[i].value) continue;
        report_buf_printf(b, "%s: <code>", meta[i].name);
        text(b, meta[i].value);
        report_buf_puts(b, "</code><br>\n");
    }
    report_buf_puts(b, "</p>\n");
}

static void figure_row(report_buf *b, const char *name, double v)
{
    report_buf_printf(b, "<tr><th>%s</th><td class=\"num\">", name);
    report_buf_fixed4(b, v);
    report_buf_puts(b, "</td></tr>\n");
}

static void overall_table(report_buf *b, const metrics_result *m)
{
    report_buf_puts(b, "<h2>Overall</h2>\n<table>\n");
    report_buf_printf(b, "<tr><th>examples</th><td class=\"num\">%lld</td></tr>\n",
                      (long long)m->num_examples);
    figure_row(b, "accuracy", m->accuracy);
    figure_row(b, "cross-entropy loss", m->loss);
    figure_row(b, "macro F1", m->macro.f1);
    figure_row(b, "weighted F1", m->weighted.f1);
    if (m->num_classes == 2) {
        figure_row(b, "ROC-AUC", m->roc_auc);
        figure_row(b, "average precision (PR-AUC)", m->average_precision);
    }
    figure_row(b, "expected calibration error (15 bins)", m->ece);
    if (isfinite(m->examples_per_s))
        report_buf_printf(b, "<tr><th>examples/s</th><td class=\"num\">%.1f</td></tr>\n",
                          m->examples_per_s);
    report_buf_puts(b, "</table>\n");
}

static void class_cell(report_buf *b, double v, bool undefined)
{
    report_buf_puts(b, undefined ? "<td class=\"num undef\" title=\"undefined, "
                                   "set to 0.0\">"
                                 : "<td class=\"num\">");
    report_buf_fixed4(b, v);
    report_buf_puts(b, undefined ? "*</td>" : "</td>");
}

static void class_table(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    char tmp[24];
    int undefined = 0;
    report_buf_puts(b, "<h2>Per class</h2>\n<table>\n<tr><th>class</th><th>"
                       "precision</th><th>recall</th><th>F1</th><th>support"
                       "</th></tr>\n");
    for (int c = 0; c < m->num_classes; c++) {
        const metrics_class *k = &m->classes[c];
        report_buf_puts(b, "<tr><td>");
        text(b, report_label(in, c, tmp));
        report_buf_puts(b, "</td>");
        class_cell(b, k->precision, k->precision_undefined);
        class_cell(b, k->recall, k->recall_undefined);
        class_cell(b, k->f1, k->f1_undefined);
        report_buf_printf(b, "<td class=\"num\">%lld</td></tr>\n", (long long)k->support);
        undefined += k->f1_undefined;
    }
    const metrics_average *avg[2] = {&m->macro, &m->weighted};
    for (int i = 0; i < 2; i++) {
        report_buf_printf(b, "<tr><th>%s avg</th>", i ? "weighted" : "macro");
        class_cell(b, avg[i]->precision, false);
        class_cell(b, avg[i]->recall, false);
        class_cell(b, avg[i]->f1, false);
        report_buf_printf(b, "<td class=\"num\">%lld</td></tr>\n", (long long)avg[i]->support);
    }
    report_buf_puts(b, "</table>\n");
    if (undefined)
        report_buf_puts(b, "<p class=\"meta\">* undefined (class never predicted: "
                           "precision; class absent from the truth: recall), "
                           "reported as 0.0 as scikit-learn does.</p>\n");
}

/* ---- confusion matrix heat map ------------------------------------------ */

/* White to dark blue by share in [0, 1]. */
static void heat_colour(report_buf *b, double share)
{
    const double from[3] = {247, 251, 255}, to[3] = {8, 48, 107};
    int c[3];
    for (int i = 0; i < 3; i++) c[i] = (int)lround(from[i] + (to[i] - from[i]) * share);
    report_buf_printf(b, "rgb(%d,%d,%d)", c[0], c[1], c[2]);
}

static void confusion_cell(report_buf *b, const report_input *in, int t, int p, double x, double y,
                           double cell, int64_t row_sum)
{
    const metrics_result *m = in->metrics;
    int64_t n = m->confusion[(size_t)t * (size_t)m->num_classes + (size_t)p];
    double share = row_sum ? (double)n / (double)row_sum : 0.0;
    char t1[24], t2[24];
    report_buf_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"",
                      x, y, cell, cell);
    heat_colour(b, share);
    report_buf_puts(b, "\" stroke=\"#ffffff\"><title>true ");
    text(b, report_label(in, t, t1));
    report_buf_puts(b, ", predicted ");
    text(b, report_label(in, p, t2));
    report_buf_printf(b, ": %lld (%.1f%% of the row)</title></rect>\n", (long long)n,
                      100.0 * share);
    if (cell >= 28)
        report_buf_printf(b,
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                          "style=\"fill:%s\">%lld</text>\n",
                          x + cell / 2, y + cell / 2 + 4, share > 0.5 ? "#ffffff" : "#1b1f24",
                          (long long)n);
}

static void confusion_labels(report_buf *b, const report_input *in, double left, double top,
                             double cell)
{
    char tmp[24];
    for (int c = 0; c < in->metrics->num_classes; c++) {
        double mid = c * cell + cell / 2;
        report_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6,
                          top + mid + 4);
        report_buf_html_text(b, report_label(in, c, tmp), 18);
        report_buf_printf(b,
                          "</text>\n<text transform=\"translate(%.1f,%.1f) "
                          "rotate(-45)\">",
                          left + mid + 4, top - 6);
        report_buf_html_text(b, report_label(in, c, tmp), 18);
        report_buf_puts(b, "</text>\n");
    }
}

static void confusion_svg(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    int k = m->num_classes;
    double cell = fmin(56.0, fmax(6.0, 480.0 / k));
    bool labels = cell >= 12;
    double left = labels ? 130 : 30, top = labels ? 110 : 30;
    double width = fmax(left + k * cell + 20, 460), height = top + k * cell + 30;
    report_buf_printf(b,
                      "<h2>Confusion matrix</h2>\n<svg xmlns=\"http://www.w3.org"
                      "/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
                      "%.0f\" role=\"img\" aria-label=\"confusion matrix\">\n",
                      width, height, width, height);
    for (int t = 0; t < k; t++) {
        int64_t row_sum = m->classes[t].support;
        for (int p = 0; p < k; p++)
            confusion_cell(b, in, t, p, left + p * cell, top + t * cell, cell, row_sum);
    }
    if (labels) confusion_labels(b, in, left, top, cell);
    report_buf_printf(b,
                      "<text x=\"10\" y=\"%.1f\">rows: true class, columns: "
                      "predicted class, shade: share of the row</text>\n</svg>\n",
                      top + k * cell + 20);
}

/* ---- plots: axes shared by the loss curves and the reliability diagram -- */

typedef struct plot {
    double left, top, width, height; /* the plotting area, in pixels */
    double x0, x1, y0, y1;           /* the data range shown */
} plot;

static double px(const plot *p, double x)
{
    return p->left + (x - p->x0) / (p->x1 - p->x0) * p->width;
}

static double py(const plot *p, double y)
{
    return p->top + p->height - (y - p->y0) / (p->y1 - p->y0) * p->height;
}

/* A round tick spacing (1, 2 or 5 times a power of ten) giving about five
 * ticks over span. */
static double tick_step(double span)
{
    double raw = span / 5, unit = pow(10, floor(log10(raw)));
    double m = raw / unit;
    return unit * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

static void plot_ticks(report_buf *b, const plot *p, bool x_axis)
{
    double lo = x_axis ? p->x0 : p->y0, hi = x_axis ? p->x1 : p->y1;
    double step = tick_step(hi - lo);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
        double t = fabs(v) < step * 1e-9 ? 0.0 : v; /* no "-0" */
        if (x_axis)
            report_buf_printf(b,
                              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                              "%.6g</text>\n",
                              px(p, t), p->top + p->height + 15, t);
        else
            report_buf_printf(b,
                              "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.6g"
                              "</text>\n<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                              "y2=\"%.1f\" stroke=\"#eaeef2\"/>\n",
                              p->left - 5, py(p, t) + 4, t, p->left, p->left + p->width, py(p, t),
                              py(p, t));
    }
}

static void plot_axes(report_buf *b, const plot *p, const char *xlabel, const char *ylabel)
{
    report_buf_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"none\" stroke=\"#57606a\"/>\n",
                      p->left, p->top, p->width, p->height);
    plot_ticks(b, p, true);
    plot_ticks(b, p, false);
    report_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                      p->left + p->width / 2, p->top + p->height + 34, xlabel);
    report_buf_printf(b,
                      "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" "
                      "text-anchor=\"middle\">%s</text>\n",
                      p->left - 42, p->top + p->height / 2, ylabel);
}

/* ---- loss curves -------------------------------------------------------- */

static void range_of(const report_point *pts, int n, double r[4])
{
    for (int i = 0; i < n; i++) {
        r[0] = fmin(r[0], pts[i].step);
        r[1] = fmax(r[1], pts[i].step);
        r[2] = fmin(r[2], pts[i].value);
        r[3] = fmax(r[3], pts[i].value);
    }
}

/* A polyline of at most about 2000 points (a long log is thinned evenly;
 * the last point is always drawn). */
static void curve(report_buf *b, const plot *p, const report_point *pts, int n, const char *colour,
                  bool dots)
{
    int stride = n > 2000 ? (n + 1999) / 2000 : 1;
    report_buf_printf(b,
                      "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                      "points=\"",
                      colour);
    for (int i = 0; i < n; i += stride) {
        int j = i + stride >= n ? n - 1 : i;
        report_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", px(p, pts[j].step), py(p, pts[j].value));
    }
    report_buf_puts(b, "\"/>\n");
    for (int i = 0; dots && i < n && n <= 200; i++)
        report_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                          px(p, pts[i].step), py(p, pts[i].value), colour);
}

static void loss_svg(report_buf *b, const report_curves *c)
{
    report_buf_puts(b, "<h2>Loss curves</h2>\n");
    if (!c || c->num_train + c->num_eval == 0) {
        report_buf_printf(b, "<p class=\"meta\">%s</p>\n",
                          !c                ? "No training log "
                                              "was given."
                          : c->file_missing ? "The training log "
                                              "(log.jsonl) was not found."
                                            : "The training log holds "
                                              "no loss values.");
        return;
    }
    double r[4] = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    range_of(c->train, c->num_train, r);
    range_of(c->eval, c->num_eval, r);
    if (r[2] > 0) r[2] = 0;
    if (r[1] <= r[0]) r[1] = r[0] + 1;
    if (r[3] <= r[2]) r[3] = r[2] + 1;
    plot p = {70, 20, 620, 280, r[0], r[1], r[2], r[3] * 1.05};
    report_buf_puts(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" "
                       "height=\"350\" viewBox=\"0 0 720 350\" role=\"img\" "
                       "aria-label=\"loss curves\">\n");
    plot_axes(b, &p, "step", "loss");
    curve(b, &p, c->train, c->num_train, "#0969da", false);
    curve(b, &p, c->eval, c->num_eval, "#cf222e", true);
    report_buf_puts(b, "<rect x=\"560\" y=\"28\" width=\"12\" height=\"3\" fill=\"#0969da\"/>"
                       "<text x=\"578\" y=\"34\">training loss</text>\n"
                       "<rect x=\"560\" y=\"46\" width=\"12\" height=\"3\" fill=\"#cf222e\"/>"
                       "<text x=\"578\" y=\"52\">validation loss</text>\n</svg>\n");
    if (c->malformed_lines)
        report_buf_printf(b,
                          "<p class=\"meta\">%d malformed line(s) of the log "
                          "were skipped.</p>\n",
                          c->malformed_lines);
}

/* ---- reliability diagram ------------------------------------------------ */

static void reliability_svg(report_buf *b, const metrics_result *m)
{
    plot p = {60, 20, 340, 340, 0, 1, 0, 1};
    report_buf_puts(b, "<h2>Reliability diagram</h2>\n<svg xmlns=\"http://www.w3.org"
                       "/2000/svg\" width=\"440\" height=\"410\" viewBox=\"0 0 440 "
                       "410\" role=\"img\" aria-label=\"reliability diagram\">\n");
    plot_axes(b, &p, "confidence (top probability)", "accuracy");
    for (int i = 0; i < METRICS_ECE_BINS; i++) {
        const metrics_bin *bin = &m->bins[i];
        if (!bin->count) continue;
        double acc = (double)bin->correct / (double)bin->count;
        double conf = bin->confidence_sum / (double)bin->count;
        double x = px(&p, bin->lo), w = px(&p, bin->hi) - x;
        report_buf_printf(b,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"#0969da\" fill-opacity=\"0.75\" stroke=\"#ffffff\">"
                          "<title>(%.3f, %.3f]: %lld examples, accuracy %.3f, mean "
                          "confidence %.3f</title></rect>\n",
                          x, py(&p, acc), w, py(&p, 0) - py(&p, acc), bin->lo, bin->hi,
                          (long long)bin->count, acc, conf);
        report_buf_printf(b,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"#cf222e\" fill-opacity=\"0.3\"/>\n",
                          x, py(&p, fmax(acc, conf)), w, fabs(py(&p, acc) - py(&p, conf)));
    }
    report_buf_printf(b,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                      "stroke=\"#57606a\" stroke-dasharray=\"4 3\"/>\n",
                      px(&p, 0), py(&p, 0), px(&p, 1), py(&p, 1));
    report_buf_printf(b,
                      "<text x=\"70\" y=\"38\">ECE %.4f (blue: accuracy, red: "
                      "gap to confidence)</text>\n</svg>\n",
                      m->ece);
}

/* ---- most confident mistakes -------------------------------------------- */

static void mistakes_table(report_buf *b, const report_input *in)
{
    char t1[24], t2[24];
    int max_chars = in->max_text_chars > 0 ? in->max_text_chars : 600;
    report_buf_puts(b, "<h2>Most confident mistakes</h2>\n");
    if (in->num_examples <= 0) {
        report_buf_puts(b, "<p class=\"meta\">No misclassified examples to show."
                           "</p>\n");
        return;
    }
    report_buf_puts(b, "<table>\n<tr><th>#</th><th>example</th><th>true</th><th>"
                       "predicted</th><th>confidence</th><th>text</th></tr>\n");
    for (int i = 0; i < in->num_examples; i++) {
        const report_example *e = &in->examples[i];
        bool known = e->true_label >= 0 && e->true_label < in->metrics->num_classes &&
                     e->pred_label >= 0 && e->pred_label < in->metrics->num_classes;
        report_buf_printf(b,
                          "<tr><td class=\"num\">%d</td><td class=\"num\">%lld"
                          "</td><td>",
                          i + 1, (long long)e->example_index);
        text(b, known ? report_label(in, e->true_label, t1) : "?");
        report_buf_puts(b, "</td><td>");
        text(b, known ? report_label(in, e->pred_label, t2) : "?");
        report_buf_puts(b, "</td><td class=\"num\">");
        report_buf_fixed4(b, e->confidence);
        report_buf_puts(b, "</td><td class=\"text\">");
        report_buf_html_text(b, e->text, max_chars);
        report_buf_puts(b, "</td></tr>\n");
    }
    report_buf_puts(b, "</table>\n");
}

void report_html_build(report_buf *b, const report_input *in)
{
    if (in->lm) {
        report_lm_html_build(b, in);
        return;
    }
    report_html_head(b, in);
    overall_table(b, in->metrics);
    class_table(b, in);
    confusion_svg(b, in);
    loss_svg(b, in->curves);
    reliability_svg(b, in->metrics);
    mistakes_table(b, in);
    report_buf_puts(b, "<p class=\"meta\">Written by ftune-eval. Definitions: "
                       "scikit-learn 1.2 (precision, recall, F1, ROC-AUC, average "
                       "precision, log loss); ECE over 15 equal-width bins (lo, "
                       "hi].</p>\n</body>\n</html>\n");
}
