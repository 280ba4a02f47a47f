/* chat_template: compile (lex + parse into the template's own arena) and
 * free. Rendering is in chat_eval.c. */
#include <stdlib.h>
#include <string.h>

#include "chat_impl.h"
#include "core/ft_alloc.h"

chat_template *chat_template_compile(const char *source, size_t len, ft_error *err)
{
    chat_template *t = ft_calloc_array(1, sizeof(*t));
    chat_tokens toks;
    if (!t) {
        ft_fail(err, FT_ENOMEM, "chat template: out of memory");
        return NULL;
    }
    if (!source) {
        ft_fail(err, FT_EINVAL, "chat template: no source");
        free(t);
        return NULL;
    }
    if (chat_lex(&t->arena, source, len, &toks, err) != FT_OK ||
        chat_parse(&t->arena, &toks, &t->body, err) != FT_OK) {
        chat_template_free(t);
        return NULL;
    }
    return t;
}

void chat_template_free(chat_template *t)
{
    if (!t) return;
    chat_arena_free(&t->arena);
    free(t);
}
