/* tok (decoder-LLM tokenizers): every text of the messy corpus, chat-formatted
 * texts and hand cases, id for id with Hugging Face `tokenizers`, through
 * the tokenizer.json of each family: encode, encode for the model (the
 * post-processor's BOS), decode with and without special tokens; then
 * hostile tokenizer.json files refused with a message naming the key.
 *
 * References: tests/reference/make_llm_tokenizers.py builds the small
 * tokenizers under tests/fixtures/tokenizer/llm/<family>/ (trained by
 * `tokenizers` on the State of the Union text, written with the real
 * families' pipeline JSON: BUILT vocabularies, not Meta's or Alibaba's)
 * and writes expected.jsonl with `tokenizers`' ids and decodes. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/ft_fs.h"
#include "tok/tok.h"

#define TOK_TEST_NAME "llm"
#include "tok_test_util.h"

#define LLM_DIR FTUNE_FIXTURES "/tokenizer/llm"

enum { SHOW_MISMATCHES = 5, EXPECTED_TEXTS = 1592 };

static const char *const families[] = {"llama3", "qwen2", "llama2", "mistral", "phi3"};
enum { N_FAMILIES = sizeof families / sizeof *families };

static char *family_path(const char *family, const char *file)
{
    char *dir = ft_path_join(LLM_DIR, family);
    char *path = dir ? ft_path_join(dir, file) : NULL;
    free(dir);
    CHECK(path != NULL);
    return path;
}

static tok_tokenizer *open_family(const char *family)
{
    char *dir = ft_path_join(LLM_DIR, family);
    tok_tokenizer *t = NULL;
    ft_error err;
    CHECK_MSG(tok_open(dir, &t, &err) == FT_OK, "%s: %s", family, err.msg);
    free(dir);
    return t;
}

/* ---- the corpus ---------------------------------------------------------- */

static bool ids_equal(const cJSON *expected, const int32_t *ids, size_t n)
{
    if ((size_t)cJSON_GetArraySize(expected) != n) return false;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, expected) if ((int32_t)e->valuedouble != ids[i++]) return false;
    return true;
}

typedef struct tally {
    long texts, bad_ids, bad_model, bad_decode, bad_skip;
} tally;

static const char *rec_str(const cJSON *rec, const char *key, const char *fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, key);
    return cJSON_IsString(v) ? v->valuestring : fallback;
}

static void note(long *count, const char *family, long i, const char *what, const char *text)
{
    if ((*count)++ < SHOW_MISMATCHES)
        fprintf(stderr, "%s: text %ld: %s differ from tokenizers': %.80s\n", family, i, what, text);
}

/* tok_encode_for_model with max_length exactly the reference's length (no
 * padding: Llama 3 has no pad token), then one shorter (truncated, the
 * frame kept). */
static void check_for_model(tok_tokenizer *t, const cJSON *expected, tally *tl, const char *family,
                            long i, const char *text)
{
    int32_t n = cJSON_GetArraySize(expected), length = 0;
    if (n < 1) return;
    int32_t *ids = calloc((size_t)n, sizeof *ids);
    bool truncated = true;
    ft_error err;
    CHECK_MSG(tok_encode_for_model(t, text, strlen(text), n, ids, &length, &truncated, &err) ==
                  FT_OK,
              "%s", err.msg);
    if (length != n || truncated || !ids_equal(expected, ids, (size_t)n))
        note(&tl->bad_model, family, i, "ids for the model", text);
    free(ids);
}

/* The texts of corpus.jsonl (expected.jsonl gives their ids by line). */
typedef struct corpus {
    cJSON **lines;
    long n;
} corpus;

static corpus read_corpus(void)
{
    size_t len;
    char *data = read_text(FTUNE_FIXTURES "/tokenizer/corpus.jsonl", &len);
    corpus c = {calloc(4096, sizeof(cJSON *)), 0};
    for (char *line = data ? strtok(data, "\n") : NULL; line && c.n < 4096;
         line = strtok(NULL, "\n"))
        c.lines[c.n++] = cJSON_Parse(line);
    free(data);
    return c;
}

static void free_corpus(corpus *c)
{
    for (long i = 0; i < c->n; i++) cJSON_Delete(c->lines[i]);
    free(c->lines);
}

/* frame.pre + ids + frame.post: the model input transformers gives. */
static cJSON *framed(const cJSON *frame, const cJSON *ids)
{
    cJSON *all = cJSON_CreateArray();
    const char *const parts[3] = {"pre", NULL, "post"};
    for (int k = 0; k < 3; k++) {
        const cJSON *part = k == 1 ? ids : cJSON_GetObjectItemCaseSensitive(frame, parts[k]), *e;
        cJSON_ArrayForEach(e, part) cJSON_AddItemToArray(all, cJSON_CreateNumber(e->valuedouble));
    }
    return all;
}

