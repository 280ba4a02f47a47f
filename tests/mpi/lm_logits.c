/* lm_logits: ftune's logits of a decoder LLM folder, for
 * tests/mpi/test_train_lm_final.py (test_train_lm_hf) to compare
 * with transformers' AutoModelForCausalLM on the same folder.
 * Usage: lm_logits MODEL_DIR OUT_FILE ID... : one row of the given token
 * ids, its [n, vocab_size] float32 logits written raw (host byte order)
 * to OUT_FILE. Exit 0, or 1 with the message on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include "core/ft_alloc.h"
#include "core/ft_error.h"
#include "hf/hf_model.h"
#include "model/model.h"

static ft_status run(const char *dir, const char *out, const int32_t *ids, int n, ft_error *err)
{
    model *m = NULL;
    hf_config cfg;
    ft_status st = hf_model_load(dir, NULL, &m, &cfg, err);
    if (st != FT_OK) return st;
    int32_t len = n;
    model_batch b = {.b = 1, .t = n, .input_ids = ids, .lengths = &len};
    model_dropout off = {.enabled = false};
    st = model_plan_inference(m, 1, n, err);
    if (st == FT_OK) st = model_forward(m, &b, &off, NULL, err);
    if (st == FT_OK) {
        size_t count = (size_t)n * (size_t)model_get_config(m)->vocab_size;
        FILE *f = fopen(out, "wb");
        if (!f || fwrite(model_logits(m), sizeof(float), count, f) != count)
            st = ft_fail(err, FT_EIO, "%s: cannot write the logits", out);
        if (f && fclose(f) != 0 && st == FT_OK)
            st = ft_fail(err, FT_EIO, "%s: cannot write the logits", out);
    }
    model_free(m);
    hf_config_free(&cfg);
    return st;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: lm_logits MODEL_DIR OUT_FILE ID...\n");
        return 2;
    }
    int n = argc - 3;
    int32_t *ids = ft_malloc_array((size_t)n, sizeof *ids);
    if (!ids) return 1;
    for (int i = 0; i < n; i++) ids[i] = (int32_t)strtol(argv[3 + i], NULL, 10);
    ft_error err;
    ft_error_clear(&err);
    ft_status st = run(argv[1], argv[2], ids, n, &err);
    free(ids);
    if (st != FT_OK) fprintf(stderr, "lm_logits: %s\n", err.msg);
    return st == FT_OK ? 0 : 1;
}
