/* chat_lex: a chat template's source to tokens, with jinja2's whitespace
 * rules as transformers configures them: newlines normalised to \n and one
 * trailing newline dropped (keep_trailing_newline=False), `{%-`/`-%}` (and
 * the {{ }} and {# #} forms) strip all whitespace on their side,
 * trim_blocks drops the newline right after a block or comment tag,
 * lstrip_blocks drops the spaces and tabs before a block or comment tag
 * that starts its line, `+` turns either off.
 *
 * Text between tags is one TK_TEXT token (already stripped); a tag is
 * TK_BLOCK_BEGIN / TK_VAR_BEGIN, its expression tokens, then the end token.
 * Comments vanish. String literals are decoded here (Python escapes).
 *
 * Not here: raw blocks and line statements (the parser refuses `raw`). */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"
#include "core/ft_alloc.h"

typedef struct lexer {
    chat_arena *a;
    const char *src; /* normalised source */
    size_t len, pos;
    int line, col; /* of pos */
    bool line_starting;
    bool strip_next; /* the last tag ended with '-' */
    chat_tokens *out;
    ft_error *err;
} lexer;

static ft_status lex_fail(lexer *L, const char *what)
{
    return ft_fail(L->err, FT_EINVAL, "chat template: line %d, column %d: %s", L->line, L->col,
                   what);
}

static void advance(lexer *L, size_t n)
{
    for (size_t i = 0; i < n && L->pos < L->len; i++, L->pos++) {
        if (L->src[L->pos] == '\n') {
            L->line++;
            L->col = 1;
        } else if (((unsigned char)L->src[L->pos] & 0xc0) != 0x80) {
            L->col++;
        }
    }
}

static chat_token *push(lexer *L, chat_tok_kind kind, const char *s, size_t n)
{
    chat_tokens *t = L->out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        chat_token *v = chat_arena_alloc(L->a, cap * sizeof(*v));
        if (!v) return NULL;
        if (t->n) memcpy(v, t->v, t->n * sizeof(*v));
        t->v = v;
        t->cap = cap;
    }
    chat_token *k = &t->v[t->n++];
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    k->s = s;
    k->n = n;
    k->line = L->line;
    k->col = L->col;
    return k;
}

/* \r\n and \r to \n; one trailing \n dropped. */
static char *normalise(chat_arena *a, const char *src, size_t len, size_t *out)
{
    char *p = chat_arena_alloc(a, len + 1);
    if (!p) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            p[n++] = '\n';
            if (i + 1 < len && src[i + 1] == '\n') i++;
        } else
            p[n++] = src[i];
    }
    if (n && p[n - 1] == '\n') n--;
    p[n] = 0;
    *out = n;
    return p;
}

/* The next "{{", "{%" or "{#" at or after pos, or len. */
static size_t find_tag(const lexer *L, size_t pos)
{
    for (size_t i = pos; i + 1 < L->len; i++)
        if (L->src[i] == '{' &&
            (L->src[i + 1] == '{' || L->src[i + 1] == '%' || L->src[i + 1] == '#'))
            return i;
    return L->len;
}

/* Bytes of the whitespace character (Python's \s, not a newline) ending
 * at s[n-1], 0 if none. */
static size_t lstrip_space_back(const char *s, size_t n)
{
    if (n && s[n - 1] == '\n') return 0;
    return chat_space_len_back(s, n);
}

/* The text before a tag, cut as jinja2 cuts it. */
static void cut_text(const lexer *L, size_t *s, size_t *e, size_t tag)
{
    if (L->strip_next)
        while (*s < *e) {
            size_t k = chat_space_len(L->src + *s, *e - *s);
            if (!k) break;
            *s += k;
        }
    if (tag >= L->len) return;
    char kind = L->src[tag + 1], sign = tag + 2 < L->len ? L->src[tag + 2] : 0;
    if (sign == '-') {
        size_t k;
        while (*e > *s && (k = chat_space_len_back(L->src + *s, *e - *s))) *e -= k;
    } else if (sign != '+' && kind != '{') {
        size_t l = *e, k;
        while (l > *s && (k = lstrip_space_back(L->src + *s, l - *s))) l -= k;
        bool at_line = (l > *s && L->src[l - 1] == '\n') || (l == *s && L->line_starting);
        if (at_line) *e = l;
    }
}

static ft_status lex_text(lexer *L, size_t tag)
{
    size_t s = L->pos, e = tag;
    cut_text(L, &s, &e, tag);
    if (e > s && !push(L, TK_TEXT, L->src + s, e - s))
        return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    advance(L, tag - L->pos);
    return FT_OK;
}

