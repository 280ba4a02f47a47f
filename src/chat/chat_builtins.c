/* chat_builtins: the filters, tests, methods and global functions chat
 * templates call, each as jinja2 3.1 (and transformers' tojson) defines it.
 *
 * Filters: trim length count default d tojson upper lower title capitalize
 * string int join first last list replace items safe abs select reject
 * selectattr rejectattr (tests by name; attributes as dict keys, dotted).
 * Tests: defined undefined none string mapping iterable sequence number
 * integer float boolean true false even odd divisibleby eq equalto ne in
 * lt gt le ge.
 * Methods: str strip lstrip rstrip startswith endswith split upper lower
 * title capitalize replace join; dict items keys values get.
 * Globals: raise_exception namespace dict range strftime_now.
 *
 * Design: names are checked at compile time against the tables below (an
 * unknown filter or test fails there, as in jinja2); argument errors fail
 * at render time naming the filter.
 *
 * Not here: map, unique, indent, format, reverse, sort, map. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"

static const char *const filters[] = {"trim",   "length",  "count",      "default",    "d",
                                      "tojson", "upper",   "lower",      "title",      "capitalize",
                                      "string", "int",     "join",       "first",      "last",
                                      "list",   "replace", "items",      "safe",       "abs",
                                      "select", "reject",  "selectattr", "rejectattr", NULL};
enum {
    F_TRIM,
    F_LENGTH,
    F_COUNT,
    F_DEFAULT,
    F_D,
    F_TOJSON,
    F_UPPER,
    F_LOWER,
    F_TITLE,
    F_CAPITALIZE,
    F_STRING,
    F_INT,
    F_JOIN,
    F_FIRST,
    F_LAST,
    F_LIST,
    F_REPLACE,
    F_ITEMS,
    F_SAFE,
    F_ABS,
    F_SELECT,
    F_REJECT,
    F_SELECTATTR,
    F_REJECTATTR
};

static const char *const tests[] = {"defined",     "undefined", "none",    "string",  "mapping",
                                    "iterable",    "sequence",  "number",  "integer", "float",
                                    "boolean",     "true",      "false",   "even",    "odd",
                                    "divisibleby", "eq",        "equalto", "ne",      "in",
                                    "lt",          "gt",        "le",      "ge",      NULL};
enum {
    T_DEFINED,
    T_UNDEFINED,
    T_NONE,
    T_STRING,
    T_MAPPING,
    T_ITERABLE,
    T_SEQUENCE,
    T_NUMBER,
    T_INTEGER,
    T_FLOAT,
    T_BOOLEAN,
    T_TRUE,
    T_FALSE,
    T_EVEN,
    T_ODD,
    T_DIVISIBLEBY,
    T_EQ,
    T_EQUALTO,
    T_NE,
    T_IN,
    T_LT,
    T_GT,
    T_LE,
    T_GE
};

static int find_name(const char *const *names, const char *s, size_t n)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return i;
    return -1;
}

int chat_filter_index(const char *name, size_t n) { return find_name(filters, name, n); }

int chat_test_index(const char *name, size_t n) { return find_name(tests, name, n); }

/* ---- arguments ---- */

bool chat_eval_args(chat_ctx *c, const chat_node *call, const chat_node *args, chat_args *out)
{
    memset(out, 0, sizeof(*out));
    for (const chat_node *a = args; a; a = a->next) {
        chat_value v;
        if (!chat_eval(c, a->a, &v)) return false;
        if (a->s && out->nkw < 8) {
            out->kw[out->nkw] = a->s;
            out->kwn[out->nkw] = a->n;
            out->kwv[out->nkw++] = v;
        } else if (!a->s && out->nkw == 0 && out->npos < 8) {
            out->pos[out->npos++] = v;
        } else {
            return chat_fail(c, call, "too many or misplaced arguments");
        }
    }
    return true;
}

/* Argument number i or keyword name; false when absent. */
static bool arg(const chat_args *a, size_t i, const char *name, chat_value *v)
{
    if (i < a->npos) {
        *v = a->pos[i];
        return true;
    }
    for (size_t k = 0; k < a->nkw; k++)
        if (a->kwn[k] == strlen(name) && memcmp(a->kw[k], name, a->kwn[k]) == 0) {
            *v = a->kwv[k];
            return true;
        }
    return false;
}

