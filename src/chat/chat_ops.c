/* chat_ops: Python's operators on chat values: + - * / // % ** ~, the
 * comparisons and `in`, unary minus.
 *
 * Design: ints are int64 and an overflow is an error (Python would go on
 * with a big integer); bool counts as int, as in Python. `~` joins str() of
 * both sides (undefined is ""), `+` needs two numbers, strings or lists.
 *
 * Not here: `%` string formatting, ordering of lists, sets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"

static bool op_is(const chat_node *n, const char *op)
{
    return n->n == strlen(op) && memcmp(n->s, op, n->n) == 0;
}

static bool as_number(chat_value v, bool *is_int, int64_t *i, double *f)
{
    if (v.kind == CV_BOOL) v = chat_int(v.u.b);
    if (v.kind == CV_INT) {
        *i = v.u.i;
        *f = (double)v.u.i;
        return true;
    }
    if (v.kind != CV_FLOAT) return false;
    *is_int = false;
    *f = v.u.f;
    return true;
}

static bool int_op(chat_ctx *c, const chat_node *n, int64_t a, int64_t b, chat_value *out)
{
    int64_t r = 0;
    bool ovf = false;
    if (op_is(n, "+"))
        ovf = __builtin_add_overflow(a, b, &r);
    else if (op_is(n, "-"))
        ovf = __builtin_sub_overflow(a, b, &r);
    else if (op_is(n, "*"))
        ovf = __builtin_mul_overflow(a, b, &r);
    else if (op_is(n, "//") || op_is(n, "%")) {
        if (b == 0) return chat_fail(c, n, "integer division or modulo by zero");
        if (a == INT64_MIN && b == -1)
            ovf = true;
        else {
            int64_t q = a / b, m = a % b;
            if (m != 0 && ((m < 0) != (b < 0))) {
                q--;
                m += b;
            }
            r = op_is(n, "//") ? q : m;
        }
    } else if (op_is(n, "**")) {
        r = 1;
        for (int64_t k = 0; k < b && !ovf; k++) ovf = __builtin_mul_overflow(r, a, &r);
    }
    if (ovf) return chat_fail(c, n, "integer overflow in '%.*s'", (int)n->n, n->s);
    *out = chat_int(r);
    return true;
}

static bool float_op(chat_ctx *c, const chat_node *n, double a, double b, chat_value *out)
{
    double r;
    if (op_is(n, "+"))
        r = a + b;
    else if (op_is(n, "-"))
        r = a - b;
    else if (op_is(n, "*"))
        r = a * b;
    else if (op_is(n, "**"))
        r = pow(a, b);
    else {
        if (b == 0) return chat_fail(c, n, "division by zero");
        if (op_is(n, "/"))
            r = a / b;
        else if (op_is(n, "//"))
            r = floor(a / b);
        else {
            r = fmod(a, b);
            if (r != 0 && ((r < 0) != (b < 0))) r += b;
        }
    }
    out->kind = CV_FLOAT;
    out->u.f = r;
    return true;
}

static bool numeric(chat_ctx *c, const chat_node *n, chat_value a, chat_value b, chat_value *out)
{
    bool ints = true;
    int64_t ia = 0, ib = 0;
    double fa = 0, fb = 0;
    as_number(a, &ints, &ia, &fa);
    as_number(b, &ints, &ib, &fb);
    bool neg_pow = op_is(n, "**") && ib < 0;
    if (ints && !op_is(n, "/") && !neg_pow) return int_op(c, n, ia, ib, out);
    return float_op(c, n, fa, fb, out);
}

static bool concat(chat_ctx *c, const chat_node *n, chat_value a, chat_value b, chat_value *out)
{
    chat_buf buf = {0};
    const char *why = NULL;
    bool ok = chat_value_str(&buf, a, &why) && chat_value_str(&buf, b, &why);
    char *s = ok && !buf.oom ? chat_arena_strndup(&c->arena, buf.p ? buf.p : "", buf.n) : NULL;
    size_t len = buf.n;
    free(buf.p);
    if (!ok) return chat_fail(c, n, "%s", why);
    if (!s) return chat_oom(c);
    *out = chat_str(s, len);
    return true;
}

static bool join_lists(chat_ctx *c, chat_value a, chat_value b, chat_value *out)
{
    chat_list *l = chat_list_new(&c->arena, a.u.list->n + b.u.list->n);
    if (!l) return chat_oom(c);
    for (size_t i = 0; i < a.u.list->n; i++) (void)chat_list_push(&c->arena, l, a.u.list->v[i]);
    for (size_t i = 0; i < b.u.list->n; i++) (void)chat_list_push(&c->arena, l, b.u.list->v[i]);
    l->tuple = a.u.list->tuple;
    out->kind = CV_LIST;
    out->u.list = l;
    return true;
}

static bool repeat_list(chat_ctx *c, const chat_node *n, chat_value l, int64_t k, chat_value *out)
{
    if (k < 0) k = 0;
    if (k > 0 && l.u.list->n > (size_t)(1 << 20) / (size_t)k)
        return chat_fail(c, n, "list repetition too large");
    chat_list *r = chat_list_new(&c->arena, l.u.list->n * (size_t)k);
    if (!r) return chat_oom(c);
    for (int64_t i = 0; i < k; i++)
        for (size_t j = 0; j < l.u.list->n; j++) (void)chat_list_push(&c->arena, r, l.u.list->v[j]);
    r->tuple = l.u.list->tuple;
    out->kind = CV_LIST;
    out->u.list = r;
    return true;
}

static bool repeat(chat_ctx *c, const chat_node *n, chat_value s, int64_t k, chat_value *out)
{
    if (k < 0) k = 0;
    if (k > 0 && s.u.str.n > (size_t)(1 << 24) / (size_t)k)
        return chat_fail(c, n, "string repetition too large");
    size_t len = s.u.str.n * (size_t)k;
    char *p = chat_arena_alloc(&c->arena, len + 1);
    if (!p) return chat_oom(c);
    for (int64_t i = 0; i < k; i++) memcpy(p + (size_t)i * s.u.str.n, s.u.str.s, s.u.str.n);
    p[len] = 0;
    *out = chat_str(p, len);
    return true;
}

bool chat_binary(chat_ctx *c, const chat_node *n, chat_value a, chat_value b, chat_value *out)
{
    bool dummy = true;
    int64_t i = 0;
    double f = 0;
    if (op_is(n, "~")) return concat(c, n, a, b, out);
    if (a.kind == CV_UNDEF || b.kind == CV_UNDEF) {
        chat_value u = a.kind == CV_UNDEF ? a : b;
        if (u.u.str.s) return chat_fail(c, n, "'%.*s' is undefined", (int)u.u.str.n, u.u.str.s);
        return chat_fail(c, n, "use of an undefined value");
    }
    if (as_number(a, &dummy, &i, &f) && as_number(b, &dummy, &i, &f))
        return numeric(c, n, a, b, out);
    if (op_is(n, "+") && a.kind == CV_STR && b.kind == CV_STR) return concat(c, n, a, b, out);
    if (op_is(n, "+") && a.kind == CV_LIST && b.kind == CV_LIST && !a.u.list->view &&
        !b.u.list->view && a.u.list->tuple == b.u.list->tuple)
        return join_lists(c, a, b, out);
    if (op_is(n, "*") && a.kind == CV_STR && (b.kind == CV_INT || b.kind == CV_BOOL))
        return repeat(c, n, a, b.kind == CV_INT ? b.u.i : b.u.b, out);
    if (op_is(n, "*") && b.kind == CV_STR && (a.kind == CV_INT || a.kind == CV_BOOL))
        return repeat(c, n, b, a.kind == CV_INT ? a.u.i : a.u.b, out);
    bool a_list = a.kind == CV_LIST && !a.u.list->view,
         b_list = b.kind == CV_LIST && !b.u.list->view;
    if (op_is(n, "*") && a_list && (b.kind == CV_INT || b.kind == CV_BOOL))
        return repeat_list(c, n, a, b.kind == CV_INT ? b.u.i : b.u.b, out);
    if (op_is(n, "*") && b_list && (a.kind == CV_INT || a.kind == CV_BOOL))
        return repeat_list(c, n, b, a.kind == CV_INT ? a.u.i : a.u.b, out);
    if (op_is(n, "%") && a.kind == CV_STR)
        return chat_fail(c, n, "unsupported construct '%%' string formatting");
    return chat_fail(c, n, "unsupported operand types for %.*s: '%s' and '%s'", (int)n->n, n->s,
                     chat_type_name(a), chat_type_name(b));
}

bool chat_negate(chat_ctx *c, const chat_node *n, chat_value a, chat_value *out)
{
    if (a.kind == CV_BOOL) a = chat_int(a.u.b);
    if (a.kind == CV_INT) {
        if (a.u.i == INT64_MIN) return chat_fail(c, n, "integer overflow in '-'");
        *out = chat_int(-a.u.i);
        return true;
    }
    if (a.kind == CV_FLOAT) {
        out->kind = CV_FLOAT;
        out->u.f = -a.u.f;
        return true;
    }
    return chat_fail(c, n, "bad operand type for unary -: '%s'", chat_type_name(a));
}

static bool contains(chat_ctx *c, const chat_node *op, chat_value item, chat_value box, bool *out)
{
    *out = false;
    if (box.kind == CV_STR) {
        if (item.kind != CV_STR)
            return chat_fail(c, op, "'in <string>' requires string as left operand, not %s",
                             chat_type_name(item));
        if (item.u.str.n == 0) return *out = true, true;
        for (size_t i = 0; i + item.u.str.n <= box.u.str.n && !*out; i++)
            *out = memcmp(box.u.str.s + i, item.u.str.s, item.u.str.n) == 0;
        return true;
    }
    if (box.kind == CV_LIST) {
        bool deep = false;
        for (size_t i = 0; i < box.u.list->n && !*out && !deep; i++)
            *out = chat_equal(item, box.u.list->v[i], &deep);
        return deep ? chat_fail(c, op, "comparing values nested too deeply") : true;
    }
    if (box.kind == CV_UNDEF) return true; /* iterates as empty */
    if (box.kind == CV_DICT && box.u.dict->kind == CD_PLAIN) {
        if (item.kind == CV_LIST || item.kind == CV_DICT)
            return chat_fail(c, op, "unhashable type: '%s'", chat_type_name(item));
        *out = item.kind == CV_STR && chat_dict_get(box.u.dict, item.u.str.s, item.u.str.n);
        return true;
    }
    return chat_fail(c, op, "argument of type '%s' is not iterable", chat_type_name(box));
}

