/* tok_added: the tokens both tokenizers match in the raw text before
 * anything else (added_tokens of a tokenizer.json, BERT's [CLS]/[SEP]/...
 * from vocab.txt, GPT-2's <|endoftext|>, Llama 3's and Qwen2's chat
 * tokens).
 *
 * WordPiece and byte-level BPE split the text the same way: find the first
 * added token at or after a position, the longest one where several start
 * there, encode the segment before it with the model and emit its id. The
 * list points into the vocabulary's tokens (no copies), keeps each id once
 * and a table of the bytes a token can start with, so the per-byte scan
 * skips most of the text with one load. Sorted longest first (then by id)
 * once loading is done: the first match at a position is the longest.
 *
 * lstrip/rstrip are kept with each token for BPE to apply (tok_bpe.c).
 * Not done: single_word, and normalized (matching in the normalized text);
 * see each tokenizer's header comment for what it refuses. */
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "tok_impl.h"

void tok_added_free(tok_added *a)
{
    if (!a) return;
    free(a->items);
    memset(a, 0, sizeof *a);
}

bool tok_added_has(const tok_added *a, int32_t id)
{
    for (size_t k = 0; k < a->n; k++)
        if (a->items[k].id == id) return true;
    return false;
}

ft_status tok_added_add(tok_added *a, const tok_vocab *v, int32_t id, ft_error *err)
{
    if (tok_added_has(a, id)) return FT_OK;
    tok_added_token *grown = ft_realloc_array(a->items, a->n + 1, sizeof *grown);
    if (!grown) return tok_nomem(err);
    a->items = grown;
    a->items[a->n++] = (tok_added_token){.text = v->tokens[id], .len = v->lens[id], .id = id};
    a->first_byte[(unsigned char)v->tokens[id][0]] = 1;
    return FT_OK;
}

ft_status tok_added_add_json(tok_added *a, const tok_vocab *v, uint8_t *special, const cJSON *added,
                             ft_error *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, added)
    {
        int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        ft_status st = tok_added_add(a, v, id, err);
        if (st != FT_OK) return st;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special"))) special[id] = 1;
    }
    return FT_OK;
}

static int tok_added_cmp(const void *x, const void *y)
{
    const tok_added_token *a = x, *b = y;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

void tok_added_sort(tok_added *a)
{
    if (a->n > 1) qsort(a->items, a->n, sizeof *a->items, tok_added_cmp);
}

uint64_t tok_added_hash_ids(const tok_added *a, uint64_t h)
{
    /* ids are distinct: take the next larger one each time, no allocation */
    int64_t last = -1;
    for (size_t done = 0; done < a->n; done++) {
        int64_t next = INT64_MAX;
        for (size_t k = 0; k < a->n; k++)
            if (a->items[k].id > last && a->items[k].id < next) next = a->items[k].id;
        int32_t id = (int32_t)next;
        h = tok_fnv1a(h, &id, sizeof id);
        last = next;
    }
    return h;
}

const tok_added_token *tok_added_next(const tok_added *a, const char *text, size_t len, size_t from,
                                      size_t *at)
{
    for (size_t i = a->n ? from : len; i < len; i++) {
        if (!a->first_byte[(unsigned char)text[i]]) continue;
        for (size_t k = 0; k < a->n; k++) {
            const tok_added_token *t = &a->items[k];
            if (t->text[0] == text[i] && t->len <= len - i && !memcmp(t->text, text + i, t->len)) {
                *at = i;
                return t;
            }
        }
    }
    *at = len;
    return NULL;
}
