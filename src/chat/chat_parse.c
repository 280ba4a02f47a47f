/* chat_parse: tokens to a syntax tree, by recursive descent with jinja2's
 * precedence (parser.py): conditional < or < and < not < comparison (and
 * `in`) < + - < ~ < * / // % < ** < unary - + < primary with postfix
 * (.attr, [index or slice], call), then filters `|f(args)` and tests
 * `is [not] t arg`, which bind tighter than any operator.
 *
 * Design: every construct jinja2 has and this module does not is refused
 * here, naming it and its line and column, so a template either compiles
 * to something the evaluator renders exactly or not at all. Filter and test
 * names are checked against chat_builtins.c's tables now, as jinja2 does.
 *
 * Not here: macro, call, filter blocks, set blocks, include, import, from,
 * extends, block, raw, with, autoescape, do, recursive loops, *args. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chat_impl.h"

typedef struct parser {
    chat_arena *a;
    const chat_token *t;
    size_t pos; /* the token list ends with TK_EOF: no bound needed */
    int depth;
    int loops; /* for bodies open around the current tag */
    ft_error *err;
    bool failed;
} parser;

static const char *const unsupported_tags[] = {
    "macro", "call", "filter",     "include", "import",   "from",  "extends", "block",
    "raw",   "with", "autoescape", "do",      "endmacro", "trans", NULL};

static const chat_token *cur(const parser *P) { return &P->t[P->pos]; }

static __attribute__((format(printf, 3, 4))) chat_node *fail_at(parser *P, const chat_token *t,
                                                                const char *fmt, ...)
{
    if (P->failed) return NULL;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ft_fail(P->err, FT_EINVAL, "chat template: line %d, column %d: %s", t->line, t->col, what);
    P->failed = true;
    return NULL;
}

static chat_node *oom(parser *P)
{
    if (!P->failed) ft_fail(P->err, FT_ENOMEM, "chat template: out of memory");
    P->failed = true;
    return NULL;
}

static bool tok_is(const chat_token *t, chat_tok_kind k, const char *s)
{
    return t->kind == k && (!s || (t->n == strlen(s) && memcmp(t->s, s, t->n) == 0));
}

static bool is_op(const parser *P, const char *s) { return tok_is(cur(P), TK_OP, s); }

static bool is_name(const parser *P, const char *s) { return tok_is(cur(P), TK_NAME, s); }

static bool skip_op(parser *P, const char *s)
{
    if (!is_op(P, s)) return false;
    P->pos++;
    return true;
}

static bool skip_name(parser *P, const char *s)
{
    if (!is_name(P, s)) return false;
    P->pos++;
    return true;
}

static bool expect_op(parser *P, const char *s)
{
    if (skip_op(P, s)) return true;
    fail_at(P, cur(P), "expected '%s', got '%.*s'", s, (int)cur(P)->n, cur(P)->s);
    return false;
}

static chat_node *node(parser *P, chat_node_kind kind, const chat_token *at)
{
    chat_node *n = chat_arena_alloc(P->a, sizeof(*n));
    if (!n) return oom(P);
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    return n;
}

static chat_node *parse_expr(parser *P);
static chat_node *parse_or(parser *P);
static chat_node *parse_unary(parser *P, bool with_filter);
static chat_node *parse_primary(parser *P);
static chat_node *parse_postfix(parser *P, chat_node *e);
static chat_node *parse_body(parser *P, const char *const *ends);

/* ---- expressions ---- */

/* n's height from its children; chains like a+b+c+... grow one level per
 * operator without recursing in the parser, so the evaluator's recursion
 * is bounded here (CHAT_MAX_HEIGHT). NULL (failed) for a NULL n. */
static chat_node *tall(parser *P, chat_node *n)
{
    if (!n) return NULL;
    const chat_node *kids[] = {n->a, n->b, n->c, n->d};
    int h = 0;
    for (int i = 0; i < 4; i++)
        if (kids[i] && kids[i]->height > h) h = kids[i]->height;
    n->height = h + 1;
    if (n->height > CHAT_MAX_HEIGHT) {
        fail_at(P, &(chat_token){.line = n->line, .col = n->col},
                "nesting deeper than %d (an operator chain)", CHAT_MAX_HEIGHT);
        return NULL;
    }
    return n;
}

static bool enter(parser *P)
{
    if (++P->depth <= CHAT_MAX_DEPTH) return true;
    fail_at(P, cur(P), "nesting deeper than %d", CHAT_MAX_DEPTH);
    return false;
}