/* After an end tag: '-' eats all whitespace, trim_blocks one newline
 * unless the tag ended with '+'. */
static void after_end(lexer *L, bool minus, bool block)
{
    bool plus = L->pos > 2 && L->src[L->pos - 3] == '+';
    L->strip_next = minus;
    L->line_starting = L->pos > 0 && L->src[L->pos - 1] == '\n';
    if (!minus && !plus && block && L->pos < L->len && L->src[L->pos] == '\n') {
        advance(L, 1);
        L->line_starting = true;
    }
}

static ft_status lex_comment(lexer *L)
{
    const char *end = strstr(L->src + L->pos + 2, "#}");
    if (!end) return lex_fail(L, "unterminated comment '{#'");
    size_t endpos = (size_t)(end - L->src);
    bool minus = endpos > L->pos + 2 && L->src[endpos - 1] == '-';
    advance(L, endpos + 2 - L->pos);
    after_end(L, minus, true);
    return FT_OK;
}

static ft_status lex_expr(lexer *L, bool block);

static ft_status lex_tag(lexer *L)
{
    char kind = L->src[L->pos + 1];
    if (kind == '#') return lex_comment(L);
    bool block = kind == '%';
    if (!push(L, block ? TK_BLOCK_BEGIN : TK_VAR_BEGIN, L->src + L->pos, 2))
        return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    size_t skip = 2;
    if (L->pos + 2 < L->len && (L->src[L->pos + 2] == '-' || L->src[L->pos + 2] == '+')) skip = 3;
    advance(L, skip);
    return lex_expr(L, block);
}

ft_status chat_lex(chat_arena *a, const char *src, size_t len, chat_tokens *out, ft_error *err)
{
    lexer L = {.a = a, .line = 1, .col = 1, .line_starting = true, .out = out, .err = err};
    memset(out, 0, sizeof(*out));
    L.src = normalise(a, src, len, &L.len);
    if (!L.src) return ft_fail(err, FT_ENOMEM, "chat template: out of memory");
    while (L.pos < L.len) {
        size_t tag = find_tag(&L, L.pos);
        ft_status st = lex_text(&L, tag);
        if (st == FT_OK && tag < L.len) st = lex_tag(&L);
        if (st != FT_OK) return st;
    }
    if (!push(&L, TK_EOF, L.src + L.len, 0))
        return ft_fail(err, FT_ENOMEM, "chat template: out of memory");
    return FT_OK;
}

/* ---- inside a tag ---- */

static ft_status lex_end(lexer *L, bool block, size_t n, bool minus)
{
    if (!push(L, block ? TK_BLOCK_END : TK_VAR_END, L->src + L->pos, n))
        return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    advance(L, n);
    after_end(L, minus, block);
    return FT_OK;
}

