/* tok_vocab: the id -> token table both tokenizers share, with its
 * token -> id index.
 *
 * WordPiece and byte-level BPE read their vocabularies from different files
 * (vocab.txt, vocab.json, tokenizer.json) but end with the same table:
 * every id has at most one token, every token at most one id, and lookups
 * by token string are hot (every WordPiece candidate piece, every BPE byte
 * and merge result). Design: tokens kept with their byte lengths; an
 * open-addressing hash table (FNV-1a, linear probing, at most half full)
 * of ids. The hash can start from a seed, so WordPiece looks up "##" +
 * piece by hashing the prefix once and the piece per candidate, without
 * building the string.
 *
 * Not done: removing tokens or growing the table once indexed (neither
 * tokenizer needs it); the tokenizer's own checks (WordPiece's carriage
 * return rule, BPE's byte alphabet) stay in their files. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/ft_alloc.h"
#include "tok_impl.h"

ft_status tok_nomem(ft_error *err) { return ft_fail(err, FT_ENOMEM, "tokenizer: out of memory"); }

uint64_t tok_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

ft_status tok_vocab_init(tok_vocab *v, int32_t n_ids, const char *origin, ft_error *err)
{
    memset(v, 0, sizeof *v);
    if (n_ids <= 0) return ft_fail(err, FT_EFORMAT, "%s: the vocabulary is empty", origin);
    if (n_ids > TOK_VOCAB_MAX_IDS)
        return ft_fail(err, FT_EFORMAT, "%s: %ld ids, more than the %d this tokenizer accepts",
                       origin, (long)n_ids, TOK_VOCAB_MAX_IDS);
    v->n_ids = n_ids;
    v->tokens = ft_calloc_array((size_t)n_ids, sizeof *v->tokens);
    v->lens = ft_calloc_array((size_t)n_ids, sizeof *v->lens);
    if (!v->tokens || !v->lens) return tok_nomem(err);
    return FT_OK;
}

void tok_vocab_free(tok_vocab *v)
{
    if (!v) return;
    if (v->tokens)
        for (int32_t i = 0; i < v->n_ids; i++) free(v->tokens[i]);
    free(v->tokens);
    free(v->lens);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

ft_status tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t n, const char *where,
                        ft_error *err)
{
    if (n == 0) return ft_fail(err, FT_EFORMAT, "%s: empty token (id %ld)", where, (long)id);
    if (utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, NULL, 0, 0) < 0)
        return ft_fail(err, FT_EFORMAT, "%s: token of id %ld is not valid UTF-8", where, (long)id);
    if (v->tokens[id] && (v->lens[id] != n || memcmp(v->tokens[id], s, n)))
        return ft_fail(err, FT_EFORMAT, "%s: id %ld is given to both \"%s\" and \"%.*s\"", where,
                       (long)id, v->tokens[id], (int)n, s);
    if (v->tokens[id]) return FT_OK;
    v->tokens[id] = ft_strndup(s, n);
    if (!v->tokens[id]) return tok_nomem(err);
    v->lens[id] = (uint32_t)n;
    return FT_OK;
}

ft_status tok_vocab_build_index(tok_vocab *v, const char *origin, ft_error *err)
{
    size_t size = 64;
    while (size < 2 * (size_t)v->n_ids) size *= 2;
    v->slots = ft_malloc_array(size, sizeof *v->slots);
    if (!v->slots) return tok_nomem(err);
    memset(v->slots, 0xff, size * sizeof *v->slots);
    v->mask = size - 1;
    for (int32_t id = 0; id < v->n_ids; id++) {
        const char *t = v->tokens[id];
        if (!t) continue;
        size_t i = (size_t)tok_fnv1a(TOK_FNV_OFFSET, t, v->lens[id]) & v->mask;
        for (; v->slots[i] >= 0; i = (i + 1) & v->mask) {
            int32_t o = v->slots[i];
            if (v->lens[o] == v->lens[id] && !memcmp(v->tokens[o], t, v->lens[id]))
                return ft_fail(err, FT_EFORMAT, "%s: token \"%s\" appears twice (ids %ld and %ld)",
                               origin, t, (long)o, (long)id);
        }
        v->slots[i] = id;
    }
    return FT_OK;
}

int32_t tok_vocab_find_after(const tok_vocab *v, const char *prefix, size_t plen,
                             uint64_t prefix_hash, const char *s, size_t n)
{
    uint64_t h = tok_fnv1a(prefix_hash, s, n);
    for (size_t i = (size_t)h & v->mask;; i = (i + 1) & v->mask) {
        int32_t id = v->slots[i];
        if (id < 0) return -1;
        const char *t = v->tokens[id];
        if (v->lens[id] == plen + n && !memcmp(t, prefix, plen) && !memcmp(t + plen, s, n))
            return id;
    }
}

uint64_t tok_vocab_hash_tokens(const tok_vocab *v, uint64_t h)
{
    for (int32_t id = 0; id < v->n_ids; id++) {
        if (v->tokens[id]) h = tok_fnv1a(h, v->tokens[id], v->lens[id]);
        h = tok_fnv1a(h, v->tokens[id] ? "\n" : "\1\n", v->tokens[id] ? 1 : 2);
    }
    return h;
}

ft_status tok_vocab_check_ids(const tok_vocab *v, const int32_t *ids, size_t n, ft_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= v->n_ids || !v->tokens[ids[i]])
            return ft_fail(err, FT_EINVAL,
                           "decode: id %ld at position %zu is not in the "
                           "vocabulary (0..%ld)",
                           (long)ids[i], i, (long)v->n_ids - 1);
    return FT_OK;
}
