/* tok_impl.h: what the tokenizer module's own files share. tok.c opens a
 * model folder, picks the kind and dispatches; tok_wordpiece.c and tok_bpe.c
 * each implement one kind, from its classic files or from the parsed
 * tokenizer.json. Not part of the public API. */
#ifndef TOK_IMPL_H
#define TOK_IMPL_H

#include <cjson/cJSON.h>

#include "tok.h"

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

/* ---- WordPiece (tok_wordpiece.c) ---- */
ft_status tok_wordpiece_open_vocab(const char *vocab_txt, bool lowercase,
                                   tok_wordpiece **out, ft_error *err);
/* root: a parsed tokenizer.json whose model.type is "WordPiece". */
ft_status tok_wordpiece_open_json(const cJSON *root, const char *origin,
                                  tok_wordpiece **out, ft_error *err);
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
ft_status tok_wordpiece_encode(const tok_wordpiece *w, const char *text,
                               size_t len, tok_ids *out, ft_error *err);
ft_status tok_wordpiece_decode(const tok_wordpiece *w, const int32_t *ids,
                               size_t n, bool skip_special, char **text,
                               size_t *text_len, ft_error *err);

/* ---- GPT-2 byte-level BPE (tok_bpe.c) ---- */
ft_status tok_bpe_open_files(const char *vocab_json, const char *merges_txt,
                             tok_bpe **out, ft_error *err);
/* root: a parsed tokenizer.json whose model.type is "BPE". */
ft_status tok_bpe_open_json(const cJSON *root, const char *origin,
                            tok_bpe **out, ft_error *err);
void tok_bpe_free(tok_bpe *b);
int32_t tok_bpe_vocab_size(const tok_bpe *b);
int32_t tok_bpe_pad_id(const tok_bpe *b); /* <|endoftext|>, as GPT-2 users set */
uint64_t tok_bpe_fingerprint(const tok_bpe *b);
int32_t tok_bpe_token_to_id(const tok_bpe *b, const char *token);
/* Not const: the merge cache fills as words are seen. */
ft_status tok_bpe_encode(tok_bpe *b, const char *text, size_t len,
                         tok_ids *out, ft_error *err);
ft_status tok_bpe_decode(const tok_bpe *b, const int32_t *ids, size_t n,
                         bool skip_special, char **text, size_t *text_len,
                         ft_error *err);

#endif