/* The end of the tag at pos: its length (with sign), 0 if none. */
static size_t end_len(const lexer *L, bool block, bool *minus)
{
    const char *p = L->src + L->pos;
    size_t left = L->len - L->pos;
    char c = block ? '%' : '}';
    *minus = false;
    if ((p[0] == '-' || p[0] == '+') && left >= 3 && p[1] == c && p[2] == '}') {
        *minus = p[0] == '-';
        return 3;
    }
    if (left >= 2 && p[0] == c && p[1] == '}') return 2;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \xHH, \uHHHH, \UHHHHHHHH at s (after the backslash and letter). */
static bool hex_escape(const char *s, size_t digits, uint32_t *cp)
{
    *cp = 0;
    for (size_t i = 0; i < digits; i++) {
        int h = hexval(s[i]);
        if (h < 0) return false;
        *cp = *cp * 16 + (uint32_t)h;
    }
    return *cp <= 0x10ffff && !(*cp >= 0xd800 && *cp <= 0xdfff);
}

/* One escape at s[0] == '\\'; bytes consumed, 0 on an unsupported one. */
static size_t decode_escape(const char *s, size_t left, char *o, size_t *on)
{
    static const char from[] = "nrt\\'\"abfv0", to[] = "\n\r\t\\'\"\a\b\f\v";
    const char *f = left > 1 ? strchr(from, s[1]) : NULL;
    if (f && s[1] && *f != '0') {
        o[(*on)++] = to[f - from];
        return 2;
    }
    size_t digits = s[1] == 'x' ? 2 : s[1] == 'u' ? 4 : s[1] == 'U' ? 8 : 0;
    uint32_t cp;
    if (digits && left >= 2 + digits && hex_escape(s + 2, digits, &cp)) {
        *on += put_utf8(o + *on, cp);
        return 2 + digits;
    }
    if (left > 1 && s[1] != '0' && s[1] != 'N' && !isdigit((unsigned char)s[1]) &&
        !digits) { /* Python keeps unknown escapes as they are */
        o[(*on)++] = '\\';
        return 1;
    }
    return 0;
}

static ft_status lex_string(lexer *L)
{
    char q = L->src[L->pos];
    size_t i = L->pos + 1;
    while (i < L->len && L->src[i] != q) i += L->src[i] == '\\' ? 2 : 1;
    if (i >= L->len) return lex_fail(L, "unterminated string literal");
    char *o = chat_arena_alloc(L->a, i - L->pos + 4);
    if (!o) return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    size_t on = 0;
    for (size_t k = L->pos + 1; k < i;) {
        if (L->src[k] != '\\') {
            o[on++] = L->src[k++];
            continue;
        }
        size_t used = decode_escape(L->src + k, i - k, o, &on);
        if (!used) return lex_fail(L, "unsupported escape in string literal");
        k += used;
    }
    if (!push(L, TK_STRING, o, on))
        return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    advance(L, i + 1 - L->pos);
    return FT_OK;
}

static ft_status lex_number(lexer *L)
{
    const char *p = L->src + L->pos;
    size_t n = 0;
    bool is_float = false;
    while (isdigit((unsigned char)p[n])) n++;
    if (p[n] == '.' && isdigit((unsigned char)p[n + 1])) {
        is_float = true;
        for (n++; isdigit((unsigned char)p[n]); n++) {}
    }
    if ((p[n] == 'e' || p[n] == 'E') &&
        (isdigit((unsigned char)p[n + 1]) ||
         ((p[n + 1] == '+' || p[n + 1] == '-') && isdigit((unsigned char)p[n + 2])))) {
        is_float = true;
        for (n += 2; isdigit((unsigned char)p[n]); n++) {}
    }
    if (p[n] == '_' || isalpha((unsigned char)p[n]))
        return lex_fail(L, "unsupported number literal");
    chat_token *t = push(L, is_float ? TK_FLOAT : TK_INT, p, n);
    if (!t) return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    char *end;
    errno = 0;
    if (is_float)
        t->fval = strtod(p, &end);
    else
        t->ival = strtoll(p, &end, 10);
    if (!is_float && errno == ERANGE) return lex_fail(L, "integer literal too large");
    advance(L, n);
    return FT_OK;
}

static size_t op_len(const char *p)
{
    static const char *two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (size_t i = 0; i < sizeof two / sizeof *two; i++)
        if (p[0] == two[i][0] && p[1] == two[i][1]) return 2;
    return strchr("+-*/%~<>()[]{},.:|=", p[0]) && p[0] ? 1 : 0;
}

static ft_status lex_one(lexer *L, int *braces)
{
    const char *p = L->src + L->pos;
    if (*p == '\'' || *p == '"') return lex_string(L);
    if (isdigit((unsigned char)*p)) return lex_number(L);
    if (isalpha((unsigned char)*p) || *p == '_') {
        size_t n = 1;
        while (isalnum((unsigned char)p[n]) || p[n] == '_') n++;
        if (!push(L, TK_NAME, p, n))
            return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
        advance(L, n);
        return FT_OK;
    }
    size_t n = op_len(p);
    if (!n) return lex_fail(L, "unexpected character in tag");
    if (*p == '{' || *p == '(' || *p == '[') (*braces)++;
    if (*p == '}' || *p == ')' || *p == ']') (*braces)--;
    if (!push(L, TK_OP, p, n)) return ft_fail(L->err, FT_ENOMEM, "chat template: out of memory");
    advance(L, n);
    return FT_OK;
}

static ft_status lex_expr(lexer *L, bool block)
{
    int braces = 0;
    for (;;) {
        while (L->pos < L->len && isspace((unsigned char)L->src[L->pos])) advance(L, 1);
        if (L->pos >= L->len)
            return lex_fail(L, block ? "unterminated tag '{%'" : "unterminated tag '{{'");
        bool minus;
        size_t n = braces <= 0 ? end_len(L, block, &minus) : 0;
        if (n) return lex_end(L, block, n, minus);
        ft_status st = lex_one(L, &braces);
        if (st != FT_OK) return st;
    }
}