/* Fail when there are more than npos positional or unknown keyword args. */
static bool check_args(chat_ctx *c, const chat_node *at, const chat_args *a, size_t npos,
                       const char *const *kw)
{
    if (a->npos > npos) return chat_fail(c, at, "'%.*s': too many arguments", (int)at->n, at->s);
    for (size_t k = 0; k < a->nkw; k++)
        if (find_name(kw, a->kw[k], a->kwn[k]) < 0)
            return chat_fail(c, at, "'%.*s': unsupported argument '%.*s'", (int)at->n, at->s,
                             (int)a->kwn[k], a->kw[k]);
    return true;
}

static bool to_str(chat_ctx *c, const chat_node *at, chat_value v, chat_value *out)
{
    chat_buf b = {0};
    const char *why = NULL;
    if (v.kind == CV_STR) {
        *out = v;
        return true;
    }
    bool ok = chat_value_str(&b, v, &why);
    char *s = ok && !b.oom ? chat_arena_strndup(&c->arena, b.p ? b.p : "", b.n) : NULL;
    size_t n = b.n;
    free(b.p);
    if (!ok) return chat_fail(c, at, "%s", why);
    if (!s) return chat_oom(c);
    *out = chat_str(s, n);
    return true;
}

static bool need_str(chat_ctx *c, const chat_node *at, chat_value v, const char *what)
{
    if (v.kind == CV_STR) return true;
    return chat_fail(c, at, "%s: expected a string, got %s", what, chat_type_name(v));
}

static bool need_int(chat_ctx *c, const chat_node *at, chat_value v, int64_t *i)
{
    if (v.kind == CV_BOOL) v = chat_int(v.u.b);
    if (v.kind == CV_INT) {
        *i = v.u.i;
        return true;
    }
    return chat_fail(c, at, "'%.*s': expected an integer argument", (int)at->n, at->s);
}

/* ---- filters ---- */

static bool f_trim(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                   chat_value *out)
{
    static const char *const kw[] = {"chars", NULL};
    chat_value chars = {.kind = CV_NONE};
    if (!check_args(c, f, a, 1, kw) || !to_str(c, f, v, &v)) return false;
    if (!arg(a, 0, "chars", &chars) || chars.kind == CV_NONE) {
        *out = chat_strip(v, NULL, 0, true, true);
        return true;
    }
    if (!need_str(c, f, chars, "trim")) return false;
    for (size_t i = 0; i < chars.u.str.n; i++)
        if ((unsigned char)chars.u.str.s[i] >= 0x80)
            return chat_fail(c, f, "trim: non-ASCII characters to strip are not supported");
    *out = chat_strip(v, chars.u.str.s, chars.u.str.n, true, true);
    return true;
}

static bool length_of(chat_ctx *c, const chat_node *at, chat_value v, int64_t *n)
{
    *n = 0;
    if (v.kind == CV_STR)
        for (size_t i = 0; i < v.u.str.n; i += chat_utf8_len((unsigned char)v.u.str.s[i])) (*n)++;
    else if (v.kind == CV_LIST && v.u.list->view == CHAT_VIEW_GEN)
        return chat_fail(c, at, "object of type 'generator' has no len()");
    else if (v.kind == CV_LIST)
        *n = (int64_t)v.u.list->n;
    else if (v.kind == CV_DICT && v.u.dict->kind == CD_PLAIN)
        *n = (int64_t)v.u.dict->n;
    else if (v.kind != CV_UNDEF)
        return chat_fail(c, at, "object of type '%s' has no len()", chat_type_name(v));
    return true;
}

static bool f_default(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                      chat_value *out)
{
    static const char *const kw[] = {"default_value", "boolean", NULL};
    chat_value def = chat_str("", 0), boolean = chat_bool(false);
    if (!check_args(c, f, a, 2, kw)) return false;
    arg(a, 0, "default_value", &def);
    arg(a, 1, "boolean", &boolean);
    bool use = v.kind == CV_UNDEF || (chat_truthy(boolean) && !chat_truthy(v));
    *out = use ? def : v;
    return true;
}

