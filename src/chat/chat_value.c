/* chat_value: the values a chat template computes with, as Python sees
 * them: the arena they live in, lists and dicts, truthiness and ==, cJSON
 * input, str() and json.dumps() output, and Python's whitespace.
 *
 * Design: every value of a render lives in one arena freed at the end, so
 * the evaluator never counts references. Dict keys are strings only (JSON
 * objects, namespace(...) and loop attributes need no more).
 *
 * Not here: repr() of non-ASCII strings (Python escapes by Unicode
 * category): refused, never approximated. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"
#include "core/ft_alloc.h"

struct chat_arena_block {
    chat_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

enum { CHAT_ARENA_BLOCK = 64 * 1024 };

void *chat_arena_alloc(chat_arena *a, size_t bytes)
{
    bytes = (bytes + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    chat_arena_block *b = a->head;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > CHAT_ARENA_BLOCK ? bytes : CHAT_ARENA_BLOCK;
        b = ft_malloc_array(1, sizeof(*b) + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += bytes;
    return p;
}

char *chat_arena_strndup(chat_arena *a, const char *s, size_t n)
{
    char *p = chat_arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void chat_arena_free(chat_arena *a)
{
    chat_arena_block *b = a->head;
    while (b) {
        chat_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- lists and dicts ---- */

chat_list *chat_list_new(chat_arena *a, size_t cap)
{
    chat_list *l = chat_arena_alloc(a, sizeof(*l));
    if (!l) return NULL;
    memset(l, 0, sizeof(*l));
    if (cap == 0) cap = 4;
    l->v = chat_arena_alloc(a, cap * sizeof(chat_value));
    l->cap = cap;
    return l->v ? l : NULL;
}

bool chat_list_push(chat_arena *a, chat_list *l, chat_value v)
{
    if (l->n == l->cap) {
        chat_value *nv = chat_arena_alloc(a, 2 * l->cap * sizeof(chat_value));
        if (!nv) return false;
        memcpy(nv, l->v, l->n * sizeof(chat_value));
        l->v = nv;
        l->cap *= 2;
    }
    l->v[l->n++] = v;
    return true;
}

chat_dict *chat_dict_new(chat_arena *a, size_t cap)
{
    chat_dict *d = chat_arena_alloc(a, sizeof(*d));
    if (!d) return NULL;
    memset(d, 0, sizeof(*d));
    if (cap == 0) cap = 4;
    d->keys = chat_arena_alloc(a, cap * sizeof(*d->keys));
    d->klen = chat_arena_alloc(a, cap * sizeof(*d->klen));
    d->vals = chat_arena_alloc(a, cap * sizeof(*d->vals));
    d->cap = cap;
    return d->keys && d->klen && d->vals ? d : NULL;
}

chat_value *chat_dict_get(const chat_dict *d, const char *k, size_t kn)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->klen[i] == kn && memcmp(d->keys[i], k, kn) == 0) return &d->vals[i];
    return NULL;
}

static bool dict_grow(chat_arena *a, chat_dict *d)
{
    size_t cap = d->cap * 2;
    const char **keys = chat_arena_alloc(a, cap * sizeof(*keys));
    size_t *klen = chat_arena_alloc(a, cap * sizeof(*klen));
    chat_value *vals = chat_arena_alloc(a, cap * sizeof(*vals));
    if (!keys || !klen || !vals) return false;
    memcpy(keys, d->keys, d->n * sizeof(*keys));
    memcpy(klen, d->klen, d->n * sizeof(*klen));
    memcpy(vals, d->vals, d->n * sizeof(*vals));
    d->keys = keys;
    d->klen = klen;
    d->vals = vals;
    d->cap = cap;
    return true;
}

bool chat_dict_set(chat_arena *a, chat_dict *d, const char *k, size_t kn, chat_value v)
{
    chat_value *old = chat_dict_get(d, k, kn);
    if (old) {
        *old = v;
        return true;
    }
    if (d->n == d->cap && !dict_grow(a, d)) return false;
    d->keys[d->n] = k;
    d->klen[d->n] = kn;
    d->vals[d->n++] = v;
    return true;
}