static int str_cmp(chat_value a, chat_value b)
{
    size_t n = a.u.str.n < b.u.str.n ? a.u.str.n : b.u.str.n;
    int r = memcmp(a.u.str.s, b.u.str.s, n);
    if (r) return r < 0 ? -1 : 1;
    return a.u.str.n < b.u.str.n ? -1 : a.u.str.n > b.u.str.n;
}

static bool order(chat_ctx *c, const chat_node *op, chat_value a, chat_value b, int *out)
{
    bool dummy = true;
    int64_t ia = 0, ib = 0;
    double fa = 0, fb = 0;
    if (a.kind == CV_STR && b.kind == CV_STR) {
        *out = str_cmp(a, b);
        return true;
    }
    if (as_number(a, &dummy, &ia, &fa) && as_number(b, &dummy, &ib, &fb)) {
        if (a.kind != CV_FLOAT && b.kind != CV_FLOAT)
            *out = (ia > ib) - (ia < ib);
        else
            *out = (fa > fb) - (fa < fb);
        if (isnan(fa) || isnan(fb)) *out = 2; /* every ordering false */
        return true;
    }
    return chat_fail(c, op, "'%.*s' not supported between '%s' and '%s'", (int)op->n, op->s,
                     chat_type_name(a), chat_type_name(b));
}

bool chat_compare(chat_ctx *c, const chat_node *op, chat_value a, chat_value b, bool *out)
{
    int r = 0;
    bool deep = false;
    if (op_is(op, "==") || op_is(op, "!=")) {
        *out = chat_equal(a, b, &deep) == op_is(op, "==");
        return deep ? chat_fail(c, op, "comparing values nested too deeply") : true;
    }
    if (op_is(op, "in")) return contains(c, op, a, b, out);
    if (op_is(op, "not in")) {
        if (!contains(c, op, a, b, out)) return false;
        *out = !*out;
        return true;
    }
    if (!order(c, op, a, b, &r)) return false;
    if (op_is(op, "<"))
        *out = r == -1;
    else if (op_is(op, "<="))
        *out = r == -1 || r == 0;
    else if (op_is(op, ">"))
        *out = r == 1;
    else
        *out = r == 1 || r == 0;
    return true;
}
