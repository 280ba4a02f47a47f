/* bench_train_step: time ftune's training step (fp32 or bf16, CPU or GPU).
 *
 * usage: bench_train_step [bert|gpt2|qwen2] [BATCH] [SEQ] [STEPS] [WARMUP]
 *        [DROPOUT] [fp32|bf16]
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
 * qwen2: the SFT step of a decoder LLM (bench_sft_step.sh), a
 * Qwen2ForCausalLM of FTUNE_BENCH_LLM_SHAPE
 * "hidden,intermediate,layers,heads,kv_heads,vocab" (default Qwen2.5-0.5B's
 * "896,4864,24,14,2,151936"; head_dim hidden/heads, tied embeddings, q/k/v
 * biases, rope_theta 1e6, rms_norm_eps 1e-6) built from that config in
 * memory, random weights; random token ids with labels -100 on the first
 * half of each row (the prompt), the masked next-token loss of ftune-train
 * (one micro-batch: backward scale 1); no dropout (DROPOUT must be 0).
 * FTUNE_BENCH_GC=1: gradient checkpointing. FLOPs: 6 x (block products'
 * parameters + the lm_head's vocab x hidden) x tokens + attention 12 x
 * layers x B x T^2 x heads x head_dim (q kT and p v, forward and backward;
 * the full T^2, causality not discounted).
 * FTUNE_BENCH_PLAN_ONLY=1: create, plan and make the optimizer, print
 * plan_mib (address space taken: weights, gradients, AdamW moments, the
 * activation plan) and stop, so bench_sft_step.sh can check memory first.
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

/* 6 x matmul parameters x tokens + 3 x the forward attention products. A
 * decoder's q/k/v/o widths follow its heads (grouped-query k and v), its
 * MLP has three matrices and its lm_head (vocab x hidden) is a product too;
 * the classifiers' heads are too small to count. */
static double step_gflop(const model_config *c, int b, int t)
{
    bool llm = c->arch == MODEL_ARCH_LLAMA;
    double hid = c->hidden, inter = c->intermediate, nl = c->layers, tokens = (double)b * t;
    double q = llm ? (double)c->heads * c->llm.head_dim : hid;
    double kv = llm ? (double)c->llm.kv_heads * c->llm.head_dim : hid;
    double matmul_params = nl * (2 * hid * q + 2 * hid * kv + (llm ? 3 : 2) * hid * inter);
    if (llm) matmul_params += (double)c->vocab_size * hid;
    double attention = nl * 4.0 * b * (double)t * t * q; /* q kᵀ and p v */
    return (6.0 * matmul_params * tokens + 3.0 * attention) / 1e9;
}

/* Qwen2.5-0.5B's config (or FTUNE_BENCH_LLM_SHAPE's sizes), as
 * hf_config_llm.c reads its config.json. Returns 0, or 2 with a message. */
static int bench_qwen2_config(model_config *c)
{
    const char *shape = getenv("FTUNE_BENCH_LLM_SHAPE");
    int hid = 896, inter = 4864, layers = 24, heads = 14, kv = 2, vocab = 151936;
    if (shape && *shape &&
        (sscanf(shape, "%d,%d,%d,%d,%d,%d", &hid, &inter, &layers, &heads, &kv, &vocab) != 6 ||
         heads < 1 || hid % heads != 0)) {
        fprintf(stderr,
                "bench_train_step: FTUNE_BENCH_LLM_SHAPE: expected "
                "hidden,intermediate,layers,heads,kv_heads,vocab with heads dividing "
                "hidden, got '%s'\n",
                shape);
        return 2;
    }
    memset(c, 0, sizeof *c);
    c->arch = MODEL_ARCH_LLAMA;
    c->vocab_size = c->num_labels = vocab;
    c->max_positions = 32768;
    c->hidden = hid;
    c->intermediate = inter;
    c->layers = layers;
    c->heads = heads;
    c->layer_norm_eps = 1e-6f;
    c->initializer_range = 0.02f;
    c->pad_token_id = -1;
    c->llm = (model_llm_config){.kv_heads = kv,
                                .head_dim = hid / heads,
                                .names = MODEL_LLM_NAMES_LLAMA,
                                .qkv_bias = true,
                                .tie_word_embeddings = true,
                                .rope_theta = 1e6,
                                .rope_type = MODEL_ROPE_DEFAULT};
    return 0;
}