/* ---- truth and equality ---- */

bool chat_truthy(chat_value v)
{
    switch (v.kind) {
    case CV_UNDEF:
    case CV_NONE: return false;
    case CV_BOOL: return v.u.b;
    case CV_INT: return v.u.i != 0;
    case CV_FLOAT: return v.u.f != 0.0;
    case CV_STR: return v.u.str.n != 0;
    case CV_LIST: return v.u.list->view == CHAT_VIEW_GEN || v.u.list->n != 0;
    case CV_DICT: return v.u.dict->kind != CD_PLAIN || v.u.dict->n != 0;
    case CV_FUNC: return true;
    }
    return false;
}

static bool is_number(chat_value v, double *x)
{
    if (v.kind == CV_INT)
        *x = (double)v.u.i;
    else if (v.kind == CV_BOOL)
        *x = v.u.b;
    else if (v.kind == CV_FLOAT)
        *x = v.u.f;
    else
        return false;
    return true;
}

static bool equal_at(chat_value a, chat_value b, int depth, bool *too_deep);

static bool dict_equal(const chat_dict *a, const chat_dict *b, int depth, bool *too_deep)
{
    if (a == b) return true;
    if (a->kind != CD_PLAIN || b->kind != CD_PLAIN || a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        chat_value *o = chat_dict_get(b, a->keys[i], a->klen[i]);
        if (!o || !equal_at(a->vals[i], *o, depth + 1, too_deep)) return false;
    }
    return true;
}

bool chat_equal(chat_value a, chat_value b, bool *too_deep)
{
    *too_deep = false;
    return equal_at(a, b, 0, too_deep);
}

static bool equal_at(chat_value a, chat_value b, int depth, bool *too_deep)
{
    double x, y;
    if (depth > CHAT_MAX_VALUE_DEPTH) {
        *too_deep = true;
        return false;
    }
    if (a.kind == CV_INT && b.kind == CV_INT) return a.u.i == b.u.i;
    if (is_number(a, &x) && is_number(b, &y)) return x == y;
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case CV_UNDEF:
    case CV_NONE: return true;
    case CV_STR: return a.u.str.n == b.u.str.n && memcmp(a.u.str.s, b.u.str.s, a.u.str.n) == 0;
    case CV_LIST:
        if (a.u.list->view || b.u.list->view) return a.u.list == b.u.list;
        if (a.u.list->n != b.u.list->n) return false;
        for (size_t i = 0; i < a.u.list->n; i++)
            if (!equal_at(a.u.list->v[i], b.u.list->v[i], depth + 1, too_deep)) return false;
        return true;
    case CV_DICT: return dict_equal(a.u.dict, b.u.dict, depth, too_deep);
    case CV_FUNC: return a.u.func == b.u.func;
    default: return false;
    }
}

const char *chat_type_name(chat_value v)
{
    static const char *names[] = {"Undefined", "NoneType", "bool", "int",     "float",
                                  "str",       "list",     "dict", "function"};
    if (v.kind == CV_LIST && v.u.list->tuple) return "tuple";
    if (v.kind == CV_LIST && v.u.list->view) return "generator";
    if (v.kind == CV_DICT && v.u.dict->kind == CD_NAMESPACE) return "Namespace";
    if (v.kind == CV_DICT && v.u.dict->kind == CD_LOOP) return "LoopContext";
    return names[v.kind];
}

/* ---- cJSON input ---- */

static bool json_number(const cJSON *j, chat_value *out)
{
    double x = j->valuedouble;
    if (x == floor(x) && fabs(x) < 9007199254740992.0) {
        *out = chat_int((int64_t)x);
    } else {
        out->kind = CV_FLOAT;
        out->u.f = x;
    }
    return true;
}

