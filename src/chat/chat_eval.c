/* chat_eval: renders a compiled template: statements write to the output
 * buffer, expressions compute values with Python's semantics, names live
 * in frames (the template's, then one per loop iteration, as jinja2 scopes
 * them: a `set` inside a loop is gone after it, hence namespace()).
 *
 * Design: undefined names are values (CV_UNDEF) as in jinja2's default
 * Undefined: they print as "", iterate as empty, are false and compare;
 * reading an attribute of one, or adding to one, is an error.
 *
 * Not here: filters, tests, methods and global functions (chat_builtins.c),
 * str() and tojson (chat_value.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"
#include "core/ft_alloc.h"

enum { FLOW_OK, FLOW_BREAK, FLOW_CONTINUE, FLOW_ERROR };

bool chat_fail(chat_ctx *c, const chat_node *n, const char *fmt, ...)
{
    if (c->status != FT_OK) return false;
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (n)
        c->status = ft_fail(c->err, FT_EINVAL, "chat template: line %d, column %d: %s", n->line,
                            n->col, what);
    else
        c->status = ft_fail(c->err, FT_EINVAL, "chat template: %s", what);
    return false;
}

bool chat_oom(chat_ctx *c)
{
    if (c->status == FT_OK) c->status = ft_fail(c->err, FT_ENOMEM, "chat template: out of memory");
    return false;
}

static chat_value *lookup(const chat_ctx *c, const char *s, size_t n)
{
    for (chat_frame *f = c->scope; f; f = f->parent) {
        chat_value *v = chat_dict_get(f->vars, s, n);
        if (v) return v;
    }
    return NULL;
}

static bool push_frame(chat_ctx *c)
{
    chat_frame *f = chat_arena_alloc(&c->arena, sizeof(*f));
    if (!f || !(f->vars = chat_dict_new(&c->arena, 8))) return chat_oom(c);
    f->parent = c->scope;
    c->scope = f;
    return true;
}

static bool set_var(chat_ctx *c, const char *s, size_t n, chat_value v)
{
    if (!chat_dict_set(&c->arena, c->scope->vars, s, n, v)) return chat_oom(c);
    return true;
}

/* ---- statements ---- */

static int exec_body(chat_ctx *c, const chat_node *s);

static int exec_output(chat_ctx *c, const chat_node *s)
{
    chat_value v;
    const char *why = NULL;
    if (!chat_eval(c, s->a, &v)) return FLOW_ERROR;
    if (!chat_value_str(&c->out, v, &why)) {
        chat_fail(c, s, "%s", why);
        return FLOW_ERROR;
    }
    return FLOW_OK;
}

static int exec_if(chat_ctx *c, const chat_node *s)
{
    chat_value v;
    if (!chat_eval(c, s->a, &v)) return FLOW_ERROR;
    if (chat_truthy(v)) return exec_body(c, s->b);
    return exec_body(c, s->c);
}

static int exec_set(chat_ctx *c, const chat_node *s)
{
    chat_value v;
    if (!chat_eval(c, s->a, &v)) return FLOW_ERROR;
    if (!s->s2) return set_var(c, s->s, s->n, v) ? FLOW_OK : FLOW_ERROR;
    chat_value *ns = lookup(c, s->s, s->n);
    if (!ns || ns->kind != CV_DICT || ns->u.dict->kind != CD_NAMESPACE) {
        chat_fail(c, s, "cannot assign attribute on non-namespace object '%.*s'", (int)s->n, s->s);
        return FLOW_ERROR;
    }
    if (!chat_dict_set(&c->arena, ns->u.dict, s->s2, s->n2, v)) {
        chat_oom(c);
        return FLOW_ERROR;
    }
    return FLOW_OK;
}

