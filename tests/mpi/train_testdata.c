/* train_testdata.c: writes what the ftune-train tests train on: a tiny BERT
 * model folder (config.json: hidden 32, 2 layers; a 64-token vocab.txt) and
 * a prepared dataset made with that vocabulary through the shard module
 * (shard_write_file + shard_manifest_to_json): 2 train shards, 1 validation
 * shard, two classes whose rows differ in which tokens they use, so the loss
 * can fall. Usage: train_testdata OUT_DIR [TRAIN_ROWS] [VAL_ROWS] [DAMAGE]
 * (OUT_DIR/model and OUT_DIR/data are created). DAMAGE, for the tests of
 * bad data (tests/mpi/test_train_failure.sh):
 *   bad-id   row BAD_ROW of train-00001-of-00002.h5 holds token id VOCAB at
 *            position BAD_POS, written as a valid shard (the manifest's crc32
 *            matches), so only a range check finds it
 *   bad-crc  after the manifest is written, one byte of that file's
 *            example_index data is flipped in place: HDF5 still reads the
 *            file, only the crc32 differs from the manifest's */
#include <hdf5.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_fs.h"
#include "core/rng.h"
#include "shard/shard.h"
#include "tok/tok.h"

enum { VOCAB = 64, MAXLEN = 16, BAD_ROW = 5, BAD_POS = 2 };
#define DAMAGED_FILE "train-00001-of-00002.h5"

static const char CONFIG[] =
    "{\"architectures\": [\"BertForSequenceClassification\"], \"model_type\": \"bert\",\n"
    " \"vocab_size\": 64, \"hidden_size\": 32, \"num_hidden_layers\": 2,\n"
    " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"hidden_act\": \"gelu\",\n"
    " \"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": 0.1,\n"
    " \"max_position_embeddings\": 32, \"type_vocab_size\": 2, \"initializer_range\": 0.02,\n"
    " \"layer_norm_eps\": 1e-12, \"pad_token_id\": 0, \"num_labels\": 2}\n";

static int write_model(const char *dir)
{
    ft_error err;
    char *vocab = malloc(VOCAB * 16), *p = vocab;
    const char *special[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (int i = 0; i < VOCAB; i++)
        p += i < 5 ? sprintf(p, "%s\n", special[i]) : sprintf(p, "w%d\n", i);
    char *cfg = ft_path_join(dir, "config.json"), *voc = ft_path_join(dir, "vocab.txt");
    int ok = ft_mkdir_p(dir, &err) == FT_OK &&
             ft_write_file_atomic(cfg, CONFIG, strlen(CONFIG), true, &err) == FT_OK &&
             ft_write_file_atomic(voc, vocab, (size_t)(p - vocab), true, &err) == FT_OK;
    if (!ok) fprintf(stderr, "train_testdata: %s\n", err.msg);
    free(cfg);
    free(voc);
    free(vocab);
    return ok;
}

/* Rows [first, first + n) of the synthetic source: class by parity, tokens
 * from the lower or upper half of the vocabulary (with noise). */
static void make_rows(shard_rows *r, uint64_t first, uint64_t n)
{
    r->rows = n;
    r->max_length = MAXLEN;
    r->wide_ids = false;
    uint16_t *ids = calloc(n * MAXLEN, sizeof *ids);
    r->input_ids = ids;
    r->lengths = calloc(n, sizeof *r->lengths);
    r->labels = calloc(n, sizeof *r->labels);
    r->example_index = calloc(n, sizeof *r->example_index);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t e = first + i;
        int label = (int)(rng_u32(7, 1, e) % 2);
        int len = 4 + (int)(rng_u32(7, 2, e) % (MAXLEN - 4));
        ids[i * MAXLEN] = 2;
        for (int k = 1; k < len - 1; k++) {
            int noise = rng_u32(7, 3, e * MAXLEN + (uint64_t)k) % 4 == 0;
            int half = (label ^ noise) ? 34 : 5;
            ids[i * MAXLEN + (uint64_t)k] =
                (uint16_t)(half + rng_u32(7, 4, e * MAXLEN + (uint64_t)k) % 29);
        }
        ids[i * MAXLEN + (uint64_t)len - 1] = 3;
        r->lengths[i] = len;
        r->labels[i] = label;
        r->example_index[i] = (int64_t)e;
    }
}

static bool bad_id; /* DAMAGE bad-id */

static int write_split(const char *dir, shard_manifest *m, shard_meta *meta, int split, int nfiles,
                       uint64_t first, uint64_t rows)
{
    ft_error err;
    for (int f = 0; f < nfiles; f++) {
        uint64_t lo = first + rows * (uint64_t)f / (uint64_t)nfiles;
        uint64_t hi = first + rows * (uint64_t)(f + 1) / (uint64_t)nfiles;
        shard_manifest_file *mf = &m->files[m->n_files++];
        shard_plan_file pf = {split, f, nfiles, hi - lo};
        shard_file_name(&pf, mf->name, sizeof mf->name);
        mf->split = split;
        mf->rows = hi - lo;
        shard_rows r;
        make_rows(&r, lo, hi - lo);
        for (uint64_t i = 0; i < r.rows; i++) m->class_rows[split][r.labels[i]]++;
        if (bad_id && !strcmp(mf->name, DAMAGED_FILE))
            ((uint16_t *)r.input_ids)[BAD_ROW * MAXLEN + BAD_POS] = VOCAB;
        meta->split = shard_split_name(split);
        meta->shard = f;
        meta->num_shards = nfiles;
        char *path = ft_path_join(dir, mf->name);
        int ok = shard_write_file(path, meta, &r, &err) == FT_OK &&
                 shard_file_crc32(path, &mf->crc32, &mf->bytes, &err) == FT_OK;
        free(path);
        free(r.input_ids);
        free(r.lengths);
        free(r.labels);
        free(r.example_index);
        if (!ok) {
            fprintf(stderr, "train_testdata: %s\n", err.msg);
            return 0;
        }
    }
    m->split_rows[split] = rows;
    return 1;
}

