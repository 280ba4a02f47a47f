/* bench_tokenize: time ftune's tokenizer on one core, encode loop only.
 *
 * usage: bench_tokenize MODEL_DIR CORPUS_JSONL [MIN_SECONDS]
 * Reads every {"text": ...} line of CORPUS_JSONL into memory and opens the
 * tokenizer (neither is timed), encodes the corpus once to warm up, then
 * encodes it again as many whole passes as fit in MIN_SECONDS (default 1)
 * and prints one line of "key=value" pairs for bench_tokenize.sh: bytes of
 * UTF-8 text and texts encoded per second, tokens per text. Texts the
 * tokenizer refuses (invalid UTF-8) count as failures and are reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/ft_fs.h"
#include "tok/tok.h"
#include "bench_util.h"

typedef struct corpus {
    char **text;
    size_t *len, n, bytes;
} corpus;

static int load_corpus(const char *path, corpus *c)
{
    char *data = NULL;
    size_t size = 0;
    ft_error err;
    if (ft_read_file(path, &data, &size, &err) != FT_OK) {
        fprintf(stderr, "bench_tokenize: %s\n", err.msg);
        return 2;
    }
    size_t lines = 0;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    c->text = calloc(lines + 1, sizeof *c->text);
    c->len = calloc(lines + 1, sizeof *c->len);
    for (char *line = data, *nl; c->text && c->len && (nl = strchr(line, '\n')); line = nl + 1) {
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)(nl - line));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rec, "text");
        if (cJSON_IsString(t)) {
            c->len[c->n] = strlen(t->valuestring);
            c->text[c->n] = strdup(t->valuestring);
            c->bytes += c->len[c->n++];
        }
        cJSON_Delete(rec);
    }
    free(data);
    return c->n ? 0 : 2;
}

/* One pass over the corpus; returns tokens, counts refused texts. */
static size_t encode_all(tok_tokenizer *t, const corpus *c, tok_ids *ids, size_t *failures)
{
    size_t tokens = 0;
    ft_error err;
    for (size_t i = 0; i < c->n; i++) {
        ids->len = 0;
        if (tok_encode(t, c->text[i], c->len[i], ids, &err) != FT_OK) (*failures)++;
        tokens += ids->len;
    }
    return tokens;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_tokenize MODEL_DIR CORPUS_JSONL [MIN_SECONDS]\n");
        return 2;
    }
    double min_s = argc == 4 ? atof(argv[3]) : 1.0;
    corpus c = {0};
    if (load_corpus(argv[2], &c)) return 2;
    tok_tokenizer *t = NULL;
    ft_error err;
    if (tok_open(argv[1], &t, &err) != FT_OK) {
        fprintf(stderr, "bench_tokenize: %s\n", err.msg);
        return 2;
    }
    tok_ids ids = {0};
    size_t failures = 0, passes = 0, tokens = encode_all(t, &c, &ids, &failures);
    double start = bench_now_s(), elapsed = 0;
    while (elapsed < min_s) {
        encode_all(t, &c, &ids, &failures);
        passes++;
        elapsed = bench_now_s() - start;
    }
    printf("impl=ftune kind=%s texts=%zu bytes=%zu tokens=%zu passes=%zu seconds=%.3f "
           "mb_per_s=%.2f texts_per_s=%.0f failures=%zu\n",
           tok_get_kind(t) == TOK_WORDPIECE ? "wordpiece" : "bpe", c.n, c.bytes, tokens, passes,
           elapsed, (double)c.bytes * (double)passes / elapsed / 1e6,
           (double)c.n * (double)passes / elapsed, failures / (passes + 1));
    tok_ids_free(&ids);
    tok_close(t);
    for (size_t i = 0; i < c.n; i++) free(c.text[i]);
    free(c.text);
    free(c.len);
    return 0;
}
