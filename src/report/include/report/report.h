/* report: the evaluation report files ftune-eval writes.
 *
 *   report.json        every figure of a metrics_result, the model path, the
 *                      dataset manifest fingerprint, the command line and the
 *                      label names; a fixed key order and number format, so
 *                      equal results give byte-identical files (whatever the
 *                      rank count);
 *   report.md          the tables a person pastes into a paper: overall
 *                      figures, per class, confusion matrix;
 *   report.html        one self-contained page (inline CSS and SVG, no
 *                      script, no external asset): metrics, confusion matrix
 *                      heat map, training/validation loss curves from
 *                      log.jsonl, reliability diagram, most confident
 *                      mistakes with their (HTML-escaped, untrusted) text;
 *   predictions.jsonl  one line per example, written as a stream.
 * For a causal LM (report_input.lm) the three reports hold the mean token
 * loss, the perplexity and the token counts instead of the classification
 * metrics (report_lm.c).
 *
 * Design: every writer builds the file in memory and hands it to
 * ft_write_file_atomic (temp + fsync + rename), so a killed job leaves no
 * half-written report; an existing file is FT_EEXIST unless force is set.
 * predictions.jsonl streams into a temporary sibling that close renames into
 * place. Numbers are printed in the shortest form that reads back to the
 * same double (%.17g at most); NaN and infinities become null in JSON and
 * "n/a" for people. Strings from outside (label names, texts, paths) are
 * escaped for their format, and invalid UTF-8 is replaced by U+FFFD.
 *
 * Not here: computing metrics (metrics_), choosing which examples are shown
 * (the caller passes them), MPI: rank 0 writes the reports. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "metrics/metrics.h"

/* ---- training log (OUTPUT/log.jsonl) for the loss curves ---------------- */

typedef struct report_point {
    double step, value;
} report_point;

/* Loss curves read from a log.jsonl: lines {"step": S, "loss": L} give the
 * training curve, lines {"step": S, "eval_loss": L} the validation curve (a
 * line may hold both); other lines are ignored. */
typedef struct report_curves {
    report_point *train, *eval;
    int num_train, num_eval;
    bool file_missing;         /* the log did not exist: no curves, not an error */
    int malformed_lines;       /* lines skipped: not JSON or wrong types */
    char first_malformed[256]; /* "log.jsonl:12: ..." of the first one */
} report_curves;

/* Read path (a missing file gives empty curves with file_missing set). A
 * malformed line (not a JSON object, or step/loss not finite numbers) is
 * skipped, counted and logged as a warning naming path:line; a truncated last
 * line from a killed job is therefore harmless. Only an unreadable file or
 * no memory fail. Free with report_curves_free. */
ft_status report_curves_read(const char *path, report_curves **out, ft_error *err);
void report_curves_free(report_curves *c);

/* ---- the reports -------------------------------------------------------- */

/* A causal LM's figures (ftune-eval on a causal_lm dataset), shown
 * instead of the classification metrics. num_tokens: the tokens scored
 * (labels other than -100 after the shift); loss: the mean token
 * cross-entropy in nats; perplexity = exp(loss). */
typedef struct report_lm {
    int64_t num_rows, num_examples, num_tokens;
    double loss, perplexity;
    double eval_seconds, tokens_per_s; /* NaN when not measured */
} report_lm;

/* A misclassified example to show, with its text (untrusted; may be NULL). */
typedef struct report_example {
    int64_t example_index;
    int true_label, pred_label;
    double confidence;
    const char *text;
} report_example;

typedef struct report_input {
    const metrics_result *metrics;  /* required unless lm is set */
    const report_lm *lm;            /* a causal LM: these figures instead
                                          of metrics (labels, examples unused) */
    const char *const *label_names; /* num_classes names; NULL: "0", "1", ... */
    const char *model_path;         /* the strings below may be NULL */
    const char *manifest_fingerprint;
    const char *command_line;
    const char *precision;          /* "float32" or "bf16" products */
    const report_curves *curves;    /* NULL: no loss curves (HTML only) */
    const report_example *examples; /* most confident mistakes (HTML) */
    int num_examples;
    int max_text_chars; /* texts cut after this many code points; 0: 600 */
} report_input;

ft_status report_write_json(const report_input *in, const char *path, bool force, ft_error *err);
ft_status report_write_markdown(const report_input *in, const char *path, bool force,
                                ft_error *err);
ft_status report_write_html(const report_input *in, const char *path, bool force, ft_error *err);

/* report.json, report.md and report.html in dir (created if needed). Without
 * force, nothing is written when any of the three exists. */
ft_status report_write_all(const report_input *in, const char *dir, bool force, ft_error *err);

/* ---- predictions.jsonl -------------------------------------------------- */

/* Lines {"example_index":I,"true_label":T,"pred_label":P,"probabilities":[...]}
 * (probabilities in the shortest form that reads back to the same float). */
typedef struct report_predictions report_predictions;

ft_status report_predictions_open(const char *path, int num_classes, bool force,
                                  report_predictions **out, ft_error *err);
ft_status report_predictions_write(report_predictions *w, int64_t example_index, int true_label,
                                   int pred_label, const float *probs, ft_error *err);
/* Flush, fsync and rename into place; frees w whatever happens. */
ft_status report_predictions_close(report_predictions *w, ft_error *err);
/* Give up: remove the temporary file and free w (NULL is a no-op). */
void report_predictions_abort(report_predictions *w);

#endif