static bool f_tojson(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                     chat_value *out)
{
    static const char *const kw[] = {"ensure_ascii", "indent", "separators", "sort_keys", NULL};
    chat_value ea = chat_bool(false), ind = {.kind = CV_NONE}, sep = {.kind = CV_NONE},
               sk = chat_bool(false);
    if (!check_args(c, f, a, 4, kw)) return false;
    arg(a, 0, "ensure_ascii", &ea);
    arg(a, 1, "indent", &ind);
    arg(a, 2, "separators", &sep);
    arg(a, 3, "sort_keys", &sk);
    if (chat_truthy(ea) || chat_truthy(sk) || sep.kind != CV_NONE)
        return chat_fail(c, f, "tojson: ensure_ascii, separators and sort_keys are not supported");
    int64_t indent = -1;
    if (ind.kind != CV_NONE && (!need_int(c, f, ind, &indent) || indent < 0 || indent > 64))
        return chat_fail(c, f, "tojson: indent must be an integer 0..64");
    chat_buf b = {0};
    const char *why = NULL;
    bool ok = chat_value_json(&b, v, (int)indent, 0, &why);
    char *s = ok && !b.oom ? chat_arena_strndup(&c->arena, b.p ? b.p : "", b.n) : NULL;
    size_t n = b.n;
    free(b.p);
    if (!ok) return chat_fail(c, f, "%s", why);
    if (!s) return chat_oom(c);
    *out = chat_str(s, n);
    return true;
}

/* int("...") as jinja2's int filter: int(s), else int(float(s)), else the
 * default. Strings Python reads in ways not mirrored here (underscores,
 * non-ASCII digits, huge values) are refused. */
static bool int_of_string(chat_ctx *c, const chat_node *f, chat_value v, chat_value def,
                          chat_value *out)
{
    chat_value t = chat_strip(v, NULL, 0, true, true);
    char buf[64], *end;
    *out = def;
    if (t.u.str.n == 0) return true;
    if (t.u.str.n >= sizeof buf || memchr(t.u.str.s, '_', t.u.str.n))
        return chat_fail(c, f, "int: unsupported string");
    memcpy(buf, t.u.str.s, t.u.str.n);
    buf[t.u.str.n] = 0;
    for (size_t i = 0; i < t.u.str.n; i++)
        if ((unsigned char)buf[i] >= 0x80) return chat_fail(c, f, "int: unsupported string");
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    bool digits_only = strspn(buf + (buf[0] == '+' || buf[0] == '-'), "0123456789") ==
                       strlen(buf + (buf[0] == '+' || buf[0] == '-'));
    if (digits_only && *end == 0 && errno == 0) return *out = chat_int(x), true;
    if (digits_only) return chat_fail(c, f, "int: integer too large");
    if (strpbrk(buf, "iInN")) return true; /* inf, nan: Python fails: the default */
    double d = strtod(buf, &end);
    if (*end != 0 || strpbrk(buf, "xXpP")) return true; /* not a float either */
    if (!(fabs(d) < 9e18)) return chat_fail(c, f, "int: value too large");
    *out = chat_int((int64_t)d);
    return true;
}

static bool f_int(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                  chat_value *out)
{
    static const char *const kw[] = {"default", NULL};
    chat_value def = chat_int(0);
    if (!check_args(c, f, a, 1, kw)) return false;
    arg(a, 0, "default", &def);
    if (v.kind == CV_INT || v.kind == CV_BOOL) {
        *out = chat_int(v.kind == CV_INT ? v.u.i : v.u.b);
        return true;
    }
    if (v.kind == CV_FLOAT) {
        if (!(fabs(v.u.f) < 9e18)) return chat_fail(c, f, "int: value too large");
        *out = chat_int((int64_t)v.u.f);
        return true;
    }
    if (v.kind == CV_STR) return int_of_string(c, f, v, def, out);
    if (v.kind == CV_UNDEF) return chat_fail(c, f, "int: the value is undefined");
    *out = def; /* None, lists, dicts: Python's TypeError, caught */
    return true;
}

static bool f_items(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, 0);
    if (!l) return chat_oom(c);
    l->view = CHAT_VIEW_GEN;
    out->kind = CV_LIST;
    out->u.list = l;
    if (v.kind == CV_UNDEF) return true;
    if (v.kind != CV_DICT || v.u.dict->kind != CD_PLAIN)
        return chat_fail(c, f, "items: expected a dict, got %s", chat_type_name(v));
    for (size_t i = 0; i < v.u.dict->n; i++) {
        chat_list *pair = chat_list_new(&c->arena, 2);
        if (!pair) return chat_oom(c);
        pair->tuple = true;
        chat_value pv = {.kind = CV_LIST};
        pv.u.list = pair;
        if (!chat_list_push(&c->arena, pair, chat_str(v.u.dict->keys[i], v.u.dict->klen[i])) ||
            !chat_list_push(&c->arena, pair, v.u.dict->vals[i]) ||
            !chat_list_push(&c->arena, l, pv))
            return chat_oom(c);
    }
    return true;
}

