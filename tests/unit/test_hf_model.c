/* hf_model: loading the Hugging Face folders of tests/fixtures/model/
 * (config.json + model.safetensors written by PyTorch,
 * tests/reference/make_model_fixtures.py) gives the reference logits;
 * export then load is bit-identical; an existing folder is refused unless
 * overwrite; from-scratch initialisation; a head for other labels is drawn
 * afresh; checkpoint name variants (no prefix, gamma/beta, GPT-2's attention
 * buffers, F16/BF16 storage) load; missing or misshapen tensors are errors
 * naming the tensor. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "hf/hf_model.h"
#include "model_fixture.h"
#include "st/st.h"

#define FIX    FTUNE_FIXTURES "/model"
#define MODELS FTUNE_SOURCE_DIR "/models"

enum { B = 3, T = 16, LABELS = 3 };
static const double TOL_LOGITS = 1e-5;
static const uint64_t SEED = 1234;

static char tmpdir[] = "/tmp/ftune_test_hf_model.XXXXXX";

static char *tmp_path(const char *name) { return ft_path_join(tmpdir, name); }

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    ft_error err;
    if (ft_read_file(path, &data, len, &err) != FT_OK) return NULL;
    return data;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

/* Every model tensor equals the fixture file's, bit for bit. */
static void check_params_equal_file(model *m, const char *dir, bool skip_head)
{
    fixture fx;
    CHECK(fixture_open(&fx, dir, "model.safetensors"));
    int bad = 0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        if (skip_head && (!strncmp(t->name, "classifier.", 11) || !strncmp(t->name, "score.", 6)))
            continue;
        size_t n = 0;
        float *x = fixture_get(&fx, t->name, &n, NULL);
        bool same =
            x && n == t->numel && memcmp(x, model_params(m) + t->offset, n * sizeof *x) == 0;
        if (!same && bad++ < 5) fprintf(stderr, "%s differs from the file\n", t->name);
        free(x);
    }
    CHECK_MSG(bad == 0, "%d tensors differ from %s", bad, dir);
    fixture_close(&fx);
}

/* Logits and loss of the fixture's first batch against reference.safetensors. */
static void check_logits(model *m, const char *dir, float *logits_out)
{
    fixture bx, ref;
    size_t n = 0;
    ft_error err;
    CHECK(fixture_open(&bx, dir, "batch.safetensors") &&
          fixture_open(&ref, dir, "reference.safetensors"));
    int32_t *ids = fixture_get(&bx, "input_ids", &n, NULL);
    int32_t *lengths = fixture_get(&bx, "lengths", &n, NULL);
    int32_t *labels = fixture_get(&bx, "labels", &n, NULL);
    int64_t index[B] = {0, 1, 2};
    model_batch x = {B, T, ids, lengths, labels, index};
    model_dropout off = {false, 0, 0};
    double loss = 0;
    CHECK(model_plan(m, B, T, &err) == FT_OK);
    CHECK(model_forward(m, &x, &off, &loss, &err) == FT_OK);
    float *ref_logits = fixture_get(&ref, "logits", &n, NULL);
    float *ref_loss = fixture_get(&ref, "loss", &n, NULL);
    double e = ref_logits ? rel_error(model_logits(m), ref_logits, (size_t)B * LABELS) : 1;
    double el = ref_loss ? fabs(loss - ref_loss[0]) / fabs(ref_loss[0]) : 1;
    fprintf(stderr, "%s: logits rel err %.3g, loss rel err %.3g\n", dir, e, el);
    CHECK_MSG(e <= TOL_LOGITS, "logits rel err %.3g", e);
    CHECK_MSG(el <= TOL_LOGITS, "loss rel err %.3g", el);
    if (logits_out) memcpy(logits_out, model_logits(m), sizeof(float) * B * LABELS);
    free(ids);
    free(lengths);
    free(labels);
    free(ref_logits);
    free(ref_loss);
    fixture_close(&bx);
    fixture_close(&ref);
}

static void check_config_json(const char *dir, const char *architecture)
{
    char *path = ft_path_join(dir, "config.json");
    size_t len = 0;
    char *text = slurp(path, &len);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    CHECK(doc != NULL);
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(doc, "architectures");
    CHECK(archs && archs->child && !strcmp(archs->child->valuestring, architecture));
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(doc, "torch_dtype");
    CHECK(cJSON_IsString(dt) && !strcmp(dt->valuestring, "float32"));
    const cJSON *l2i = cJSON_GetObjectItemCaseSensitive(doc, "label2id");
    CHECK(cJSON_GetArraySize(l2i) == LABELS);
    cJSON_Delete(doc);
    free(text);
    free(path);
}

