/* model_testkit.h: what test_model.c and test_model_backend.c share about
 * the PyTorch fixtures of tests/fixtures/model/ (make_model_fixtures.py):
 * the tiny models' config, loading their parameters and batches, and the
 * key-bias elements whose gradient is rounding noise. */
#ifndef MODEL_TESTKIT_H
#define MODEL_TESTKIT_H

#include <string.h>

#include "check.h"
#include "model/model.h"
#include "model_fixture.h"

/* The fixtures' shapes: MICRO micro-batches of B examples of T tokens. */
enum { B = 3, T = 16, MICRO = 6 };

/* The tiny BERT / GPT-2 of the fixtures (2 blocks there; other layer
 * counts for tests of the model's own plumbing). */
static model_config tiny_config(model_arch arch, int layers)
{
    model_config c = {0};
    c.arch = arch;
    c.vocab_size = 1000;
    c.max_positions = 64;
    c.type_vocab_size = 2;
    c.hidden = 64;
    c.layers = layers;
    c.heads = 4;
    c.intermediate = 256;
    c.num_labels = 3;
    c.layer_norm_eps = arch == MODEL_ARCH_BERT ? 1e-12f : 1e-5f;
    c.initializer_range = 0.02f;
    c.hidden_dropout = c.attention_dropout = 0.1f;
    c.classifier_dropout = arch == MODEL_ARCH_BERT ? 0.1f : 0.0f;
    c.pad_token_id = arch == MODEL_ARCH_BERT ? 0 : 999;
    c.gelu = arch == MODEL_ARCH_BERT ? OPS_GELU_ERF : OPS_GELU_TANH;
    return c;
}

/* Copy every table tensor from DIR/model.safetensors into m (through the
 * host copy, model_params), checking shapes. */
static void load_params(model *m, const char *dir)
{
    fixture fx;
    CHECK(fixture_open(&fx, dir, "model.safetensors"));
    float *p = model_params(m);
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        size_t n = 0;
        int64_t shape[2];
        float *x = fixture_get(&fx, t->name, &n, shape);
        CHECK_MSG(x && n == t->numel && shape[0] == t->shape[0] && shape[1] == t->shape[1],
                  "%s: missing or wrong shape", t->name);
        if (x && n == t->numel) memcpy(p + t->offset, x, n * sizeof(float));
        free(x);
    }
    fixture_close(&fx);
}

/* The tiny model of DIR's fixture (2 blocks), planned for B x T, blocks
 * below first_trainable frozen. */
static model *make_model(model_arch arch, const char *dir, int first_trainable)
{
    model_config cfg = tiny_config(arch, 2);
    model *m = NULL;
    ft_error err;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    CHECK(model_plan(m, B, T, &err) == FT_OK);
    load_params(m, dir);
    model_freeze_below(m, first_trainable);
    return m;
}

typedef struct batches {
    int32_t *ids, *lengths, *labels;
    int64_t index[MICRO * B];
} batches;

/* DIR/batch.safetensors; example i gets global index index0 + step * i. */
static void load_batches(batches *bt, const char *dir, int64_t index0, int64_t step)
{
    fixture fx;
    size_t n = 0;
    CHECK(fixture_open(&fx, dir, "batch.safetensors"));
    bt->ids = fixture_get(&fx, "input_ids", &n, NULL);
    CHECK(n == (size_t)MICRO * B * T);
    bt->lengths = fixture_get(&fx, "lengths", &n, NULL);
    bt->labels = fixture_get(&fx, "labels", &n, NULL);
    for (int i = 0; i < MICRO * B; i++) bt->index[i] = index0 + step * i;
    fixture_close(&fx);
}

static void free_batches(batches *bt)
{
    free(bt->ids);
    free(bt->lengths);
    free(bt->labels);
}

/* Micro-batch k (host memory, as model_forward takes it). */
static model_batch micro(const batches *bt, int k)
{
    model_batch x = {B,
                     T,
                     bt->ids + (size_t)k * B * T,
                     bt->lengths + k * B,
                     bt->labels + k * B,
                     bt->index + k * B};
    return x;
}

/* The gradient of a key bias is 0 in exact arithmetic (softmax is unchanged
 * when the same constant is added to a row of scores), so PyTorch and ftune
 * both hold rounding noise there. Returns the element range [*begin, *end)
 * of t that is a key bias, or 0 when none. */
static int key_bias_range(const model_tensor *t, size_t *begin, size_t *end)
{
    if (strstr(t->name, "attention.self.key.bias")) {
        *begin = 0, *end = t->numel;
        return 1;
    }
    if (strstr(t->name, "attn.c_attn.bias")) {
        *begin = t->numel / 3, *end = 2 * t->numel / 3;
        return 1;
    }
    return 0;
}

#endif
