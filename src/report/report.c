/* report: report.json and the file-level writers (see report.h).
 *
 * Design: report.json is printed by hand, not through cJSON's object model,
 * so the key order and the number format are fixed by this file: keys in the
 * order below, two-space indentation, integers as integers (int64, never
 * through a double), reals in the shortest round-trip form. Equal metrics
 * give equal bytes. Not here: the Markdown and HTML layouts (report_md.c,
 * report_html.c). */
#include "report/report.h"

#include <math.h>
#include <stdlib.h>

#include "core/ft_fs.h"
#include "report_impl.h"

static void key(report_buf *b, int indent, const char *name, bool first)
{
    report_buf_printf(b, "%s\n%*s\"%s\": ", first ? "" : ",", indent, "", name);
}

static void number_field(report_buf *b, int indent, const char *name, double v, bool first)
{
    key(b, indent, name, first);
    report_buf_json_number(b, v);
}

static void int_field(report_buf *b, int indent, const char *name, int64_t v, bool first)
{
    key(b, indent, name, first);
    report_buf_printf(b, "%lld", (long long)v);
}

static void label_list(report_buf *b, const report_input *in, int indent, const char *name,
                       bool (*pick)(const metrics_class *))
{
    const metrics_result *m = in->metrics;
    char tmp[24];
    key(b, indent, name, false);
    report_buf_puts(b, "[");
    for (int c = 0, n = 0; c < m->num_classes; c++) {
        if (pick && !pick(&m->classes[c])) continue;
        report_buf_puts(b, n++ ? ", " : "");
        report_buf_json_string(b, report_label(in, c, tmp));
    }
    report_buf_puts(b, "]");
}

static bool precision_undefined(const metrics_class *c) { return c->precision_undefined; }
static bool recall_undefined(const metrics_class *c) { return c->recall_undefined; }
static bool f1_undefined(const metrics_class *c) { return c->f1_undefined; }

static void average_object(report_buf *b, const char *name, const metrics_average *a)
{
    key(b, 2, name, false);
    report_buf_puts(b, "{");
    number_field(b, 4, "precision", a->precision, true);
    number_field(b, 4, "recall", a->recall, false);
    number_field(b, 4, "f1", a->f1, false);
    int_field(b, 4, "support", a->support, false);
    report_buf_puts(b, "\n  }");
}

static void per_class_section(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    char tmp[24];
    key(b, 2, "per_class", false);
    report_buf_puts(b, "[");
    for (int c = 0; c < m->num_classes; c++) {
        const metrics_class *k = &m->classes[c];
        report_buf_puts(b, c ? ",\n    {" : "\n    {");
        key(b, 6, "label", true);
        report_buf_json_string(b, report_label(in, c, tmp));
        int_field(b, 6, "id", c, false);
        number_field(b, 6, "precision", k->precision, false);
        number_field(b, 6, "recall", k->recall, false);
        number_field(b, 6, "f1", k->f1, false);
        int_field(b, 6, "support", k->support, false);
        int_field(b, 6, "predicted", k->predicted, false);
        report_buf_puts(b, "\n    }");
    }
    report_buf_puts(b, "\n  ]");
    average_object(b, "macro_avg", &m->macro);
    average_object(b, "weighted_avg", &m->weighted);
    average_object(b, "micro_avg", &m->micro);
    key(b, 2, "undefined", false);
    report_buf_puts(b, "{\n    \"convention\": \"set to 0.0, as scikit-learn's "
                       "zero_division=\\\"warn\\\"\"");
    label_list(b, in, 4, "precision_no_predictions", precision_undefined);
    label_list(b, in, 4, "recall_no_true_examples", recall_undefined);
    label_list(b, in, 4, "f1", f1_undefined);
    report_buf_puts(b, "\n  }");
}

static void confusion_section(report_buf *b, const metrics_result *m)
{
    key(b, 2, "confusion_matrix", false);
    report_buf_puts(b, "{\n    \"rows\": \"true label\",\n    \"columns\": "
                       "\"predicted label\",\n    \"counts\": [");
    for (int t = 0; t < m->num_classes; t++) {
        report_buf_puts(b, t ? ",\n      [" : "\n      [");
        for (int p = 0; p < m->num_classes; p++)
            report_buf_printf(
                b, "%s%lld", p ? ", " : "",
                (long long)m->confusion[(size_t)t * (size_t)m->num_classes + (size_t)p]);
        report_buf_puts(b, "]");
    }
    report_buf_puts(b, "\n    ]\n  }");
}

static void calibration_section(report_buf *b, const metrics_result *m)
{
    key(b, 2, "calibration", false);
    report_buf_puts(b, "{");
    number_field(b, 4, "ece", m->ece, true);
    int_field(b, 4, "num_bins", METRICS_ECE_BINS, false);
    key(b, 4, "bin_edges", false);
    report_buf_puts(b, "\"(lo, hi], a confidence of 0 in the first bin\"");
    key(b, 4, "bins", false);
    report_buf_puts(b, "[");
    for (int i = 0; i < METRICS_ECE_BINS; i++) {
        const metrics_bin *bin = &m->bins[i];
        double n = (double)bin->count;
        report_buf_puts(b, i ? ",\n      {" : "\n      {");
        number_field(b, 0, "lo", bin->lo, true);
        number_field(b, 0, "hi", bin->hi, false);
        int_field(b, 0, "count", bin->count, false);
        int_field(b, 0, "correct", bin->correct, false);
        number_field(b, 0, "accuracy", bin->count ? (double)bin->correct / n : NAN, false);
        number_field(b, 0, "mean_confidence", bin->count ? bin->confidence_sum / n : NAN, false);
        report_buf_puts(b, "}");
    }
    report_buf_puts(b, "\n    ]\n  }");
}

