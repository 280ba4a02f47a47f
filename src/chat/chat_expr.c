/* chat_expr: expressions with Python's semantics: literals, names,
 * attribute and item access (jinja2's getattr/getitem order), slices by
 * code point, arithmetic on int64 (overflow is an error, where Python would
 * go on with big integers), comparison chains, in, and/or returning an
 * operand, conditional expressions, calls.
 *
 * Not here: `%` string formatting, ordering lists, floats as list indices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"

static bool is_dict_method(const char *s, size_t n)
{
    static const char *const m[] = {"items", "keys",       "values", "get",     "pop", "update",
                                    "copy",  "setdefault", "clear",  "popitem", NULL};
    for (int i = 0; m[i]; i++)
        if (strlen(m[i]) == n && memcmp(m[i], s, n) == 0) return true;
    return false;
}

static bool undefined_error(chat_ctx *c, const chat_node *e, chat_value v)
{
    if (v.u.str.s) return chat_fail(c, e, "'%.*s' is undefined", (int)v.u.str.n, v.u.str.s);
    return chat_fail(c, e, "use of an undefined value");
}

static bool get_key(chat_ctx *c, const chat_node *e, chat_value obj, const char *k, size_t kn,
                    bool attr, chat_value *out)
{
    chat_value *v = chat_dict_get(obj.u.dict, k, kn);
    out->kind = CV_UNDEF;
    out->u.str.s = k;
    out->u.str.n = kn;
    if (obj.u.dict->kind == CD_PLAIN && is_dict_method(k, kn) && (attr || !v))
        return chat_fail(c, e, "dict method '%.*s' used without a call", (int)kn, k);
    if (v) *out = *v;
    return true;
}

static bool name_in_list(const char *list, const char *s, size_t n)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, s, n) == 0) return true;
        if (!end) break;
        p = end + 1;
    }
    return false;
}

/* str or list .name without a call, or ["name"]: jinja2 gives Python's
 * bound method (printed as "<built-in method ...>": refused here), or
 * undefined for any other name. */
static bool member_of_sequence(chat_ctx *c, const chat_node *e, chat_value obj, const char *s,
                               size_t n, chat_value *out)
{
    static const char str_methods[] =
        "capitalize casefold center count encode endswith expandtabs find format "
        "format_map index isalnum isalpha isascii isdecimal isdigit isidentifier islower "
        "isnumeric isprintable isspace istitle isupper join ljust lower lstrip maketrans "
        "partition removeprefix removesuffix replace rfind rindex rjust rpartition rsplit "
        "rstrip split splitlines startswith strip swapcase title translate upper zfill";
    static const char list_methods[] =
        "append clear copy count extend index insert pop remove reverse sort";
    bool method = name_in_list(obj.kind == CV_STR ? str_methods : list_methods, s, n);
    if (method || (n && s[0] == '_'))
        return chat_fail(c, e, "attribute '%.*s' of a %s used without a call", (int)n, s,
                         chat_type_name(obj));
    out->kind = CV_UNDEF;
    out->u.str.s = s;
    out->u.str.n = n;
    return true;
}

static bool eval_attr(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value obj;
    if (!chat_eval(c, e->a, &obj)) return false;
    if (obj.kind == CV_UNDEF) return undefined_error(c, e, obj);
    if (obj.kind == CV_DICT) return get_key(c, e, obj, e->s, e->n, true, out);
    if (obj.kind == CV_STR || obj.kind == CV_LIST)
        return member_of_sequence(c, e, obj, e->s, e->n, out);
    out->kind = CV_UNDEF;
    out->u.str.s = e->s;
    out->u.str.n = e->n;
    return true;
}

/* Byte offsets of code points in s (n + 1 entries, the last = len). */
static bool code_points(chat_ctx *c, chat_value s, size_t **off, size_t *n)
{
    size_t count = 0;
    for (size_t i = 0; i < s.u.str.n; i += chat_utf8_len((unsigned char)s.u.str.s[i])) count++;
    size_t *o = chat_arena_alloc(&c->arena, (count + 1) * sizeof(*o));
    if (!o) return chat_oom(c);
    size_t k = 0;
    for (size_t i = 0; i < s.u.str.n; i += chat_utf8_len((unsigned char)s.u.str.s[i])) o[k++] = i;
    o[k] = s.u.str.n;
    *off = o;
    *n = count;
    return true;
}

static chat_value str_range(chat_value s, const size_t *off, size_t i, size_t j)
{
    return chat_str(s.u.str.s + off[i], off[j] - off[i]);
}

