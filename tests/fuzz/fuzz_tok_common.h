/* fuzz_tok_common: what the three tokenizer targets do with a model folder
 * once their files are written there: tok_open, then, for an accepted
 * tokenizer, encode a few fixed texts (ASCII, accents, CJK, emoji, special
 * tokens, invalid UTF-8), frame each for the model, and decode the ids
 * again. Every id must lie in [0, vocab size) and the decode of the ids an
 * encode gave must succeed (fuzz_require). */
#ifndef FUZZ_TOK_COMMON_H
#define FUZZ_TOK_COMMON_H

/* Open dir's tokenizer and use it as above. */
void fuzz_tok_open_dir(const char *dir);

#endif
