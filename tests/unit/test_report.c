/* report: the writers' contents, escaping of hostile strings, refusal to
 * overwrite, the log.jsonl reader's tolerance and predictions.jsonl.
 * (The HTML's structure is checked by tests/integration/check_html.py, its
 * rendering by tests/integration/report_chromium.sh.) */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/ft_fs.h"
#include "metrics/metrics.h"
#include "report/report.h"

static const char *const hostile = "<script>alert(1)</script>";
static const char *const labels[4] = {"sports", "<b>&\"x\"</b>|pipe", "world", "sci\ntech"};

static metrics_result *sample_metrics(int k)
{
    metrics_acc *acc = NULL;
    metrics_result *r = NULL;
    ft_error err;
    CHECK(metrics_acc_create(k, 4, &acc, &err) == FT_OK);
    for (int i = 0; i < 90; i++) {
        float p[4] = {0.1f, 0.1f, 0.1f, 0.1f};
        int label = i % k, pred = (i * 7) % 10 < 7 ? label : (label + 1) % k;
        if (k == 4 && pred == 3) pred = 0; /* class 3 never predicted */
        p[pred] = k == 2 ? 0.9f : 0.7f;
        if (k == 2) p[1 - pred] = 0.1f;
        CHECK(metrics_acc_add(acc, i, label, p, -log(p[label]), &err) == FT_OK);
    }
    CHECK(metrics_compute(acc, &r, &err) == FT_OK);
    metrics_acc_free(acc);
    return r;
}

static char *slurp(const char *dir, const char *name)
{
    char *path = ft_path_join(dir, name), *data = NULL;
    size_t len;
    ft_error err;
    CHECK(ft_read_file(path, &data, &len, &err) == FT_OK);
    free(path);
    return data ? data : calloc(1, 1);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

static void check_json(const char *json, const metrics_result *r)
{
    cJSON *root = cJSON_Parse(json);
    CHECK(root != NULL);
    if (!root) return;
    const char *order[] = {"format",       "format_version", "model_path", "manifest_fingerprint",
                           "command_line", "precision",      "labels",     "num_examples",
                           "num_correct",  "accuracy",       "loss",       "per_class"};
    const cJSON *item = root->child;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++, item = item ? item->next : NULL)
        CHECK_MSG(item && strcmp(item->string, order[i]) == 0, "key %zu is not %s", i, order[i]);
    CHECK(cJSON_GetObjectItem(root, "accuracy")->valuedouble == r->accuracy);
    CHECK(cJSON_GetObjectItem(root, "loss")->valuedouble == r->loss);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(root, "roc_auc"))); /* 4 classes */
    const cJSON *names = cJSON_GetObjectItem(root, "labels");
    CHECK(strcmp(cJSON_GetArrayItem(names, 1)->valuestring, labels[1]) == 0);
    CHECK(strcmp(cJSON_GetArrayItem(names, 3)->valuestring, labels[3]) == 0);
    CHECK(strcmp(cJSON_GetObjectItem(root, "command_line")->valuestring, hostile) == 0);
    CHECK(strcmp(cJSON_GetObjectItem(root, "precision")->valuestring, "bf16") == 0);
    const cJSON *cm = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "confusion_matrix"), "counts");
    CHECK_EQ_INT(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 2), 3)->valueint,
                 r->confusion[2 * 4 + 3]);
    const cJSON *tp = cJSON_GetObjectItem(root, "throughput");
    CHECK(cJSON_GetObjectItem(tp, "examples_per_s")->valuedouble == 1234.5);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(tp, "tokens_per_s")));
    CHECK_STR_CONTAINS(json, "\"accuracy\": 0.7,"); /* shortest form, not 0.69999... */
    cJSON_Delete(root);
}

