/* report_impl.h: what the report writers share: a growable text buffer with
 * the escaping and number formatting rules of each output format. Not an
 * API. */
#ifndef REPORT_IMPL_H
#define REPORT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "report/report.h"

/* A growable byte buffer; after a failed allocation it stops growing, sets
 * failed, and the writer reports FT_ENOMEM at the end. */
typedef struct report_buf {
    char *data;
    size_t len, cap;
    bool failed;
} report_buf;

void report_buf_free(report_buf *b);
void report_buf_append(report_buf *b, const char *s, size_t n);
void report_buf_puts(report_buf *b, const char *s);
void report_buf_printf(report_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shortest "%.Ng" that reads back to the same double; "null" when not finite. */
void report_buf_json_number(report_buf *b, double v);
/* The same for a float (reads back to the same float). */
void report_buf_json_float(report_buf *b, float v);
/* A JSON string literal of s (NULL: null); invalid UTF-8 becomes U+FFFD. */
void report_buf_json_string(report_buf *b, const char *s);
/* s as HTML text or attribute value: & < > " ' escaped, control characters
 * other than tab and newline as spaces, invalid UTF-8 as U+FFFD, cut after
 * max_chars code points with an ellipsis (max_chars <= 0: no limit). */
void report_buf_html_text(report_buf *b, const char *s, int max_chars);
/* s inside a Markdown table cell: | escaped, newlines as spaces, and the
 * HTML-special characters as entities (Markdown passes raw HTML through). */
void report_buf_md_text(report_buf *b, const char *s);
/* A figure for people: "%.4f", or "n/a" when not finite. */
void report_buf_fixed4(report_buf *b, double v);

/* Write b to path atomically (FT_ENOMEM when b failed to grow). */
ft_status report_buf_write(const report_buf *b, const char *path, bool force, ft_error *err);

/* The name of class c: the caller's label name, or its number (in tmp). */
const char *report_label(const report_input *in, int c, char tmp[24]);

/* The body of report.html and report.md; the caller writes the file. */
void report_html_build(report_buf *b, const report_input *in);
void report_md_build(report_buf *b, const report_input *in);
/* The Markdown report's title line and its model and manifest lines. */
void report_md_head(report_buf *b, const report_input *in, const char *title);
void report_json_build(report_buf *b, const report_input *in);

/* The same three for a causal LM (in->lm; report_lm.c). */
void report_lm_json_build(report_buf *b, const report_input *in);
void report_lm_md_build(report_buf *b, const report_input *in);
void report_lm_html_build(report_buf *b, const report_input *in);
/* report.html's head, title and meta lines (report_html.c). */
void report_html_head(report_buf *b, const report_input *in);

#endif
