/* bench_train_step: time ftune's training step (fp32 or bf16, CPU or GPU).
 *
 * usage: bench_train_step [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT]
 *        [fp32|bf16]
 * (defaults: bert 16 128 5 2 0.1 fp32). BERT-base or GPT-2 small shapes, random
 * weights (HF initialisation), full-length random token ids. A step is what
 * Trainer does per optimizer step without accumulation: forward, loss,
 * backward, clip_grad_norm 1.0, AdamW. Prints the median, fastest and
 * slowest step time, the FLOP rate (6 x matmul parameters x tokens +
 * attention, the convention of shared/BENCHMARKS.md) and the peak resident
 * memory of the process (getrusage). bench_sgemm measures the ceiling;
 * bench_train_step.sh puts the two together. The one stdout line is
 * "key=value" pairs for bench_train_step.sh (and bench_gpu_train.sh).
 *
 * FTUNE_BENCH_DEVICE=cuda (CUDA builds): the same step on this process's
 * GPU (device_select, then the CUDA back end of ops_backend.h); each
 * timed step ends with the back end's synchronize, so the time is the GPU's.
 * Token ids, lengths and labels are made on the host as ftune-train does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <mpi.h>

#include "device/device.h"
#include "ops/ops_cpu.h"
#include "model/model.h"
#include "ops/ops_backend.h"
#include "optim/optim.h"
#include "core/rng.h"
#include "bench_util.h"

static double step_gflop(const model_config *c, int b, int t)
{
    double hid = c->hidden, inter = c->intermediate, nl = c->layers, tokens = (double)b * t;
    double matmul_params = nl * (4 * hid * hid + 2 * hid * inter);
    double attention = nl * 4.0 * b * (double)t * t * hid; /* q kᵀ and p v */
    return (6.0 * matmul_params * tokens + 3.0 * attention) / 1e9;
}

/* FTUNE_BENCH_DEVICE: "cpu" (default) or "cuda". On cuda, MPI (a singleton
 * without mpiexec) and device_select, as ftune-train chooses its GPU, and
 * device_mixed_precision as it does in bf16. Writes the device's name;
 * returns 0, or 2 with a message. */
static int bench_use_device(int *argc, char ***argv, char *name, size_t name_bytes, bool *mpi,
                            bool mixed)
{
    const char *dev = getenv("FTUNE_BENCH_DEVICE");
    *mpi = false;
    snprintf(name, name_bytes, "cpu");
    if (!dev || !*dev || strcmp(dev, "cpu") == 0) return 0;
    if (strcmp(dev, "cuda") != 0) {
        fprintf(stderr, "bench_train_step: FTUNE_BENCH_DEVICE must be cpu or cuda, got '%s'\n",
                dev);
        return 2;
    }
    if (!device_cuda_built()) {
        fprintf(stderr, "bench_train_step: FTUNE_BENCH_DEVICE=cuda, but this build has no CUDA "
                        "back end (configure with -DFTUNE_CUDA=ON)\n");
        return 2;
    }
    MPI_Init(argc, argv);
    *mpi = true;
    device_choice dc;
    ft_error err;
    if (device_select(MPI_COMM_WORLD, false, &dc, &err) != FT_OK) {
        fprintf(stderr, "bench_train_step: FTUNE_BENCH_DEVICE=cuda: %s\n", err.msg);
        return 2;
    }
    if (!dc.gpu) {
        fprintf(stderr, "bench_train_step: FTUNE_BENCH_DEVICE=cuda, but no GPU is visible\n");
        return 2;
    }
    device_mixed_precision(&dc, mixed);
    snprintf(name, name_bytes, "%s", dc.name);
    for (char *c = name; *c; c++)
        if (*c == ' ') *c = '_'; /* one key=value word */
    return 0;
}

typedef struct bench_batch {
    int32_t *ids, *len, *lab;
    int64_t *idx;
} bench_batch;

/* warm + steps training steps; times[] gets the timed ones (seconds, each
 * ending when the back end has finished it). Returns 0 or 1. */
static int run_steps(model *m, optim *o, const bench_batch *bb, int B, int T, float p, int warm,
                     int steps, double *times, double *loss)
{
    const ops_backend *be = ops_backend_current();
    ft_error err;
    for (int s = 0; s < warm + steps; s++) {
        for (int i = 0; i < B * T; i++)
            bb->ids[i] = 1000 + (int32_t)rng_below(3, (uint64_t)s, (uint64_t)i, 20000);
        for (int i = 0; i < B; i++) {
            bb->len[i] = T;
            bb->lab[i] = i % 2;
            bb->idx[i] = (int64_t)s * B + i;
        }
        model_batch x = {B, T, bb->ids, bb->len, bb->lab, bb->idx};
        model_dropout d = {p > 0.0f, 7, (uint64_t)s};
        be->synchronize();
        double t0 = bench_now_s();
        model_zero_grads(m);
        if (model_forward(m, &x, &d, loss, &err) != FT_OK) {
            fprintf(stderr, "bench_train_step: %s\n", err.msg);
            return 1;
        }
        model_backward(m, 1.0f);
        optim_clip_grad_norm(m, 1.0f);
        optim_step(o, m, 2e-5f);
        be->synchronize();
        if (s >= warm) times[s - warm] = bench_now_s() - t0;
    }
    return 0;
}

