/* chat_messages: the two changes transformers' apply_chat_template makes to
 * the messages before a template sees them (transformers 5.25:
 * _normalize_chat_messages, then _alias_reasoning_fields):
 *   - a message's keys whose value is None (JSON null) are dropped;
 *   - a message with a reasoning text under "reasoning_content", "thinking"
 *     or "reasoning" (the first not null, in that order) becomes
 *     {"thinking": r, **message, "reasoning_content": r}, keys in that order.
 *
 * Not here: continue_final_message, and messages that are not JSON objects
 * (transformers refuses them; so does chat_template_render). */
#include <string.h>

#include "chat_impl.h"

static const char *const reasoning_fields[] = {"reasoning_content", "thinking", "reasoning"};

static bool drop_nulls(chat_ctx *c, chat_dict *in, chat_dict **out)
{
    chat_dict *d = chat_dict_new(&c->arena, in->n + 2);
    if (!d) return chat_oom(c);
    for (size_t i = 0; i < in->n; i++)
        if (in->vals[i].kind != CV_NONE &&
            !chat_dict_set(&c->arena, d, in->keys[i], in->klen[i], in->vals[i]))
            return chat_oom(c);
    *out = d;
    return true;
}

static bool alias_reasoning(chat_ctx *c, chat_dict *m, chat_dict **out)
{
    chat_value *r = NULL;
    for (size_t i = 0; i < 3 && !r; i++)
        r = chat_dict_get(m, reasoning_fields[i], strlen(reasoning_fields[i]));
    *out = m;
    if (!r) return true;
    chat_value text = *r;
    chat_dict *d = chat_dict_new(&c->arena, m->n + 2);
    if (!d || !chat_dict_set(&c->arena, d, "thinking", 8, text)) return chat_oom(c);
    for (size_t i = 0; i < m->n; i++)
        if (!chat_dict_set(&c->arena, d, m->keys[i], m->klen[i], m->vals[i])) return chat_oom(c);
    if (!chat_dict_set(&c->arena, d, "reasoning_content", 17, text)) return chat_oom(c);
    *out = d;
    return true;
}

bool chat_normalize_messages(chat_ctx *c, chat_value msgs)
{
    chat_list *l = msgs.u.list;
    for (size_t i = 0; i < l->n; i++) {
        chat_dict *d = NULL;
        if (l->v[i].kind != CV_DICT)
            return chat_fail(c, NULL, "message %zu is not a JSON object", i);
        if (!drop_nulls(c, l->v[i].u.dict, &d) || !alias_reasoning(c, d, &d)) return false;
        l->v[i].u.dict = d;
    }
    return true;
}