static void check_text(tok_tokenizer *t, const char *family, const cJSON *rec, const cJSON *frame,
                       const corpus *c, tally *tl)
{
    long i = (long)cJSON_GetObjectItemCaseSensitive(rec, "i")->valuedouble;
    const cJSON *line = i >= 0 && i < c->n ? c->lines[i] : NULL;
    const char *text = rec_str(rec, "text", rec_str(line, "text", ""));
    const cJSON *expected = cJSON_GetObjectItemCaseSensitive(rec, "ids");
    cJSON *model = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "ids_model"), true);
    if (!model) model = framed(frame, expected);
    tok_ids ids = {0};
    ft_error err;
    CHECK_MSG(tok_encode(t, text, strlen(text), &ids, &err) == FT_OK, "%s", err.msg);
    if (!ids_equal(expected, ids.ids, ids.len)) note(&tl->bad_ids, family, i, "ids", text);
    check_for_model(t, model, tl, family, i, text);
    cJSON_Delete(model);
    const char *decoded = rec_str(rec, "decoded", text);
    const char *skip = rec_str(rec, "decoded_skip", decoded);
    for (int k = 0; k < 2; k++) {
        char *back = NULL;
        size_t back_len = 0;
        CHECK(tok_decode(t, ids.ids, ids.len, k == 1, &back, &back_len, &err) == FT_OK);
        const char *want = k ? skip : decoded;
        if (back && (back_len != strlen(want) || memcmp(back, want, back_len)))
            note(k ? &tl->bad_skip : &tl->bad_decode, family, i,
                 k ? "decode(skip_special)" : "decode", text);
        free(back);
    }
    tok_ids_free(&ids);
    tl->texts++;
}