/* This process's address space in MiB (/proc/self/status VmSize), 0 where
 * unreadable: what a plan reserves before it is touched. */
static double vm_size_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %lf", &kib) == 1) break;
    if (f) fclose(f);
    return kib / 1024.0;
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

/* Step s's batch: full-length rows of random ids; a classifier's labels
 * alternate 0/1, a decoder's are its ids with -100 on each row's first half. */
static void fill_batch(const bench_batch *bb, const model_config *c, int B, int T, int s)
{
    bool llm = c->arch == MODEL_ARCH_LLAMA;
    for (int i = 0; i < B * T; i++) {
        uint64_t r = rng_below(3, (uint64_t)s, (uint64_t)i, llm ? (uint64_t)c->vocab_size : 20000);
        bb->ids[i] = llm ? (int32_t)r : 1000 + (int32_t)r;
        if (llm) bb->lab[i] = i % T < T / 2 ? OPS_IGNORE_INDEX : bb->ids[i];
    }
    for (int i = 0; i < B; i++) {
        bb->len[i] = T;
        if (!llm) bb->lab[i] = i % 2;
        bb->idx[i] = (int64_t)s * B + i;
    }
}

/* warm + steps training steps; times[] gets the timed ones (seconds, each
 * ending when the back end has finished it). Returns 0 or 1. */
