/* chat_calls: method calls on strings and dicts (`s.strip()`,
 * `m.items()`) and the global functions raise_exception, namespace, dict
 * range and strftime_now, as jinja2's sandbox and transformers provide them.
 *
 * Design: a method is looked up by the type of the object and its name;
 * methods that modify (list.append, dict.update, ...) are refused, as
 * ImmutableSandboxedEnvironment refuses them.
 *
 * strftime_now(format) is datetime.now().strftime(format), as transformers
 * defines it: C's strftime on the local time (Python calls the same in the
 * C locale), so a render that calls it depends on the day it runs.
 *
 * Not here: list methods, str.format; strftime_now's %z %Z %f %: (Python
 * handles those itself for a naive datetime). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chat_impl.h"

static bool name_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(s, name, n) == 0;
}

static bool want(chat_ctx *c, const chat_node *at, const chat_args *a, size_t lo, size_t hi,
                 const char *name)
{
    if (a->nkw == 0 && a->npos >= lo && a->npos <= hi) return true;
    return chat_fail(c, at, "%s(): takes %zu to %zu positional arguments", name, lo, hi);
}

static bool str_arg(chat_ctx *c, const chat_node *at, chat_value v, const char *name)
{
    if (v.kind == CV_STR) return true;
    return chat_fail(c, at, "%s(): expected a string argument, got %s", name, chat_type_name(v));
}

static bool m_strip(chat_ctx *c, const chat_node *at, chat_value s, const chat_args *a, int side,
                    chat_value *out)
{
    if (!want(c, at, a, 0, 1, "strip")) return false;
    chat_value chars = a->npos ? a->pos[0] : (chat_value){.kind = CV_NONE};
    bool left = side <= 0, right = side >= 0;
    if (chars.kind == CV_NONE) {
        *out = chat_strip(s, NULL, 0, left, right);
        return true;
    }
    if (!str_arg(c, at, chars, "strip")) return false;
    for (size_t i = 0; i < chars.u.str.n; i++)
        if ((unsigned char)chars.u.str.s[i] >= 0x80)
            return chat_fail(c, at, "strip(): non-ASCII characters are not supported");
    *out = chat_strip(s, chars.u.str.s, chars.u.str.n, left, right);
    return true;
}

/* startswith / endswith with a string or a tuple of strings. */
static bool m_affix(chat_ctx *c, const chat_node *at, chat_value s, const chat_args *a, bool start,
                    chat_value *out)
{
    const char *name = start ? "startswith" : "endswith";
    if (!want(c, at, a, 1, 1, name)) return false;
    chat_value p = a->pos[0];
    bool r = false;
    if (p.kind == CV_LIST && p.u.list->tuple) {
        for (size_t i = 0; i < p.u.list->n && !r; i++) {
            if (!str_arg(c, at, p.u.list->v[i], name)) return false;
            r = chat_affix(s, p.u.list->v[i], start);
        }
    } else {
        if (!str_arg(c, at, p, name)) return false;
        r = chat_affix(s, p, start);
    }
    *out = chat_bool(r);
    return true;
}

static bool m_split(chat_ctx *c, const chat_node *at, chat_value s, const chat_args *a,
                    chat_value *out)
{
    chat_value sep = {.kind = CV_NONE};
    int64_t max = -1;
    for (size_t k = 0; k < a->nkw; k++) {
        if (name_is(a->kw[k], a->kwn[k], "sep"))
            sep = a->kwv[k];
        else if (name_is(a->kw[k], a->kwn[k], "maxsplit") && a->kwv[k].kind == CV_INT)
            max = a->kwv[k].u.i;
        else
            return chat_fail(c, at, "split(): unsupported argument");
    }
    if (a->npos > 2) return chat_fail(c, at, "split(): too many arguments");
    if (a->npos > 0) sep = a->pos[0];
    if (a->npos > 1) {
        if (a->pos[1].kind != CV_INT) return chat_fail(c, at, "split(): maxsplit must be an int");
        max = a->pos[1].u.i;
    }
    return chat_split(c, at, s, sep, max, out);
}

static bool m_replace(chat_ctx *c, const chat_node *at, chat_value s, const chat_args *a,
                      chat_value *out)
{
    if (!want(c, at, a, 2, 3, "replace") || !str_arg(c, at, a->pos[0], "replace") ||
        !str_arg(c, at, a->pos[1], "replace"))
        return false;
    int64_t n = -1;
    if (a->npos == 3) {
        if (a->pos[2].kind != CV_INT) return chat_fail(c, at, "replace(): count must be an int");
        n = a->pos[2].u.i;
    }
    return chat_replace(c, s, a->pos[0], a->pos[1], n, out);
}