static void check_corpus(const char *family)
{
    tok_tokenizer *t = open_family(family);
    char *path = family_path(family, "expected.jsonl");
    size_t len;
    char *data = t ? read_text(path, &len) : NULL;
    tally tl = {0};
    corpus c = read_corpus();
    cJSON *frame = NULL;
    for (char *line = data ? strtok(data, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        cJSON *rec = cJSON_Parse(line);
        CHECK(rec != NULL);
        if (!frame) { /* the first line: what transformers puts around a text */
            frame = cJSON_DetachItemFromObjectCaseSensitive(rec, "frame");
            CHECK(frame != NULL);
        } else if (rec) {
            check_text(t, family, rec, frame, &c, &tl);
        }
        cJSON_Delete(rec);
    }
    cJSON_Delete(frame);
    free_corpus(&c);
    fprintf(stderr,
            "%s: %ld texts: %ld with other ids, %ld other model ids, %ld other decodes, "
            "%ld other decodes without special tokens\n",
            family, tl.texts, tl.bad_ids, tl.bad_model, tl.bad_decode, tl.bad_skip);
    CHECK_EQ_INT(tl.texts, EXPECTED_TEXTS);
    CHECK_EQ_INT(tl.bad_ids, 0);
    CHECK_EQ_INT(tl.bad_model, 0);
    CHECK_EQ_INT(tl.bad_decode, 0);
    CHECK_EQ_INT(tl.bad_skip, 0);
    free(data);
    free(path);
    tok_close(t);
}

/* ---- by hand ---------------------------------------------------------------- */

static void check_basics(void)
{
    tok_tokenizer *llama3 = open_family("llama3"), *qwen2 = open_family("qwen2");
    if (!llama3 || !qwen2) return;
    CHECK_EQ_INT(tok_get_kind(llama3), TOK_BYTE_BPE);
    CHECK_EQ_INT(tok_token_to_id(llama3, "<|begin_of_text|>"), 3000);
    CHECK_EQ_INT(tok_token_to_id(qwen2, "<|im_start|>"), 3001);
    CHECK_EQ_INT(tok_pad_id(qwen2), 3000); /* <|endoftext|> */
    CHECK(tok_fingerprint(llama3) != tok_fingerprint(qwen2));
    /* Llama 3 frames with <|begin_of_text|>, Qwen2 with nothing; padding
     * Qwen2 with <|endoftext|>; max_length 0 refused. */
    int32_t ids[8], length = 0;
    bool truncated = false;
    ft_error err;
    CHECK(tok_encode_for_model(qwen2, "the the the", 11, 8, ids, &length, &truncated, &err) ==
          FT_OK);
    CHECK(length < 8 && !truncated && ids[7] == 3000);
    CHECK(tok_encode_for_model(llama3, "the the the the", 15, 3, ids, &length, &truncated, &err) ==
          FT_OK);
    CHECK(length == 3 && truncated && ids[0] == 3000);
    CHECK_EQ_INT(tok_encode_for_model(llama3, "x", 1, 0, ids, &length, &truncated, &err),
                 FT_EINVAL);
    /* Invalid UTF-8 names the byte, before and after NFC. */
    tok_ids out = {0};
    CHECK_EQ_INT(tok_encode(qwen2, "ab\xff", 3, &out, &err), FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "byte 2");
    CHECK_EQ_INT(tok_encode(llama3, "<|eot_id|>a\xc3", 12, &out, &err), FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "byte 11");
    tok_ids_free(&out);
    tok_close(llama3);
    tok_close(qwen2);
}

/* ---- hostile tokenizer.json ------------------------------------------------- */

/* The family's tokenizer.json with the value at a dotted path (object keys,
 * or array indices as digits) replaced by value (JSON), opened. */
static ft_status open_variant(const char *family, const char *name, const char *path,
                              const char *value, ft_error *err)
{
    char *src = family_path(family, "tokenizer.json");
    size_t len;
    char *text = read_text(src, &len);
    cJSON *root = cJSON_ParseWithLength(text, len), *at = root;
    char key[128];
    snprintf(key, sizeof key, "%s", path);
    char *part = strtok(key, "."), *next;
    for (; (next = strtok(NULL, ".")) != NULL; part = next)
        at = *part >= '0' && *part <= '9' ? cJSON_GetArrayItem(at, atoi(part))
                                          : cJSON_GetObjectItemCaseSensitive(at, part);
    CHECK_MSG(at != NULL, "%s: no %s", src, path);
    if (cJSON_IsArray(at) && atoi(part) >= cJSON_GetArraySize(at))
        cJSON_AddItemToArray(at, cJSON_Parse(value));
    else if (cJSON_IsArray(at))
        cJSON_ReplaceItemInArray(at, atoi(part), cJSON_Parse(value));
    else if (cJSON_GetObjectItemCaseSensitive(at, part))
        cJSON_ReplaceItemInObjectCaseSensitive(at, part, cJSON_Parse(value));
    else
        cJSON_AddItemToObject(at, part, cJSON_Parse(value));
    char *json = cJSON_PrintUnformatted(root), *dir = make_dir(name);
    write_text(dir, "tokenizer.json", json);
    tok_tokenizer *t = NULL;
    ft_status st = tok_open(dir, &t, err);
    tok_close(t);
    free(dir);
    free(json);
    cJSON_Delete(root);
    free(text);
    free(src);
    return st;
}

static void expect_refused(const char *family, const char *name, const char *path,
                           const char *value, const char *needle)
{
    ft_error err;
    ft_status st = open_variant(family, name, path, value, &err);
    CHECK_MSG(st == FT_EFORMAT, "%s: %s = %s was accepted", family, path, value);
    if (st != FT_OK) CHECK_STR_CONTAINS(err.msg, needle);
}

static void check_hostile(void)
{
    ft_error err;
    CHECK_MSG(open_variant("llama3", "same", "model.ignore_merges", "true", &err) == FT_OK, "%s",
              err.msg);
    expect_refused("llama3", "pre-type", "pre_tokenizer", "{\"type\": \"Whitespace\"}",
                   "pre_tokenizer Whitespace is not supported");
    expect_refused("llama3", "pre-three", "pre_tokenizer.pretokenizers.2", "{\"type\": \"Digits\"}",
                   "pre_tokenizer Sequence of Split, ByteLevel (3 steps)");
    expect_refused("llama3", "split-pattern", "pre_tokenizer.pretokenizers.0.pattern",
                   "{\"Regex\": \"\\\\s+|\\\\S+\"}", "pre_tokenizer Split pattern \"\\s+|\\S+\"");
    expect_refused("llama3", "split-string", "pre_tokenizer.pretokenizers.0.pattern",
                   "{\"String\": \" \"}", "a String pattern is not supported");
    expect_refused("llama3", "split-behavior", "pre_tokenizer.pretokenizers.0.behavior",
                   "\"Removed\"", "Split behavior Removed is not supported");
    expect_refused("llama3", "split-invert", "pre_tokenizer.pretokenizers.0.invert", "true",
                   "Split invert must be false");
    expect_refused("llama3", "bl-regex", "pre_tokenizer.pretokenizers.1.use_regex", "true",
                   "use_regex true is not supported");
    expect_refused("qwen2", "normalizer", "normalizer", "{\"type\": \"NFKC\"}",
                   "normalizer NFKC is not supported");
    expect_refused("qwen2", "decoder", "decoder", "{\"type\": \"Metaspace\"}",
                   "decoder Metaspace is not supported");
    expect_refused("qwen2", "post", "post_processor", "{\"type\": \"RobertaProcessing\"}",
                   "post_processor RobertaProcessing is not supported");
    expect_refused("llama3", "template-missing", "post_processor.processors.1.special_tokens", "{}",
                   "special token \"<|begin_of_text|>\" has no entry");
    expect_refused("llama3", "template-bad-id",
                   "post_processor.processors.1.special_tokens.<|begin_of_text|>.ids", "[99999]",
                   "id 99999 is not in the vocabulary");
    expect_refused("llama3", "template-no-a", "post_processor.processors.1.single",
                   "[{\"SpecialToken\": {\"id\": \"<|begin_of_text|>\", \"type_id\": 0}}]",
                   "\"single\" has no sequence $A");
    expect_refused("llama3", "post-sequence", "post_processor.processors", "{}",
                   "post_processor Sequence: \"processors\" must be an array");
    expect_refused("llama3", "byte-fallback", "model.byte_fallback", "true",
                   "model.byte_fallback true is not supported");
    expect_refused("llama3", "merges-unknown", "model.merges.0", "[\"zzzz\", \"q\"]",
                   "model.merges[0]: token \"zzzz\" is not in the vocabulary");
    expect_refused("llama3", "merges-shape", "model.merges.1", "[\"a\"]",
                   "model.merges[1]: expected \"a b\" or [\"a\", \"b\"]");
    expect_refused("llama3", "merges-type", "model.merges", "{}", "model.merges must be an array");
    expect_refused("qwen2", "added-single-word", "added_tokens.1.single_word", "true",
                   "\"<|im_start|>\": single_word true is not supported");
    expect_refused("qwen2", "added-normalized", "added_tokens.0.normalized", "true",
                   "normalized true is not supported for BPE with a normalizer");
    expect_refused("qwen2", "model-type", "model.type", "\"Unigram\"",
                   "model.type must be \"WordPiece\" or \"BPE\", got Unigram");
}

/* SentencePiece-style (Llama 2, Mistral, Phi-3) files refused by name. */
static void check_hostile_sp(void)
{
    expect_refused("llama2", "sp-replace", "normalizer.normalizers.1.content", "\"_\"",
                   "normalizer Sequence is not supported");
    expect_refused("llama2", "sp-normalizer", "normalizer", "{\"type\": \"NFKD\"}",
                   "normalizer NFKD is not supported");
    expect_refused("llama2", "sp-pre", "pre_tokenizer", "{\"type\": \"Whitespace\"}",
                   "pre_tokenizer Whitespace after the SentencePiece-style normalizer");
    expect_refused("llama2", "sp-decoder", "decoder.decoders.3", "{\"type\": \"Fuse\"}",
                   "decoder Sequence is not supported for SentencePiece-style BPE");
    expect_refused("llama2", "sp-no-decoder", "decoder", "null",
                   "decoder null is not supported for SentencePiece-style BPE");
    expect_refused("llama2", "sp-unk", "model.unk_token", "\"<nope>\"",
                   "model.unk_token \"<nope>\" is not in the vocabulary");
    expect_refused("llama2", "sp-normalized", "added_tokens.1.normalized", "true",
                   "\"<s>\": normalized true is not supported for BPE with a normalizer");
    expect_refused("mistral", "ms-split", "pre_tokenizer.split", "true",
                   "pre_tokenizer Metaspace split true is not supported");
    expect_refused("mistral", "ms-scheme", "pre_tokenizer.prepend_scheme", "\"sometimes\"",
                   "prepend_scheme sometimes is not supported");
    expect_refused("mistral", "ms-replacement", "pre_tokenizer.replacement", "\"_\"",
                   "replacement must be");
    expect_refused("mistral", "ms-merges", "model.merges.5", "[\"\u2581the\", \"zzz\"]",
                   "model.merges[5]: token \"zzz\" is not in the vocabulary");
}

/* Byte fallback, unk, lstrip, tokenizer_config's add_bos_token/add_eos_token
 * and pad_token, by hand. */
static void check_sp_basics(void)
{
    tok_tokenizer *llama2 = open_family("llama2"), *phi3 = open_family("phi3");
    if (!llama2 || !phi3) return;
    tok_ids ids = {0};
    ft_error err;
    /* U+4E00 is no token: its three bytes' <0xE4> <0xB8> <0x80> (ids 3 + byte) */
    CHECK(tok_encode(llama2, "\xe4\xb8\x80", 3, &ids, &err) == FT_OK);
    CHECK(ids.len >= 3 && ids.ids[ids.len - 3] == 3 + 0xE4 && ids.ids[ids.len - 1] == 3 + 0x80);
    char *back = NULL;
    size_t back_len = 0;
    CHECK(tok_decode(llama2, ids.ids, ids.len, true, &back, &back_len, &err) == FT_OK);
    CHECK(back && !strcmp(back, "\xe4\xb8\x80"));
    free(back);
    /* Llama 2: add_bos_token true frames with <s> = 1; Phi-3: false, no frame */
    int32_t model[4], length = 0;
    bool truncated = false;
    CHECK(tok_encode_for_model(llama2, "Hi", 2, 2, model, &length, &truncated, &err) == FT_OK);
    CHECK(model[0] == 1 && truncated);
    CHECK(tok_encode_for_model(phi3, "Hi", 2, 4, model, &length, &truncated, &err) == FT_OK);
    CHECK(model[0] != 1 && model[3] == tok_token_to_id(phi3, "<|endoftext|>"));
    /* Phi-3's <|end|> has rstrip: the spaces after it are its own */
    tok_ids a = {0}, c = {0};
    CHECK(tok_encode(phi3, "x<|end|>   y", 12, &a, &err) == FT_OK);
    CHECK(tok_encode(phi3, "x<|end|>y", 9, &c, &err) == FT_OK);
    CHECK(a.len == c.len && !memcmp(a.ids, c.ids, a.len * sizeof *a.ids));
    /* and with lstrip the spaces before it */
    CHECK(open_variant("phi3", "lstrip", "added_tokens.10.lstrip", "true", &err) == FT_OK);
    char *dir = ft_path_join(scratch_dir, "lstrip");
    tok_tokenizer *ls = NULL;
    CHECK(tok_open(dir, &ls, &err) == FT_OK);
    a.len = c.len = 0;
    CHECK(ls && tok_encode(ls, "x \t <|end|>y", 12, &a, &err) == FT_OK);
    CHECK(ls && tok_encode(ls, "x<|end|>y", 9, &c, &err) == FT_OK);
    CHECK(a.len == c.len && !memcmp(a.ids, c.ids, a.len * sizeof *a.ids));
    tok_close(ls);
    free(dir);
    tok_ids_free(&a);
    tok_ids_free(&c);
    tok_ids_free(&ids);
    tok_close(llama2);
    tok_close(phi3);
}

/* tokenizer_config.json's tokens must be in the vocabulary. */
static void check_config(void)
{
    char *src = family_path("llama2", "tokenizer.json");
    size_t len;
    char *json = read_text(src, &len);
    char *dir = make_dir("config-bos");
    write_text(dir, "tokenizer.json", json);
    write_text(dir, "tokenizer_config.json",
               "{\"add_bos_token\": true, \"bos_token\": "
               "{\"content\": \"<start>\"}}");
    tok_tokenizer *t = NULL;
    ft_error err;
    CHECK_EQ_INT(tok_open(dir, &t, &err), FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "tokenizer_config.json: bos_token \"<start>\" is not in the "
                                "vocabulary");
    write_text(dir, "tokenizer_config.json", "{\"add_eos_token\": \"yes\"}");
    CHECK_EQ_INT(tok_open(dir, &t, &err), FT_EFORMAT);
    CHECK_STR_CONTAINS(err.msg, "add_eos_token");
    write_text(dir, "tokenizer_config.json", "{\"add_eos_token\": true, \"eos_token\": \"</s>\"}");
    CHECK(tok_open(dir, &t, &err) == FT_OK);
    int32_t model[3], length = 0;
    bool truncated = false;
    /* " a" is one token (no pad token to fill a longer input with) */
    CHECK(t && tok_encode_for_model(t, "a", 1, 2, model, &length, &truncated, &err) == FT_OK);
    CHECK(t && length == 2 && !truncated && model[0] != 1 && model[1] == 2); /* then </s> */
    tok_close(t);
    free(dir);
    free(json);
    free(src);
}

int main(void)
{
    CHECK(mkdtemp(scratch_dir) != NULL);
    for (int k = 0; k < N_FAMILIES; k++) check_corpus(families[k]);
    check_basics();
    check_hostile();
    check_hostile_sp();
    check_sp_basics();
    check_config();
    ft_error err;
    CHECK(ft_remove_tree(scratch_dir, &err) == FT_OK);
    return check_finish();
}