static int run_steps(model *m, optim *o, const bench_batch *bb, int B, int T, float p, int warm,
                     int steps, double *times, double *loss)
{
    const ops_backend *be = ops_backend_current();
    ft_error err;
    for (int s = 0; s < warm + steps; s++) {
        fill_batch(bb, model_get_config(m), B, T, s);
        model_batch x = {.b = B,
                         .t = T,
                         .input_ids = bb->ids,
                         .lengths = bb->len,
                         .labels = bb->lab,
                         .example_index = bb->idx};
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

static const char *arch_name(model_arch a)
{
    return a == MODEL_ARCH_BERT ? "bert" : a == MODEL_ARCH_GPT2 ? "gpt2" : "qwen2";
}

/* The model, its plan (FTUNE_BENCH_GC=1: gradient checkpointing) and AdamW;
 * prints why and returns 1 on failure. */
static int bench_build(model **m, optim **o, const model_config *cfg, bool bf16, int B, int T)
{
    ft_error err;
    optim_hparams h = optim_default_hparams(2e-5f);
    h.weight_decay = 0.01f;
    const char *gc = getenv("FTUNE_BENCH_GC");
    bool checkpointing = gc && strcmp(gc, "1") == 0;
    if (model_create(m, cfg, &err) != FT_OK || model_set_bf16(*m, bf16, &err) != FT_OK ||
        (checkpointing && model_set_gradient_checkpointing(*m, true, &err) != FT_OK) ||
        model_plan(*m, B, T, &err) != FT_OK || optim_create(o, *m, &h, &err) != FT_OK) {
        fprintf(stderr, "bench_train_step: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static void print_result(const model *m, const char *device, bool bf16, bool asked_bf16, int B,
                         int T, float p, double *times, int steps, double loss)
{
    const model_config *cfg = model_get_config(m);
    double med = bench_median(times, steps), gflop = step_gflop(cfg, B, T);
    const char *gc = getenv("FTUNE_BENCH_GC");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("impl=ftune device=%s precision=%s arch=%s batch=%d seq=%d dropout=%g step_s=%.4f "
           "step_min_s=%.4f step_max_s=%.4f samples_per_s=%.1f tokens_per_s=%.1f gflop=%.1f "
           "gflops=%.1f peak_rss_mib=%.0f loss=%.4f asked=%s gemm=%s params=%zu gc=%d\n",
           device, bf16 ? "bf16" : "fp32", arch_name(cfg->arch), B, T, (double)p, med, times[0],
           times[steps - 1], B / med, B * T / med, gflop, gflop / med,
           (double)ru.ru_maxrss / 1024.0, loss, asked_bf16 ? "bf16" : "fp32",
           ops_cpu_gemm_current() == OPS_GEMM_ONEDNN ? "onednn" : "openblas", model_param_count(m),
           gc && strcmp(gc, "1") == 0);
}

/* argv[1]: the architecture and its config (2 with a message when unknown). */
static int bench_config(int argc, char **argv, model_config *cfg, float p)
{
    const char *a = argc > 1 ? argv[1] : "bert";
    if (strcmp(a, "qwen2") == 0) return bench_qwen2_config(cfg);
    if (strcmp(a, "bert") != 0 && strcmp(a, "gpt2") != 0) return 2;
    *cfg =
        bench_model_config(strcmp(a, "gpt2") == 0 ? MODEL_ARCH_GPT2 : MODEL_ARCH_BERT, 768, 12, p);
    return 0;
}

int main(int argc, char **argv)
{
    double vm0_mib = vm_size_mib();
    int B = argc > 2 ? atoi(argv[2]) : 16, T = argc > 3 ? atoi(argv[3]) : 128;
    int steps = argc > 4 ? atoi(argv[4]) : 5, warm = argc > 5 ? atoi(argv[5]) : 2;
    float p = argc > 6 ? (float)atof(argv[6]) : 0.1f;
    bool bf16 = argc > 7 && strcmp(argv[7], "bf16") == 0;
    bool bad_precision = argc > 7 && !bf16 && strcmp(argv[7], "fp32") != 0;
    model_config cfg;
    int rc = bench_config(argc, argv, &cfg, p);
    if (rc != 0 || B < 1 || T < 1 || steps < 1 || steps > 100 || warm < 0 ||
        !(p >= 0.0f && p < 1.0f) || bad_precision || (cfg.arch == MODEL_ARCH_LLAMA && p != 0)) {
        fprintf(stderr, "usage: [FTUNE_BENCH_DEVICE=cpu|cuda] bench_train_step [bert|gpt2|qwen2] "
                        "[BATCH] [SEQ] [STEPS 1..100] [WARMUP] [DROPOUT 0..<1, qwen2: 0] "
                        "[fp32|bf16]\n");
        return 2;
    }
    char device[256];
    bool mpi = false;
    rc = bench_use_device(&argc, &argv, device, sizeof device, &mpi, bf16);
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
    model *m = NULL;
    optim *o = NULL;
    rc = bench_build(&m, &o, &cfg, bf16, B, T);
    const char *plan_only = getenv("FTUNE_BENCH_PLAN_ONLY");
    if (rc == 0 && plan_only && strcmp(plan_only, "1") == 0) {
        printf("impl=ftune arch=%s batch=%d seq=%d precision=%s params=%zu plan_mib=%.0f\n",
               arch_name(cfg.arch), B, T, bf16 ? "bf16" : "fp32", model_param_count(m),
               vm_size_mib() - vm0_mib);
        optim_free(o);
        model_free(m);
        return bench_finish(mpi, 0);
    }
    bench_batch bb = {NULL, NULL, NULL, NULL};
    double *times = NULL, loss = 0.0;
    if (rc == 0) {
        model_init_random(m, 1);
        bb = (bench_batch){malloc((size_t)B * T * sizeof(int32_t)), malloc(B * sizeof(int32_t)),
                           malloc((size_t)B * T * sizeof(int32_t)), malloc(B * sizeof(int64_t))};
        times = malloc((size_t)steps * sizeof(double));
        rc = run_steps(m, o, &bb, B, T, p, warm, steps, times, &loss);
    }
    if (rc == 0) print_result(m, device, bf16, asked_bf16, B, T, p, times, steps, loss);
    free(bb.ids);
    free(bb.len);
    free(bb.lab);
    free(bb.idx);
    free(times);
    optim_free(o);
    model_free(m);
    return bench_finish(mpi, rc);
}
