/* Decoder LLM folders out and checked (src/hf/hf_export.c, hf_llm.c):
 * each folder of tests/fixtures/llm/ loaded through hf_model_load, exported
 * with hf_model_export, and the export loaded again must give the same
 * parameters and the same logits bit for bit (the export is F32, the
 * fixtures are F32: nothing is rounded, so any difference is a bug, no
 * tolerance), and within test_model_llm.c's 1e-5 of transformers' logits
 * (reference.safetensors). The exported config.json holds every key of the
 * loaded one with the same value (torch_dtype: float32); tied models have no
 * lm_head.weight; the sharded llama3 fixture becomes one file; the
 * tokenizer files are copied byte for byte. hf_model_check_weights accepts
 * every fixture (sharded included) and every export, and names the file and
 * the tensor of a broken one. Export refuses a config that does not
 * describe the model, saying why.
 *
 * Usage: test_hf_llm_export [KEEP_DIR]: with KEEP_DIR, the exports are left
 * in KEEP_DIR/<case> (tests/reference/test_llm_export.py loads them with
 * transformers). */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/ft_fs.h"
#include "hf/hf_model.h"
#include "model/model.h"
#include "model_fixture.h"
#include "st/st.h"

enum { B = 3, T = 16 }; /* make_llm_fixtures.py's micro-batch */
/* test_model_llm.c's tolerance for ftune's logits against transformers'
 * (the same float32 operations summed in another order; see there). */
static const double TOL_LOGITS = 1e-5;

static const char *const TOKENIZER_JSON =
    "{\"version\": \"1.0\", \"model\": {\"type\": \"BPE\"}}\n";
static const char *const TOKENIZER_CONFIG = "{\"model_max_length\": 128}\n";

static void put(const char *dir, const char *name, const char *text)
{
    char path[700];
    ft_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(ft_write_file_atomic(path, text, strlen(text), true, &err) == FT_OK);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[700];
    char *text = NULL;
    ft_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_MSG(ft_read_file(path, &text, len, &err) == FT_OK, "%s", err.msg);
    return text;
}

static model *load(const char *dir, hf_config *cfg)
{
    model *m = NULL;
    ft_error err = {0};
    CHECK_MSG(hf_model_load(dir, NULL, &m, cfg, &err) == FT_OK, "%s: %s", dir, err.msg);
    return m;
}

/* The logits of the fixture's first micro-batch; caller frees. */
static float *logits_of(model *m, const char *fixture_dir)
{
    fixture fx;
    size_t n = 0;
    CHECK(fixture_open(&fx, fixture_dir, "batch.safetensors"));
    int32_t *ids = fixture_get(&fx, "input_ids", &n, NULL);
    int32_t *lengths = fixture_get(&fx, "lengths", &n, NULL);
    fixture_close(&fx);
    model_batch x = {B, T, ids, lengths, NULL, NULL};
    model_dropout off = {false, 0, 0};
    ft_error err = {0};
    size_t nl = (size_t)B * T * model_get_config(m)->vocab_size;
    float *out = malloc(nl * sizeof *out);
    CHECK(model_plan_inference(m, B, T, &err) == FT_OK);
    CHECK_MSG(model_forward(m, &x, &off, NULL, &err) == FT_OK, "%s", err.msg);
    memcpy(out, model_logits(m), nl * sizeof *out);
    free(ids);
    free(lengths);
    return out;
}

/* Every key of the loaded config.json, same value, in the exported one. */
static void check_config_kept(const char *name, const char *from, const char *to)
{
    size_t la = 0, lb = 0;
    char *a = slurp(from, "config.json", &la), *b = slurp(to, "config.json", &lb);
    cJSON *x = cJSON_ParseWithLength(a, la), *y = cJSON_ParseWithLength(b, lb);
    CHECK(x && y && cJSON_GetArraySize(x) == cJSON_GetArraySize(y));
    const cJSON *e;
    cJSON_ArrayForEach(e, x)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(y, e->string);
        if (strcmp(e->string, "torch_dtype") == 0)
            CHECK(cJSON_IsString(f) && strcmp(f->valuestring, "float32") == 0);
        else
            CHECK_MSG(f && cJSON_Compare(e, f, true), "%s: config key '%s' changed", name,
                      e->string);
    }
    cJSON_Delete(x);
    cJSON_Delete(y);
    free(a);
    free(b);
}

static void check_files(const char *name, const char *out, bool tied, bool phi3)
{
    char path[800];
    ft_error err = {0};
    st_file *f = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    CHECK_MSG(st_open(path, &f, &err) == FT_OK, "%s", err.msg);
    if (!f) return;
    CHECK_MSG((st_find(f, "lm_head.weight") == NULL) == tied, "%s: lm_head.weight %s", name,
              tied ? "written for a tied model" : "missing");
    if (phi3) CHECK(st_find(f, "model.layers.1.self_attn.qkv_proj.weight") != NULL);
    if (phi3) CHECK(st_find(f, "model.layers.1.mlp.gate_up_proj.weight") != NULL);
    for (size_t i = 0; i < st_count(f); i++) CHECK(st_info_at(f, i)->dtype == ST_F32);
    st_close(f);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", out);
    CHECK(!ft_path_exists(path));
    size_t n = 0;
    char *tok = slurp(out, "tokenizer.json", &n);
    CHECK(tok && n == strlen(TOKENIZER_JSON) && memcmp(tok, TOKENIZER_JSON, n) == 0);
    free(tok);
    tok = slurp(out, "tokenizer_config.json", &n);
    CHECK(tok && n == strlen(TOKENIZER_CONFIG) && memcmp(tok, TOKENIZER_CONFIG, n) == 0);
    free(tok);
}