static bool json_container(chat_arena *a, const cJSON *j, chat_value *out, int depth,
                           bool *too_deep)
{
    bool obj = cJSON_IsObject(j);
    chat_list *l = obj ? NULL : chat_list_new(a, 0);
    chat_dict *d = obj ? chat_dict_new(a, 0) : NULL;
    if (!l && !d) return false;
    for (const cJSON *c = j->child; c; c = c->next) {
        chat_value v;
        if (!chat_from_json(a, c, &v, depth + 1, too_deep)) return false;
        bool ok =
            obj ? chat_dict_set(a, d, c->string, strlen(c->string), v) : chat_list_push(a, l, v);
        if (!ok) return false;
    }
    out->kind = obj ? CV_DICT : CV_LIST;
    if (obj)
        out->u.dict = d;
    else
        out->u.list = l;
    return true;
}

bool chat_from_json(chat_arena *a, const cJSON *j, chat_value *out, int depth, bool *too_deep)
{
    if (depth > CHAT_MAX_DEPTH) {
        *too_deep = true;
        return false;
    }
    out->kind = CV_NONE;
    if (cJSON_IsBool(j))
        *out = chat_bool(cJSON_IsTrue(j));
    else if (cJSON_IsNumber(j))
        return json_number(j, out);
    else if (cJSON_IsString(j))
        *out = chat_str(j->valuestring, strlen(j->valuestring));
    else if (cJSON_IsArray(j) || cJSON_IsObject(j))
        return json_container(a, j, out, depth, too_deep);
    return true;
}

/* ---- output buffer ---- */

void chat_buf_put(chat_buf *b, const char *s, size_t n)
{
    if (b->oom || n == 0) return;
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->n < n + 1) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        char *p = ft_realloc_array(b->p, cap, 1);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void chat_buf_putc(chat_buf *b, char c) { chat_buf_put(b, &c, 1); }

/* ---- Python's whitespace (str.isspace) in UTF-8 ---- */

