/* bench_train_step: time ftune's fp32 training step on CPU.
 *
 * usage: bench_train_step [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT]
 * (defaults: bert 16 128 5 2 0.1). BERT-base or GPT-2 small shapes, random
 * weights (HF initialisation), full-length random token ids. A step is what
 * Trainer does per optimizer step without accumulation: forward, loss,
 * backward, clip_grad_norm 1.0, AdamW. Prints the median, fastest and
 * slowest step time, the FLOP rate (6 x matmul parameters x tokens +
 * attention, the convention of shared/BENCHMARKS.md) and the peak resident
 * memory of the process (getrusage). bench_sgemm measures the ceiling;
 * bench_train_step.sh puts the two together. The one stdout line is
 * "key=value" pairs for bench_train_step.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model.h"
#include "optim.h"
#include "rng.h"
#include "bench_util.h"

static double step_gflop(const model_config *c, int b, int t)
{
    double hid = c->hidden, inter = c->intermediate, nl = c->layers, tokens = (double)b * t;
    double matmul_params = nl * (4 * hid * hid + 2 * hid * inter);
    double attention = nl * 4.0 * b * (double)t * t * hid; /* q kᵀ and p v */
    return (6.0 * matmul_params * tokens + 3.0 * attention) / 1e9;
}

int main(int argc, char **argv)
{
    model_arch arch = argc > 1 && strcmp(argv[1], "gpt2") == 0 ? MODEL_ARCH_GPT2 : MODEL_ARCH_BERT;
    int B = argc > 2 ? atoi(argv[2]) : 16, T = argc > 3 ? atoi(argv[3]) : 128;
    int steps = argc > 4 ? atoi(argv[4]) : 5, warm = argc > 5 ? atoi(argv[5]) : 2;
    float p = argc > 6 ? (float)atof(argv[6]) : 0.1f;
    bool bf16 = argc > 7 && strcmp(argv[7], "bf16") == 0;
    bool bad_precision = argc > 7 && !bf16 && strcmp(argv[7], "fp32") != 0;
    if (B < 1 || T < 1 || steps < 1 || steps > 100 || warm < 0 || bad_precision) {
        fprintf(stderr, "usage: bench_train_step [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT] [fp32|bf16]\n");
        return 2;
    }
    model_config cfg = bench_model_config(arch, 768, 12, p);
    model *m = NULL;
    optim *o = NULL;
    ft_error err;
    optim_hparams h = optim_default_hparams(2e-5f);
    h.weight_decay = 0.01f;
    if (model_create(&m, &cfg, &err) != FT_OK || model_set_bf16(m, bf16, &err) != FT_OK ||
        model_plan(m, B, T, &err) != FT_OK ||
        optim_create(&o, m, &h, &err) != FT_OK) {
        fprintf(stderr, "bench_train_step: %s\n", err.msg);
        model_free(m);
        return 1;
    }
    model_init_random(m, 1);
    int32_t *ids = malloc((size_t)B * T * sizeof(int32_t)), *len = malloc(B * sizeof(int32_t));
    int32_t *lab = malloc(B * sizeof(int32_t));
    int64_t *idx = malloc(B * sizeof(int64_t));
    double *times = malloc((size_t)steps * sizeof(double)), loss = 0.0;
    for (int s = 0; s < warm + steps; s++) {
        for (int i = 0; i < B * T; i++) ids[i] = 1000 + (int32_t)rng_below(3, (uint64_t)s, (uint64_t)i, 20000);
        for (int i = 0; i < B; i++) {
            len[i] = T;
            lab[i] = i % 2;
            idx[i] = (int64_t)s * B + i;
        }
        model_batch x = {B, T, ids, len, lab, idx};
        model_dropout d = {p > 0.0f, 7, (uint64_t)s};
        double t0 = bench_now_s();
        model_zero_grads(m);
        if (model_forward(m, &x, &d, &loss, &err) != FT_OK) {
            fprintf(stderr, "bench_train_step: %s\n", err.msg);
            return 1;
        }
        model_backward(m, 1.0f);
        optim_clip_grad_norm(m, 1.0f);
        optim_step(o, m, 2e-5f);
        if (s >= warm) times[s - warm] = bench_now_s() - t0;
    }
    double med = bench_median(times, steps), gflop = step_gflop(&cfg, B, T);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("impl=ftune precision=%s arch=%s batch=%d seq=%d dropout=%g step_s=%.3f step_min_s=%.3f "
           "step_max_s=%.3f gflop=%.1f gflops=%.1f peak_rss_mib=%.0f loss=%.4f\n",
           bf16 ? "bf16" : "fp32", arch == MODEL_ARCH_BERT ? "bert" : "gpt2", B, T, (double)p, med, times[0],
           times[steps - 1], gflop, gflop / med, (double)ru.ru_maxrss / 1024.0, loss);
    free(ids);
    free(len);
    free(lab);
    free(idx);
    free(times);
    optim_free(o);
    model_free(m);
    return 0;
}
