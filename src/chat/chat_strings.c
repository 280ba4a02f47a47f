/* chat_strings: Python's str methods that chat templates call, on UTF-8:
 * strip/lstrip/rstrip (Python whitespace, or a set of ASCII characters),
 * split (on whitespace runs, or a separator, with maxsplit), replace,
 * startswith/endswith, join, and the case changes.
 *
 * Design: results point into the input where they can (strip), or are
 * copied into the render arena.
 *
 * Not here: case changes of non-ASCII text (Python's Unicode case tables):
 * they fail rather than differ. */
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"

chat_value chat_strip(chat_value s, const char *chars, size_t nchars, bool left, bool right)
{
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, k;
    while (left && n) {
        if (chars)
            k = memchr(chars, p[0], nchars) ? 1 : 0;
        else
            k = chat_space_len(p, n);
        if (!k) break;
        p += k;
        n -= k;
    }
    while (right && n) {
        if (chars)
            k = memchr(chars, p[n - 1], nchars) ? 1 : 0;
        else
            k = chat_space_len_back(p, n);
        if (!k) break;
        n -= k;
    }
    return chat_str(p, n);
}

static bool ascii_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

static char up(char ch) { return ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch; }

static char down(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch; }

static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* jinja2's title filter: words start after runs of [-\s[](){}]. */
static bool title_break(char ch)
{
    return strchr("-[](){} \t\n\r\f\v", ch) != NULL || (ch >= 0x1c && ch <= 0x1f);
}

bool chat_case(chat_ctx *c, const chat_node *at, chat_value s, chat_case_kind k, chat_value *out)
{
    if (!ascii_only(s.u.str.s, s.u.str.n))
        return chat_fail(c, at, "case change of non-ASCII text is not supported");
    char *p = chat_arena_strndup(&c->arena, s.u.str.s, s.u.str.n);
    if (!p) return chat_oom(c);
    bool prev_cased = false, word_start = true;
    for (size_t i = 0; i < s.u.str.n; i++) {
        char ch = p[i];
        switch (k) {
        case CHAT_UPPER: p[i] = up(ch); break;
        case CHAT_LOWER: p[i] = down(ch); break;
        case CHAT_CAPITALIZE: p[i] = i == 0 ? up(ch) : down(ch); break;
        case CHAT_STR_TITLE: /* str.title: upper after a non-letter */
            p[i] = prev_cased ? down(ch) : up(ch);
            prev_cased = is_alpha(ch);
            break;
        case CHAT_JINJA_TITLE:
            p[i] = word_start ? up(ch) : down(ch);
            word_start = title_break(ch);
            break;
        }
    }
    *out = chat_str(p, s.u.str.n);
    return true;
}

static bool push_piece(chat_ctx *c, chat_list *l, const char *p, size_t n)
{
    if (!chat_list_push(&c->arena, l, chat_str(p, n))) return chat_oom(c);
    return true;
}

static bool split_space(chat_ctx *c, chat_value s, int64_t maxsplit, chat_list *l)
{
    const char *p = s.u.str.s;
    size_t n = s.u.str.n, i = 0, k;
    for (;;) {
        while (i < n && (k = chat_space_len(p + i, n - i))) i += k;
        if (i >= n) return true;
        if (maxsplit >= 0 && (int64_t)l->n == maxsplit) {
            return push_piece(c, l, p + i, n - i); /* Python keeps its tail */
        }
        size_t start = i;
        while (i < n && !chat_space_len(p + i, n - i)) i += chat_utf8_len((unsigned char)p[i]);
        if (i > n) i = n;
        if (!push_piece(c, l, p + start, i - start)) return false;
    }
}

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn)
{
    for (size_t i = 0; nn <= hn && i + nn <= hn; i++)
        if (memcmp(h + i, nd, nn) == 0) return h + i;
    return NULL;
}

bool chat_split(chat_ctx *c, const chat_node *at, chat_value s, chat_value sep, int64_t maxsplit,
                chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, 0);
    if (!l) return chat_oom(c);
    out->kind = CV_LIST;
    out->u.list = l;
    if (sep.kind == CV_NONE || sep.kind == CV_UNDEF) return split_space(c, s, maxsplit, l);
    if (sep.kind != CV_STR) return chat_fail(c, at, "split: separator must be a string");
    if (sep.u.str.n == 0) return chat_fail(c, at, "split: empty separator");
    const char *p = s.u.str.s, *end = p + s.u.str.n, *hit;
    while ((maxsplit < 0 || (int64_t)l->n < maxsplit) &&
           (hit = find_bytes(p, (size_t)(end - p), sep.u.str.s, sep.u.str.n))) {
        if (!push_piece(c, l, p, (size_t)(hit - p))) return false;
        p = hit + sep.u.str.n;
    }
    return push_piece(c, l, p, (size_t)(end - p));
}

bool chat_replace(chat_ctx *c, chat_value s, chat_value old, chat_value new_, int64_t count,
                  chat_value *out)
{
    chat_buf b = {0};
    const char *p = s.u.str.s, *end = p + s.u.str.n;
    int64_t done = 0;
    if (old.u.str.n == 0) { /* Python inserts new_ between every character */
        for (size_t i = 0; i <= s.u.str.n; done++) {
            if (count < 0 || done < count) chat_buf_put(&b, new_.u.str.s, new_.u.str.n);
            if (i == s.u.str.n) break;
            size_t k = chat_utf8_len((unsigned char)p[i]);
            chat_buf_put(&b, p + i, k);
            i += k;
        }
    } else {
        const char *hit;
        while ((count < 0 || done < count) &&
               (hit = find_bytes(p, (size_t)(end - p), old.u.str.s, old.u.str.n))) {
            chat_buf_put(&b, p, (size_t)(hit - p));
            chat_buf_put(&b, new_.u.str.s, new_.u.str.n);
            p = hit + old.u.str.n;
            done++;
        }
        chat_buf_put(&b, p, (size_t)(end - p));
    }
    char *r = b.oom ? NULL : chat_arena_strndup(&c->arena, b.p ? b.p : "", b.n);
    size_t n = b.n;
    free(b.p);
    if (!r) return chat_oom(c);
    *out = chat_str(r, n);
    return true;
}

bool chat_affix(chat_value s, chat_value affix, bool start)
{
    if (affix.u.str.n > s.u.str.n) return false;
    const char *at = start ? s.u.str.s : s.u.str.s + s.u.str.n - affix.u.str.n;
    return memcmp(at, affix.u.str.s, affix.u.str.n) == 0;
}

bool chat_join(chat_ctx *c, const chat_node *at, chat_value items, chat_value sep, chat_value *out)
{
    chat_buf b = {0};
    const char *why = NULL;
    bool ok = true;
    for (size_t i = 0; ok && i < items.u.list->n; i++) {
        if (i) chat_buf_put(&b, sep.u.str.s, sep.u.str.n);
        ok = chat_value_str(&b, items.u.list->v[i], &why);
    }
    char *r = ok && !b.oom ? chat_arena_strndup(&c->arena, b.p ? b.p : "", b.n) : NULL;
    size_t n = b.n;
    free(b.p);
    if (!ok) return chat_fail(c, at, "%s", why);
    if (!r) return chat_oom(c);
    *out = chat_str(r, n);
    return true;
}
