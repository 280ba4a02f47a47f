/* report_md: report.md, the tables a person pastes into a paper.
 *
 * Design: GitHub-flavoured Markdown tables with four decimals; a value that
 * scikit-learn's zero_division convention set to 0.0 carries a "*" and a
 * footnote says why. Label names are escaped for table cells. Not here: the
 * full precision figures (report.json has them). */
#include <math.h>

#include "report_impl.h"

static void overall_table(report_buf *b, const metrics_result *m)
{
    report_buf_puts(b, "## Overall\n\n| metric | value |\n| --- | ---: |\n");
    report_buf_printf(b, "| examples | %lld |\n", (long long)m->num_examples);
    const struct {
        const char *name;
        double v;
    } rows[] = {
        {"accuracy", m->accuracy},
        {"cross-entropy loss", m->loss},
        {"macro F1", m->macro.f1},
        {"weighted F1", m->weighted.f1},
        {"ROC-AUC", m->roc_auc},
        {"average precision (PR-AUC)", m->average_precision},
        {"expected calibration error (15 bins)", m->ece},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (i >= 4 && i <= 5 && m->num_classes != 2) continue;
        report_buf_printf(b, "| %s | ", rows[i].name);
        report_buf_fixed4(b, rows[i].v);
        report_buf_puts(b, " |\n");
    }
    if (isfinite(m->examples_per_s))
        report_buf_printf(b, "| examples/s | %.1f |\n", m->examples_per_s);
}

static void cell(report_buf *b, double v, bool undefined)
{
    report_buf_puts(b, " ");
    report_buf_fixed4(b, v);
    report_buf_puts(b, undefined ? "* |" : " |");
}

static int class_table(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    char tmp[24];
    int undefined = 0;
    report_buf_puts(b, "\n## Per class\n\n| class | precision | recall | F1 | "
                       "support |\n| --- | ---: | ---: | ---: | ---: |\n");
    for (int c = 0; c < m->num_classes; c++) {
        const metrics_class *k = &m->classes[c];
        report_buf_puts(b, "| ");
        report_buf_md_text(b, report_label(in, c, tmp));
        report_buf_puts(b, " |");
        cell(b, k->precision, k->precision_undefined);
        cell(b, k->recall, k->recall_undefined);
        cell(b, k->f1, k->f1_undefined);
        report_buf_printf(b, " %lld |\n", (long long)k->support);
        undefined += k->f1_undefined;
    }
    const struct {
        const char *name;
        const metrics_average *a;
    } avg[] = {{"macro avg", &m->macro}, {"weighted avg", &m->weighted}};
    for (int i = 0; i < 2; i++) {
        report_buf_printf(b, "| **%s** |", avg[i].name);
        cell(b, avg[i].a->precision, false);
        cell(b, avg[i].a->recall, false);
        cell(b, avg[i].a->f1, false);
        report_buf_printf(b, " %lld |\n", (long long)avg[i].a->support);
    }
    return undefined;
}

static void confusion_table(report_buf *b, const report_input *in)
{
    const metrics_result *m = in->metrics;
    char tmp[24];
    report_buf_puts(b, "\n## Confusion matrix\n\nRows: true class; columns: "
                       "predicted class.\n\n| true \\ predicted |");
    for (int p = 0; p < m->num_classes; p++) {
        report_buf_puts(b, " ");
        report_buf_md_text(b, report_label(in, p, tmp));
        report_buf_puts(b, " |");
    }
    report_buf_puts(b, "\n| --- |");
    for (int p = 0; p < m->num_classes; p++) report_buf_puts(b, " ---: |");
    for (int t = 0; t < m->num_classes; t++) {
        report_buf_puts(b, "\n| ");
        report_buf_md_text(b, report_label(in, t, tmp));
        report_buf_puts(b, " |");
        for (int p = 0; p < m->num_classes; p++)
            report_buf_printf(
                b, " %lld |",
                (long long)m->confusion[(size_t)t * (size_t)m->num_classes + (size_t)p]);
    }
    report_buf_puts(b, "\n");
}

void report_md_head(report_buf *b, const report_input *in, const char *title)
{
    report_buf_printf(b, "# %s\n\n", title);
    if (in->model_path) {
        report_buf_puts(b, "Model: ");
        report_buf_md_text(b, in->model_path);
        report_buf_puts(b, "  \n");
    }
    if (in->manifest_fingerprint) {
        report_buf_puts(b, "Data manifest: ");
        report_buf_md_text(b, in->manifest_fingerprint);
        report_buf_puts(b, "\n");
    }
}

void report_md_build(report_buf *b, const report_input *in)
{
    if (in->lm) {
        report_lm_md_build(b, in);
        return;
    }
    report_md_head(b, in, "Evaluation report");
    report_buf_puts(b, "\n");
    overall_table(b, in->metrics);
    if (class_table(b, in))
        report_buf_puts(b, "\n\\* undefined (a class never predicted has no "
                           "precision, a class absent from the truth has no "
                           "recall) and reported as 0.0, as scikit-learn does "
                           "by default; the averages include these zeros.\n");
    confusion_table(b, in);
}