static bool eval_index(chat_ctx *c, const chat_node *e, chat_value obj, chat_value idx,
                       chat_value *out)
{
    size_t *off = NULL, n = 0;
    out->kind = CV_UNDEF;
    out->u.str.s = NULL;
    if (idx.kind == CV_BOOL) idx = chat_int(idx.u.b);
    if (idx.kind == CV_STR) return member_of_sequence(c, e, obj, idx.u.str.s, idx.u.str.n, out);
    if (idx.kind != CV_INT) return true; /* jinja2: undefined */
    if (obj.kind == CV_LIST)
        n = obj.u.list->n;
    else if (!code_points(c, obj, &off, &n))
        return false;
    int64_t i = idx.u.i < 0 ? idx.u.i + (int64_t)n : idx.u.i;
    if (i < 0 || i >= (int64_t)n) return true;
    *out = obj.kind == CV_LIST ? obj.u.list->v[i] : str_range(obj, off, (size_t)i, (size_t)i + 1);
    return true;
}

static bool eval_item(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value obj, idx;
    if (!chat_eval(c, e->a, &obj) || !chat_eval(c, e->b, &idx)) return false;
    if (obj.kind == CV_UNDEF) return undefined_error(c, e, obj);
    if (obj.kind == CV_DICT) {
        out->kind = CV_UNDEF; /* keys are strings: any other key is missing */
        out->u.str.s = NULL;
        if (idx.kind != CV_STR) return true;
        return get_key(c, e, obj, idx.u.str.s, idx.u.str.n, false, out);
    }
    if ((obj.kind == CV_LIST && !obj.u.list->view) || obj.kind == CV_STR)
        return eval_index(c, e, obj, idx, out);
    out->kind = CV_UNDEF;
    out->u.str.s = NULL;
    return true;
}

/* Python's slice.indices: one bound, or its default (def) when none. */
static bool slice_bound(chat_ctx *c, const chat_node *e, int64_t len, int64_t step, bool start,
                        int64_t *out)
{
    chat_value v = {.kind = CV_NONE};
    if (e && !chat_eval(c, e, &v)) return false;
    if (v.kind == CV_NONE) {
        *out = step > 0 ? (start ? 0 : len) : (start ? len - 1 : -1);
        return true;
    }
    if (v.kind != CV_INT) return chat_fail(c, e, "slice indices must be integers");
    int64_t x = v.u.i;
    if (x < 0) {
        x += len;
        if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= len)
        x = step < 0 ? len - 1 : len;
    *out = x;
    return true;
}

static bool slice_step(chat_ctx *c, const chat_node *e, int64_t *step)
{
    chat_value v = {.kind = CV_NONE};
    *step = 1;
    if (e && !chat_eval(c, e, &v)) return false;
    if (v.kind == CV_NONE) return true;
    if (v.kind != CV_INT || v.u.i == 0)
        return chat_fail(c, e, "slice step must be a non-zero integer");
    *step = v.u.i;
    return true;
}

static bool eval_slice(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value obj;
    size_t *off = NULL, n = 0;
    int64_t step, lo, hi;
    if (!chat_eval(c, e->a, &obj)) return false;
    if (obj.kind == CV_UNDEF) return undefined_error(c, e, obj);
    if ((obj.kind != CV_LIST && obj.kind != CV_STR) || (obj.kind == CV_LIST && obj.u.list->view))
        return chat_fail(c, e, "cannot slice a %s", chat_type_name(obj));
    if (obj.kind == CV_LIST)
        n = obj.u.list->n;
    else if (!code_points(c, obj, &off, &n))
        return false;
    if (!slice_step(c, e->d, &step) || !slice_bound(c, e->b, (int64_t)n, step, true, &lo) ||
        !slice_bound(c, e->c, (int64_t)n, step, false, &hi))
        return false;
    if (obj.kind == CV_STR && step == 1) {
        *out = hi > lo ? str_range(obj, off, (size_t)lo, (size_t)hi) : chat_str("", 0);
        return true;
    }
    chat_list *l = chat_list_new(&c->arena, 0);
    chat_buf b = {0};
    if (!l) return chat_oom(c);
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) {
        if (obj.kind == CV_STR) {
            chat_value ch = str_range(obj, off, (size_t)i, (size_t)i + 1);
            chat_buf_put(&b, ch.u.str.s, ch.u.str.n);
        } else if (!chat_list_push(&c->arena, l, obj.u.list->v[i]))
            return chat_oom(c);
    }
    if (obj.kind == CV_LIST) {
        out->kind = CV_LIST;
        out->u.list = l;
        return true;
    }
    char *s = b.oom ? NULL : chat_arena_strndup(&c->arena, b.p ? b.p : "", b.n);
    free(b.p);
    if (!s) return chat_oom(c);
    *out = chat_str(s, strlen(s));
    return true;
}

static bool eval_seq(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, 0);
    chat_dict *d = e->kind == N_DICT ? chat_dict_new(&c->arena, 0) : NULL;
    if (!l || (e->kind == N_DICT && !d)) return chat_oom(c);
    l->tuple = e->kind == N_TUPLE;
    for (const chat_node *i = e->a; i; i = i->next) {
        chat_value k, v;
        if (e->kind != N_DICT) {
            if (!chat_eval(c, i, &v)) return false;
            if (!chat_list_push(&c->arena, l, v)) return chat_oom(c);
            continue;
        }
        if (!chat_eval(c, i->a, &k) || !chat_eval(c, i->b, &v)) return false;
        if (k.kind != CV_STR)
            return chat_fail(c, i, "dict keys other than strings are not supported");
        if (!chat_dict_set(&c->arena, d, k.u.str.s, k.u.str.n, v)) return chat_oom(c);
    }
    out->kind = d ? CV_DICT : CV_LIST;
    if (d)
        out->u.dict = d;
    else
        out->u.list = l;
    return true;
}