static chat_node *binary(parser *P, chat_node_kind k, const chat_token *op, chat_node *l,
                         chat_node *r)
{
    if (!l || !r) return NULL;
    chat_node *n = node(P, k, op);
    if (!n) return NULL;
    n->a = l;
    n->b = r;
    n->s = op->s;
    n->n = op->n;
    return tall(P, n);
}

/* expr, or a tuple `a, b` */
static chat_node *parse_tuple(parser *P, bool condexpr)
{
    const chat_token *at = cur(P);
    chat_node *e = condexpr ? parse_expr(P) : parse_or(P);
    if (!e || !is_op(P, ",")) return e;
    chat_node *t = node(P, N_TUPLE, at), **tail = &t->a;
    if (!t) return NULL;
    *tail = e;
    tail = &e->next;
    while (skip_op(P, ",")) {
        if (is_op(P, ")") || cur(P)->kind == TK_VAR_END || cur(P)->kind == TK_BLOCK_END) break;
        if (!(*tail = condexpr ? parse_expr(P) : parse_or(P))) return NULL;
        tail = &(*tail)->next;
    }
    return t;
}

static chat_node *parse_expr(parser *P)
{
    if (!enter(P)) return NULL;
    chat_node *e = parse_or(P);
    while (e && is_name(P, "if")) {
        chat_node *c = node(P, N_COND, cur(P));
        P->pos++;
        if (!c || !(c->a = parse_or(P))) return NULL;
        c->b = e;
        if (skip_name(P, "else") && !(c->c = parse_expr(P))) return NULL;
        e = tall(P, c);
    }
    P->depth--;
    return e;
}

static chat_node *parse_not(parser *P);

static chat_node *parse_and(parser *P)
{
    chat_node *e = parse_not(P);
    while (e && is_name(P, "and")) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_AND, op, e, parse_not(P));
    }
    return e;
}

static chat_node *parse_or(parser *P)
{
    chat_node *e = parse_and(P);
    while (e && is_name(P, "or")) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_OR, op, e, parse_and(P));
    }
    return e;
}

static chat_node *parse_math1(parser *P);

static chat_node *parse_compare(parser *P)
{
    static const char *ops[] = {"==", "!=", "<", "<=", ">", ">=", NULL};
    chat_node *e = parse_math1(P);
    chat_node *cmp = NULL, **tail = NULL;
    for (;;) {
        const chat_token *op = cur(P);
        bool match = false;
        for (int i = 0; ops[i] && !match; i++) match = is_op(P, ops[i]);
        bool in = is_name(P, "in");
        bool not_in = is_name(P, "not") && tok_is(&P->t[P->pos + 1], TK_NAME, "in");
        if (!e || !(match || in || not_in)) break;
        P->pos += not_in ? 2 : 1;
        if (!cmp) {
            if (!(cmp = node(P, N_CMP, op))) return NULL;
            cmp->a = e;
            tail = &cmp->b;
        }
        chat_node *o = node(P, N_CMPOP, op);
        if (!o || !(o->a = parse_math1(P))) return NULL;
        o->s = not_in ? "not in" : op->s;
        o->n = not_in ? 6 : op->n;
        *tail = o;
        tail = &o->next;
    }
    return cmp ? cmp : e;
}

static chat_node *parse_not(parser *P)
{
    if (!is_name(P, "not")) return parse_compare(P);
    chat_node *n = node(P, N_NOT, cur(P));
    P->pos++;
    if (!n || !enter(P) || !(n->a = parse_not(P))) return NULL;
    P->depth--;
    return n;
}

static chat_node *parse_pow(parser *P)
{
    chat_node *e = parse_unary(P, true);
    while (e && is_op(P, "**")) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_BIN, op, e, parse_unary(P, true));
    }
    return e;
}

static chat_node *parse_math2(parser *P)
{
    chat_node *e = parse_pow(P);
    while (e && (is_op(P, "*") || is_op(P, "/") || is_op(P, "//") || is_op(P, "%"))) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_BIN, op, e, parse_pow(P));
    }
    return e;
}

static chat_node *parse_concat(parser *P)
{
    chat_node *e = parse_math2(P);
    while (e && is_op(P, "~")) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_BIN, op, e, parse_math2(P));
    }
    return e;
}