/* list(v): items of a list, characters of a string, keys of a dict. */
static bool f_list(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, 0);
    if (!l) return chat_oom(c);
    out->kind = CV_LIST;
    out->u.list = l;
    if (v.kind == CV_UNDEF) return true;
    if (v.kind == CV_LIST) {
        for (size_t i = 0; i < v.u.list->n; i++)
            if (!chat_list_push(&c->arena, l, v.u.list->v[i])) return chat_oom(c);
        return true;
    }
    if (v.kind == CV_DICT && v.u.dict->kind == CD_PLAIN) {
        for (size_t i = 0; i < v.u.dict->n; i++)
            if (!chat_list_push(&c->arena, l, chat_str(v.u.dict->keys[i], v.u.dict->klen[i])))
                return chat_oom(c);
        return true;
    }
    if (v.kind != CV_STR) return chat_fail(c, f, "list: '%s' is not iterable", chat_type_name(v));
    for (size_t i = 0; i < v.u.str.n;) {
        size_t k = chat_utf8_len((unsigned char)v.u.str.s[i]);
        if (k > v.u.str.n - i) k = v.u.str.n - i;
        if (!chat_list_push(&c->arena, l, chat_str(v.u.str.s + i, k))) return chat_oom(c);
        i += k;
    }
    return true;
}

static bool f_first_last(chat_ctx *c, const chat_node *f, chat_value v, bool first, chat_value *out)
{
    chat_value l;
    if (!f_list(c, f, v, &l)) return false;
    out->kind = CV_UNDEF;
    out->u.str.s = NULL;
    if (l.u.list->n) *out = l.u.list->v[first ? 0 : l.u.list->n - 1];
    return true;
}

static bool f_join(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                   chat_value *out)
{
    static const char *const kw[] = {"d", NULL};
    chat_value sep = chat_str("", 0), l;
    if (!check_args(c, f, a, 1, kw)) return false;
    arg(a, 0, "d", &sep);
    if (!to_str(c, f, sep, &sep) || !f_list(c, f, v, &l)) return false;
    return chat_join(c, f, l, sep, out);
}

static bool f_replace(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                      chat_value *out)
{
    static const char *const kw[] = {"old", "new", "count", NULL};
    chat_value old, new_, count = {.kind = CV_NONE};
    int64_t n = -1;
    if (!check_args(c, f, a, 3, kw) || !to_str(c, f, v, &v)) return false;
    if (!arg(a, 0, "old", &old) || !arg(a, 1, "new", &new_))
        return chat_fail(c, f, "replace: needs old and new");
    if (!to_str(c, f, old, &old) || !to_str(c, f, new_, &new_)) return false;
    if (arg(a, 2, "count", &count) && count.kind != CV_NONE && !need_int(c, f, count, &n))
        return false;
    return chat_replace(c, v, old, new_, n, out);
}

static bool f_case(chat_ctx *c, const chat_node *f, chat_value v, chat_case_kind k, chat_value *out)
{
    return to_str(c, f, v, &v) && chat_case(c, f, v, k, out);
}

static bool f_abs(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out)
{
    if (v.kind == CV_BOOL) v = chat_int(v.u.b);
    if (v.kind == CV_INT && v.u.i < 0) return chat_negate(c, f, v, out);
    if (v.kind == CV_FLOAT) v.u.f = fabs(v.u.f);
    if (v.kind != CV_INT && v.kind != CV_FLOAT)
        return chat_fail(c, f, "abs: bad operand type '%s'", chat_type_name(v));
    *out = v;
    return true;
}

static bool select_items(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                         chat_value *out);

static bool no_args(chat_ctx *c, const chat_node *f, const chat_args *a)
{
    static const char *const kw[] = {NULL};
    return check_args(c, f, a, 0, kw);
}