/* The items a for loop walks: list items, dict keys, string characters. */
static bool iter_items(chat_ctx *c, const chat_node *at, chat_value v, chat_list **out)
{
    chat_list *l;
    if (v.kind == CV_LIST) {
        *out = v.u.list;
        return true;
    }
    if (!(l = chat_list_new(&c->arena, 0))) return chat_oom(c);
    *out = l;
    if (v.kind == CV_UNDEF) return true;
    if (v.kind == CV_DICT && v.u.dict->kind == CD_PLAIN) {
        for (size_t i = 0; i < v.u.dict->n; i++)
            if (!chat_list_push(&c->arena, l, chat_str(v.u.dict->keys[i], v.u.dict->klen[i])))
                return chat_oom(c);
        return true;
    }
    if (v.kind == CV_STR) {
        for (size_t i = 0; i < v.u.str.n;) {
            size_t k = chat_utf8_len((unsigned char)v.u.str.s[i]);
            if (k > v.u.str.n - i) k = v.u.str.n - i;
            if (!chat_list_push(&c->arena, l, chat_str(v.u.str.s + i, k))) return chat_oom(c);
            i += k;
        }
        return true;
    }
    return chat_fail(c, at, "'%s' object is not iterable", chat_type_name(v));
}

static bool bind_target(chat_ctx *c, const chat_node *s, chat_value item)
{
    if (!s->s2) return set_var(c, s->s, s->n, item);
    if (item.kind != CV_LIST || item.u.list->n != 2)
        return chat_fail(c, s, "cannot unpack a %s into two loop variables", chat_type_name(item));
    return set_var(c, s->s, s->n, item.u.list->v[0]) && set_var(c, s->s2, s->n2, item.u.list->v[1]);
}

/* The loop's items after its `if` filter. */
static bool filter_items(chat_ctx *c, const chat_node *s, chat_list *all, chat_list **out)
{
    if (!s->d) {
        *out = all;
        return true;
    }
    chat_list *l = chat_list_new(&c->arena, all->n);
    if (!l) return chat_oom(c);
    chat_frame *saved = c->scope;
    for (size_t i = 0; i < all->n; i++) {
        chat_value keep;
        bool ok = push_frame(c) && bind_target(c, s, all->v[i]) && chat_eval(c, s->d, &keep);
        c->scope = saved;
        if (!ok) return false;
        if (chat_truthy(keep) && !chat_list_push(&c->arena, l, all->v[i])) return chat_oom(c);
    }
    *out = l;
    return true;
}

static bool loop_object(chat_ctx *c, const chat_list *l, size_t i)
{
    chat_dict *d = chat_dict_new(&c->arena, 12);
    if (!d) return chat_oom(c);
    d->kind = CD_LOOP;
    int64_t n = (int64_t)l->n, k = (int64_t)i;
    chat_value undef = {.kind = CV_UNDEF};
    struct {
        const char *name;
        chat_value v;
    } attrs[] = {{"index", chat_int(k + 1)},
                 {"index0", chat_int(k)},
                 {"revindex", chat_int(n - k)},
                 {"revindex0", chat_int(n - k - 1)},
                 {"first", chat_bool(k == 0)},
                 {"last", chat_bool(k == n - 1)},
                 {"length", chat_int(n)},
                 {"depth", chat_int(1)},
                 {"depth0", chat_int(0)},
                 {"previtem", i > 0 ? l->v[i - 1] : undef},
                 {"nextitem", i + 1 < l->n ? l->v[i + 1] : undef}};
    for (size_t a = 0; a < sizeof attrs / sizeof *attrs; a++)
        if (!chat_dict_set(&c->arena, d, attrs[a].name, strlen(attrs[a].name), attrs[a].v))
            return chat_oom(c);
    chat_value lv = {.kind = CV_DICT};
    lv.u.dict = d;
    return set_var(c, "loop", 4, lv);
}

static int exec_for(chat_ctx *c, const chat_node *s)
{
    chat_value it;
    chat_list *all, *items;
    if (!chat_eval(c, s->a, &it) || !iter_items(c, s->a, it, &all) ||
        !filter_items(c, s, all, &items))
        return FLOW_ERROR;
    chat_frame *saved = c->scope;
    for (size_t i = 0; i < items->n; i++) {
        if (!push_frame(c) || !bind_target(c, s, items->v[i]) || !loop_object(c, items, i)) {
            c->scope = saved;
            return FLOW_ERROR;
        }
        int flow = exec_body(c, s->b);
        c->scope = saved;
        if (flow == FLOW_ERROR) return flow;
        if (flow == FLOW_BREAK) break;
    }
    if (items->n == 0 && s->c) {
        if (!push_frame(c)) return FLOW_ERROR;
        int flow = exec_body(c, s->c);
        c->scope = saved;
        return flow == FLOW_ERROR ? flow : FLOW_OK;
    }
    return FLOW_OK;
}