/* The exported safetensors: F32, HF names and shapes, {"format": "pt"}. */
static void check_exported_weights(const model *m, const char *dir)
{
    char *path = ft_path_join(dir, "model.safetensors");
    st_file *f = NULL;
    ft_error err;
    CHECK(st_open(path, &f, &err) == FT_OK);
    CHECK(f && st_count(f) == (size_t)model_tensor_count(m));
    CHECK(f && st_metadata(f, "format") && !strcmp(st_metadata(f, "format"), "pt"));
    for (int i = 0; f && i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        const st_tensor_info *info = st_find(f, t->name);
        CHECK_MSG(info && info->dtype == ST_F32 && info->ndim == t->ndim &&
                      info->shape[0] == t->shape[0] &&
                      (t->ndim < 2 || info->shape[1] == t->shape[1]),
                  "%s", t->name);
    }
    st_close(f);
    free(path);
}

static void test_fixture_round_trip(const char *kind, const char *tokenizer, const char *vocab,
                                    const char *architecture)
{
    char dir[512];
    snprintf(dir, sizeof dir, FIX "/%s", kind);
    model *m = NULL;
    hf_config cfg;
    ft_error err;
    CHECK(hf_model_load(dir, NULL, &m, &cfg, &err) == FT_OK);
    if (!m) return;
    CHECK(cfg.num_labels == LABELS && model_get_config(m)->num_labels == LABELS);
    check_params_equal_file(m, dir, false);
    float logits[B * LABELS];
    check_logits(m, dir, logits);

    /* For tests/reference/check_hf_export.py: keep a copy of the export. */
    const char *keep = getenv("FTUNE_HF_EXPORT_TO");
    char *kept = keep ? ft_path_join(keep, kind) : NULL;
    if (kept) {
        CHECK(ft_mkdir_p(keep, &err) == FT_OK);
        CHECK(hf_model_export(m, &cfg, tokenizer, kept, true, &err) == FT_OK);
        fprintf(stderr, "exported %s\n", kept);
        free(kept);
    }
    char *out = tmp_path(kind);
    CHECK(hf_model_export(m, &cfg, tokenizer, out, false, &err) == FT_OK);
    check_config_json(out, architecture);
    check_exported_weights(m, out);
    char *vocab_in = ft_path_join(tokenizer, vocab), *vocab_out = ft_path_join(out, vocab);
    CHECK(same_file(vocab_in, vocab_out));
    model *back = NULL;
    hf_config cfg2;
    CHECK(hf_model_load(out, NULL, &back, &cfg2, &err) == FT_OK);
    CHECK(back && model_param_count(back) == model_param_count(m) &&
          memcmp(model_params(back), model_params(m), model_param_count(m) * sizeof(float)) == 0);
    CHECK(cfg2.num_labels == LABELS && !strcmp(cfg2.id2label[2], cfg.id2label[2]));
    CHECK(cfg2.hidden_act == cfg.hidden_act && cfg2.pad_token_id == cfg.pad_token_id &&
          cfg2.layer_norm_eps == cfg.layer_norm_eps);
    float again[B * LABELS];
    if (back) check_logits(back, dir, again);
    CHECK(memcmp(logits, again, sizeof logits) == 0);

    /* An existing folder: refused and untouched without overwrite. */
    char *weights = ft_path_join(out, "model.safetensors"), *saved = tmp_path("saved.safetensors");
    size_t len = 0;
    char *bytes = slurp(weights, &len);
    CHECK(bytes && ft_write_file_atomic(saved, bytes, len, false, &err) == FT_OK);
    model_params(m)[0] += 1.0f;
    int entries = count_entries(tmpdir);
    CHECK(hf_model_export(m, &cfg, tokenizer, out, false, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "already exists");
    CHECK(same_file(weights, saved));
    CHECK_EQ_INT(count_entries(tmpdir), entries); /* no temporary folder left */
    char slashed[600];
    snprintf(slashed, sizeof slashed, "%s//", out); /* "OUT/" is OUT */
    CHECK(hf_model_export(m, &cfg, tokenizer, slashed, true, &err) == FT_OK);
    CHECK(!same_file(weights, saved));
    CHECK_EQ_INT(count_entries(tmpdir), entries); /* the old folder is gone */
    model_free(back);
    hf_config_free(&cfg2);
    CHECK(hf_model_load(out, NULL, &back, &cfg2, &err) == FT_OK);
    CHECK(back && model_params(back)[0] == model_params(m)[0]);
    unlink(saved);
    free(bytes);
    free(saved);
    free(weights);
    free(vocab_in);
    free(vocab_out);
    free(out);
    model_free(back);
    hf_config_free(&cfg2);
    model_free(m);
    hf_config_free(&cfg);
}

/* overwrite never replaces something that is not a model folder. */
static void test_export_refuses_other_folders(void)
{
    model *m = NULL;
    hf_config cfg;
    ft_error err;
    CHECK(hf_model_load(FIX "/bert", NULL, &m, &cfg, &err) == FT_OK);
    char *dir = tmp_path("precious"), *file = tmp_path("precious/keep.txt");
    CHECK(ft_mkdir_p(dir, &err) == FT_OK);
    CHECK(ft_write_file_atomic(file, "x", 1, false, &err) == FT_OK);
    CHECK(hf_model_export(m, &cfg, NULL, dir, true, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "not a model folder");
    CHECK(ft_path_exists(file));
    CHECK(hf_model_export(m, &cfg, NULL, file, true, &err) == FT_EEXIST);
    CHECK_STR_CONTAINS(err.msg, "not a folder");
    /* A config for another model is refused. */
    static const char *const two[] = {"a", "b"};
    CHECK(hf_config_set_labels(&cfg, two, 2, &err) == FT_OK);
    char *out = tmp_path("mismatch");
    CHECK(hf_model_export(m, &cfg, NULL, out, false, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "does not describe the model");
    CHECK(!ft_path_exists(out));
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    free(out);
    free(dir);
    free(file);
    model_free(m);
    hf_config_free(&cfg);
}

static void test_from_scratch(void)
{
    model *m = (model *)&m;
    hf_config cfg;
    ft_error err;
    CHECK(hf_model_load(MODELS "/bert-tiny", NULL, &m, &cfg, &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "bert-tiny/model.safetensors: not found");
    CHECK(m == NULL && cfg.json == NULL);
    hf_model_load_options o = {.num_labels = 4, .init_seed = 42, .allow_random_init = true};
    CHECK(hf_model_load(MODELS "/bert-tiny", &o, &m, &cfg, &err) == FT_OK);
    CHECK(m && cfg.num_labels == 4 && !strcmp(cfg.id2label[3], "LABEL_3"));
    CHECK(m && model_get_config(m)->hidden == 128 && model_get_config(m)->vocab_size == 30522);
    model *ref = NULL;
    if (m) CHECK(model_create(&ref, model_get_config(m), &err) == FT_OK);
    if (ref) {
        model_init_random(ref, 42);
        CHECK(memcmp(model_params(ref), model_params(m), model_param_count(m) * sizeof(float)) ==
              0);
    }
    model_free(ref);
    model_free(m);
    hf_config_free(&cfg);
}

/* A head for another number of labels is drawn as model_init_random draws
 * it; everything else comes from the file. */
static void test_head_mismatch(const char *kind)
{
    char dir[512];
    snprintf(dir, sizeof dir, FIX "/%s", kind);
    static const char *const names[] = {"w", "x", "y", "z", "zz"};
    hf_model_load_options o = {.num_labels = 5, .label_names = names, .init_seed = SEED};
    model *m = NULL;
    hf_config cfg;
    ft_error err;
    CHECK(hf_model_load(dir, &o, &m, &cfg, &err) == FT_OK);
    if (!m) return;
    CHECK(cfg.num_labels == 5 && !strcmp(cfg.id2label[4], "zz"));
    check_params_equal_file(m, dir, true);
    model *ref = NULL;
    CHECK(model_create(&ref, model_get_config(m), &err) == FT_OK);
    model_init_random(ref, SEED);
    int heads = 0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        if (strncmp(t->name, "classifier.", 11) && strncmp(t->name, "score.", 6)) continue;
        heads++;
        CHECK(t->shape[0] == 5);
        CHECK_MSG(!memcmp(model_params(m) + t->offset, model_params(ref) + t->offset,
                          t->numel * sizeof(float)),
                  "%s", t->name);
    }
    CHECK_EQ_INT(heads, strcmp(kind, "bert") ? 1 : 2);
    model_free(ref);
    model_free(m);
    hf_config_free(&cfg);
}

/* ---- crafted checkpoints ------------------------------------------------------ */

/* The tensors of a safetensors file, editable, to write variants of it. */
typedef struct tset {
    size_t n;
    st_tensor_out t[256];
    char *names[256];
    float *data[256];
    int64_t shapes[256][ST_MAX_NDIM];
} tset;

static void tset_add(tset *s, const char *name, int ndim, const int64_t *shape)
{
    size_t k = s->n++, numel = 1;
    s->names[k] = strdup(name);
    for (int d = 0; d < ndim; d++) numel *= (size_t)(s->shapes[k][d] = shape[d]);
    s->data[k] = calloc(numel + 1, sizeof(float));
    for (size_t j = 0; j < numel; j++) s->data[k][j] = 0.001f * (float)j;
    s->t[k] = (st_tensor_out){s->names[k], s->data[k], ndim, s->shapes[k], ST_F32};
}

static void tset_load(tset *s, const char *path)
{
    st_file *f = NULL;
    ft_error err;
    memset(s, 0, sizeof *s);
    CHECK(st_open(path, &f, &err) == FT_OK);
    for (size_t i = 0; f && i < st_count(f) && s->n < 256; i++) {
        const st_tensor_info *info = st_info_at(f, i);
        tset_add(s, info->name, info->ndim, info->shape);
        CHECK(st_read_f32(f, info->name, s->data[s->n - 1], info->numel, &err) == FT_OK);
    }
    st_close(f);
}

static st_tensor_out *tset_get(tset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return &s->t[i];
    return NULL;
}

static void tset_rename(tset *s, size_t i, const char *name)
{
    free(s->names[i]);
    s->t[i].name = s->names[i] = strdup(name);
}

static void tset_drop(tset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) {
            free(s->names[i]);
            free(s->data[i]);
            s->n--;
            for (size_t j = i; j < s->n; j++) {
                s->names[j] = s->names[j + 1];
                s->data[j] = s->data[j + 1];
                memcpy(s->shapes[j], s->shapes[j + 1], sizeof s->shapes[j]);
                s->t[j] = s->t[j + 1];
                s->t[j].shape = s->shapes[j];
            }
            return;
        }
}

static void tset_free(tset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        free(s->data[i]);
    }
}

/* tmpdir/NAME with kind's config.json and s as model.safetensors. */
static char *make_folder(const char *name, const char *kind, const tset *s)
{
    char *dir = tmp_path(name), src[512];
    ft_error err;
    CHECK(ft_mkdir_p(dir, &err) == FT_OK);
    snprintf(src, sizeof src, FIX "/%s/config.json", kind);
    size_t len = 0;
    char *text = slurp(src, &len), *cfg = ft_path_join(dir, "config.json");
    char *weights = ft_path_join(dir, "model.safetensors");
    CHECK(text && ft_write_file_atomic(cfg, text, len, true, &err) == FT_OK);
    CHECK(st_write(weights, s->t, s->n, "{\"format\":\"pt\"}", true, &err) == FT_OK);
    free(text);
    free(cfg);
    free(weights);
    return dir;
}

/* The model's value of tensor name equals src as stored in dtype. */
static int loaded_as(model *m, const char *name, const float *src, st_dtype dtype)
{
    const model_tensor *t = model_find_tensor(m, name);
    if (!t) return 0;
    for (size_t j = 0; j < t->numel; j++) {
        float want = dtype == ST_F16    ? st_f16_to_f32(st_f32_to_f16(src[j]))
                     : dtype == ST_BF16 ? st_bf16_to_f32(st_f32_to_bf16(src[j]))
                                        : src[j];
        if (memcmp(&want, model_params(m) + t->offset + j, sizeof want) != 0) return 0;
    }
    return 1;
}

/* The original bert-base-uncased style: no "bert." prefix, gamma/beta,
 * position_ids and a pre-training head, F16 storage. */
static void test_bert_variants(void)
{
    tset orig, s;
    tset_load(&orig, FIX "/bert/model.safetensors");
    tset_load(&s, FIX "/bert/model.safetensors");
    for (size_t i = 0; i < s.n; i++) {
        char name[160];
        const char *bare = strncmp(s.names[i], "bert.", 5) ? s.names[i] : s.names[i] + 5;
        snprintf(name, sizeof name, "%s", bare);
        size_t n = strlen(name);
        if (strstr(name, "LayerNorm.weight"))
            snprintf(name + n - 6, 7, "gamma");
        else if (strstr(name, "LayerNorm.bias"))
            snprintf(name + n - 4, 5, "beta");
        tset_rename(&s, i, name);
        s.t[i].dtype = ST_F16;
    }
    tset_add(&s, "embeddings.position_ids", 2, (const int64_t[]){1, 64});
    tset_add(&s, "cls.predictions.bias", 1, (const int64_t[]){1000});
    char *dir = make_folder("bert_variants", "bert", &s);
    model *m = NULL;
    hf_config cfg;
    ft_error err;
    CHECK(hf_model_load(dir, NULL, &m, &cfg, &err) == FT_OK);
    int bad = 0;
    for (int i = 0; m && i < model_tensor_count(m); i++) {
        const char *name = model_tensor_at(m, i)->name;
        st_tensor_out *o = tset_get(&orig, name);
        bad += !o || !loaded_as(m, name, o->data, ST_F16);
    }
    CHECK_MSG(m && bad == 0, "%d tensors not loaded from their variant names", bad);
    model_free(m);
    hf_config_free(&cfg);
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    free(dir);
    tset_free(&s);
    tset_free(&orig);
}

/* The plain `gpt2` file style: no "transformer." prefix, attn.bias and
 * attn.masked_bias buffers, no score head; BF16 storage. */
static void test_gpt2_variants(void)
{
    tset orig, s;
    tset_load(&orig, FIX "/gpt2/model.safetensors");
    tset_load(&s, FIX "/gpt2/model.safetensors");
    tset_drop(&s, "score.weight");
    for (size_t i = 0; i < s.n; i++) {
        if (!strncmp(s.names[i], "transformer.", 12)) {
            char name[160];
            snprintf(name, sizeof name, "%s", s.names[i] + 12);
            tset_rename(&s, i, name);
        }
        s.t[i].dtype = ST_BF16;
    }
    tset_add(&s, "h.0.attn.bias", 4, (const int64_t[]){1, 1, 64, 64});
    tset_add(&s, "h.0.attn.masked_bias", 0, NULL);
    tset_add(&s, "h.1.attn.bias", 4, (const int64_t[]){1, 1, 64, 64});
    char *dir = make_folder("gpt2_variants", "gpt2", &s);
    model *m = NULL, *ref = NULL;
    hf_config cfg;
    ft_error err;
    hf_model_load_options o = {.init_seed = SEED};
    CHECK(hf_model_load(dir, &o, &m, &cfg, &err) == FT_OK);
    int bad = 0;
    for (int i = 0; m && i < model_tensor_count(m); i++) {
        const char *name = model_tensor_at(m, i)->name;
        if (!strcmp(name, "score.weight")) continue;
        st_tensor_out *t = tset_get(&orig, name);
        bad += !t || !loaded_as(m, name, t->data, ST_BF16);
    }
    CHECK_MSG(m && bad == 0, "%d tensors not loaded from their variant names", bad);
    if (m) CHECK(model_create(&ref, model_get_config(m), &err) == FT_OK);
    if (ref) {
        model_init_random(ref, SEED);
        const model_tensor *t = model_find_tensor(m, "score.weight");
        CHECK(!memcmp(model_params(m) + t->offset, model_params(ref) + t->offset,
                      t->numel * sizeof(float)));
    }
    model_free(ref);
    model_free(m);
    hf_config_free(&cfg);
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    free(dir);
    tset_free(&s);
    tset_free(&orig);
}

/* Load kind's fixture with one edit; expect failure with phrase. */
static void expect_failure(const char *kind, const char *drop, const char *transpose,
                           ft_status want, const char *phrase)
{
    tset s;
    char path[512];
    snprintf(path, sizeof path, FIX "/%s/model.safetensors", kind);
    tset_load(&s, path);
    if (drop) tset_drop(&s, drop);
    st_tensor_out *t = transpose ? tset_get(&s, transpose) : NULL;
    if (t) {
        int64_t d0 = t->shape[0];
        s.shapes[t - s.t][0] = t->shape[1];
        s.shapes[t - s.t][1] = d0;
    }
    char *dir = make_folder("broken", kind, &s);
    model *m = (model *)&s;
    hf_config cfg;
    ft_error err = {0};
    ft_status st = hf_model_load(dir, NULL, &m, &cfg, &err);
    CHECK_MSG(st == want, "%s: %s (%s)", kind, ft_status_name(st), err.msg);
    CHECK_STR_CONTAINS(err.msg, "broken/model.safetensors");
    CHECK_STR_CONTAINS(err.msg, phrase);
    CHECK(m == NULL && cfg.json == NULL && cfg.id2label == NULL);
    ft_remove_tree(dir, &err);
    free(dir);
    tset_free(&s);
}

static void test_broken_files(void)
{
    expect_failure("bert", "bert.encoder.layer.1.output.dense.weight", NULL, FT_ENOTFOUND,
                   "1 of the model's 41 tensors are missing: "
                   "'bert.encoder.layer.1.output.dense.weight'");
    expect_failure("bert", "bert.embeddings.LayerNorm.bias", NULL, FT_ENOTFOUND,
                   "'bert.embeddings.LayerNorm.bias'");
    expect_failure("bert", NULL, "bert.encoder.layer.0.intermediate.dense.weight", FT_EINVAL,
                   "tensor 'bert.encoder.layer.0.intermediate.dense.weight' has shape "
                   "[64, 256]; expected [256, 64]");
    expect_failure("gpt2", NULL, "transformer.h.1.attn.c_attn.weight", FT_EINVAL,
                   "tensor 'transformer.h.1.attn.c_attn.weight' has shape [192, 64]; "
                   "expected [64, 192]");
    expect_failure("gpt2", "transformer.wpe.weight", NULL, FT_ENOTFOUND,
                   "'transformer.wpe.weight'");
}

static void test_bad_config(void)
{
    char *dir = tmp_path("badcfg"), *cfgpath = tmp_path("badcfg/config.json");
    ft_error err;
    CHECK(ft_mkdir_p(dir, &err) == FT_OK);
    const char *text = "{\"model_type\":\"bert\",\"hidden_act\":\"relu\"}";
    CHECK(ft_write_file_atomic(cfgpath, text, strlen(text), false, &err) == FT_OK);
    model *m = NULL;
    hf_config cfg;
    CHECK(hf_model_load(dir, NULL, &m, &cfg, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "badcfg/config.json: key 'hidden_act'");
    char *missing = tmp_path("nothing_here");
    CHECK(hf_model_load(missing, NULL, &m, &cfg, &err) == FT_ENOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "nothing_here/config.json");
    /* settings the model cannot honour */
    hf_config c;
    model_config mc;
    text = "{\"model_type\":\"bert\",\"problem_type\":\"regression\"}";
    CHECK(hf_config_parse(text, strlen(text), "x.json", &c, &err) == FT_OK);
    CHECK(hf_config_to_model_config(&c, &mc, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "x.json: key 'problem_type'");
    hf_config_free(&c);
    text = "{\"model_type\":\"gpt2\",\"embd_pdrop\":0.2}";
    CHECK(hf_config_parse(text, strlen(text), "y.json", &c, &err) == FT_OK);
    CHECK(hf_config_to_model_config(&c, &mc, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "key 'embd_pdrop'");
    hf_config_free(&c);
    CHECK(hf_config_load(FIX "/gpt2/config.json", &c, &err) == FT_OK);
    CHECK(hf_config_to_model_config(&c, &mc, &err) == FT_OK);
    CHECK(mc.arch == MODEL_ARCH_GPT2 && mc.hidden == 64 && mc.layers == 2 && mc.heads == 4 &&
          mc.intermediate == 256 && mc.max_positions == 64 && mc.num_labels == 3 &&
          mc.gelu == OPS_GELU_TANH && mc.pad_token_id == 999 && mc.classifier_dropout == 0.0f &&
          mc.hidden_dropout == 0.1f && mc.layer_norm_eps == 1e-5f);
    hf_config_free(&c);
    CHECK(hf_config_load(FIX "/bert/config.json", &c, &err) == FT_OK);
    CHECK(hf_config_to_model_config(&c, &mc, &err) == FT_OK);
    CHECK(mc.arch == MODEL_ARCH_BERT && mc.type_vocab_size == 2 && mc.gelu == OPS_GELU_ERF &&
          mc.classifier_dropout == 0.1f && mc.pad_token_id == 0 && mc.layer_norm_eps == 1e-12f);
    hf_config_free(&c);
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
    free(missing);
    free(dir);
    free(cfgpath);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_fixture_round_trip("bert", MODELS "/bert-tiny", "vocab.txt",
                            "BertForSequenceClassification");
    test_fixture_round_trip("gpt2", MODELS "/gpt2-tiny", "merges.txt",
                            "GPT2ForSequenceClassification");
    test_export_refuses_other_folders();
    test_from_scratch();
    test_head_mismatch("bert");
    test_head_mismatch("gpt2");
    test_bert_variants();
    test_gpt2_variants();
    test_broken_files();
    test_bad_config();
    ft_error err;
    CHECK(ft_remove_tree(tmpdir, &err) == FT_OK);
    return check_finish();
}
