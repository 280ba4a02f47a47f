/* report_buf: the text buffer behind every report file, with the escaping
 * each format needs and one number format for all of them.
 *
 * Design: writers append without checking each call; a failed allocation
 * sets a flag that report_buf_write turns into FT_ENOMEM, which keeps the
 * writers readable. Strings are decoded with utf8proc so invalid UTF-8 from
 * untrusted texts cannot reach a file; it becomes U+FFFD. Not here: file
 * layouts (report.c, report_md.c, report_html.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "report_impl.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD in UTF-8 */

void report_buf_free(report_buf *b)
{
    free(b->data);
    *b = (report_buf){0};
}

static bool reserve(report_buf *b, size_t more)
{
    if (b->failed) return false;
    if (b->len + more + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *grown = ft_realloc_array(b->data, cap, 1);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void report_buf_append(report_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void report_buf_puts(report_buf *b, const char *s) { report_buf_append(b, s, strlen(s)); }

void report_buf_printf(report_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void report_buf_json_number(report_buf *b, double v)
{
    if (!isfinite(v)) {
        report_buf_puts(b, "null");
        return;
    }
    char s[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, v);
        if (strtod(s, NULL) == v) break;
    }
    report_buf_puts(b, s);
}

void report_buf_json_float(report_buf *b, float v)
{
    if (!isfinite(v)) {
        report_buf_puts(b, "null");
        return;
    }
    char s[40];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(s, sizeof s, "%.*g", digits, (double)v);
        if (strtof(s, NULL) == v) break;
    }
    report_buf_puts(b, s);
}

void report_buf_fixed4(report_buf *b, double v)
{
    if (isfinite(v))
        report_buf_printf(b, "%.4f", v);
    else
        report_buf_puts(b, "n/a");
}

/* Decode the code point at s (n bytes left): its length, *cp = -1 when the
 * bytes are not valid UTF-8 (then the length is 1). */
static size_t next_code_point(const char *s, size_t n, int32_t *cp)
{
    utf8proc_int32_t c;
    utf8proc_ssize_t used = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &c);
    if (used <= 0) {
        *cp = -1;
        return 1;
    }
    *cp = c;
    return (size_t)used;
}

void report_buf_json_string(report_buf *b, const char *s)
{
    if (!s) {
        report_buf_puts(b, "null");
        return;
    }
    report_buf_puts(b, "\"");
    for (size_t i = 0, n = strlen(s); i < n;) {
        int32_t cp;
        size_t used = next_code_point(s + i, n - i, &cp);
        if (cp < 0)
            report_buf_puts(b, REPLACEMENT);
        else if (cp == '"')
            report_buf_puts(b, "\\\"");
        else if (cp == '\\')
            report_buf_puts(b, "\\\\");
        else if (cp == '\n')
            report_buf_puts(b, "\\n");
        else if (cp == '\t')
            report_buf_puts(b, "\\t");
        else if (cp == '\r')
            report_buf_puts(b, "\\r");
        else if (cp < 0x20 || cp == 0x7f)
            report_buf_printf(b, "\\u%04x", (unsigned)cp);
        else
            report_buf_append(b, s + i, used);
        i += used;
    }
    report_buf_puts(b, "\"");
}

void report_buf_html_text(report_buf *b, const char *s, int max_chars)
{
    if (!s) return;
    int chars = 0;
    for (size_t i = 0, n = strlen(s); i < n; chars++) {
        if (max_chars > 0 && chars == max_chars) {
            report_buf_puts(b, "\xE2\x80\xA6"); /* U+2026 ellipsis */
            return;
        }
        int32_t cp;
        size_t used = next_code_point(s + i, n - i, &cp);
        if (cp < 0)
            report_buf_puts(b, REPLACEMENT);
        else if (cp == '&')
            report_buf_puts(b, "&amp;");
        else if (cp == '<')
            report_buf_puts(b, "&lt;");
        else if (cp == '>')
            report_buf_puts(b, "&gt;");
        else if (cp == '"')
            report_buf_puts(b, "&quot;");
        else if (cp == '\'')
            report_buf_puts(b, "&#39;");
        else if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
            report_buf_puts(b, " ");
        else
            report_buf_append(b, s + i, used);
        i += used;
    }
}

void report_buf_md_text(report_buf *b, const char *s)
{
    if (!s) return;
    for (size_t i = 0, n = strlen(s); i < n;) {
        int32_t cp;
        size_t used = next_code_point(s + i, n - i, &cp);
        if (cp < 0)
            report_buf_puts(b, REPLACEMENT);
        else if (cp == '|')
            report_buf_puts(b, "\\|");
        else if (cp == '\\')
            report_buf_puts(b, "\\\\");
        else if (cp == '`')
            report_buf_puts(b, "\\`");
        else if (cp == '&')
            report_buf_puts(b, "&amp;");
        else if (cp == '<')
            report_buf_puts(b, "&lt;");
        else if (cp == '>')
            report_buf_puts(b, "&gt;");
        else if (cp < 0x20 || cp == 0x7f)
            report_buf_puts(b, " ");
        else
            report_buf_append(b, s + i, used);
        i += used;
    }
}

ft_status report_buf_write(const report_buf *b, const char *path, bool force, ft_error *err)
{
    if (b->failed) return ft_fail(err, FT_ENOMEM, "%s: out of memory building the file", path);
    return ft_write_file_atomic(path, b->data ? b->data : "", b->len, force, err);
}

const char *report_label(const report_input *in, int c, char tmp[24])
{
    if (in->label_names && in->label_names[c]) return in->label_names[c];
    snprintf(tmp, 24, "%d", c);
    return tmp;
}
