/* eval_fixture: builds what ftune-eval reads, for its tests and benchmark.
 *
 *   eval_fixture model OUT_DIR bert-tiny|bert-base NUM_LABELS SEED
 *       a Hugging Face folder with a randomly initialised classifier
 *       (model_init_random; the head's weights scaled up so that the
 *       probabilities spread instead of all sitting near 1/K), the
 *       bert-base-uncased WordPiece vocabulary of models/bert-tiny, written
 *       by hf_model_export; bert-tiny is models/bert-tiny's config, bert-base
 *       transformers' BertConfig defaults.
 *   eval_fixture data MODEL_DIR OUT_DIR ROWS MAX_LENGTH SHARDS SPLIT [MIN_WORDS]
 *       a prepared dataset of ROWS synthetic texts in SPLIT (test or
 *       validation) with MODEL_DIR's labels, tokenized with its tokenizer, in SHARDS files
 *       (shard_write_file) with manifest.json, plus OUT_DIR/texts.tsv
 *       (example_index, label, text per line, in split order) so a test can
 *       give the same texts to ftune-predict. A text has MIN_WORDS (default
 *       3) to MIN_WORDS + 39 words; the benchmark uses texts that fill
 *       max_length. Example indices are
 *       1000 + 3 * row, so a mix-up of rows and indices shows.
 *   eval_fixture ckpt MODEL_DIR OUT.h5
 *       an ftune checkpoint (ckpt_write, no optimizer state) of MODEL_DIR's
 *       weights, for ftune-eval --checkpoint.
 *
 * Deterministic: the same arguments give the same files. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "core/ft_alloc.h"
#include "core/ft_fs.h"
#include "hf/hf_model.h"
#include "core/rng.h"
#include "shard/shard.h"
#include "tok/tok.h"

#ifndef FTUNE_SOURCE_DIR
#define FTUNE_SOURCE_DIR "."
#endif

static const char *const WORDS[] = {
    "the",        "movie",    "was",       "great", "terrible", "plot",   "acting",      "boring",
    "fun",        "and",      "but",       "not",   "very",     "really", "story",       "music",
    "ending",     "slow",     "fast",      "loved", "hated",    "it",     "a",           "film",
    "characters", "dialogue", "beautiful", "awful", "café",     "naïve",  "<b>bold</b>", "&",
    "\"quoted\"", "2024",     "!",         "?"};
enum { N_WORDS = sizeof WORDS / sizeof *WORDS };

static const char *const LABELS[] = {"negative", "neutral", "positive", "mixed", "other"};

static ft_status make_model(const char *out, const char *size, int k, uint64_t seed, ft_error *err)
{
    hf_config cfg = {0};
    model *m = NULL;
    model_config mc;
    const char *tok_dir = FTUNE_SOURCE_DIR "/models/bert-tiny";
    ft_status st =
        !strcmp(size, "bert-base")
            ? hf_config_default(HF_ARCH_BERT, &cfg, err)
            : hf_config_load(FTUNE_SOURCE_DIR "/models/bert-tiny/config.json", &cfg, err);
    if (st == FT_OK) st = hf_config_set_labels(&cfg, LABELS, k, err);
    if (st == FT_OK) st = hf_config_to_model_config(&cfg, &mc, err);
    if (st == FT_OK) st = model_create(&m, &mc, err);
    if (st == FT_OK) {
        model_init_random(m, seed);
        const model_tensor *w = model_find_tensor(m, "classifier.weight");
        for (size_t i = 0; w && i < w->numel; i++) model_params(m)[w->offset + i] *= 40.0f;
        st = hf_model_export(m, &cfg, tok_dir, out, true, err);
    }
    model_free(m);
    hf_config_free(&cfg);
    return st;
}

static int min_words = 3;

/* Text and label of row i. */
static int synth_text(uint64_t i, int k, char *buf, size_t size)
{
    int n_words = min_words + (int)rng_below(7, 1, i, 40), len = 0;
    buf[0] = '\0';
    for (int w = 0; w < n_words && (size_t)len + 32 < size; w++) {
        const char *word = WORDS[rng_below(7, 2, i * 64 + (uint64_t)w, N_WORDS)];
        len += snprintf(buf + len, size - (size_t)len, "%s%s", w ? " " : "", word);
    }
    return (int)rng_below(7, 3, i, (uint64_t)k);
}

typedef struct dataset {
    shard_rows rows; /* all rows, int32 ids */
    char **texts;
} dataset;

