/* chat_impl.h: what the chat_ files share: the arena, tokens, the syntax
 * tree, values and the render context. */
#ifndef CHAT_IMPL_H
#define CHAT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chat/chat_template.h"
#include "core/ft_error.h"

enum { CHAT_MAX_DEPTH = 128 };                    /* nesting of tags, expressions and data */
enum { CHAT_MAX_HEIGHT = 2000 };                  /* operator chains: a + b + ... */
enum { CHAT_MAX_VALUE_DEPTH = 500 };              /* lists of lists built while rendering */
#define CHAT_MAX_OUTPUT_BYTES ((size_t)256 << 20) /* a render's output */

/* ---- arena: one owner frees every block at once (chat_value.c) ---- */
typedef struct chat_arena_block chat_arena_block;
typedef struct chat_arena {
    chat_arena_block *head;
} chat_arena;

void *chat_arena_alloc(chat_arena *a, size_t bytes);
char *chat_arena_strndup(chat_arena *a, const char *s, size_t n);
void chat_arena_free(chat_arena *a);

/* ---- tokens (chat_lex.c) ---- */
typedef enum chat_tok_kind {
    TK_TEXT,
    TK_BLOCK_BEGIN,
    TK_BLOCK_END,
    TK_VAR_BEGIN,
    TK_VAR_END,
    TK_NAME,
    TK_STRING,
    TK_INT,
    TK_FLOAT,
    TK_OP,
    TK_EOF
} chat_tok_kind;

typedef struct chat_token {
    chat_tok_kind kind;
    int line, col;
    const char *s; /* text, name, decoded string or operator */
    size_t n;
    int64_t ival;
    double fval;
} chat_token;

typedef struct chat_tokens {
    chat_token *v;
    size_t n, cap;
} chat_tokens;

/* Tokens of src in the arena; FT_EINVAL with line and column on bad input. */
ft_status chat_lex(chat_arena *a, const char *src, size_t len, chat_tokens *out, ft_error *err);

/* ---- syntax tree (chat_parse.c) ---- */
typedef enum chat_node_kind {
    N_TEXT,
    N_OUTPUT,
    N_IF,
    N_FOR,
    N_SET,
    N_BREAK,
    N_CONTINUE,
    N_BLOCK,
    N_STR,
    N_INT,
    N_FLOAT,
    N_BOOL,
    N_NONE,
    N_LIST,
    N_TUPLE,
    N_DICT,
    N_PAIR,
    N_NAME,
    N_ATTR,
    N_ITEM,
    N_SLICE,
    N_CALL,
    N_ARG,
    N_FILTER,
    N_TEST,
    N_NOT,
    N_NEG,
    N_POS,
    N_BIN,
    N_AND,
    N_OR,
    N_CMP,
    N_CMPOP,
    N_COND
} chat_node_kind;

typedef struct chat_node chat_node;
struct chat_node {
    chat_node_kind kind;
    int line, col;
    chat_node *a, *b, *c, *d;
    chat_node *next; /* statement lists, argument lists, list items */
    const char *s;   /* name, text, string, operator, filter, kwarg */
    size_t n;
    const char *s2; /* second for-target or namespace attribute */
    size_t n2;
    int64_t ival; /* N_INT, N_BOOL; N_TEST: negated */
    double fval;
    int builtin; /* N_FILTER / N_TEST: index into the builtin table */
    int height;  /* expression nodes: levels below, for the limit */
};

struct chat_template {
    chat_arena arena;
    chat_node *body;
};

ft_status chat_parse(chat_arena *a, const chat_tokens *toks, chat_node **body, ft_error *err);

/* ---- values (chat_value.c) ---- */
typedef enum chat_vkind {
    CV_UNDEF,
    CV_NONE,
    CV_BOOL,
    CV_INT,
    CV_FLOAT,
    CV_STR,
    CV_LIST,
    CV_DICT,
    CV_FUNC
} chat_vkind;

typedef enum chat_func { CF_RAISE, CF_NAMESPACE, CF_DICT, CF_RANGE, CF_STRFTIME } chat_func;
typedef enum chat_dict_kind { CD_PLAIN, CD_NAMESPACE, CD_LOOP } chat_dict_kind;

typedef struct chat_list chat_list;
typedef struct chat_dict chat_dict;

typedef struct chat_value {
    chat_vkind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            const char *s;
            size_t n;
        } str; /* CV_STR; CV_UNDEF: name */
        chat_list *list;
        chat_dict *dict;
        chat_func func;
    } u;
} chat_value;

/* A Python dict view (dict.items()) or generator (select, items filter):
 * iterable like a list, but printing one, indexing one, tojson of one and
 * len() of a generator differ from a list's: refused or undefined. */
enum { CHAT_VIEW_NONE, CHAT_VIEW_DICT, CHAT_VIEW_GEN };

struct chat_list {
    chat_value *v;
    size_t n, cap;
    bool tuple;
    unsigned char view; /* CHAT_VIEW_*: str(), tojson, [i] differ */
};

struct chat_dict {
    const char **keys;
    size_t *klen;
    chat_value *vals;
    size_t n, cap;
    chat_dict_kind kind;
};

static inline chat_value chat_str(const char *s, size_t n)
{
    chat_value v = {.kind = CV_STR};
    v.u.str.s = s;
    v.u.str.n = n;
    return v;
}
static inline chat_value chat_int(int64_t i)
{
    chat_value v = {.kind = CV_INT};
    v.u.i = i;
    return v;
}
static inline chat_value chat_bool(bool b)
{
    chat_value v = {.kind = CV_BOOL};
    v.u.b = b;
    return v;
}