/* Export, check the folder, load it again: same parameters and logits, bit
 * for bit. */
static void check_case(const char *name, const char *tok_dir, const char *keep_dir)
{
    char src[512], out[700];
    snprintf(src, sizeof src, "%s/llm/%s", FTUNE_FIXTURES, name);
    snprintf(out, sizeof out, "%s/%s", keep_dir, name);
    ft_error err = {0};
    CHECK_MSG(hf_model_check_weights(src, false, &err) == FT_OK, "%s: %s", src, err.msg);
    hf_config cfg, cfg2;
    model *m = load(src, &cfg);
    if (!m) return;
    CHECK(cfg.decoder && cfg.json);
    CHECK_MSG(hf_model_export(m, &cfg, tok_dir, out, true, &err) == FT_OK, "%s", err.msg);
    CHECK_MSG(hf_model_check_weights(out, false, &err) == FT_OK, "%s: %s", out, err.msg);
    check_config_kept(name, src, out);
    const model_config *mc = model_get_config(m);
    check_files(name, out, mc->llm.tie_word_embeddings, strcmp(name, "phi3") == 0);
    model *back = load(out, &cfg2);
    if (back) {
        size_t np = model_param_count(m);
        CHECK(model_param_count(back) == np && model_tensor_count(back) == model_tensor_count(m));
        CHECK_MSG(memcmp(model_params_read(m), model_params_read(back), np * sizeof(float)) == 0,
                  "%s: parameters changed through the export", name);
        float *a = logits_of(m, src), *b = logits_of(back, src);
        size_t nl = (size_t)B * T * mc->vocab_size;
        size_t differ = 0, n = 0;
        for (size_t i = 0; i < nl; i++) differ += memcmp(&a[i], &b[i], sizeof(float)) != 0;
        fprintf(stderr,
                "%s: exported to %s; %zu tensors, %zu parameters; reloaded logits "
                "differing bitwise: %zu of %zu\n",
                name, out, (size_t)model_tensor_count(m), np, differ, nl);
        CHECK_MSG(differ == 0, "%s: %zu logits differ after the round trip", name, differ);
        fixture ref;
        CHECK(fixture_open(&ref, src, "reference.safetensors"));
        float *want = fixture_get(&ref, "logits", &n, NULL);
        double e = want && n == nl ? rel_error(b, want, nl) : 1.0;
        fprintf(stderr, "%s: reloaded logits against transformers' rel err %.3g\n", name, e);
        CHECK_MSG(e <= TOL_LOGITS, "%s: reloaded logits rel err %.3g", name, e);
        free(want);
        fixture_close(&ref);
        free(a);
        free(b);
    }
    model_free(back);
    hf_config_free(&cfg2);
    hf_config_free(&cfg);
    model_free(m);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void expect_fails(ft_status got, ft_status code, const ft_error *err, const char *needle)
{
    CHECK_MSG(got == code, "status %d, expected %d: %s", (int)got, (int)code, err->msg);
    CHECK_STR_CONTAINS(err->msg, needle);
    fprintf(stderr, "refused: %s\n", err->msg);
}

/* A config that does not describe the model: another architecture, or
 * another decoder (llama's weights, qwen2's tied config). */
static void check_export_refusals(const char *tmp)
{
    char src[512], out[700];
    snprintf(src, sizeof src, "%s/llm/llama", FTUNE_FIXTURES);
    snprintf(out, sizeof out, "%s/refused", tmp);
    hf_config cfg, other, bert;
    model *m = load(src, &cfg);
    snprintf(src, sizeof src, "%s/llm/qwen2", FTUNE_FIXTURES);
    model *q = load(src, &other);
    ft_error err = {0};
    CHECK(hf_config_default(HF_ARCH_BERT, &bert, &err) == FT_OK);
    expect_fails(hf_model_export(m, &bert, NULL, out, true, &err), FT_EINVAL, &err,
                 "the model is a decoder LLM but the config (bert defaults) is a classifier's");
    expect_fails(hf_model_export(m, &other, NULL, out, true, &err), FT_EINVAL, &err,
                 "tie_word_embeddings 1 do not describe the model");
    CHECK(!ft_path_exists(out));
    CHECK(mkdir(out, 0755) == 0); /* a user's folder: not a model folder */
    put(out, "notes.txt", "mine\n");
    expect_fails(hf_model_export(m, &cfg, NULL, out, true, &err), FT_EEXIST, &err,
                 "is not a model folder");
    expect_fails(hf_model_export(m, &cfg, NULL, out, false, &err), FT_EEXIST, &err,
                 "refusing to overwrite");
    hf_config_free(&bert);
    hf_config_free(&other);
    hf_config_free(&cfg);
    model_free(q);
    model_free(m);
}

/* hf_model_check_weights on broken sharded folders: the index maps a
 * tensor to the wrong shard, or names a shard that is missing; no weights
 * at all. */
static void check_weights_refusals(const char *tmp)
{
    char dir[700], shard[700], link_path[800];
    snprintf(dir, sizeof dir, "%s/broken", tmp);
    CHECK(mkdir(dir, 0755) == 0);
    ft_error err = {0};
    expect_fails(hf_model_check_weights(dir, true, &err), FT_ENOTFOUND, &err,
                 "broken/model.safetensors: not found; to train from scratch");
    static const char *const shards[] = {"model-00001-of-00002.safetensors",
                                         "model-00002-of-00002.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(shard, sizeof shard, "%s/llm/llama3/%s", FTUNE_FIXTURES, shards[i]);
        snprintf(link_path, sizeof link_path, "%s/%s", dir, shards[i]);
        CHECK(symlink(shard, link_path) == 0);
    }
    snprintf(shard, sizeof shard, "%s/llm/llama3", FTUNE_FIXTURES);
    size_t n = 0;
    char *config = slurp(shard, "config.json", &n);
    put(dir, "config.json", config);
    expect_fails(hf_model_check_weights(dir, true, &err), FT_ENOTFOUND, &err,
                 "not found (nor model.safetensors.index.json); to train from scratch");
    char *index = slurp(shard, "model.safetensors.index.json", &n);
    cJSON *doc = cJSON_ParseWithLength(index, n);
    cJSON *map = cJSON_GetObjectItemCaseSensitive(doc, "weight_map");
    cJSON *norm = cJSON_GetObjectItemCaseSensitive(map, "model.norm.weight");
    CHECK(cJSON_IsString(norm));
    const char *wrong = strcmp(norm->valuestring, shards[0]) == 0 ? shards[1] : shards[0];
    char expect[200];
    snprintf(expect, sizeof expect, "%s: tensor 'model.norm.weight' not found in the weights",
             wrong);
    cJSON_SetValuestring(norm, wrong);
    char *text = cJSON_Print(doc);
    put(dir, "model.safetensors.index.json", text);
    CHECK_MSG(hf_model_check_weights(dir, false, &err) == FT_ENOTFOUND, "%s", err.msg);
    fprintf(stderr, "refused: %s\n", err.msg);
    CHECK_STR_CONTAINS(err.msg, expect);
    cJSON_free(text);
    cJSON_SetValuestring(norm, "model-00003-of-00002.safetensors");
    text = cJSON_Print(doc);
    put(dir, "model.safetensors.index.json", text);
    expect_fails(hf_model_check_weights(dir, false, &err), FT_ENOTFOUND, &err,
                 "model-00003-of-00002.safetensors");
    cJSON_free(text);
    cJSON_Delete(doc);
    free(index);
    free(config);
}

/* An export whose model.norm.weight is declared I32 (same width: only the
 * header changes): refused naming the file, the tensor and the dtype. */
static void check_dtype_refusal(const char *tmp, const char *export_dir)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/int_weights", tmp);
    CHECK(mkdir(dir, 0755) == 0);
    size_t n = 0, len = 0;
    char *config = slurp(export_dir, "config.json", &n);
    char *data = slurp(export_dir, "model.safetensors", &len);
    static const char key[] = "\"model.norm.weight\":{\"dtype\":\"F32\"";
    char *at = data ? strstr(data + 8, key) : NULL;
    CHECK(at != NULL);
    if (at) memcpy(at + sizeof key - 5, "I32", 3);
    put(dir, "config.json", config);
    char path[800];
    ft_error err = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(ft_write_file_atomic(path, data, len, true, &err) == FT_OK);
    expect_fails(hf_model_check_weights(dir, false, &err), FT_EINVAL, &err,
                 "int_weights/model.safetensors: tensor 'model.norm.weight' has dtype I32");
    free(data);
    free(config);
}

int main(int argc, char **argv)
{
    static const char *const cases[] = {"llama", "llama3", "qwen2", "mistral", "phi3"};
    char tmp[] = "/tmp/ftune_llm_export_XXXXXX", tok[100];
    CHECK(mkdtemp(tmp) != NULL);
    snprintf(tok, sizeof tok, "%s/tokenizer", tmp);
    CHECK(mkdir(tok, 0755) == 0);
    put(tok, "tokenizer.json", TOKENIZER_JSON);
    put(tok, "tokenizer_config.json", TOKENIZER_CONFIG);
    const char *keep = argc > 1 ? argv[1] : tmp;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(cases[i], tok, keep);
    check_export_refusals(tmp);
    check_weights_refusals(tmp);
    char llama[600];
    snprintf(llama, sizeof llama, "%s/llama", keep);
    check_dtype_refusal(tmp, llama);
    ft_error err = {0};
    CHECK(ft_remove_tree(tmp, &err) == FT_OK);
    return check_finish();
}
