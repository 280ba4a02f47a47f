/* tok (WordPiece): every corpus text against the independent references,
 * through vocab.txt and tokenizer.json; model input framing, truncation and
 * padding; decode; the Python/Rust rule differences; hostile files.
 *
 * References (tests/reference/): make_wordpiece_fixtures.py writes
 * tokenizer.json and expected_ids.jsonl from PyPI's `tokenizers` (the Rust
 * library behind HF's BertTokenizerFast); make_wordpiece_python_fixtures.py
 * writes python_rules.jsonl from a transcription of HF's Python
 * BertTokenizer (plain python3) for the inputs where the earlier JavaScript
 * port was known to differ and for settings expected_ids.jsonl does not
 * cover, and python_random.jsonl for 1,000 random strings drawn from many
 * scripts, marks, symbols and controls. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "core/ft_fs.h"
#include "tok/tok.h"

#define TOK_TEST_NAME "wp"
#include "tok_test_util.h"

#define BERT_DIR   FTUNE_FIXTURES "/tokenizer/bert"
#define BERT_VOCAB FTUNE_SOURCE_DIR "/models/vocab/bert-base-uncased-vocab.txt"

enum { MAX_LEN = 128, SHOW_MISMATCHES = 5 };

/* A folder with the real vocab.txt and an optional tokenizer_config.json. */
static tok_tokenizer *open_vocab_dir(const char *name, const char *config)
{
    char *dir = make_dir(name);
    link_file(dir, "vocab.txt", BERT_VOCAB);
    if (config) write_text(dir, "tokenizer_config.json", config);
    tok_tokenizer *t = NULL;
    ft_error err;
    ft_status st = tok_open(dir, &t, &err);
    CHECK_MSG(st == FT_OK, "%s", err.msg);
    free(dir);
    return t;
}

/* The same with tokenizer.json from the fixtures. */
static tok_tokenizer *open_json_dir(const char *name, const char *config)
{
    char *dir = make_dir(name);
    link_file(dir, "tokenizer.json", BERT_DIR "/tokenizer.json");
    if (config) write_text(dir, "tokenizer_config.json", config);
    tok_tokenizer *t = NULL;
    ft_error err;
    ft_status st = tok_open(dir, &t, &err);
    CHECK_MSG(st == FT_OK, "%s", err.msg);
    free(dir);
    return t;
}

/* model_ids are stored without their padding: [PAD] (0) up to MAX_LEN. */
static bool model_ids_equal(const cJSON *expected, const int32_t *ids)
{
    int n = cJSON_GetArraySize(expected), i = 0;
    const cJSON *e;
    if (n > MAX_LEN) return false;
    cJSON_ArrayForEach(e, expected) if ((int32_t)e->valuedouble != ids[i++]) return false;
    for (; i < MAX_LEN; i++)
        if (ids[i] != 0) return false;
    return true;
}

static bool ids_equal(const cJSON *expected, const int32_t *ids, size_t n)
{
    if ((size_t)cJSON_GetArraySize(expected) != n) return false;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, expected) if ((int32_t)e->valuedouble != ids[i++]) return false;
    return true;
}

typedef struct tally {
    const char *name;
    int compared, mismatched, skipped;
} tally;

static void mismatch(tally *t, long index, const char *what, const char *text)
{
    if (++t->mismatched <= SHOW_MISMATCHES)
        fprintf(stderr, "%s: text %ld: %s differ: \"%.80s\"\n", t->name, index, what, text);
}