static bool filter_simple(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out)
{
    int64_t n;
    switch (f->builtin) {
    case F_LENGTH:
    case F_COUNT:
        if (!length_of(c, f, v, &n)) return false;
        *out = chat_int(n);
        return true;
    case F_UPPER: return f_case(c, f, v, CHAT_UPPER, out);
    case F_LOWER: return f_case(c, f, v, CHAT_LOWER, out);
    case F_TITLE: return f_case(c, f, v, CHAT_JINJA_TITLE, out);
    case F_CAPITALIZE: return f_case(c, f, v, CHAT_CAPITALIZE, out);
    case F_STRING:
    case F_SAFE: return to_str(c, f, v, out);
    case F_FIRST: return f_first_last(c, f, v, true, out);
    case F_LAST: return f_first_last(c, f, v, false, out);
    case F_LIST: return f_list(c, f, v, out);
    case F_ITEMS: return f_items(c, f, v, out);
    case F_ABS: return f_abs(c, f, v, out);
    default: return chat_fail(c, f, "internal: filter %d", f->builtin);
    }
}

bool chat_apply_filter(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out)
{
    chat_args a;
    if (!chat_eval_args(c, f, f->b, &a)) return false;
    switch (f->builtin) {
    case F_TRIM: return f_trim(c, f, v, &a, out);
    case F_DEFAULT:
    case F_D: return f_default(c, f, v, &a, out);
    case F_TOJSON: return f_tojson(c, f, v, &a, out);
    case F_INT: return f_int(c, f, v, &a, out);
    case F_JOIN: return f_join(c, f, v, &a, out);
    case F_REPLACE: return f_replace(c, f, v, &a, out);
    case F_SELECT:
    case F_REJECT:
    case F_SELECTATTR:
    case F_REJECTATTR: return select_items(c, f, v, &a, out);
    default: return no_args(c, f, &a) && filter_simple(c, f, v, out);
    }
}

/* ---- tests ---- */

static bool test_type(int builtin, chat_value v, bool *out)
{
    bool num = v.kind == CV_INT || v.kind == CV_FLOAT || v.kind == CV_BOOL;
    bool plain_dict = v.kind == CV_DICT && v.u.dict->kind == CD_PLAIN;
    switch (builtin) {
    case T_DEFINED: *out = v.kind != CV_UNDEF; return true;
    case T_UNDEFINED: *out = v.kind == CV_UNDEF; return true;
    case T_NONE: *out = v.kind == CV_NONE; return true;
    case T_STRING: *out = v.kind == CV_STR; return true;
    case T_MAPPING: *out = plain_dict; return true;
    case T_ITERABLE:
        *out = v.kind == CV_STR || v.kind == CV_LIST || plain_dict || v.kind == CV_UNDEF;
        return true;
    case T_SEQUENCE:
        *out = v.kind == CV_STR || (v.kind == CV_LIST && !v.u.list->view) || plain_dict ||
               v.kind == CV_UNDEF; /* jinja2's Undefined has len() and [] */
        return true;
    case T_NUMBER: *out = num; return true;
    case T_INTEGER: *out = v.kind == CV_INT; return true;
    case T_FLOAT: *out = v.kind == CV_FLOAT; return true;
    case T_BOOLEAN: *out = v.kind == CV_BOOL; return true;
    case T_TRUE: *out = v.kind == CV_BOOL && v.u.b; return true;
    case T_FALSE: *out = v.kind == CV_BOOL && !v.u.b; return true;
    default: return false;
    }
}

static bool test_with_arg(chat_ctx *c, const chat_node *t, int builtin, chat_value v, chat_value x,
                          bool *out)
{
    static const char *const ops[] = {"==", "==", "!=", "in", "<", ">", "<=", ">="};
    if (builtin == T_DIVISIBLEBY) { /* value % num == 0, with Python's % */
        chat_node op = *t;
        chat_value r;
        op.s = "%";
        op.n = 1;
        if (!chat_binary(c, &op, v, x, &r)) return false;
        *out = r.kind == CV_INT ? r.u.i == 0 : r.kind == CV_FLOAT && r.u.f == 0.0;
        return true;
    }
    chat_node op = *t;
    op.s = ops[builtin - T_EQ];
    op.n = strlen(op.s);
    return chat_compare(c, &op, v, x, out);
}

/* Test number builtin on v with the positional arguments args[0..n). */
static bool run_test(chat_ctx *c, const chat_node *t, int builtin, chat_value v,
                     const chat_value *args, size_t n, bool *out)
{
    if (builtin < T_EVEN) {
        if (n) return chat_fail(c, t, "test '%s' takes no argument", tests[builtin]);
        return test_type(builtin, v, out);
    }
    if (builtin == T_EVEN || builtin == T_ODD) { /* value % 2 == 0 or == 1 */
        if (n) return chat_fail(c, t, "test '%s' takes no argument", tests[builtin]);
        chat_node op = *t;
        chat_value r;
        op.s = "%";
        op.n = 1;
        if (!chat_binary(c, &op, v, chat_int(2), &r)) return false;
        double want = builtin == T_EVEN ? 0.0 : 1.0;
        *out = r.kind == CV_INT ? r.u.i == (int64_t)want : r.kind == CV_FLOAT && r.u.f == want;
        return true;
    }
    if (n != 1) return chat_fail(c, t, "test '%s' takes one argument", tests[builtin]);
    return test_with_arg(c, t, builtin, v, args[0], out);
}

