/* report_write_sample OUTDIR: writes a complete sample report (report.json,
 * report.md, report.html, predictions.jsonl, and the log.jsonl it reads)
 * into OUTDIR, replacing what is there, for the integration tests
 * check_html.py and report_chromium.sh. Three classes, a training log with
 * loss and eval_loss lines (and a line cut short, as a killed job leaves),
 * and a most confident mistake whose text is hostile HTML. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_fs.h"
#include "metrics/metrics.h"
#include "report/report.h"

enum { N = 600, K = 3 };

static const char *const label_names[K] = {"negative", "neutral", "positive"};

/* The text shown for the i-th mistake: the first is hostile HTML. */
static const char *text_of(int i)
{
    if (i == 0) return "<script>alert(1)</script> & <img src=x onerror=alert(2)>";
    if (i % 2) return "A perfectly ordinary review, \"quoted\", with 'apostrophes'.";
    return "Café, naïve, 日本語 and an emoji \xF0\x9F\x98\x80 survive as UTF-8.";
}

static ft_status write_log(const char *dir, ft_error *err)
{
    char *path = ft_path_join(dir, "log.jsonl");
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    ft_status st = FT_ENOMEM;
    if (!path || !buf) goto cleanup;
    for (int step = 10; step <= 1000; step += 10) {
        double loss = 1.1 * exp(-step / 300.0) + 0.25 + 0.03 * sin(step * 0.37);
        len += (size_t)snprintf(buf + len, cap - len,
                                "{\"step\": %d, \"loss\": %.4f, "
                                "\"learning_rate\": 2e-05}\n",
                                step, loss);
        if (step % 200 == 0)
            len += (size_t)snprintf(buf + len, cap - len,
                                    "{\"step\": %d, \"eval_loss\": "
                                    "%.4f}\n",
                                    step, 1.0 * exp(-step / 350.0) + 0.35);
    }
    len += (size_t)snprintf(buf + len, cap - len, "{\"step\": 1010, \"lo");
    st = ft_write_file_atomic(path, buf, len, true, err);
cleanup:
    free(buf);
    free(path);
    return st;
}

/* A synthetic classifier: right 80% of the time, somewhat overconfident. */
static void example(int i, int *label, float p[K])
{
    unsigned h = (unsigned)i * 2654435761u;
    *label = (int)(h % K);
    int pred = (h >> 8) % 10 < 8 ? *label : (int)((*label + 1 + (h >> 12) % 2) % K);
    float top = 0.45f + 0.5f * (float)((h >> 16) % 1000) / 1000.0f;
    for (int c = 0; c < K; c++) p[c] = (1.0f - top) / (K - 1);
    p[pred] = top;
}

static ft_status write_predictions(const char *dir, ft_error *err)
{
    char *path = ft_path_join(dir, "predictions.jsonl");
    report_predictions *w = NULL;
    ft_status st = path ? report_predictions_open(path, K, true, &w, err) : FT_ENOMEM;
    for (int i = 0; i < N && st == FT_OK; i++) {
        int label, pred = 0;
        float p[K];
        example(i, &label, p);
        for (int c = 1; c < K; c++)
            if (p[c] > p[pred]) pred = c;
        st = report_predictions_write(w, i, label, pred, p, err);
    }
    if (st == FT_OK)
        st = report_predictions_close(w, err);
    else
        report_predictions_abort(w);
    free(path);
    return st;
}

static ft_status run(const char *dir, ft_error *err)
{
    metrics_acc *acc = NULL;
    metrics_result *r = NULL;
    report_curves *curves = NULL;
    char *log_path = ft_path_join(dir, "log.jsonl");
    ft_status st = ft_mkdir_p(dir, err);
    if (st == FT_OK) st = write_log(dir, err);
    if (st == FT_OK) st = metrics_acc_create(K, 8, &acc, err);
    for (int i = 0; i < N && st == FT_OK; i++) {
        int label;
        float p[K];
        example(i, &label, p);
        st = metrics_acc_add(acc, i, label, p, -log((double)p[label]), err);
    }
    if (st == FT_OK) st = metrics_compute(acc, &r, err);
    if (st == FT_OK) st = report_curves_read(log_path, &curves, err);
    if (st == FT_OK) {
        r->eval_seconds = 1.5;
        r->examples_per_s = N / 1.5;
        report_example shown[8];
        for (int i = 0; i < r->num_worst; i++)
            shown[i] = (report_example){r->worst[i].example_index, r->worst[i].true_label,
                                        r->worst[i].pred_label, r->worst[i].confidence, text_of(i)};
        report_input in = {.metrics = r,
                           .label_names = label_names,
                           .model_path = "runs/demo/final",
                           .manifest_fingerprint = "sha256:0123abcd",
                           .command_line = "ftune-eval --model runs/demo/final --data data/demo",
                           .curves = curves,
                           .examples = shown,
                           .num_examples = r->num_worst};
        st = report_write_all(&in, dir, true, err);
    }
    if (st == FT_OK) st = write_predictions(dir, err);
    report_curves_free(curves);
    metrics_result_free(r);
    metrics_acc_free(acc);
    free(log_path);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: report_write_sample OUTDIR\n");
        return 2;
    }
    ft_error err = {0};
    ft_status st = run(argv[1], &err);
    if (st != FT_OK) fprintf(stderr, "report_write_sample: %s\n", err.msg);
    return ft_status_exit_code(st);
}