static chat_node *parse_math1(parser *P)
{
    chat_node *e = parse_concat(P);
    while (e && (is_op(P, "+") || is_op(P, "-"))) {
        const chat_token *op = &P->t[P->pos++];
        e = binary(P, N_BIN, op, e, parse_concat(P));
    }
    return e;
}

/* (args) after the '(' : positional, then name=value. */
static chat_node *parse_args(parser *P)
{
    chat_node *head = NULL, **tail = &head;
    while (!is_op(P, ")")) {
        if (is_op(P, "*") || is_op(P, "**"))
            return fail_at(P, cur(P), "unsupported construct '*args'/'**kwargs'");
        chat_node *arg = node(P, N_ARG, cur(P));
        if (!arg) return NULL;
        if (cur(P)->kind == TK_NAME && tok_is(&P->t[P->pos + 1], TK_OP, "=")) {
            arg->s = cur(P)->s;
            arg->n = cur(P)->n;
            P->pos += 2;
        }
        if (!(arg->a = parse_expr(P))) return NULL;
        *tail = arg;
        tail = &arg->next;
        if (!skip_op(P, ",")) break;
    }
    if (!expect_op(P, ")")) return NULL;
    return head ? head : node(P, N_ARG, cur(P)); /* empty list: a marker */
}

static chat_node *parse_call(parser *P, chat_node *callee)
{
    chat_node *c = node(P, N_CALL, cur(P));
    P->pos++;
    if (!c) return NULL;
    c->a = callee;
    if (!(c->b = parse_args(P))) return NULL;
    if (!c->b->a) c->b = NULL;
    return tall(P, c);
}

static chat_node *parse_subscript(parser *P, chat_node *obj)
{
    chat_node *n = node(P, N_ITEM, cur(P));
    P->pos++;
    if (!n) return NULL;
    n->a = obj;
    chat_node *parts[3] = {NULL, NULL, NULL};
    int k = 0;
    for (;;) {
        if (!is_op(P, ":") && !is_op(P, "]") && !(parts[k] = parse_expr(P))) return NULL;
        if (is_op(P, ",")) return fail_at(P, cur(P), "unsupported construct 'tuple subscript'");
        if (!skip_op(P, ":")) break;
        if (++k > 2) return fail_at(P, cur(P), "bad slice");
        n->kind = N_SLICE;
    }
    if (!expect_op(P, "]")) return NULL;
    if (n->kind == N_ITEM && !parts[0]) return fail_at(P, cur(P), "empty subscript");
    n->b = parts[0];
    n->c = parts[1];
    n->d = parts[2];
    return tall(P, n);
}

static chat_node *parse_postfix(parser *P, chat_node *e)
{
    while (e) {
        if (is_op(P, ".")) {
            P->pos++;
            const chat_token *t = cur(P);
            if (t->kind != TK_NAME) return fail_at(P, t, "expected an attribute name after '.'");
            chat_node *n = node(P, N_ATTR, t);
            if (!n) return NULL;
            n->a = e;
            n->s = t->s;
            n->n = t->n;
            P->pos++;
            e = tall(P, n);
        } else if (is_op(P, "["))
            e = parse_subscript(P, e);
        else if (is_op(P, "("))
            e = parse_call(P, e);
        else
            break;
    }
    return e;
}

static chat_node *parse_filter(parser *P, chat_node *e)
{
    const chat_token *t = cur(P);
    if (t->kind != TK_NAME) return fail_at(P, t, "expected a filter name after '|'");
    int idx = chat_filter_index(t->s, t->n);
    if (idx < 0) return fail_at(P, t, "unsupported filter '%.*s'", (int)t->n, t->s);
    chat_node *f = node(P, N_FILTER, t);
    if (!f) return NULL;
    f->a = e;
    f->s = t->s;
    f->n = t->n;
    f->builtin = idx;
    P->pos++;
    if (is_op(P, "(")) {
        P->pos++;
        if (!(f->b = parse_args(P))) return NULL;
        if (!f->b->a) f->b = NULL;
    }
    return tall(P, f);
}

/* jinja2 reads a test's one argument without parentheses from any name
 * but else/or/and (`x is divisibleby 3`; `x is defined if ...` is then a
 * syntax error there too), a literal or a bracket. */