/* One expected_ids.jsonl record against tokenizer t. */
static void check_record(tok_tokenizer *t, const cJSON *rec, tally *tl)
{
    long index = (long)cJSON_GetObjectItem(rec, "i")->valuedouble;
    const char *text = cJSON_GetObjectItem(rec, "text")->valuestring;
    size_t len = strlen(text);
    if (!cJSON_IsTrue(cJSON_GetObjectItem(rec, "exact"))) {
        tl->skipped++;
        return;
    }
    tl->compared++;
    tok_ids ids = {0};
    ft_error err;
    int32_t model[MAX_LEN], length = -1;
    bool truncated = false;
    if (tok_encode(t, text, len, &ids, &err) != FT_OK ||
        !ids_equal(cJSON_GetObjectItem(rec, "ids"), ids.ids, ids.len))
        mismatch(tl, index, "ids", text);
    else if (tok_encode_for_model(t, text, len, MAX_LEN, model, &length, &truncated, &err) !=
                 FT_OK ||
             !model_ids_equal(cJSON_GetObjectItem(rec, "model_ids"), model) ||
             length != (int32_t)cJSON_GetObjectItem(rec, "length")->valuedouble ||
             truncated != cJSON_IsTrue(cJSON_GetObjectItem(rec, "truncated")))
        mismatch(tl, index, "model ids", text);
    else {
        char *dec = NULL;
        size_t dec_len = 0;
        const char *want = cJSON_GetObjectItem(rec, "decoded")->valuestring;
        if (tok_decode(t, model, MAX_LEN, true, &dec, &dec_len, &err) != FT_OK ||
            strcmp(dec, want) || dec_len != strlen(want))
            mismatch(tl, index, "decoded texts", text);
        free(dec);
    }
    tok_ids_free(&ids);
}

/* Every record of expected_ids.jsonl through both tokenizers. */
static void check_corpus(tok_tokenizer *from_vocab, tok_tokenizer *from_json)
{
    char *data = NULL;
    size_t len = 0;
    ft_error err;
    CHECK(ft_read_file(BERT_DIR "/expected_ids.jsonl", &data, &len, &err) == FT_OK);
    tally tv = {"vocab.txt", 0, 0, 0}, tj = {"tokenizer.json", 0, 0, 0};
    int corpus_texts = 0;
    for (char *line = data, *nl; data && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) break;
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)(nl - line));
        CHECK(rec != NULL);
        if (!rec) continue;
        corpus_texts += !strcmp(cJSON_GetObjectItem(rec, "source")->valuestring, "corpus");
        check_record(from_vocab, rec, &tv);
        check_record(from_json, rec, &tj);
        cJSON_Delete(rec);
    }
    free(data);
    fprintf(stderr,
            "corpus: %d texts (%d from corpus.jsonl); vocab.txt %d compared, %d "
            "mismatched, %d not exact; tokenizer.json %d compared, %d mismatched\n",
            tv.compared + tv.skipped, corpus_texts, tv.compared, tv.mismatched, tv.skipped,
            tj.compared, tj.mismatched);
    CHECK(corpus_texts >= 1000);
    CHECK(tv.compared >= 1000);
    CHECK_EQ_INT(tv.mismatched, 0);
    CHECK_EQ_INT(tj.mismatched, 0);
}

/* python_rules.jsonl: each case in a folder with its own settings. */
static void check_python_rules(void)
{
    char *data = NULL;
    size_t len = 0;
    ft_error err;
    CHECK(ft_read_file(BERT_DIR "/python_rules.jsonl", &data, &len, &err) == FT_OK);
    int n = 0;
    for (char *line = data, *nl; data && (nl = strchr(line, '\n')); line = nl + 1, n++) {
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)(nl - line));
        const char *text = cJSON_GetObjectItem(rec, "text")->valuestring;
        bool rust = !strcmp(cJSON_GetObjectItem(rec, "rules")->valuestring, "rust");
        const cJSON *strip = cJSON_GetObjectItem(rec, "strip_accents");
        char config[160], name[32];
        snprintf(config, sizeof config, "{\"do_lower_case\": %s, \"strip_accents\": %s}",
                 cJSON_IsTrue(cJSON_GetObjectItem(rec, "do_lower_case")) ? "true" : "false",
                 cJSON_IsNull(strip)   ? "null"
                 : cJSON_IsTrue(strip) ? "true"
                                       : "false");
        snprintf(name, sizeof name, "rules-%d", n);
        tok_tokenizer *t = rust ? open_json_dir(name, config) : open_vocab_dir(name, config);
        tok_ids ids = {0};
        CHECK(t && tok_encode(t, text, strlen(text), &ids, &err) == FT_OK);
        CHECK_MSG(ids_equal(cJSON_GetObjectItem(rec, "ids"), ids.ids, ids.len),
                  "%s rules, \"%s\": %s", rust ? "rust" : "python", text,
                  cJSON_GetObjectItem(rec, "checks")->valuestring);
        tok_ids_free(&ids);
        tok_close(t);
        cJSON_Delete(rec);
    }
    CHECK(n >= 10);
    free(data);
}

