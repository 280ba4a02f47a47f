/* report_lm: report.json, report.md and report.html for a causal LM.
 *
 * A causal LM is scored by its mean token cross-entropy and the perplexity
 * exp(loss); these and the counts behind them (rows, examples, tokens
 * scored) replace the classification metrics, which mean nothing here.
 * Same rules as the classifier's reports: report.json has a fixed key
 * order, integers as integers and reals in the shortest round-trip form
 * (equal figures give equal bytes); "task" tells the two kinds apart.
 * Not here: generation metrics (a later ftune-generate). */
#include <math.h>

#include "report_impl.h"

static void key(report_buf *b, int indent, const char *name)
{
    report_buf_printf(b, ",\n%*s\"%s\": ", indent, "", name);
}

void report_lm_json_build(report_buf *b, const report_input *in)
{
    const report_lm *lm = in->lm;
    report_buf_puts(b, "{\n  \"format\": \"ftune-eval report\"");
    key(b, 2, "format_version");
    report_buf_puts(b, "1");
    key(b, 2, "task");
    report_buf_puts(b, "\"causal_lm\"");
    key(b, 2, "model_path");
    report_buf_json_string(b, in->model_path);
    key(b, 2, "manifest_fingerprint");
    report_buf_json_string(b, in->manifest_fingerprint);
    key(b, 2, "command_line");
    report_buf_json_string(b, in->command_line);
    key(b, 2, "precision");
    report_buf_json_string(b, in->precision);
    key(b, 2, "num_rows");
    report_buf_printf(b, "%lld", (long long)lm->num_rows);
    key(b, 2, "num_examples");
    report_buf_printf(b, "%lld", (long long)lm->num_examples);
    key(b, 2, "num_tokens");
    report_buf_printf(b, "%lld", (long long)lm->num_tokens);
    key(b, 2, "loss");
    report_buf_json_number(b, lm->loss);
    key(b, 2, "perplexity");
    report_buf_json_number(b, lm->perplexity);
    key(b, 2, "throughput");
    report_buf_puts(b, "{\n    \"eval_seconds\": ");
    report_buf_json_number(b, lm->eval_seconds);
    key(b, 4, "tokens_per_s");
    report_buf_json_number(b, lm->tokens_per_s);
    report_buf_puts(b, "\n  }\n}\n");
}

void report_lm_md_build(report_buf *b, const report_input *in)
{
    const report_lm *lm = in->lm;
    report_md_head(b, in, "Evaluation report (causal LM)");
    report_buf_puts(b, "\n## Overall\n\n| metric | value |\n| --- | ---: |\n");
    report_buf_printf(b, "| rows | %lld |\n| examples | %lld |\n| tokens scored | %lld |\n",
                      (long long)lm->num_rows, (long long)lm->num_examples,
                      (long long)lm->num_tokens);
    report_buf_puts(b, "| mean token loss (nats) | ");
    report_buf_fixed4(b, lm->loss);
    report_buf_puts(b, " |\n| perplexity | ");
    report_buf_fixed4(b, lm->perplexity);
    report_buf_puts(b, " |\n");
    if (isfinite(lm->tokens_per_s)) report_buf_printf(b, "| tokens/s | %.1f |\n", lm->tokens_per_s);
}

static void figure_row(report_buf *b, const char *name, double v)
{
    report_buf_printf(b, "<tr><th>%s</th><td class=\"num\">", name);
    report_buf_fixed4(b, v);
    report_buf_puts(b, "</td></tr>\n");
}

void report_lm_html_build(report_buf *b, const report_input *in)
{
    const report_lm *lm = in->lm;
    report_html_head(b, in);
    report_buf_puts(b, "<h2>Overall (causal LM)</h2>\n<table>\n");
    const struct {
        const char *name;
        int64_t v;
    } counts[] = {
        {"rows", lm->num_rows}, {"examples", lm->num_examples}, {"tokens scored", lm->num_tokens}};
    for (int i = 0; i < 3; i++)
        report_buf_printf(b, "<tr><th>%s</th><td class=\"num\">%lld</td></tr>\n", counts[i].name,
                          (long long)counts[i].v);
    figure_row(b, "mean token loss (nats)", lm->loss);
    figure_row(b, "perplexity", lm->perplexity);
    if (isfinite(lm->tokens_per_s))
        report_buf_printf(b, "<tr><th>tokens/s</th><td class=\"num\">%.1f</td></tr>\n",
                          lm->tokens_per_s);
    report_buf_puts(b, "</table>\n<p class=\"meta\">Written by ftune-eval. The loss is "
                       "transformers' causal-LM loss: the logits at each position "
                       "scored against the next token's label, summed over every "
                       "token whose label is not -100 and divided by their number; "
                       "perplexity = exp(loss).</p>\n</body>\n</html>\n");
}