/* Flip one byte of DIR/DAMAGED_FILE's example_index data (contiguous, so
 * H5Dget_offset is where its bytes start), then check the file still reads. */
static int flip_data_byte(const char *dir)
{
    char *path = ft_path_join(dir, DAMAGED_FILE);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, "example_index", H5P_DEFAULT) : H5I_INVALID_HID;
    haddr_t at = d >= 0 ? H5Dget_offset(d) : HADDR_UNDEF;
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    FILE *fp = at != HADDR_UNDEF ? fopen(path, "r+b") : NULL;
    int c = fp && fseek(fp, (long)at, SEEK_SET) == 0 ? fgetc(fp) : EOF;
    int ok = c != EOF && fseek(fp, (long)at, SEEK_SET) == 0 && fputc(c ^ 0x01, fp) != EOF;
    if (fp) ok = fclose(fp) == 0 && ok;
    shard_rows r;
    ft_error err;
    if (ok && shard_read_file(path, true, &r, &err) == FT_OK) {
        shard_rows_free(&r);
    } else {
        fprintf(stderr,
                "train_testdata: bad-crc: cannot flip a byte of %s, or it does not "
                "read back\n",
                path);
        ok = 0;
    }
    free(path);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: train_testdata OUT_DIR [TRAIN_ROWS] [VAL_ROWS] "
                        "[bad-id|bad-crc]\n");
        return 2;
    }
    const char *damage = argc > 4 ? argv[4] : "";
    bad_id = !strcmp(damage, "bad-id");
    uint64_t ntrain = argc > 2 ? strtoull(argv[2], NULL, 10) : 256;
    uint64_t nval = argc > 3 ? strtoull(argv[3], NULL, 10) : 64;
    char *mdir = ft_path_join(argv[1], "model"), *ddir = ft_path_join(argv[1], "data");
    ft_error err;
    if (!write_model(mdir) || ft_mkdir_p(ddir, &err) != FT_OK) return 1;
    tok_tokenizer *tk = NULL;
    if (tok_open(mdir, &tk, &err) != FT_OK) {
        fprintf(stderr, "train_testdata: %s\n", err.msg);
        return 1;
    }
    char fp[17];
    snprintf(fp, sizeof fp, "%016" PRIx64, tok_fingerprint(tk));
    tok_close(tk);
    const char *labels[] = {"negative", "positive"};
    shard_meta meta = {.max_length = MAXLEN,
                       .pad_id = 0,
                       .vocab_size = VOCAB,
                       .tokenizer_kind = "wordpiece",
                       .tokenizer_fingerprint = fp,
                       .n_labels = 2,
                       .label_names = labels,
                       .seed = 7};
    shard_manifest m;
    memset(&m, 0, sizeof m);
    snprintf(m.tokenizer_kind, sizeof m.tokenizer_kind, "wordpiece");
    snprintf(m.tokenizer_fingerprint, sizeof m.tokenizer_fingerprint, "%s", fp);
    m.tokenizer_path = mdir;
    m.vocab_size = VOCAB;
    m.max_length = MAXLEN;
    m.n_labels = 2;
    m.labels = (char **)labels;
    m.n_sources = 1;
    m.sources[0] = (shard_manifest_source){.role = "input",
                                           .path = (char *)"synthetic",
                                           .format = "jsonl",
                                           .text_field = (char *)"text",
                                           .label_field = (char *)"label",
                                           .records = ntrain + nval};
    m.seed = 7;
    m.fractions[0] = (double)ntrain / (double)(ntrain + nval);
    m.fractions[1] = 1.0 - m.fractions[0];
    uint64_t counts[3][2] = {{0}};
    for (int s = 0; s < 3; s++) m.class_rows[s] = counts[s];
    shard_manifest_file files[4];
    m.files = files;
    int ok = write_split(ddir, &m, &meta, SHARD_TRAIN, 2, 0, ntrain) &&
             write_split(ddir, &m, &meta, SHARD_VALIDATION, 1, ntrain, nval);
    char *json = ok ? shard_manifest_to_json(&m) : NULL;
    char *mpath = ft_path_join(ddir, "manifest.json");
    ok = json && ft_write_file_atomic(mpath, json, strlen(json), true, &err) == FT_OK;
    shard_manifest check;
    if (ok && shard_manifest_read(ddir, &check, &err) != FT_OK) {
        fprintf(stderr, "train_testdata: manifest does not read back: %s\n", err.msg);
        ok = 0;
    } else if (ok) {
        shard_manifest_free(&check);
    }
    if (ok && !strcmp(damage, "bad-crc")) ok = flip_data_byte(ddir);
    free(json);
    free(mpath);
    free(mdir);
    free(ddir);
    return ok ? 0 : 1;
}