static bool str_method(chat_ctx *c, const chat_node *at, chat_value s, const char *m, size_t n,
                       const chat_args *a, chat_value *out)
{
    static const struct {
        const char *name;
        chat_case_kind k;
    } cases[] = {{"upper", CHAT_UPPER},
                 {"lower", CHAT_LOWER},
                 {"capitalize", CHAT_CAPITALIZE},
                 {"title", CHAT_STR_TITLE}};
    if (name_is(m, n, "strip")) return m_strip(c, at, s, a, 0, out);
    if (name_is(m, n, "lstrip")) return m_strip(c, at, s, a, -1, out);
    if (name_is(m, n, "rstrip")) return m_strip(c, at, s, a, 1, out);
    if (name_is(m, n, "startswith")) return m_affix(c, at, s, a, true, out);
    if (name_is(m, n, "endswith")) return m_affix(c, at, s, a, false, out);
    if (name_is(m, n, "split")) return m_split(c, at, s, a, out);
    if (name_is(m, n, "replace")) return m_replace(c, at, s, a, out);
    if (name_is(m, n, "join")) {
        if (!want(c, at, a, 1, 1, "join")) return false;
        if (a->pos[0].kind != CV_LIST) return chat_fail(c, at, "join(): expected a list");
        return chat_join(c, at, a->pos[0], s, out);
    }
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (name_is(m, n, cases[i].name))
            return want(c, at, a, 0, 0, cases[i].name) && chat_case(c, at, s, cases[i].k, out);
    return chat_fail(c, at, "unsupported method 'str.%.*s'", (int)n, m);
}

static bool dict_view(chat_ctx *c, const chat_dict *d, int which, chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, d->n);
    if (!l) return chat_oom(c);
    l->view = CHAT_VIEW_DICT;
    for (size_t i = 0; i < d->n; i++) {
        chat_value key = chat_str(d->keys[i], d->klen[i]), item = which ? d->vals[i] : key;
        if (which == 2) {
            chat_list *pair = chat_list_new(&c->arena, 2);
            if (!pair) return chat_oom(c);
            pair->tuple = true;
            (void)chat_list_push(&c->arena, pair, key);
            (void)chat_list_push(&c->arena, pair, d->vals[i]);
            item.kind = CV_LIST;
            item.u.list = pair;
        }
        if (!chat_list_push(&c->arena, l, item)) return chat_oom(c);
    }
    out->kind = CV_LIST;
    out->u.list = l;
    return true;
}

static bool dict_method(chat_ctx *c, const chat_node *at, const chat_dict *d, const char *m,
                        size_t n, const chat_args *a, chat_value *out)
{
    if (name_is(m, n, "keys") || name_is(m, n, "values") || name_is(m, n, "items"))
        return want(c, at, a, 0, 0, "items") && dict_view(c, d,
                                                          name_is(m, n, "keys")     ? 0
                                                          : name_is(m, n, "values") ? 1
                                                                                    : 2,
                                                          out);
    if (!name_is(m, n, "get")) return chat_fail(c, at, "unsupported method 'dict.%.*s'", (int)n, m);
    if (!want(c, at, a, 1, 2, "get")) return false;
    chat_value *v =
        a->pos[0].kind == CV_STR ? chat_dict_get(d, a->pos[0].u.str.s, a->pos[0].u.str.n) : NULL;
    *out = v ? *v : a->npos == 2 ? a->pos[1] : (chat_value){.kind = CV_NONE};
    return true;
}

bool chat_call_method(chat_ctx *c, const chat_node *call, chat_value obj, const char *name,
                      size_t n, chat_value *out)
{
    chat_args a;
    if (!chat_eval_args(c, call, call->b, &a)) return false;
    if (obj.kind == CV_STR) return str_method(c, call, obj, name, n, &a, out);
    if (obj.kind == CV_DICT && obj.u.dict->kind == CD_PLAIN)
        return dict_method(c, call, obj.u.dict, name, n, &a, out);
    return chat_fail(c, call, "unsupported method '%s.%.*s'", chat_type_name(obj), (int)n, name);
}

/* ---- global functions ---- */

