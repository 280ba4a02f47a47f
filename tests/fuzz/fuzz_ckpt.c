/* fuzz_ckpt: the checkpoint reader (ckpt_read, src/ckpt/ckpt.c) at the
 * layer ftune owns: a valid checkpoint of a tiny BERT written once by
 * ckpt_write_buffers, edited as the input says (fuzz_h5.h: the root
 * attributes ckpt.h lists and the model's tensors replaced by others of
 * any type, rank and size). ckpt.h promises that a read that fails leaves
 * the model as it was; that is checked on every input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "core/ft_fs.h"
#include "fuzz_h5.h"
#include "fuzz_util.h"
#include "model/model.h"

static const char *const ATTRS[] = {"format",
                                    "version",
                                    "step",
                                    "epoch",
                                    "step_in_epoch",
                                    "optimizer_steps",
                                    "global_batch",
                                    "world_size",
                                    "seed",
                                    "loss_scale",
                                    "best_metric",
                                    "best_step",
                                    "loss_scale_good_steps",
                                    "data_fingerprint",
                                    "config"};

static model *tiny;
static char **dsets;
static size_t n_dsets;
static char *template_bytes;
static size_t template_len;

static void make_model(void)
{
    model_config c = {0};
    c.arch = MODEL_ARCH_BERT;
    c.vocab_size = 12;
    c.max_positions = 4;
    c.type_vocab_size = 2;
    c.hidden = 4;
    c.layers = 1;
    c.heads = 2;
    c.intermediate = 8;
    c.num_labels = 2;
    c.layer_norm_eps = 1e-12f;
    c.initializer_range = 0.02f;
    c.gelu = OPS_GELU_ERF;
    ft_error err;
    fuzz_require(model_create(&tiny, &c, &err) == FT_OK, "model_create (tiny) failed");
    dsets = calloc((size_t)model_tensor_count(tiny), sizeof *dsets);
    for (int i = 0; i < model_tensor_count(tiny); i++) {
        const model_tensor *t = model_tensor_at(tiny, i);
        if (!model_tensor_trainable(tiny, t)) continue;
        dsets[n_dsets] = ft_path_join("model", t->name);
        fuzz_require(dsets[n_dsets++] != NULL, "out of memory");
    }
}

static void make_template(void)
{
    make_model();
    ckpt_state s = {0};
    s.step = 3;
    s.global_batch = 8;
    s.world_size = 1;
    s.seed = 42;
    s.loss_scale = 1.0;
    s.best_metric = NAN;
    s.best_step = -1;
    s.config_json = (char *)"{\"learning_rate\": 0.001}";
    snprintf(s.data_fingerprint, sizeof s.data_fingerprint, "abcd1234");
    const float *bufs[3] = {model_params_read(tiny), NULL, NULL};
    char *path = ft_path_join(fuzz_temp_dir(), "template.h5");
    ft_error err;
    fuzz_require(ckpt_write_buffers(path, tiny, bufs, &s, &err) == FT_OK,
                 "ckpt_write_buffers (template) failed");
    fuzz_require(ft_read_file(path, &template_bytes, &template_len, &err) == FT_OK,
                 "reading the template");
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!template_bytes) make_template();
    char *path = fuzz_write_file("checkpoint-3.h5", template_bytes, template_len);
    fuzz_h5_edit(path, data, size, ATTRS, sizeof ATTRS / sizeof *ATTRS, (const char *const *)dsets,
                 n_dsets);
    size_t n = model_param_count(tiny);
    float *before = malloc(n * sizeof *before);
    fuzz_require(before != NULL, "out of memory");
    memcpy(before, model_params_read(tiny), n * sizeof *before);
    ckpt_state s = {0};
    ft_error err;
    if (ckpt_read(path, tiny, NULL, &s, &err) == FT_OK) {
        fuzz_require(s.config_json != NULL, "ckpt: accepted without a config");
    } else {
        fuzz_require(err.msg[0] != '\0', "ckpt_read failed without a message");
        fuzz_require(!memcmp(before, model_params_read(tiny), n * sizeof *before),
                     "ckpt_read failed but changed the model");
    }
    ckpt_state_free(&s);
    free(before);
    free(path);
    return 0;
}