static ft_status tokenize_all(const char *model_dir, uint64_t n, int k, int32_t t, dataset *d,
                              tok_tokenizer **tok, ft_error *err)
{
    ft_status st = tok_open(model_dir, tok, err);
    if (st != FT_OK) return st;
    d->rows = (shard_rows){n,
                           t,
                           true,
                           ft_malloc_array(n * (uint64_t)t, sizeof(int32_t)),
                           ft_malloc_array(n, sizeof(int32_t)),
                           ft_malloc_array(n, sizeof(int32_t)),
                           ft_malloc_array(n, sizeof(int64_t))};
    d->texts = ft_calloc_array(n, sizeof(char *));
    if (!d->rows.input_ids || !d->rows.lengths || !d->rows.labels || !d->rows.example_index ||
        !d->texts)
        return ft_fail(err, FT_ENOMEM, "out of memory");
    char buf[8192];
    for (uint64_t i = 0; i < n && st == FT_OK; i++) {
        d->rows.labels[i] = synth_text(i, k, buf, sizeof buf);
        d->rows.example_index[i] = 1000 + 3 * (int64_t)i;
        d->texts[i] = ft_strdup(buf);
        bool cut = false;
        st = tok_encode_for_model(*tok, buf, strlen(buf), t, (int32_t *)d->rows.input_ids + i * t,
                                  &d->rows.lengths[i], &cut, err);
    }
    return st;
}

/* Rows [a, b) of d as a shard file (uint16 ids when the vocabulary fits). */
static ft_status write_file(const char *path, const shard_meta *meta, const dataset *d, uint64_t a,
                            uint64_t b, ft_error *err)
{
    int32_t t = d->rows.max_length;
    bool wide = shard_needs_wide_ids(meta->vocab_size);
    const int32_t *ids = (const int32_t *)d->rows.input_ids + a * (uint64_t)t;
    void *buf = wide ? NULL : ft_malloc_array((b - a) * (uint64_t)t, sizeof(uint16_t));
    if (!wide && !buf) return ft_fail(err, FT_ENOMEM, "out of memory");
    for (uint64_t i = 0; !wide && i < (b - a) * (uint64_t)t; i++)
        ((uint16_t *)buf)[i] = (uint16_t)ids[i];
    shard_rows r = {b - a,
                    t,
                    wide,
                    wide ? (void *)ids : buf,
                    d->rows.lengths + a,
                    d->rows.labels + a,
                    d->rows.example_index + a};
    ft_status st = shard_write_file(path, meta, &r, err);
    free(buf);
    return st;
}

static ft_status write_manifest(const char *out, shard_manifest *m, ft_error *err)
{
    char *json = shard_manifest_to_json(m), *path = ft_path_join(out, "manifest.json");
    ft_status st = json && path ? ft_write_file_atomic(path, json, strlen(json), true, err)
                                : ft_fail(err, FT_ENOMEM, "out of memory");
    free(json);
    free(path);
    return st;
}

static ft_status write_texts(const char *out, const dataset *d, ft_error *err)
{
    char *path = ft_path_join(out, "texts.tsv");
    FILE *f = path ? fopen(path, "w") : NULL;
    ft_status st = f ? FT_OK : ft_fail(err, FT_EIO, "cannot write %s", path ? path : out);
    for (uint64_t i = 0; f && i < d->rows.rows; i++)
        fprintf(f, "%" PRId64 "\t%d\t%s\n", d->rows.example_index[i], (int)d->rows.labels[i],
                d->texts[i]);
    if (f && fclose(f) != 0) st = ft_fail(err, FT_EIO, "cannot write %s", path);
    free(path);
    return st;
}

static void manifest_base(shard_manifest *m, tok_tokenizer *tok, int k, int32_t t, int split,
                          uint64_t n)
{
    memset(m, 0, sizeof *m);
    snprintf(m->tokenizer_kind, sizeof m->tokenizer_kind, "%s",
             tok_get_kind(tok) == TOK_WORDPIECE ? "wordpiece" : "byte_bpe");
    snprintf(m->tokenizer_fingerprint, sizeof m->tokenizer_fingerprint, "%016" PRIx64,
             tok_fingerprint(tok));
    m->tokenizer_path = "models/bert-tiny";
    m->vocab_size = tok_vocab_size(tok);
    m->pad_id = tok_pad_id(tok);
    m->max_length = t;
    m->n_labels = k;
    m->labels = (char **)LABELS;
    m->n_sources = 1;
    m->sources[0] =
        (shard_manifest_source){"input", "synthetic", "tsv", "text", "label", 0, 1, n, 0};
    m->seed = 7;
    m->fractions[split] = 1.0;
    m->split_rows[split] = n;
}