static void mistakes_section(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    char t1[24], t2[24];
    key(b, 2, "most_confident_mistakes", false);
    report_buf_puts(b, "[");
    for (int i = 0; i < m->num_worst; i++) {
        const metrics_mistake *w = &m->worst[i];
        report_buf_puts(b, i ? ",\n    {" : "\n    {");
        int_field(b, 0, "example_index", w->example_index, true);
        key(b, 0, "true_label", false);
        report_buf_json_string(b, report_label(in, w->true_label, t1));
        key(b, 0, "pred_label", false);
        report_buf_json_string(b, report_label(in, w->pred_label, t2));
        number_field(b, 0, "confidence", w->confidence, false);
        report_buf_puts(b, "}");
    }
    report_buf_puts(b, m->num_worst ? "\n  ]" : "]");
}

static void header_section(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    report_buf_puts(b, "{");
    key(b, 2, "format", true);
    report_buf_puts(b, "\"ftune-eval report\"");
    int_field(b, 2, "format_version", 1, false);
    key(b, 2, "model_path", false);
    report_buf_json_string(b, in->model_path);
    key(b, 2, "manifest_fingerprint", false);
    report_buf_json_string(b, in->manifest_fingerprint);
    key(b, 2, "command_line", false);
    report_buf_json_string(b, in->command_line);
    key(b, 2, "precision", false);
    report_buf_json_string(b, in->precision);
    label_list(b, in, 2, "labels", NULL);
    int_field(b, 2, "num_examples", m->num_examples, false);
    int_field(b, 2, "num_correct", m->num_correct, false);
    number_field(b, 2, "accuracy", m->accuracy, false);
    number_field(b, 2, "loss", m->loss, false);
}

void report_json_build(report_buf *b, const report_input *in)
{
    if (in->lm) {
        report_lm_json_build(b, in);
        return;
    }
    const metrics_result *m = in->metrics;
    char tmp[24];
    header_section(b, in);
    per_class_section(b, in);
    key(b, 2, "positive_label", false);
    report_buf_json_string(b, m->num_classes == 2 ? report_label(in, 1, tmp) : NULL);
    number_field(b, 2, "roc_auc", m->roc_auc, false);
    number_field(b, 2, "average_precision", m->average_precision, false);
    confusion_section(b, m);
    calibration_section(b, m);
    mistakes_section(b, in);
    key(b, 2, "throughput", false);
    report_buf_puts(b, "{");
    number_field(b, 4, "eval_seconds", m->eval_seconds, true);
    number_field(b, 4, "examples_per_s", m->examples_per_s, false);
    number_field(b, 4, "tokens_per_s", m->tokens_per_s, false);
    report_buf_puts(b, "\n  }\n}\n");
}

typedef void (*build_fn)(report_buf *, const report_input *);

static ft_status write_with(build_fn build, const report_input *in, const char *path, bool force,
                            ft_error *err)
{
    if (!in || (!in->metrics && !in->lm))
        return ft_fail(err, FT_EINVAL, "%s: no metrics to report", path);
    if (!force && ft_path_exists(path))
        return ft_fail(err, FT_EEXIST,
                       "%s: already exists; not overwriting it "
                       "(use --force to replace it)",
                       path);
    report_buf b = {0};
    build(&b, in);
    ft_status st = report_buf_write(&b, path, force, err);
    report_buf_free(&b);
    return st;
}

ft_status report_write_json(const report_input *in, const char *path, bool force, ft_error *err)
{
    return write_with(report_json_build, in, path, force, err);
}

ft_status report_write_markdown(const report_input *in, const char *path, bool force, ft_error *err)
{
    return write_with(report_md_build, in, path, force, err);
}

ft_status report_write_html(const report_input *in, const char *path, bool force, ft_error *err)
{
    return write_with(report_html_build, in, path, force, err);
}

ft_status report_write_all(const report_input *in, const char *dir, bool force, ft_error *err)
{
    static const char *const names[3] = {"report.json", "report.md", "report.html"};
    static const build_fn builders[3] = {report_json_build, report_md_build, report_html_build};
    char *paths[3] = {NULL, NULL, NULL};
    ft_status st = ft_mkdir_p(dir, err);
    for (int i = 0; i < 3 && st == FT_OK; i++) {
        paths[i] = ft_path_join(dir, names[i]);
        if (!paths[i])
            st = ft_fail(err, FT_ENOMEM, "out of memory");
        else if (!force && ft_path_exists(paths[i]))
            st = ft_fail(err, FT_EEXIST,
                         "%s: already exists; not overwriting "
                         "it (use --force to replace it)",
                         paths[i]);
    }
    for (int i = 0; i < 3 && st == FT_OK; i++)
        st = write_with(builders[i], in, paths[i], force, err);
    for (int i = 0; i < 3; i++) free(paths[i]);
    return st;
}
