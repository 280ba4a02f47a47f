/* fuzz_tok_common: see fuzz_tok_common.h. */
#include "fuzz_tok_common.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tok/tok.h"

static void fuzz_tok_encode_decode(tok_tokenizer *t, const char *text)
{
    tok_ids ids = {0};
    ft_error err;
    int32_t n_ids = tok_vocab_size(t);
    if (tok_encode(t, text, strlen(text), &ids, &err) == FT_OK) {
        for (size_t i = 0; i < ids.len; i++)
            fuzz_require(ids.ids[i] >= 0 && ids.ids[i] < n_ids,
                         "tok_encode gave an id out of range");
        char *back = NULL;
        size_t back_len = 0;
        fuzz_require(tok_decode(t, ids.ids, ids.len, false, &back, &back_len, &err) == FT_OK,
                     "tok_decode fails on ids tok_encode gave");
        free(back);
    }
    int32_t model_ids[16], length = 0;
    bool truncated = false;
    if (tok_encode_for_model(t, text, strlen(text), 16, model_ids, &length, &truncated, &err) ==
        FT_OK)
        fuzz_require(length >= 0 && length <= 16, "tok_encode_for_model length out of range");
    tok_ids_free(&ids);
}

void fuzz_tok_open_dir(const char *dir)
{
    static const char *const texts[] = {
        "Hello, world! The quick brown fox's 123 jumps.",
        "Caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80  tabs\tand\nnewlines",
        "[CLS] [SEP] [PAD] [UNK] <|endoftext|> ##ing a b ab abc",
        "bad \xff\xfe utf-8 \xc3",
        "",
    };
    tok_tokenizer *t = NULL;
    ft_error err;
    if (tok_open(dir, &t, &err) != FT_OK) {
        fuzz_require(t == NULL && err.msg[0] != '\0', "tok_open failed without a message");
        return;
    }
    fuzz_require(tok_vocab_size(t) > 0, "tok: an accepted tokenizer with no ids");
    (void)tok_fingerprint(t);
    (void)tok_token_to_id(t, "[UNK]");
    (void)tok_pad_id(t);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) fuzz_tok_encode_decode(t, texts[i]);
    int32_t all[8] = {0, 1, 2, 3, tok_vocab_size(t) - 1, tok_pad_id(t), -1, tok_vocab_size(t)};
    char *text = NULL;
    size_t len = 0;
    if (tok_decode(t, all, 8, true, &text, &len, &err) == FT_OK) free(text);
    tok_close(t);
}
