/* tok_impl.h: what the tokenizer module's own files share. tok.c opens a
 * model folder, picks the kind and dispatches; tok_wordpiece.c and tok_bpe.c
 * each implement one kind, from its classic files or from the parsed
 * tokenizer.json, over the vocabulary table of tok_vocab.c. Not part of the
 * public API. */
#ifndef TOK_IMPL_H
#define TOK_IMPL_H

#include <cjson/cJSON.h>

#include "tok/tok.h"

typedef struct tok_wordpiece tok_wordpiece;
typedef struct tok_bpe tok_bpe;

struct tok_tokenizer {
    tok_kind kind;
    tok_wordpiece *wordpiece; /* set when kind == TOK_WORDPIECE */
    tok_bpe *bpe;             /* set when kind == TOK_BYTE_BPE */
    tok_ids scratch;          /* tok_encode_for_model's ids before truncation */
};

/* Append one id to ids, growing it. */
ft_status tok_ids_push(tok_ids *ids, int32_t id, ft_error *err);
/* The same, inline where there is room (the encoders' per-token path). */
static inline ft_status tok_ids_append(tok_ids *ids, int32_t id, ft_error *err)
{
    if (ids->len < ids->cap) {
        ids->ids[ids->len++] = id;
        return FT_OK;
    }
    return tok_ids_push(ids, id, err);
}

/* Parse the JSON file at path into *out (cJSON_Delete); a syntax error
 * names path:line (tok.c). */
ft_status tok_read_json_file(const char *path, cJSON **out, ft_error *err);

/* ---- vocabulary table (tok_vocab.c) ---- */
enum { TOK_VOCAB_MAX_IDS = 1 << 22 }; /* refuse vocabularies beyond 4M ids */
#define TOK_FNV_OFFSET 0xcbf29ce484222325ULL

/* FT_ENOMEM with the tokenizers' message. */
ft_status tok_nomem(ft_error *err);
/* FNV-1a of p[0..n) continuing from state h (TOK_FNV_OFFSET to start). */
uint64_t tok_fnv1a(uint64_t h, const void *p, size_t n);

/* id -> token (NULL: an id with none) with byte lengths, and a hash index
 * token -> id (slots: -1 empty, mask + 1 of them) once built. Embedded in
 * its tokenizer: tok_vocab_init / tok_vocab_free. */
typedef struct tok_vocab {
    char **tokens;
    uint32_t *lens;
    int32_t n_ids;
    int32_t *slots;
    size_t mask;
} tok_vocab;

/* Room for ids 0..n_ids-1, none set; origin names the file for messages
 * (empty, or more than TOK_VOCAB_MAX_IDS). Call tok_vocab_free even on
 * failure. */
ft_status tok_vocab_init(tok_vocab *v, int32_t n_ids, const char *origin, ft_error *err);
/* Free what v holds (not v); NULL is a no-op. */
void tok_vocab_free(tok_vocab *v);
/* Give s[0..n) the id (0 <= id < n_ids): refuses an empty token, invalid
 * UTF-8 and an id given two different tokens (the same one twice is fine);
 * where names the file and line or key. */
ft_status tok_vocab_set(tok_vocab *v, int32_t id, const char *s, size_t n, const char *where,
                        ft_error *err);
/* Index every token; a token given two ids is an error naming both. */
ft_status tok_vocab_build_index(tok_vocab *v, const char *origin, ft_error *err);
/* The id of prefix[0..plen) + s[0..n), or -1, where prefix_hash is
 * tok_fnv1a(TOK_FNV_OFFSET, prefix, plen): a continuation piece ("##" +
 * piece) is looked up without building the string. Needs the index. */
int32_t tok_vocab_find_after(const tok_vocab *v, const char *prefix, size_t plen,
                             uint64_t prefix_hash, const char *s, size_t n);
/* The id of s[0..n), or -1. */
static inline int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t n)
{
    return tok_vocab_find_after(v, "", 0, TOK_FNV_OFFSET, s, n);
}
/* h continued over the tokens in id order (the fingerprints' first part). */
uint64_t tok_vocab_hash_tokens(const tok_vocab *v, uint64_t h);
/* FT_EINVAL naming the first of ids[0..n) that has no token (decode). */
ft_status tok_vocab_check_ids(const tok_vocab *v, const int32_t *ids, size_t n, ft_error *err);

/* ---- tokens matched in the raw text (tok_added.c) ---- */
/* One matched token; text points into its vocabulary's tokens. */
typedef struct tok_added_token {
    const char *text;
    size_t len;
    int32_t id;
    bool lstrip, rstrip; /* takes the white space before / after it (BPE) */
} tok_added_token;

/* The matched tokens, each id once, longest first once sorted;
 * first_byte[c] is 1 where one starts with byte c. Embedded in its
 * tokenizer, zeroed to start: tok_added_free. */