/* python_random.jsonl: random strings from many scripts; vocab.txt must give
 * the Python rules' ids, tokenizer.json the Rust rules' ids. */
static void check_random(tok_tokenizer *from_vocab, tok_tokenizer *from_json)
{
    char *data = NULL;
    size_t len = 0;
    ft_error err;
    CHECK(ft_read_file(BERT_DIR "/python_random.jsonl", &data, &len, &err) == FT_OK);
    tally tv = {"random (vocab.txt)", 0, 0, 0}, tj = {"random (tokenizer.json)", 0, 0, 0};
    tok_ids ids = {0};
    for (char *line = data, *nl; data && (nl = strchr(line, '\n')); line = nl + 1) {
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)(nl - line));
        const char *text = cJSON_GetObjectItem(rec, "text")->valuestring;
        tok_tokenizer *t[2] = {from_vocab, from_json};
        const char *key[2] = {"python_ids", "rust_ids"};
        tally *tl[2] = {&tv, &tj};
        for (int k = 0; k < 2; k++) {
            ids.len = 0;
            tl[k]->compared++;
            if (tok_encode(t[k], text, strlen(text), &ids, &err) != FT_OK ||
                !ids_equal(cJSON_GetObjectItem(rec, key[k]), ids.ids, ids.len))
                mismatch(tl[k], tl[k]->compared - 1, "ids", text);
        }
        cJSON_Delete(rec);
    }
    fprintf(stderr, "random texts: %d compared, %d + %d mismatched\n", tv.compared, tv.mismatched,
            tj.mismatched);
    CHECK(tv.compared >= 1000);
    CHECK_EQ_INT(tv.mismatched, 0);
    CHECK_EQ_INT(tj.mismatched, 0);
    tok_ids_free(&ids);
    free(data);
}

static void encode_str(tok_tokenizer *t, const char *text, tok_ids *ids)
{
    ft_error err;
    ids->len = 0;
    CHECK(tok_encode(t, text, strlen(text), ids, &err) == FT_OK);
}