static void check_writers(const char *dir)
{
    metrics_result *r = sample_metrics(4);
    if (!r) return;
    r->examples_per_s = 1234.5;
    r->accuracy = 0.7; /* a figure whose shortest form is short */
    report_example ex[3] = {
        {17, 0, 1, 0.97, hostile},
        {3, 2, 1, 0.91, "bad UTF-8 \xff\xfe here & \"quotes\""},
        {8, 1, 0, 0.5, "a long text that is cut after forty code points, here: XYZ"}};
    report_input in = {.metrics = r,
                       .label_names = labels,
                       .model_path = "m/<p>",
                       .manifest_fingerprint = "f00d",
                       .command_line = hostile,
                       .precision = "bf16",
                       .examples = ex,
                       .num_examples = 3,
                       .max_text_chars = 40};
    ft_error err;
    char *out = ft_path_join(dir, "out");
    CHECK(report_write_all(&in, out, false, &err) == FT_OK);
    CHECK_EQ_INT(count_entries(out), 3);
    char *json = slurp(out, "report.json"), *md = slurp(out, "report.md"),
         *html = slurp(out, "report.html");
    check_json(json, r);
    CHECK(strstr(html, "<script") == NULL);
    CHECK_STR_CONTAINS(html, "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK_STR_CONTAINS(html, "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;|pipe");
    CHECK_STR_CONTAINS(html, "bad UTF-8 \xEF\xBF\xBD\xEF\xBF\xBD"); /* U+FFFD twice */
    CHECK_STR_CONTAINS(html, "after forty code\xE2\x80\xA6</td>");  /* cut at 40 */
    CHECK_STR_CONTAINS(html, "<td class=\"text\">&lt;script&gt;alert(1)&lt;/script&gt;</td>");
    CHECK(strstr(html, "No training log was given.") != NULL);
    CHECK_STR_CONTAINS(md, "| &lt;b&gt;&amp;\"x\"&lt;/b&gt;\\|pipe |");
    CHECK_STR_CONTAINS(md, "| sci tech |");
    CHECK_STR_CONTAINS(md, "| **macro avg** |");
    CHECK_STR_CONTAINS(md, "| 0.0000* |"); /* class 3 is never predicted */
    /* Overwrite refusal: nothing changes without force. */
    r->accuracy = 0.5;
    CHECK(report_write_all(&in, out, false, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "not overwriting");
    char *path = ft_path_join(out, "report.json");
    CHECK(report_write_json(&in, path, false, &err) == FT_EEXIST);
    char *again = slurp(out, "report.json");
    CHECK(strcmp(again, json) == 0);
    free(again);
    CHECK(report_write_all(&in, out, true, &err) == FT_OK);
    again = slurp(out, "report.json");
    CHECK_STR_CONTAINS(again, "\"accuracy\": 0.5,");
    CHECK_EQ_INT(count_entries(out), 3); /* no temporary file left */
    free(again);
    free(path);
    free(json);
    free(md);
    free(html);
    free(out);
    metrics_result_free(r);
}

static char *write_text(const char *dir, const char *name, const char *text)
{
    char *path = ft_path_join(dir, name);
    ft_error err;
    CHECK(ft_write_file_atomic(path, text, strlen(text), true, &err) == FT_OK);
    return path;
}

static void check_curves(const char *dir)
{
    char *path = write_text(dir, "log.jsonl",
                            "{\"step\": 10, \"loss\": 2.5, \"learning_rate\": 1e-5}\n"
                            "\n"
                            "{\"step\": 20, \"loss\": 2.0}{\"junk\": 1}\n"
                            "{\"step\": 20, \"eval_loss\": 2.2, \"eval_accuracy\": 0.5}\n"
                            "{\"event\": \"checkpoint\", \"step\": 20}\n"
                            "{\"step\": 30, \"loss\": \"NaN\"}\n"
                            "{\"loss\": 1.0}\n"
                            "  {\"step\": 40, \"loss\": 1.5, \"eval_loss\": 1.9}  \r\n"
                            "{\"step\": 50, \"lo");
    report_curves *c = NULL;
    ft_error err;
    CHECK(report_curves_read(path, &c, &err) == FT_OK);
    if (c) {
        CHECK_EQ_INT(c->num_train, 2);
        CHECK_EQ_INT(c->num_eval, 2);
        CHECK(c->train[1].step == 40 && c->train[1].value == 1.5);
        CHECK(c->eval[0].step == 20 && c->eval[0].value == 2.2);
        CHECK_EQ_INT(c->malformed_lines, 4);
        CHECK_STR_CONTAINS(c->first_malformed, "log.jsonl:3: not a JSON object");
        CHECK(!c->file_missing);
    }
    report_curves_free(c);
    char *missing = ft_path_join(dir, "nope.jsonl");
    CHECK(report_curves_read(missing, &c, &err) == FT_OK);
    CHECK(c && c->file_missing && c->num_train == 0);
    report_curves_free(c);
    report_curves_free(NULL);
    free(missing);
    free(path);
}

static void check_predictions(const char *dir)
{
    char *path = ft_path_join(dir, "predictions.jsonl");
    report_predictions *w = NULL;
    ft_error err;
    CHECK(report_predictions_open(path, 3, false, &w, &err) == FT_OK);
    float p[2][3] = {{0.1f, 0.2f, 0.7f}, {1.0f / 3, 1.0f / 3, 1.0f / 3}};
    CHECK(report_predictions_write(w, 12, 2, 2, p[0], &err) == FT_OK);
    CHECK(report_predictions_write(w, 99, 0, 1, p[1], &err) == FT_OK);
    CHECK(!ft_path_exists(path)); /* only the temporary file until close */
    CHECK(report_predictions_close(w, &err) == FT_OK);
    char *text = slurp(dir, "predictions.jsonl");
    CHECK_STR_CONTAINS(text, "{\"example_index\":12,\"true_label\":2,\"pred_label\":2,"
                             "\"probabilities\":[0.1,0.2,0.7]}\n");
    cJSON *line = cJSON_Parse(strchr(text, '\n') + 1);
    const cJSON *probs = cJSON_GetObjectItem(line, "probabilities");
    CHECK(probs && (float)cJSON_GetArrayItem(probs, 1)->valuedouble == 1.0f / 3);
    cJSON_Delete(line);
    free(text);
    CHECK(report_predictions_open(path, 3, false, &w, &err) == FT_EEXIST);
    CHECK(report_predictions_open(path, 3, true, &w, &err) == FT_OK);
    report_predictions_abort(w);
    report_predictions_abort(NULL);
    free(path);
}

/* A causal LM's reports: its figures, no classification metrics. */
static void check_lm(const char *dir)
{
    report_lm lm = {.num_rows = 41,
                    .num_examples = 41,
                    .num_tokens = 592,
                    .loss = 11.300263400522730,
                    .perplexity = exp(11.300263400522730),
                    .eval_seconds = NAN,
                    .tokens_per_s = NAN};
    report_input in = {.lm = &lm, .model_path = hostile, .precision = "float32"};
    ft_error err;
    CHECK(report_write_all(&in, dir, true, &err) == FT_OK);
    char *json = slurp(dir, "report.json");
    cJSON *doc = cJSON_Parse(json);
    CHECK(doc != NULL);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "task")), "causal_lm"));
    CHECK(cJSON_GetObjectItem(doc, "loss")->valuedouble == lm.loss);
    CHECK(cJSON_GetObjectItem(doc, "perplexity")->valuedouble == lm.perplexity);
    CHECK(cJSON_GetObjectItem(doc, "num_tokens")->valuedouble == 592);
    CHECK(cJSON_GetObjectItem(doc, "accuracy") == NULL);
    CHECK(
        cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "throughput"), "tokens_per_s")));
    cJSON_Delete(doc);
    free(json);
    char *md = slurp(dir, "report.md"), *html = slurp(dir, "report.html");
    CHECK(strstr(md, "| perplexity | 80842.9288 |") != NULL);
    CHECK(strstr(md, "| tokens scored | 592 |") != NULL);
    CHECK(strstr(html, "<th>perplexity</th><td class=\"num\">80842.9288</td>") != NULL);
    CHECK(strstr(html, "<script>") == NULL && strstr(md, "<script>") == NULL);
    free(md);
    free(html);
}

int main(void)
{
    char dir[] = "/tmp/ftune-test-report-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    check_writers(dir);
    check_curves(dir);
    check_lm(dir);
    int before = count_entries(dir);
    check_predictions(dir);
    CHECK_EQ_INT(count_entries(dir), before + 1); /* the abort left no temp file */
    ft_error err;
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    return check_finish();
}