typedef struct tok_added {
    tok_added_token *items;
    size_t n;
    uint8_t first_byte[256];
} tok_added;

void tok_added_free(tok_added *a);
bool tok_added_has(const tok_added *a, int32_t id);
/* Match vocabulary token id (set, 0 <= id < n_ids) in the text; an id
 * already in is a no-op. */
ft_status tok_added_add(tok_added *a, const tok_vocab *v, int32_t id, ft_error *err);
/* Every entry of a tokenizer.json's added_tokens (already checked: "id" a
 * valid id with its token set), marking special[id] where "special" is
 * true. */
ft_status tok_added_add_json(tok_added *a, const tok_vocab *v, uint8_t *special, const cJSON *added,
                             ft_error *err);
/* Longest first, then by id; call once all are in, before tok_added_next. */
void tok_added_sort(tok_added *a);
/* h continued over the ids in increasing order (fingerprints). */
uint64_t tok_added_hash_ids(const tok_added *a, uint64_t h);
/* The first matched token at or after text[from], the longest at that
 * position, with its offset in *at; NULL and *at = len where none. */
const tok_added_token *tok_added_next(const tok_added *a, const char *text, size_t len, size_t from,
                                      size_t *at);

/* ---- WordPiece (tok_wordpiece.c) ---- */
ft_status tok_wordpiece_open_vocab(const char *vocab_txt, bool lowercase, tok_wordpiece **out,
                                   ft_error *err);
/* root: a parsed tokenizer.json whose model.type is "WordPiece". */
ft_status tok_wordpiece_open_json(const cJSON *root, const char *origin, tok_wordpiece **out,
                                  ft_error *err);
void tok_wordpiece_free(tok_wordpiece *w);
/* Settings of tokenizer_config.json that transformers applies over both
 * vocab.txt and tokenizer.json: -1 leaves one as it is, 0/1 false/true;
 * strip_accents 2 is null (follow lowercase). */
typedef struct tok_wordpiece_options {
    int lowercase, strip_accents, chinese, cleanup;
} tok_wordpiece_options;
void tok_wordpiece_set_options(tok_wordpiece *w, const tok_wordpiece_options *o);
int32_t tok_wordpiece_vocab_size(const tok_wordpiece *w);
int32_t tok_wordpiece_pad_id(const tok_wordpiece *w);
int32_t tok_wordpiece_cls_id(const tok_wordpiece *w);
int32_t tok_wordpiece_sep_id(const tok_wordpiece *w);
uint64_t tok_wordpiece_fingerprint(const tok_wordpiece *w);
int32_t tok_wordpiece_token_to_id(const tok_wordpiece *w, const char *token);
ft_status tok_wordpiece_encode(const tok_wordpiece *w, const char *text, size_t len, tok_ids *out,
                               ft_error *err);
ft_status tok_wordpiece_decode(const tok_wordpiece *w, const int32_t *ids, size_t n,
                               bool skip_special, char **text, size_t *text_len, ft_error *err);

/* ---- GPT-2 byte-level BPE (tok_bpe.c) ---- */
ft_status tok_bpe_open_files(const char *vocab_json, const char *merges_txt, tok_bpe **out,
                             ft_error *err);
/* root: a parsed tokenizer.json whose model.type is "BPE". */
ft_status tok_bpe_open_json(const cJSON *root, const char *origin, tok_bpe **out, ft_error *err);
void tok_bpe_free(tok_bpe *b);
int32_t tok_bpe_vocab_size(const tok_bpe *b);
/* <|endoftext|>, as GPT-2 users set, else tokenizer_config's pad_token, else -1 */
int32_t tok_bpe_pad_id(const tok_bpe *b);
/* The special tokens the post-processor puts before and after the ids of
 * one text (TemplateProcessing's "single"; none for GPT-2). */
void tok_bpe_frame(const tok_bpe *b, const int32_t **pre, int *n_pre, const int32_t **post,
                   int *n_post);
/* Replace the frame (n_pre < 0: keep it) and the pad id (pad_id < 0: keep
 * it): tokenizer_config.json's add_bos_token / add_eos_token / pad_token
 * over tokenizer.json, as transformers applies them. */
ft_status tok_bpe_set_frame(tok_bpe *b, const int32_t *pre, int n_pre, const int32_t *post,
                            int n_post, int32_t pad_id, ft_error *err);
uint64_t tok_bpe_fingerprint(const tok_bpe *b);
int32_t tok_bpe_token_to_id(const tok_bpe *b, const char *token);
/* Not const: the merge cache fills as words are seen. */
ft_status tok_bpe_encode(tok_bpe *b, const char *text, size_t len, tok_ids *out, ft_error *err);
ft_status tok_bpe_decode(const tok_bpe *b, const int32_t *ids, size_t n, bool skip_special,
                         char **text, size_t *text_len, ft_error *err);

#endif