/* Hand cases whose expectations follow from the algorithm itself. */
static void check_by_hand(tok_tokenizer *t)
{
    tok_ids ids = {0};
    ft_error err;
    encode_str(t, "unaffable", &ids);
    CHECK_EQ_INT(ids.len, 3); /* una ##ffa ##ble in bert-base-uncased */
    CHECK_EQ_INT(ids.ids[0], tok_token_to_id(t, "una"));
    CHECK_EQ_INT(ids.ids[1], tok_token_to_id(t, "##ffa"));
    CHECK_EQ_INT(ids.ids[2], tok_token_to_id(t, "##ble"));
    /* 101 code points is one [UNK]; 100 is split; é counts once. */
    char word[512] = {0};
    memset(word, 'a', 100);
    encode_str(t, word, &ids);
    CHECK(ids.len > 1);
    word[100] = 'a';
    encode_str(t, word, &ids);
    CHECK(ids.len == 1 && ids.ids[0] == tok_token_to_id(t, "[UNK]"));
    /* NUL bytes inside the text are dropped like other control characters. */
    ids.len = 0;
    CHECK(tok_encode(t, "hel\0lo", 6, &ids, &err) == FT_OK);
    CHECK(ids.len == 1 && ids.ids[0] == tok_token_to_id(t, "hello"));
    /* Invalid UTF-8 names the byte offset. */
    ids.len = 0;
    CHECK(tok_encode(t, "ok \xff\xfe", 5, &ids, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "byte 3");
    CHECK(tok_encode(t, "[CLS] \xc3", 7, &ids, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "byte 6");
    CHECK(tok_encode(t, "\xed\xa0\x80", 3, &ids, &err) == FT_EINVAL); /* a surrogate */
    tok_ids_free(&ids);
}

static void check_for_model(tok_tokenizer *t)
{
    int32_t out[8], length = 0;
    bool truncated = true;
    ft_error err;
    const char *text = "hello world hello world"; /* 4 tokens */
    CHECK(tok_encode_for_model(t, text, strlen(text), 8, out, &length, &truncated, &err) == FT_OK);
    const int32_t want[8] = {101, 7592, 2088, 7592, 2088, 102, 0, 0};
    CHECK(!memcmp(out, want, sizeof want) && length == 6 && !truncated);
    CHECK(tok_encode_for_model(t, text, strlen(text), 6, out, &length, &truncated, &err) == FT_OK);
    CHECK(length == 6 && !truncated && out[5] == 102);
    CHECK(tok_encode_for_model(t, text, strlen(text), 5, out, &length, &truncated, &err) == FT_OK);
    const int32_t cut[5] = {101, 7592, 2088, 7592, 102}; /* [SEP] kept last */
    CHECK(!memcmp(out, cut, sizeof cut) && length == 5 && truncated);
    CHECK(tok_encode_for_model(t, text, strlen(text), 2, out, &length, &truncated, &err) == FT_OK);
    CHECK(out[0] == 101 && out[1] == 102 && length == 2 && truncated);
    CHECK(tok_encode_for_model(t, "", 0, 4, out, &length, &truncated, &err) == FT_OK);
    CHECK(out[0] == 101 && out[1] == 102 && out[2] == 0 && out[3] == 0 && length == 2 &&
          !truncated);
    CHECK(tok_encode_for_model(t, text, strlen(text), 1, out, &length, &truncated, &err) ==
          FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "max_length");
}

static void check_decode(tok_tokenizer *t)
{
    const int32_t ids[] = {101, 2123, 1005, 1056, 14477, 20961, 3468, 1010, 2088, 999, 102};
    char *s = NULL;
    size_t n = 0;
    ft_error err;
    CHECK(tok_decode(t, ids, 11, true, &s, &n, &err) == FT_OK);
    CHECK_MSG(s && !strcmp(s, "don't unaffable, world!"), "got \"%s\"", s ? s : "");
    CHECK(s && n == strlen(s));
    free(s);
    CHECK(tok_decode(t, ids, 11, false, &s, &n, &err) == FT_OK);
    CHECK_MSG(s && !strcmp(s, "[CLS] don't unaffable, world! [SEP]"), "got \"%s\"", s ? s : "");
    free(s);
    CHECK(tok_decode(t, ids, 0, true, &s, &n, &err) == FT_OK);
    CHECK(s && !strcmp(s, "") && n == 0);
    free(s);
    const int32_t bad[] = {101, 30522};
    CHECK(tok_decode(t, bad, 2, true, &s, &n, &err) == FT_EINVAL);
    CHECK(s == NULL);
    CHECK_STR_CONTAINS(err.msg, "30522");
}

/* A folder holding one file with the given bytes; tok_open's status and message. */
static ft_status open_hostile(const char *name, const char *file, const char *data, size_t len,
                              ft_error *err)
{
    char *dir = make_dir(name);
    write_file(dir, file, data, len);
    tok_tokenizer *t = NULL;
    ft_status st = tok_open(dir, &t, err);
    CHECK(st != FT_OK || t != NULL);
    tok_close(t);
    free(dir);
    return st;
}

/* A file, as a literal, that tok_open must refuse with FT_EFORMAT and a
 * message holding needle. */
#define HOSTILE(name, file, lit, needle)        \
    {                                           \
        name, file, lit, sizeof lit - 1, needle \
    }
static const struct hostile_case {
    const char *name, *file, *data;
    size_t len;
    const char *needle;
} hostile_cases[] = {
    HOSTILE("empty", "vocab.txt", "", "empty"),
    HOSTILE("dup", "vocab.txt", "[PAD]\n[UNK]\nhello\nworld\nhello\n",
            "\"hello\" appears twice (ids 2 and 4)"),
    HOSTILE("nounk", "vocab.txt", "[PAD]\nhello\n", "[UNK]"),
    HOSTILE("blank", "vocab.txt", "[UNK]\n\nx\n", "line 2: empty token"),
    HOSTILE("crlf", "vocab.txt", "[UNK]\r\nx\r\n", "carriage return"),
    HOSTILE("badutf8", "vocab.txt", "[UNK]\nx\xff\n", "line 2"),
    HOSTILE("badjson", "tokenizer.json", "{\"model\": {\n\"type\": \"WordPiece\",\n}",
            "tokenizer.json:3"),
    HOSTILE("unigram", "tokenizer.json", "{\"model\": {\"type\": \"Unigram\"}}", "Unigram"),
    HOSTILE("badid", "tokenizer.json",
            "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
            "\"vocab\": {\"[UNK]\": 0, \"a\": 1.5}}, \"pre_tokenizer\": "
            "{\"type\": \"BertPreTokenizer\"}}",
            "model.vocab"),
    HOSTILE("norm", "tokenizer.json",
            "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
            "\"vocab\": {\"[UNK]\": 0}}, \"normalizer\": {\"type\": \"NFKC\"}}",
            "NFKC"),
    HOSTILE("post-range", "tokenizer.json",
            "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
            "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2}}, \"pre_tokenizer\": "
            "{\"type\": \"BertPreTokenizer\"}, \"post_processor\": {\"type\": "
            "\"BertProcessing\", \"cls\": [\"[CLS]\", 7], \"sep\": [\"[SEP]\", 2]}}",
            "post_processor: the id 7 of cls is not in the vocabulary"),
    HOSTILE("post-huge", "tokenizer.json",
            "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
            "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2}}, \"pre_tokenizer\": "
            "{\"type\": \"BertPreTokenizer\"}, \"post_processor\": {\"type\": "
            "\"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"[CLS]\"}}, "
            "{\"Sequence\": {\"id\": \"A\"}}, {\"SpecialToken\": {\"id\": \"[SEP]\"}}], "
            "\"special_tokens\": {\"[CLS]\": {\"ids\": [1]}, \"[SEP]\": {\"ids\": [1e300]}}}}",
            "the id 1e+300 of the last special token is not in the vocabulary"),
};

/* BertProcessing's ids frame the model input, whatever the tokens' names. */
static void check_bert_processing(void)
{
    char *dir = make_dir("bert-processing");
    write_text(dir, "tokenizer.json",
               "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
               "\"vocab\": {\"[UNK]\": 0, \"[CLS]\": 1, \"[SEP]\": 2, \"hi\": 3}}, "
               "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"post_processor\": "
               "{\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], "
               "\"sep\": [\"[SEP]\", 1]}}");
    tok_tokenizer *t = NULL;
    ft_error err;
    CHECK_MSG(tok_open(dir, &t, &err) == FT_OK, "%s", err.msg);
    int32_t ids[3] = {-1, -1, -1}, length = 0;
    bool truncated = true;
    CHECK_MSG(t && tok_encode_for_model(t, "hi", 2, 3, ids, &length, &truncated, &err) == FT_OK,
              "%s", t ? err.msg : "not opened");
    CHECK(ids[0] == 2 && ids[1] == 3 && ids[2] == 1 && length == 3 && !truncated);
    tok_close(t);
    free(dir);
}

static void check_hostile(void)
{
    ft_error err;
    for (size_t k = 0; k < sizeof hostile_cases / sizeof hostile_cases[0]; k++) {
        const struct hostile_case *c = &hostile_cases[k];
        CHECK_MSG(open_hostile(c->name, c->file, c->data, c->len, &err) == FT_EFORMAT, "%s",
                  c->name);
        CHECK_STR_CONTAINS(err.msg, c->needle);
    }
    tok_tokenizer *t = NULL;
    char *cfg_dir = make_dir("badcfg");
    link_file(cfg_dir, "vocab.txt", BERT_VOCAB);
    write_text(cfg_dir, "tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
    CHECK(tok_open(cfg_dir, &t, &err) == FT_EFORMAT && t == NULL);
    CHECK_STR_CONTAINS(err.msg, "tokenizer_config.json: key 'do_lower_case'");
    free(cfg_dir);
    char *none = make_dir("nothing");
    CHECK(tok_open(none, &t, &err) == FT_ENOTFOUND && t == NULL);
    CHECK_STR_CONTAINS(err.msg, "vocab.txt");
    free(none);
    CHECK(tok_open("/nonexistent/model", &t, &err) == FT_ENOTFOUND);
}

/* A vocab.txt folder is uncased unless its config says otherwise. */
static void check_casing(tok_tokenizer *uncased)
{
    char *dir = make_dir("cased-by-name");
    link_file(dir, "vocab.txt", BERT_VOCAB);
    write_text(dir, "config.json", "{\"_name_or_path\": \"bert-base-cased\"}");
    tok_tokenizer *t = NULL;
    ft_error err;
    CHECK(tok_open(dir, &t, &err) == FT_OK);
    CHECK(t && tok_fingerprint(t) != tok_fingerprint(uncased));
    tok_ids ids = {0};
    if (t) encode_str(t, "Hello", &ids);
    CHECK(ids.len == 1 && ids.ids[0] == tok_token_to_id(uncased, "[UNK]"));
    tok_ids_free(&ids);
    tok_close(t);
    free(dir);
}

int main(void)
{
    CHECK(mkdtemp(scratch_dir) != NULL);
    ft_error err;
    tok_tokenizer *from_vocab = open_vocab_dir("vocab", NULL), *from_json = NULL;
    CHECK(tok_open(BERT_DIR, &from_json, &err) == FT_OK);
    if (!from_vocab || !from_json) return check_finish();
    CHECK(tok_get_kind(from_vocab) == TOK_WORDPIECE && tok_get_kind(from_json) == TOK_WORDPIECE);
    CHECK_EQ_INT(tok_vocab_size(from_vocab), 30522);
    CHECK_EQ_INT(tok_vocab_size(from_json), 30522);
    CHECK_EQ_INT(tok_pad_id(from_vocab), 0);
    CHECK_EQ_INT(tok_token_to_id(from_json, "[CLS]"), 101);
    CHECK_EQ_INT(tok_token_to_id(from_vocab, "##ing"), 2075);
    CHECK_EQ_INT(tok_token_to_id(from_vocab, "no-such-token"), -1);
    CHECK(tok_fingerprint(from_vocab) == tok_fingerprint(from_json));

    check_corpus(from_vocab, from_json);
    check_python_rules();
    check_random(from_vocab, from_json);
    check_by_hand(from_vocab);
    check_by_hand(from_json);
    check_for_model(from_vocab);
    check_decode(from_vocab);
    check_decode(from_json);
    check_hostile();
    check_bert_processing();
    check_casing(from_vocab);

    tok_close(from_vocab);
    tok_close(from_json);
    tok_close(NULL);
    tok_ids_free(NULL);
    CHECK(ft_remove_tree(scratch_dir, &err) == FT_OK);
    return check_finish();
}