static int bench_finish(bool mpi, int rc)
{
    if (mpi) MPI_Finalize();
    return rc;
}

int main(int argc, char **argv)
{
    bool gpt2 = argc > 1 && strcmp(argv[1], "gpt2") == 0;
    bool bad_arch = argc > 1 && !gpt2 && strcmp(argv[1], "bert") != 0;
    model_arch arch = gpt2 ? MODEL_ARCH_GPT2 : MODEL_ARCH_BERT;
    int B = argc > 2 ? atoi(argv[2]) : 16, T = argc > 3 ? atoi(argv[3]) : 128;
    int steps = argc > 4 ? atoi(argv[4]) : 5, warm = argc > 5 ? atoi(argv[5]) : 2;
    float p = argc > 6 ? (float)atof(argv[6]) : 0.1f;
    bool bf16 = argc > 7 && strcmp(argv[7], "bf16") == 0;
    bool bad_precision = argc > 7 && !bf16 && strcmp(argv[7], "fp32") != 0;
    if (bad_arch || B < 1 || T < 1 || steps < 1 || steps > 100 || warm < 0 ||
        !(p >= 0.0f && p < 1.0f) || bad_precision) {
        fprintf(stderr, "usage: [FTUNE_BENCH_DEVICE=cpu|cuda] bench_train_step [bert|gpt2] [BATCH] "
                        "[SEQ] [STEPS 1..100] [WARMUP] [DROPOUT 0..<1] [fp32|bf16]\n");
        return 2;
    }
    char device[256];
    bool mpi = false;
    int rc = bench_use_device(&argc, &argv, device, sizeof device, &mpi, bf16);
    if (rc != 0) return bench_finish(mpi, rc);
    /* bf16 on a CPU: what ftune-train decides (device_bf16_decide). */
    bool asked_bf16 = bf16;
    device_choice cpu = {.gpu = false, .gpu_index = -1, .name = "cpu"};
    ft_error derr;
    if (strcmp(device, "cpu") == 0 &&
        device_bf16_decide(MPI_COMM_NULL, &cpu, &bf16, &derr) != FT_OK) {
        fprintf(stderr, "bench_train_step: %s\n", derr.msg);
        return bench_finish(mpi, 2);
    }
    model_config cfg = bench_model_config(arch, 768, 12, p);
    model *m = NULL;
    optim *o = NULL;
    ft_error err;
    optim_hparams h = optim_default_hparams(2e-5f);
    h.weight_decay = 0.01f;
    if (model_create(&m, &cfg, &err) != FT_OK || model_set_bf16(m, bf16, &err) != FT_OK ||
        model_plan(m, B, T, &err) != FT_OK || optim_create(&o, m, &h, &err) != FT_OK) {
        fprintf(stderr, "bench_train_step: %s\n", err.msg);
        model_free(m);
        return bench_finish(mpi, 1);
    }
    model_init_random(m, 1);
    bench_batch bb = {malloc((size_t)B * T * sizeof(int32_t)), malloc(B * sizeof(int32_t)),
                      malloc(B * sizeof(int32_t)), malloc(B * sizeof(int64_t))};
    double *times = malloc((size_t)steps * sizeof(double)), loss = 0.0;
    rc = run_steps(m, o, &bb, B, T, p, warm, steps, times, &loss);
    if (rc == 0) {
        double med = bench_median(times, steps), gflop = step_gflop(&cfg, B, T);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("impl=ftune device=%s precision=%s arch=%s batch=%d seq=%d dropout=%g step_s=%.4f "
               "step_min_s=%.4f step_max_s=%.4f samples_per_s=%.1f gflop=%.1f gflops=%.1f "
               "peak_rss_mib=%.0f loss=%.4f asked=%s gemm=%s\n",
               device, bf16 ? "bf16" : "fp32", arch == MODEL_ARCH_BERT ? "bert" : "gpt2", B, T,
               (double)p, med, times[0], times[steps - 1], B / med, gflop, gflop / med,
               (double)ru.ru_maxrss / 1024.0, loss, asked_bf16 ? "bf16" : "fp32",
               ops_cpu_gemm_current() == OPS_GEMM_ONEDNN ? "onednn" : "openblas");
    }
    free(bb.ids);
    free(bb.len);
    free(bb.lab);
    free(bb.idx);
    free(times);
    optim_free(o);
    model_free(m);
    return bench_finish(mpi, rc);
}