static bool test_arg_follows(const parser *P)
{
    const chat_token *t = cur(P);
    if (t->kind == TK_NAME)
        return !tok_is(t, TK_NAME, "else") && !tok_is(t, TK_NAME, "or") &&
               !tok_is(t, TK_NAME, "and");
    return t->kind == TK_STRING || t->kind == TK_INT || t->kind == TK_FLOAT ||
           tok_is(t, TK_OP, "[") || tok_is(t, TK_OP, "{");
}

static chat_node *parse_test(parser *P, chat_node *e)
{
    bool neg = skip_name(P, "not");
    const chat_token *t = cur(P);
    if (t->kind != TK_NAME) return fail_at(P, t, "expected a test name after 'is'");
    int idx = chat_test_index(t->s, t->n);
    if (idx < 0) return fail_at(P, t, "unsupported test '%.*s'", (int)t->n, t->s);
    chat_node *n = node(P, N_TEST, t);
    if (!n) return NULL;
    n->a = e;
    n->s = t->s;
    n->n = t->n;
    n->builtin = idx;
    n->ival = neg;
    P->pos++;
    if (is_op(P, "(")) {
        P->pos++;
        if (!(n->b = parse_args(P))) return NULL;
        if (!n->b->a) n->b = NULL;
    } else if (test_arg_follows(P)) {
        if (is_name(P, "is")) return fail_at(P, cur(P), "cannot chain tests with 'is'");
        chat_node *arg = node(P, N_ARG, cur(P));
        if (!arg || !(arg->a = parse_postfix(P, parse_primary(P)))) return NULL;
        n->b = arg;
    }
    return tall(P, n);
}

static chat_node *parse_filters(parser *P, chat_node *e)
{
    while (e) {
        if (skip_op(P, "|"))
            e = parse_filter(P, e);
        else if (skip_name(P, "is"))
            e = parse_test(P, e);
        else if (is_op(P, "("))
            e = parse_call(P, e);
        else
            break;
    }
    return e;
}

static chat_node *parse_unary(parser *P, bool with_filter)
{
    if (!enter(P)) return NULL;
    chat_node *e;
    if (is_op(P, "-") || is_op(P, "+")) {
        e = node(P, is_op(P, "-") ? N_NEG : N_POS, cur(P));
        P->pos++;
        if (e && !(e->a = parse_unary(P, false))) e = NULL;
    } else {
        e = parse_postfix(P, parse_primary(P));
    }
    if (with_filter) e = parse_filters(P, e);
    P->depth--;
    return e;
}

static chat_node *parse_seq(parser *P, chat_node_kind kind, const char *close)
{
    chat_node *n = node(P, kind, cur(P)), **tail;
    P->pos++;
    if (!n) return NULL;
    tail = &n->a;
    while (!is_op(P, close)) {
        chat_node *item = parse_expr(P);
        if (!item) return NULL;
        if (kind == N_DICT) {
            chat_node *pair = node(P, N_PAIR, cur(P));
            if (!pair || !expect_op(P, ":")) return NULL;
            pair->a = item;
            if (!(pair->b = parse_expr(P))) return NULL;
            item = pair;
        }
        *tail = item;
        tail = &item->next;
        if (!skip_op(P, ",")) break;
    }
    return expect_op(P, close) ? n : NULL;
}

static chat_node *parse_string(parser *P)
{
    chat_node *n = node(P, N_STR, cur(P));
    if (!n) return NULL;
    n->s = cur(P)->s;
    n->n = cur(P)->n;
    P->pos++;
    while (cur(P)->kind == TK_STRING) { /* 'a' 'b' is 'ab', as in jinja2 */
        char *s = chat_arena_alloc(P->a, n->n + cur(P)->n + 1);
        if (!s) return oom(P);
        memcpy(s, n->s, n->n);
        memcpy(s + n->n, cur(P)->s, cur(P)->n);
        n->s = s;
        n->n += cur(P)->n;
        P->pos++;
    }
    return n;
}

static chat_node *parse_name(parser *P)
{
    const chat_token *t = cur(P);
    static const char *const lits[] = {"true", "True", "false", "False", "none", "None", NULL};
    for (int i = 0; lits[i]; i++)
        if (tok_is(t, TK_NAME, lits[i])) {
            chat_node *n = node(P, i < 4 ? N_BOOL : N_NONE, t);
            if (n) n->ival = i < 2;
            P->pos++;
            return n;
        }
    chat_node *n = node(P, N_NAME, t);
    if (!n) return NULL;
    n->s = t->s;
    n->n = t->n;
    P->pos++;
    return n;
}