static bool f_raise(chat_ctx *c, const chat_node *call, const chat_args *a)
{
    chat_buf b = {0};
    const char *why = NULL;
    if (a->npos != 1 || a->nkw) return chat_fail(c, call, "raise_exception takes one argument");
    bool ok = chat_value_str(&b, a->pos[0], &why) && !b.oom;
    if (c->status == FT_OK) {
        if (ok)
            c->status = ft_fail(c->err, FT_EINVAL, "%s", b.p ? b.p : "");
        else
            c->status = ft_fail(c->err, FT_EINVAL, "chat template: raise_exception");
    }
    free(b.p);
    return false;
}

static bool f_namespace(chat_ctx *c, const chat_node *call, const chat_args *a, chat_func f,
                        chat_value *out)
{
    chat_dict *d = chat_dict_new(&c->arena, a->nkw + 1);
    if (!d) return chat_oom(c);
    d->kind = f == CF_NAMESPACE ? CD_NAMESPACE : CD_PLAIN;
    if (a->npos)
        return chat_fail(c, call, "namespace()/dict(): positional arguments are not supported");
    for (size_t k = 0; k < a->nkw; k++) {
        if (f == CF_NAMESPACE && a->kw[k][0] == '_')
            return chat_fail(c, call, "namespace attributes cannot start with '_'");
        if (!chat_dict_set(&c->arena, d, a->kw[k], a->kwn[k], a->kwv[k])) return chat_oom(c);
    }
    out->kind = CV_DICT;
    out->u.dict = d;
    return true;
}

static bool f_range(chat_ctx *c, const chat_node *call, const chat_args *a, chat_value *out)
{
    int64_t r[3] = {0, 0, 1};
    if (a->nkw || a->npos < 1 || a->npos > 3)
        return chat_fail(c, call, "range(): 1 to 3 arguments");
    for (size_t i = 0; i < a->npos; i++) {
        if (a->pos[i].kind != CV_INT) return chat_fail(c, call, "range(): integer arguments");
        r[a->npos == 1 ? 1 : i] = a->pos[i].u.i;
    }
    if (r[2] == 0) return chat_fail(c, call, "range(): step must not be zero");
    chat_list *l = chat_list_new(&c->arena, 0);
    if (!l) return chat_oom(c);
    for (int64_t x = r[0]; r[2] > 0 ? x < r[1] : x > r[1]; x += r[2]) {
        if (l->n >= 100000) return chat_fail(c, call, "range(): more than 100000 items");
        if (!chat_list_push(&c->arena, l, chat_int(x))) return chat_oom(c);
    }
    out->kind = CV_LIST;
    out->u.list = l;
    return true;
}

static bool f_strftime(chat_ctx *c, const chat_node *call, const chat_args *a, chat_value *out)
{
    if (a->nkw || a->npos != 1 || a->pos[0].kind != CV_STR)
        return chat_fail(c, call, "strftime_now takes one string argument");
    chat_value fmt = a->pos[0];
    for (size_t i = 0; i + 1 < fmt.u.str.n; i++)
        if (fmt.u.str.s[i] == '%' && strchr("zZf:", fmt.u.str.s[i + 1]))
            return chat_fail(c, call, "strftime_now: '%%%c' is not supported", fmt.u.str.s[i + 1]);
    if (fmt.u.str.n > 200) return chat_fail(c, call, "strftime_now: format too long");
    char f[256], buf[1024];
    memcpy(f, fmt.u.str.s, fmt.u.str.n);
    f[fmt.u.str.n] = 0;
    time_t now = time(NULL);
    struct tm tm;
    if (!localtime_r(&now, &tm)) return chat_fail(c, call, "strftime_now: no local time");
    size_t n = strftime(buf, sizeof buf, f, &tm);
    if (n == 0 && fmt.u.str.n) return chat_fail(c, call, "strftime_now: result too long");
    char *s = chat_arena_strndup(&c->arena, buf, n);
    if (!s) return chat_oom(c);
    *out = chat_str(s, n);
    return true;
}

bool chat_call_func(chat_ctx *c, const chat_node *call, chat_func f, chat_value *out)
{
    chat_args a;
    if (!chat_eval_args(c, call, call->b, &a)) return false;
    switch (f) {
    case CF_RAISE: return f_raise(c, call, &a);
    case CF_NAMESPACE:
    case CF_DICT: return f_namespace(c, call, &a, f, out);
    case CF_RANGE: return f_range(c, call, &a, out);
    case CF_STRFTIME: return f_strftime(c, call, &a, out);
    }
    return false;
}