bool chat_apply_test(chat_ctx *c, const chat_node *t, chat_value v, bool *out)
{
    chat_args a;
    if (!chat_eval_args(c, t, t->b, &a)) return false;
    if (a.nkw) return chat_fail(c, t, "test '%.*s': keyword arguments", (int)t->n, t->s);
    return run_test(c, t, t->builtin, v, a.pos, a.npos, out);
}

/* ---- select, reject, selectattr, rejectattr ---- */

/* item.a.b... for dict items (jinja2's make_attrgetter): a missing key is
 * undefined, and reading on from an undefined fails, as in jinja2. */
static bool attr_path(chat_ctx *c, const chat_node *f, chat_value item, chat_value path,
                      chat_value *out)
{
    const char *p = path.u.str.s, *end = p + path.u.str.n;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
        if (item.kind == CV_UNDEF)
            return chat_fail(c, f, "%.*s: attribute '%.*s' of an undefined value", (int)f->n, f->s,
                             (int)n, p);
        chat_value *v = item.kind == CV_DICT ? chat_dict_get(item.u.dict, p, n) : NULL;
        item = v ? *v : (chat_value){.kind = CV_UNDEF};
        if (!dot) break;
        p = dot + 1;
    }
    *out = item;
    return true;
}

static int test_by_name(chat_value name)
{
    static const char *const ops[] = {"==", "!=", "<", ">", "<=", ">=", NULL};
    static const int op_tests[] = {T_EQ, T_NE, T_LT, T_GT, T_LE, T_GE};
    if (name.kind != CV_STR) return -1;
    for (int i = 0; ops[i]; i++)
        if (strlen(ops[i]) == name.u.str.n && memcmp(ops[i], name.u.str.s, name.u.str.n) == 0)
            return op_tests[i];
    return find_name(tests, name.u.str.s, name.u.str.n);
}

/* Does item pass: the named test on it (or on its attribute), or truth. */
static bool select_one(chat_ctx *c, const chat_node *f, chat_value item, const chat_args *a,
                       bool attr, bool *keep)
{
    size_t first = attr ? 1 : 0;
    if (attr && !attr_path(c, f, item, a->pos[0], &item)) return false;
    if (a->npos <= first) {
        *keep = chat_truthy(item);
        return true;
    }
    int t = test_by_name(a->pos[first]);
    if (t < 0) return chat_fail(c, f, "%.*s: unsupported test", (int)f->n, f->s);
    return run_test(c, f, t, item, a->pos + first + 1, a->npos - first - 1, keep);
}

static bool select_items(chat_ctx *c, const chat_node *f, chat_value v, const chat_args *a,
                         chat_value *out)
{
    bool attr = f->builtin == F_SELECTATTR || f->builtin == F_REJECTATTR;
    bool reject = f->builtin == F_REJECT || f->builtin == F_REJECTATTR;
    chat_value all;
    if (a->nkw) return chat_fail(c, f, "%.*s: keyword arguments", (int)f->n, f->s);
    if (attr && (a->npos < 1 || a->pos[0].kind != CV_STR))
        return chat_fail(c, f, "%.*s: the attribute must be a string", (int)f->n, f->s);
    if (!chat_truthy(v)) v.kind = CV_UNDEF; /* jinja2: `if value:` first */
    if (!f_list(c, f, v, &all)) return false;
    chat_list *l = chat_list_new(&c->arena, all.u.list->n);
    if (!l) return chat_oom(c);
    l->view = CHAT_VIEW_GEN;
    for (size_t i = 0; i < all.u.list->n; i++) {
        bool keep;
        if (!select_one(c, f, all.u.list->v[i], a, attr, &keep)) return false;
        if (keep != reject && !chat_list_push(&c->arena, l, all.u.list->v[i])) return chat_oom(c);
    }
    out->kind = CV_LIST;
    out->u.list = l;
    return true;
}