static chat_node *parse_primary(parser *P)
{
    const chat_token *t = cur(P);
    chat_node *n;
    switch (t->kind) {
    case TK_NAME: return parse_name(P);
    case TK_STRING: return parse_string(P);
    case TK_INT:
    case TK_FLOAT:
        if (!(n = node(P, t->kind == TK_INT ? N_INT : N_FLOAT, t))) return NULL;
        n->ival = t->ival;
        n->fval = t->fval;
        P->pos++;
        return n;
    case TK_OP:
        if (is_op(P, "[")) return parse_seq(P, N_LIST, "]");
        if (is_op(P, "{")) return parse_seq(P, N_DICT, "}");
        if (is_op(P, "(")) {
            P->pos++;
            if (is_op(P, ")")) return fail_at(P, t, "unsupported construct 'empty tuple'");
            n = parse_tuple(P, true);
            return n && expect_op(P, ")") ? n : NULL;
        }
        break;
    default: break;
    }
    return fail_at(P, t, "unexpected '%.*s'", (int)t->n, t->s);
}

/* ---- statements ---- */

static bool end_tag(parser *P)
{
    if (cur(P)->kind == TK_BLOCK_END) {
        P->pos++;
        return true;
    }
    fail_at(P, cur(P), "expected end of tag, got '%.*s'", (int)cur(P)->n, cur(P)->s);
    return false;
}

static chat_node *parse_if(parser *P, const chat_token *at)
{
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    chat_node *n = node(P, N_IF, at);
    if (!n || !(n->a = parse_tuple(P, false)) || !end_tag(P)) return NULL;
    n->b = parse_body(P, ends);
    if (P->failed) return NULL;
    const chat_token *end = cur(P);
    P->pos++;
    if (tok_is(end, TK_NAME, "elif")) {
        n->c = parse_if(P, end);
        return n->c ? n : NULL;
    }
    if (tok_is(end, TK_NAME, "else")) {
        static const char *const endif[] = {"endif", NULL};
        if (!end_tag(P)) return NULL;
        n->c = parse_body(P, endif);
        if (P->failed) return NULL;
        P->pos++;
    }
    return end_tag(P) ? n : NULL;
}

static bool parse_for_target(parser *P, chat_node *n)
{
    const chat_token *t = cur(P);
    if (t->kind != TK_NAME) return fail_at(P, t, "expected a loop variable"), false;
    n->s = t->s;
    n->n = t->n;
    P->pos++;
    if (skip_op(P, ",")) {
        t = cur(P);
        if (t->kind != TK_NAME) return fail_at(P, t, "expected a loop variable"), false;
        n->s2 = t->s;
        n->n2 = t->n;
        P->pos++;
        if (is_op(P, ","))
            return fail_at(P, cur(P), "unsupported construct 'three loop targets'"), false;
    }
    if (!skip_name(P, "in")) return fail_at(P, cur(P), "expected 'in'"), false;
    return true;
}

static chat_node *parse_for(parser *P, const chat_token *at)
{
    static const char *const ends[] = {"else", "endfor", NULL};
    static const char *const endfor[] = {"endfor", NULL};
    chat_node *n = node(P, N_FOR, at);
    if (!n || !parse_for_target(P, n) || !(n->a = parse_tuple(P, false))) return NULL;
    if (skip_name(P, "if") && !(n->d = parse_expr(P))) return NULL;
    if (is_name(P, "recursive")) return fail_at(P, cur(P), "unsupported construct 'recursive'");
    if (!end_tag(P)) return NULL;
    P->loops++;
    n->b = parse_body(P, ends);
    P->loops--;
    if (P->failed) return NULL;
    if (tok_is(&P->t[P->pos++], TK_NAME, "else")) {
        if (!end_tag(P)) return NULL;
        n->c = parse_body(P, endfor);
        if (P->failed) return NULL;
        P->pos++;
    }
    return end_tag(P) ? n : NULL;
}