static bool is_py_space(uint32_t cp)
{
    return (cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

size_t chat_utf8_len(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if ((lead & 0xe0) == 0xc0) return 2;
    if ((lead & 0xf0) == 0xe0) return 3;
    if ((lead & 0xf8) == 0xf0) return 4;
    return 1;
}

static uint32_t utf8_decode(const unsigned char *s, size_t k)
{
    static const unsigned char mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t cp = s[0] & mask[k];
    for (size_t i = 1; i < k; i++) cp = (cp << 6) | (s[i] & 0x3f);
    return cp;
}

size_t chat_space_len(const char *s, size_t n)
{
    if (n == 0) return 0;
    size_t k = chat_utf8_len((unsigned char)s[0]);
    if (k > n || (k == 1 && (unsigned char)s[0] >= 0x80)) return 0; /* bad UTF-8 */
    return is_py_space(utf8_decode((const unsigned char *)s, k)) ? k : 0;
}

size_t chat_space_len_back(const char *s, size_t n)
{
    size_t start = n;
    while (start > 0 && n - start < 4) {
        start--;
        if (((unsigned char)s[start] & 0xc0) != 0x80) break;
    }
    if (start == n) return 0;
    size_t k = chat_utf8_len((unsigned char)s[start]);
    if (start + k != n) return 0;
    return chat_space_len(s + start, k);
}

/* ---- str() and repr() ---- */

/* Python's repr(float): the shortest digits that read back, fixed notation
 * for decimal exponents -4..15, else d.ddde+XX. */
static void float_fixed(chat_buf *b, const char *digits, size_t nd, int exp)
{
    if (exp < 0) {
        chat_buf_put(b, "0.", 2);
        for (int i = -1; i > exp; i--) chat_buf_putc(b, '0');
        chat_buf_put(b, digits, nd);
        return;
    }
    for (int i = 0; i <= exp; i++) chat_buf_putc(b, (size_t)i < nd ? digits[i] : '0');
    chat_buf_putc(b, '.');
    if ((size_t)exp + 1 >= nd)
        chat_buf_putc(b, '0');
    else
        chat_buf_put(b, digits + exp + 1, nd - (size_t)exp - 1);
}

/* Python's repr(float): the shortest digits that read back, fixed notation
 * for decimal exponents -4..15, else d.ddde+XX. */
static void float_repr(chat_buf *b, double x)
{
    char tmp[64];
    if (isnan(x) || isinf(x)) {
        const char *s = isnan(x) ? "nan" : x < 0 ? "-inf" : "inf";
        chat_buf_put(b, s, strlen(s));
        return;
    }
    int p = 1;
    for (; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (strtod(tmp, NULL) == x) break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
    char digits[32];
    size_t nd = 0;
    const char *q = tmp;
    if (*q == '-') chat_buf_putc(b, *q++);
    for (; *q != 'e'; q++)
        if (*q != '.') digits[nd++] = *q;
    int exp = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    if (exp >= -4 && exp < 16) {
        float_fixed(b, digits, nd, exp);
        return;
    }
    chat_buf_putc(b, digits[0]);
    if (nd > 1) {
        chat_buf_putc(b, '.');
        chat_buf_put(b, digits + 1, nd - 1);
    }
    int m = snprintf(tmp, sizeof tmp, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    chat_buf_put(b, tmp, (size_t)m);
}

static bool str_repr(chat_buf *b, const char *s, size_t n, const char **why)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char quote = sq && !dq ? '"' : '\'';
    chat_buf_putc(b, quote);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[8];
        if (ch >= 0x80) {
            *why = "repr() of a non-ASCII string (in a list or dict) is not "
                   "supported";
            return false;
        }
        if (ch == '\\' || ch == (unsigned char)quote) {
            chat_buf_putc(b, '\\');
            chat_buf_putc(b, (char)ch);
        } else if (ch == '\n')
            chat_buf_put(b, "\\n", 2);
        else if (ch == '\r')
            chat_buf_put(b, "\\r", 2);
        else if (ch == '\t')
            chat_buf_put(b, "\\t", 2);
        else if (ch < 0x20 || ch == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", ch);
            chat_buf_put(b, tmp, 4);
        } else
            chat_buf_putc(b, (char)ch);
    }
    chat_buf_putc(b, quote);
    return true;
}

static bool value_repr(chat_buf *b, chat_value v, const char **why, int depth);

static bool list_repr(chat_buf *b, const chat_list *l, const char **why, int depth)
{
    if (l->view) {
        *why = "printing an iterator or dict view is not supported";
        return false;
    }
    chat_buf_putc(b, l->tuple ? '(' : '[');
    for (size_t i = 0; i < l->n; i++) {
        if (i) chat_buf_put(b, ", ", 2);
        if (!value_repr(b, l->v[i], why, depth + 1)) return false;
    }
    if (l->tuple && l->n == 1) chat_buf_putc(b, ',');
    chat_buf_putc(b, l->tuple ? ')' : ']');
    return true;
}

static bool dict_repr(chat_buf *b, const chat_dict *d, const char **why, int depth)
{
    if (d->kind != CD_PLAIN) {
        *why = "printing a namespace or loop object is not supported";
        return false;
    }
    chat_buf_putc(b, '{');
    for (size_t i = 0; i < d->n; i++) {
        if (i) chat_buf_put(b, ", ", 2);
        if (!str_repr(b, d->keys[i], d->klen[i], why)) return false;
        chat_buf_put(b, ": ", 2);
        if (!value_repr(b, d->vals[i], why, depth + 1)) return false;
    }
    chat_buf_putc(b, '}');
    return true;
}

static bool value_repr(chat_buf *b, chat_value v, const char **why, int depth)
{
    if (depth > CHAT_MAX_VALUE_DEPTH) {
        *why = "printing a value nested too deeply";
        return false;
    }
    if (v.kind == CV_LIST) return list_repr(b, v.u.list, why, depth);
    if (v.kind == CV_DICT) return dict_repr(b, v.u.dict, why, depth);
    if (v.kind == CV_STR) return str_repr(b, v.u.str.s, v.u.str.n, why);
    if (v.kind == CV_UNDEF) {
        *why = "repr() of an undefined value is not supported";
        return false;
    }
    return chat_value_str(b, v, why);
}

bool chat_value_str(chat_buf *b, chat_value v, const char **why)
{
    char tmp[32];
    switch (v.kind) {
    case CV_UNDEF: return true;
    case CV_NONE: chat_buf_put(b, "None", 4); return true;
    case CV_BOOL: chat_buf_put(b, v.u.b ? "True" : "False", v.u.b ? 4 : 5); return true;
    case CV_INT:
        chat_buf_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%" PRId64, v.u.i));
        return true;
    case CV_FLOAT: float_repr(b, v.u.f); return true;
    case CV_STR: chat_buf_put(b, v.u.str.s, v.u.str.n); return true;
    case CV_LIST: return list_repr(b, v.u.list, why, 0);
    case CV_DICT: return dict_repr(b, v.u.dict, why, 0);
    case CV_FUNC: break;
    }
    *why = "printing a function is not supported";
    return false;
}

/* ---- json.dumps(ensure_ascii=False) ---- */

static void json_string(chat_buf *b, const char *s, size_t n)
{
    chat_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[8];
        switch (ch) {
        case '"': chat_buf_put(b, "\\\"", 2); break;
        case '\\': chat_buf_put(b, "\\\\", 2); break;
        case '\n': chat_buf_put(b, "\\n", 2); break;
        case '\r': chat_buf_put(b, "\\r", 2); break;
        case '\t': chat_buf_put(b, "\\t", 2); break;
        case '\b': chat_buf_put(b, "\\b", 2); break;
        case '\f': chat_buf_put(b, "\\f", 2); break;
        default:
            if (ch < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", ch);
                chat_buf_put(b, tmp, 6);
            } else
                chat_buf_putc(b, (char)ch);
        }
    }
    chat_buf_putc(b, '"');
}

static void json_newline(chat_buf *b, int indent, int level)
{
    chat_buf_putc(b, '\n');
    for (int i = 0; i < indent * level; i++) chat_buf_putc(b, ' ');
}

static bool json_items(chat_buf *b, chat_value v, int indent, int level, const char **why)
{
    bool is_list = v.kind == CV_LIST;
    size_t n = is_list ? v.u.list->n : v.u.dict->n;
    chat_buf_putc(b, is_list ? '[' : '{');
    for (size_t i = 0; i < n; i++) {
        if (i) chat_buf_put(b, ", ", indent < 0 ? 2 : 1);
        if (indent >= 0) json_newline(b, indent, level + 1);
        if (!is_list) {
            json_string(b, v.u.dict->keys[i], v.u.dict->klen[i]);
            chat_buf_put(b, ": ", 2);
        }
        chat_value item = is_list ? v.u.list->v[i] : v.u.dict->vals[i];
        if (!chat_value_json(b, item, indent, level + 1, why)) return false;
    }
    if (indent >= 0 && n) json_newline(b, indent, level);
    chat_buf_putc(b, is_list ? ']' : '}');
    return true;
}

bool chat_value_json(chat_buf *b, chat_value v, int indent, int level, const char **why)
{
    if (level > CHAT_MAX_VALUE_DEPTH) {
        *why = "tojson: nesting too deep";
        return false;
    }
    switch (v.kind) {
    case CV_NONE: chat_buf_put(b, "null", 4); return true;
    case CV_BOOL: chat_buf_put(b, v.u.b ? "true" : "false", v.u.b ? 4 : 5); return true;
    case CV_INT: return chat_value_str(b, v, why);
    case CV_FLOAT:
        if (isnan(v.u.f))
            chat_buf_put(b, "NaN", 3);
        else if (isinf(v.u.f))
            chat_buf_put(b, v.u.f < 0 ? "-Infinity" : "Infinity", v.u.f < 0 ? 9 : 8);
        else
            float_repr(b, v.u.f);
        return true;
    case CV_STR: json_string(b, v.u.str.s, v.u.str.n); return true;
    case CV_LIST:
        if (!v.u.list->view) return json_items(b, v, indent, level, why);
        break;
    case CV_DICT:
        if (v.u.dict->kind == CD_PLAIN) return json_items(b, v, indent, level, why);
        break;
    default: break;
    }
    *why = "tojson of this value is not supported (jinja2 would fail)";
    return false;
}