static int exec_stmt(chat_ctx *c, const chat_node *s)
{
    switch (s->kind) {
    case N_TEXT: chat_buf_put(&c->out, s->s, s->n); return FLOW_OK;
    case N_OUTPUT: return exec_output(c, s);
    case N_IF: return exec_if(c, s);
    case N_FOR: return exec_for(c, s);
    case N_SET: return exec_set(c, s);
    case N_BREAK: return FLOW_BREAK;
    case N_CONTINUE: return FLOW_CONTINUE;
    case N_BLOCK: return exec_body(c, s->b);
    default: chat_fail(c, s, "internal: not a statement"); return FLOW_ERROR;
    }
}

static int exec_body(chat_ctx *c, const chat_node *s)
{
    for (; s; s = s->next) {
        int flow = exec_stmt(c, s);
        if (c->out.oom) {
            chat_oom(c);
            return FLOW_ERROR;
        }
        if (c->out.n > CHAT_MAX_OUTPUT_BYTES) {
            chat_fail(c, s, "output larger than %zu MiB", CHAT_MAX_OUTPUT_BYTES >> 20);
            return FLOW_ERROR;
        }
        if (flow != FLOW_OK) return flow;
    }
    return FLOW_OK;
}

/* ---- render entry ---- */

static bool define_globals(chat_ctx *c, const cJSON *messages, const chat_render_opts *o)
{
    static const struct {
        const char *name;
        chat_func f;
    } funcs[] = {{"raise_exception", CF_RAISE},
                 {"namespace", CF_NAMESPACE},
                 {"dict", CF_DICT},
                 {"range", CF_RANGE},
                 {"strftime_now", CF_STRFTIME}};
    chat_value v = {.kind = CV_NONE};
    bool deep = false;
    for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++) {
        chat_value f = {.kind = CV_FUNC};
        f.u.func = funcs[i].f;
        if (!set_var(c, funcs[i].name, strlen(funcs[i].name), f)) return false;
    }
    if (!set_var(c, "tools", 5, v) || !set_var(c, "documents", 9, v)) return false;
    if (o->extra)
        for (const cJSON *e = o->extra->child; e; e = e->next)
            if (!chat_from_json(&c->arena, e, &v, 0, &deep) ||
                !set_var(c, e->string, strlen(e->string), v))
                return deep ? chat_fail(c, NULL, "variable '%s' nested deeper than %d", e->string,
                                        CHAT_MAX_DEPTH)
                            : chat_oom(c);
    if (!chat_from_json(&c->arena, messages, &v, 0, &deep))
        return deep ? chat_fail(c, NULL, "messages nested deeper than %d", CHAT_MAX_DEPTH)
                    : chat_oom(c);
    if (!chat_normalize_messages(c, v) || !set_var(c, "messages", 8, v)) return false;
    if (o->bos_token && !set_var(c, "bos_token", 9, chat_str(o->bos_token, strlen(o->bos_token))))
        return false;
    if (o->eos_token && !set_var(c, "eos_token", 9, chat_str(o->eos_token, strlen(o->eos_token))))
        return false;
    return set_var(c, "add_generation_prompt", 21, chat_bool(o->add_generation_prompt));
}

ft_status chat_template_render(const chat_template *t, const cJSON *messages,
                               const chat_render_opts *o, char **out, size_t *out_len,
                               ft_error *err)
{
    chat_ctx c = {.err = err, .status = FT_OK};
    chat_render_opts none = {0};
    *out = NULL;
    *out_len = 0;
    if (!t || !messages || !cJSON_IsArray(messages))
        return ft_fail(err, FT_EINVAL, "chat template: messages must be a JSON array");
    if (!o) o = &none;
    if (o->extra && !cJSON_IsObject(o->extra))
        return ft_fail(err, FT_EINVAL, "chat template: extra variables must be a JSON object");
    if (push_frame(&c) && define_globals(&c, messages, o) && push_frame(&c))
        (void)exec_body(&c, t->body);
    chat_arena_free(&c.arena);
    if (c.status == FT_OK && !c.out.p) {
        char *empty = ft_strdup("");
        if (!empty) c.status = ft_fail(err, FT_ENOMEM, "chat template: out of memory");
        c.out.p = empty;
    }
    if (c.status != FT_OK) {
        free(c.out.p);
        return c.status;
    }
    *out = c.out.p;
    *out_len = c.out.n;
    return FT_OK;
}