chat_list *chat_list_new(chat_arena *a, size_t cap);
bool chat_list_push(chat_arena *a, chat_list *l, chat_value v);
chat_dict *chat_dict_new(chat_arena *a, size_t cap);
bool chat_dict_set(chat_arena *a, chat_dict *d, const char *k, size_t kn, chat_value v);
/* The value under key k, or NULL. */
chat_value *chat_dict_get(const chat_dict *d, const char *k, size_t kn);

bool chat_truthy(chat_value v);
/* Python ==; false where Python would compare identities. Nesting deeper
 * than CHAT_MAX_VALUE_DEPTH sets *too_deep (Python: RecursionError). */
bool chat_equal(chat_value a, chat_value b, bool *too_deep);
const char *chat_type_name(chat_value v);
/* cJSON to values (strings point into the cJSON); false on memory, or on
 * nesting deeper than CHAT_MAX_DEPTH (then *too_deep is set). */
bool chat_from_json(chat_arena *a, const cJSON *j, chat_value *out, int depth, bool *too_deep);

/* ---- output buffer ---- */
typedef struct chat_buf {
    char *p;
    size_t n, cap;
    bool oom;
} chat_buf;

void chat_buf_put(chat_buf *b, const char *s, size_t n);
void chat_buf_putc(chat_buf *b, char c);

/* Python str(v) appended to b; false (with *why) where unsupported. */
bool chat_value_str(chat_buf *b, chat_value v, const char **why);
/* json.dumps(v, ensure_ascii=False, indent=indent (<0: None)). */
bool chat_value_json(chat_buf *b, chat_value v, int indent, int level, const char **why);

/* ---- UTF-8 helpers (chat_value.c) ---- */
/* Length in bytes of the Python-whitespace character at s (0 if none). */
size_t chat_space_len(const char *s, size_t n);
/* Length in bytes of the Python-whitespace character ending at s + n. */
size_t chat_space_len_back(const char *s, size_t n);
size_t chat_utf8_len(unsigned char lead);

/* ---- render (chat_eval.c, chat_builtins.c) ---- */
typedef struct chat_frame chat_frame;
struct chat_frame { /* names of one scope; lookups walk to the parent */
    chat_frame *parent;
    chat_dict *vars;
};
typedef struct chat_ctx {
    chat_arena arena;
    chat_buf out;
    chat_frame *scope;
    ft_error *err;
    ft_status status;
} chat_ctx;

/* Record a render failure at node n; returns false for chaining. */
bool chat_fail(chat_ctx *c, const chat_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool chat_oom(chat_ctx *c);
bool chat_eval(chat_ctx *c, const chat_node *e, chat_value *out);

/* transformers' changes to the messages (chat_messages.c): null keys
 * dropped, reasoning fields aliased. msgs is a list. */
bool chat_normalize_messages(chat_ctx *c, chat_value msgs);

/* Operators (chat_ops.c): a OP b for + - * / // % ** ~ (op at n->s). */
bool chat_binary(chat_ctx *c, const chat_node *n, chat_value a, chat_value b, chat_value *out);
/* One comparison of a chain: == != < <= > >= in "not in". */
bool chat_compare(chat_ctx *c, const chat_node *op, chat_value a, chat_value b, bool *out);
bool chat_negate(chat_ctx *c, const chat_node *n, chat_value a, chat_value *out);

/* Python str methods (chat_strings.c). */
typedef enum chat_case_kind {
    CHAT_UPPER,
    CHAT_LOWER,
    CHAT_CAPITALIZE,
    CHAT_STR_TITLE,
    CHAT_JINJA_TITLE
} chat_case_kind;
/* chars NULL: Python whitespace; else a set of single bytes. */
chat_value chat_strip(chat_value s, const char *chars, size_t nchars, bool left, bool right);
bool chat_case(chat_ctx *c, const chat_node *at, chat_value s, chat_case_kind k, chat_value *out);
/* sep none: split on whitespace runs; maxsplit < 0: no limit. */
bool chat_split(chat_ctx *c, const chat_node *at, chat_value s, chat_value sep, int64_t maxsplit,
                chat_value *out);
bool chat_replace(chat_ctx *c, chat_value s, chat_value old, chat_value new_, int64_t count,
                  chat_value *out);
bool chat_affix(chat_value s, chat_value affix, bool start);
/* sep.join(str(x) for x in items) */
bool chat_join(chat_ctx *c, const chat_node *at, chat_value items, chat_value sep, chat_value *out);

/* Builtins: tables the parser checks names against (-1: unknown). */
int chat_filter_index(const char *name, size_t n);
int chat_test_index(const char *name, size_t n);
bool chat_apply_filter(chat_ctx *c, const chat_node *f, chat_value v, chat_value *out);
bool chat_apply_test(chat_ctx *c, const chat_node *t, chat_value v, bool *out);
/* obj.name(args) for str, dict and list methods. */
bool chat_call_method(chat_ctx *c, const chat_node *call, chat_value obj, const char *name,
                      size_t n, chat_value *out);
bool chat_call_func(chat_ctx *c, const chat_node *call, chat_func f, chat_value *out);
/* Positional and keyword arguments of a call, evaluated. */
typedef struct chat_args {
    chat_value pos[8];
    size_t npos;
    const char *kw[8];
    size_t kwn[8];
    chat_value kwv[8];
    size_t nkw;
} chat_args;
bool chat_eval_args(chat_ctx *c, const chat_node *call, const chat_node *args, chat_args *out);

#endif
