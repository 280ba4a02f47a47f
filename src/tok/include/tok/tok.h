/* tok: the tokenizers of the models ftune fine-tunes, exact to Hugging Face.
 *
 * One opaque tok_tokenizer for both kinds, opened from a model folder:
 *   - tokenizer.json (Hugging Face fast-tokenizer file) when present, else
 *   - vocab.txt                  -> BERT WordPiece (tok_wordpiece.c)
 *   - vocab.json + merges.txt    -> GPT-2 byte-level BPE (tok_bpe.c)
 * A tokenizer.json of model.type "BPE" is byte-level (GPT-2, Llama 3,
 * Qwen2) or SentencePiece-style (Llama 2, Mistral, TinyLlama, Phi-3); both
 * are TOK_BYTE_BPE here (the fingerprint tells them apart).
 * Lower-casing for WordPiece follows tokenizer_config.json's "do_lower_case"
 * when present, else the model's config.json name, else true (uncased).
 *
 * tok_encode gives the ids of a text without special tokens (what
 * `tokenizer(text, add_special_tokens=False)` gives); tok_encode_for_model
 * adds what the model expects ([CLS] ... [SEP] for BERT, nothing for GPT-2,
 * the post-processor's BOS/EOS for BPE tokenizer.json files, or those of
 * tokenizer_config.json's add_bos_token / add_eos_token),
 * truncates to max_length and pads with the pad id, as
 * `tokenizer(text, truncation=True, max_length=L, padding="max_length")`.
 *
 * Texts are UTF-8. Invalid UTF-8 is an FT_EINVAL naming the byte offset
 * (callers decide whether to skip the example). A tokenizer is read-only
 * after tok_open except for the BPE merge cache, so one tokenizer must not be
 * shared between threads; open one per thread. */
#ifndef TOK_H
#define TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ft_error.h"

typedef struct tok_tokenizer tok_tokenizer;

typedef enum tok_kind { TOK_WORDPIECE = 1, TOK_BYTE_BPE = 2 } tok_kind;

/* A growable list of token ids owned by the caller (tok_ids_free). */
typedef struct tok_ids {
    int32_t *ids;
    size_t len, cap;
} tok_ids;

void tok_ids_free(tok_ids *ids);

ft_status tok_open(const char *model_dir, tok_tokenizer **out, ft_error *err);
void tok_close(tok_tokenizer *t);

tok_kind tok_get_kind(const tok_tokenizer *t);
int32_t tok_vocab_size(const tok_tokenizer *t);
int32_t tok_pad_id(const tok_tokenizer *t);
/* A stable 64-bit fingerprint of the vocabulary, merges and settings: shards
 * made with one tokenizer are refused by a model with another. */
uint64_t tok_fingerprint(const tok_tokenizer *t);
/* The id of a token string, or -1. */
int32_t tok_token_to_id(const tok_tokenizer *t, const char *token);

/* Append the ids of text[0..len) to out (out->len grows). */
ft_status tok_encode(tok_tokenizer *t, const char *text, size_t len, tok_ids *out, ft_error *err);

/* ids_out[0..max_length) gets the model input padded with the pad id;
 * *length the number of real tokens; *truncated whether tokens were cut. */
ft_status tok_encode_for_model(tok_tokenizer *t, const char *text, size_t len, int32_t max_length,
                               int32_t *ids_out, int32_t *length, bool *truncated, ft_error *err);

/* The text of ids (special tokens skipped when skip_special). WordPiece
 * joins "##" pieces as Hugging Face's decode does; byte-level BPE gives back
 * the exact bytes. *text is NUL-terminated and the caller frees it. */
ft_status tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                     char **text, size_t *text_len, ft_error *err);

#endif