static bool eval_call(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value f;
    if (e->a->kind == N_ATTR) {
        chat_value obj;
        if (!chat_eval(c, e->a->a, &obj)) return false;
        if (obj.kind == CV_UNDEF) return undefined_error(c, e, obj);
        return chat_call_method(c, e, obj, e->a->s, e->a->n, out);
    }
    if (!chat_eval(c, e->a, &f)) return false;
    if (f.kind == CV_UNDEF) return undefined_error(c, e, f);
    if (f.kind != CV_FUNC) return chat_fail(c, e, "'%s' object is not callable", chat_type_name(f));
    return chat_call_func(c, e, f.u.func, out);
}

static bool eval_logic(chat_ctx *c, const chat_node *e, chat_value *out)
{
    if (!chat_eval(c, e->a, out)) return false;
    bool t = chat_truthy(*out);
    if ((e->kind == N_AND && !t) || (e->kind == N_OR && t)) return true;
    return chat_eval(c, e->b, out);
}

static bool eval_compare(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value left, right;
    bool r = true;
    if (!chat_eval(c, e->a, &left)) return false;
    for (const chat_node *op = e->b; op && r; op = op->next) {
        if (!chat_eval(c, op->a, &right) || !chat_compare(c, op, left, right, &r)) return false;
        left = right;
    }
    *out = chat_bool(r);
    return true;
}

static bool eval_cond(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value t;
    if (!chat_eval(c, e->a, &t)) return false;
    if (chat_truthy(t)) return chat_eval(c, e->b, out);
    if (e->c) return chat_eval(c, e->c, out);
    out->kind = CV_UNDEF;
    out->u.str.s = NULL;
    return true;
}

static bool eval_name(chat_ctx *c, const chat_node *e, chat_value *out)
{
    for (chat_frame *f = c->scope; f; f = f->parent) {
        chat_value *v = chat_dict_get(f->vars, e->s, e->n);
        if (v) {
            *out = *v;
            return true;
        }
    }
    out->kind = CV_UNDEF;
    out->u.str.s = e->s;
    out->u.str.n = e->n;
    return true;
}

static bool eval_unary(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value v;
    if (!chat_eval(c, e->a, &v)) return false;
    if (e->kind == N_NOT) {
        *out = chat_bool(!chat_truthy(v));
        return true;
    }
    if (e->kind == N_NEG) return chat_negate(c, e, v, out);
    if (v.kind != CV_INT && v.kind != CV_FLOAT && v.kind != CV_BOOL)
        return chat_fail(c, e, "bad operand type for unary +: '%s'", chat_type_name(v));
    *out = v.kind == CV_BOOL ? chat_int(v.u.b) : v;
    return true;
}

static bool eval_filter_or_test(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value v;
    bool r;
    if (!chat_eval(c, e->a, &v)) return false;
    if (e->kind == N_FILTER) return chat_apply_filter(c, e, v, out);
    if (!chat_apply_test(c, e, v, &r)) return false;
    *out = chat_bool(e->ival ? !r : r);
    return true;
}

static bool eval_binary(chat_ctx *c, const chat_node *e, chat_value *out)
{
    chat_value a, b;
    return chat_eval(c, e->a, &a) && chat_eval(c, e->b, &b) && chat_binary(c, e, a, b, out);
}

bool chat_eval(chat_ctx *c, const chat_node *e, chat_value *out)
{
    switch (e->kind) {
    case N_STR: *out = chat_str(e->s, e->n); return true;
    case N_INT: *out = chat_int(e->ival); return true;
    case N_FLOAT:
        out->kind = CV_FLOAT;
        out->u.f = e->fval;
        return true;
    case N_BOOL: *out = chat_bool(e->ival != 0); return true;
    case N_NONE: out->kind = CV_NONE; return true;
    case N_LIST:
    case N_TUPLE:
    case N_DICT: return eval_seq(c, e, out);
    case N_NAME: return eval_name(c, e, out);
    case N_ATTR: return eval_attr(c, e, out);
    case N_ITEM: return eval_item(c, e, out);
    case N_SLICE: return eval_slice(c, e, out);
    case N_CALL: return eval_call(c, e, out);
    case N_FILTER:
    case N_TEST: return eval_filter_or_test(c, e, out);
    case N_NOT:
    case N_NEG:
    case N_POS: return eval_unary(c, e, out);
    case N_BIN: return eval_binary(c, e, out);
    case N_AND:
    case N_OR: return eval_logic(c, e, out);
    case N_CMP: return eval_compare(c, e, out);
    case N_COND: return eval_cond(c, e, out);
    default: return chat_fail(c, e, "internal: not an expression");
    }
}