static chat_node *parse_set(parser *P, const chat_token *at)
{
    chat_node *n = node(P, N_SET, at);
    const chat_token *t = cur(P);
    if (!n) return NULL;
    if (t->kind != TK_NAME) return fail_at(P, t, "expected a name after 'set'");
    n->s = t->s;
    n->n = t->n;
    P->pos++;
    if (skip_op(P, ".")) {
        if (cur(P)->kind != TK_NAME) return fail_at(P, cur(P), "expected an attribute name");
        n->s2 = cur(P)->s;
        n->n2 = cur(P)->n;
        P->pos++;
    }
    if (is_op(P, ","))
        return fail_at(P, cur(P), "unsupported construct 'set with several targets'");
    if (cur(P)->kind == TK_BLOCK_END || is_op(P, "|"))
        return fail_at(P, at, "unsupported construct 'set block'");
    if (!expect_op(P, "=") || !(n->a = parse_tuple(P, true))) return NULL;
    return end_tag(P) ? n : NULL;
}

static chat_node *parse_generation(parser *P, const chat_token *at)
{
    static const char *const ends[] = {"endgeneration", NULL};
    chat_node *n = node(P, N_BLOCK, at);
    if (!n || !end_tag(P)) return NULL;
    n->b = parse_body(P, ends);
    if (P->failed) return NULL;
    P->pos++;
    return end_tag(P) ? n : NULL;
}

static bool name_in(const chat_token *t, const char *const *names)
{
    for (int i = 0; names && names[i]; i++)
        if (tok_is(t, TK_NAME, names[i])) return true;
    return false;
}

static chat_node *parse_tag(parser *P)
{
    const chat_token *t = cur(P);
    if (t->kind != TK_NAME) return fail_at(P, t, "expected a tag name");
    P->pos++;
    if (tok_is(t, TK_NAME, "if")) return parse_if(P, t);
    if (tok_is(t, TK_NAME, "for")) return parse_for(P, t);
    if (tok_is(t, TK_NAME, "set")) return parse_set(P, t);
    if (tok_is(t, TK_NAME, "generation")) return parse_generation(P, t);
    if (tok_is(t, TK_NAME, "break") || tok_is(t, TK_NAME, "continue")) {
        if (!P->loops) return fail_at(P, t, "'%.*s' outside a loop", (int)t->n, t->s);
        chat_node *n = node(P, tok_is(t, TK_NAME, "break") ? N_BREAK : N_CONTINUE, t);
        return n && end_tag(P) ? n : NULL;
    }
    if (name_in(t, unsupported_tags))
        return fail_at(P, t, "unsupported construct '%.*s'", (int)t->n, t->s);
    return fail_at(P, t, "unexpected tag '%.*s'", (int)t->n, t->s);
}

static chat_node *parse_output(parser *P)
{
    chat_node *n = node(P, N_OUTPUT, cur(P));
    if (!n || !(n->a = parse_tuple(P, true))) return NULL;
    if (cur(P)->kind != TK_VAR_END)
        return fail_at(P, cur(P), "expected '}}', got '%.*s'", (int)cur(P)->n, cur(P)->s);
    P->pos++;
    return n;
}

static chat_node *parse_stmt(parser *P, const char *const *ends, bool *at_end)
{
    const chat_token *t = cur(P);
    *at_end = false;
    if (t->kind == TK_TEXT) {
        chat_node *n = node(P, N_TEXT, t);
        if (n) {
            n->s = t->s;
            n->n = t->n;
        }
        P->pos++;
        return n;
    }
    P->pos++;
    if (t->kind == TK_VAR_BEGIN) return parse_output(P);
    if (name_in(cur(P), ends)) {
        *at_end = true;
        return NULL;
    }
    if (!enter(P)) return NULL;
    chat_node *n = parse_tag(P);
    P->depth--;
    return n;
}

/* Statements up to a tag named in ends (left at that name) or the end. */
static chat_node *parse_body(parser *P, const char *const *ends)
{
    chat_node *head = NULL, **tail = &head;
    for (;;) {
        const chat_token *t = cur(P);
        if (t->kind == TK_EOF) {
            size_t k = 0;
            while (ends && ends[k + 1]) k++;
            if (ends) fail_at(P, t, "missing '{%% %s %%}'", ends[k]);
            return head;
        }
        bool at_end;
        chat_node *n = parse_stmt(P, ends, &at_end);
        if (at_end) return head;
        if (!n) {
            if (!P->failed) fail_at(P, t, "unexpected end of tag");
            return NULL;
        }
        *tail = n;
        tail = &n->next;
    }
}

ft_status chat_parse(chat_arena *a, const chat_tokens *toks, chat_node **body, ft_error *err)
{
    parser P = {.a = a, .t = toks->v, .err = err};
    *body = parse_body(&P, NULL);
    if (P.failed) return err ? err->code : FT_EINVAL;
    return FT_OK;
}