static ft_status make_data(const char *model_dir, const char *out, uint64_t n, int32_t t,
                           int shards, int split, ft_error *err)
{
    dataset d = {0};
    tok_tokenizer *tok = NULL;
    shard_manifest m;
    uint64_t class_rows[SHARD_N_SPLITS][8] = {{0}};
    shard_manifest_file files[64];
    hf_config cfg = {0};
    char *config = ft_path_join(model_dir, "config.json");
    ft_status st =
        config ? hf_config_load(config, &cfg, err) : ft_fail(err, FT_ENOMEM, "out of memory");
    int k = cfg.num_labels; /* the model's labels (at most 5, LABELS) */
    hf_config_free(&cfg);
    free(config);
    if (st == FT_OK && (k < 2 || k > 5)) st = ft_fail(err, FT_EINVAL, "%d labels: 2 to 5", k);
    if (st == FT_OK) st = ft_mkdir_p(out, err);
    if (st == FT_OK) st = tokenize_all(model_dir, n, k, t, &d, &tok, err);
    if (st != FT_OK) goto done;
    manifest_base(&m, tok, k, t, split, n);
    for (uint64_t i = 0; i < n; i++) class_rows[split][d.rows.labels[i]]++;
    for (int s = 0; s < SHARD_N_SPLITS; s++) m.class_rows[s] = class_rows[s];
    char fp[17];
    snprintf(fp, sizeof fp, "%s", m.tokenizer_fingerprint);
    for (int f = 0; f < shards && st == FT_OK; f++) {
        shard_plan_file pf = {split, f, shards, 0};
        uint64_t a = n * (uint64_t)f / (uint64_t)shards,
                 b = n * (uint64_t)(f + 1) / (uint64_t)shards;
        shard_file_name(&pf, files[f].name, sizeof files[f].name);
        files[f].split = split;
        files[f].rows = b - a;
        shard_meta meta = {shard_split_name(split), f,  shards, t,      m.pad_id, m.vocab_size,
                           m.tokenizer_kind,        fp, k,      LABELS, 7};
        char *path = ft_path_join(out, files[f].name);
        st = write_file(path, &meta, &d, a, b, err);
        if (st == FT_OK) st = shard_file_crc32(path, &files[f].crc32, &files[f].bytes, err);
        free(path);
    }
    m.n_files = shards;
    m.files = files;
    if (st == FT_OK) st = write_manifest(out, &m, err);
    if (st == FT_OK) st = write_texts(out, &d, err);
done:
    for (uint64_t i = 0; d.texts && i < n; i++) free(d.texts[i]);
    free(d.texts);
    free(d.rows.input_ids);
    free(d.rows.lengths);
    free(d.rows.labels);
    free(d.rows.example_index);
    tok_close(tok);
    return st;
}

static ft_status make_ckpt(const char *model_dir, const char *out, ft_error *err)
{
    model *m = NULL;
    hf_config cfg = {0};
    hf_model_load_options o = {0};
    ckpt_state state = {0};
    state.step = 7;
    state.best_step = -1;
    ft_status st = hf_model_load(model_dir, &o, &m, &cfg, err);
    if (st == FT_OK) st = ckpt_write(out, m, NULL, &state, err);
    model_free(m);
    hf_config_free(&cfg);
    return st;
}

int main(int argc, char **argv)
{
    ft_error err = {0};
    ft_status st;
    if (argc == 6 && !strcmp(argv[1], "model")) {
        st = make_model(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 10), &err);
    } else if (argc == 4 && !strcmp(argv[1], "ckpt")) {
        st = make_ckpt(argv[2], argv[3], &err);
    } else if ((argc == 8 || argc == 9) && !strcmp(argv[1], "data")) {
        if (argc == 9) min_words = atoi(argv[8]) > 0 ? atoi(argv[8]) : 3;
        int shards = atoi(argv[6]),
            split = !strcmp(argv[7], "validation") ? SHARD_VALIDATION : SHARD_TEST;
        if (shards < 1 || shards > 64) shards = 1;
        st = make_data(argv[2], argv[3], strtoull(argv[4], NULL, 10), atoi(argv[5]), shards, split,
                       &err);
    } else {
        fprintf(stderr, "usage: eval_fixture model OUT_DIR bert-tiny|bert-base NUM_LABELS SEED\n"
                        "       eval_fixture ckpt MODEL_DIR OUT.h5\n"
                        "       eval_fixture data MODEL_DIR OUT_DIR ROWS MAX_LENGTH SHARDS SPLIT "
                        "[MIN_WORDS]\n");
        return 2;
    }
    if (st != FT_OK) fprintf(stderr, "eval_fixture: %s\n", err.msg);
    return ft_status_exit_code(st);
}
