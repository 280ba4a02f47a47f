/* test_model_backend: the model, AdamW, the parameter mirrors and
 * checkpoints on a back end other than the CPU's, whose memory is not the
 * host's. `test_model_backend devsim` runs on the simulated device
 * (tests/support/ops_devsim_backend.h: the CUDA kernel bodies on the host,
 * memory that host code cannot touch), in every build; `test_model_backend
 * cuda` runs the same checks on a GPU (CUDA builds; exit 77 without one).
 *
 * Checked, for BERT and GPT-2 tiny models (tests/fixtures/model/):
 *   - logits, loss and every gradient against the PyTorch dumps, float32
 *     (and with block 0 frozen) and bf16, with test_model.c's tolerances
 *     (relative to each tensor's largest value: logits 1e-5, gradients
 *     1e-4; bf16 1e-4 and 5e-3);
 *   - three AdamW steps (gradient accumulation 2, clipping, warm-up
 *     schedule, dropout ON: masks are the same on every back end) against
 *     the same steps on ops_cpu_backend(): losses and norms within 1e-5
 *     relative; parameters and both moments per element within the bounds
 *     adamw_allowance.h derives (the CPU's BLAS and the back end sum the
 *     gradients in different orders, which AdamW amplifies near zero);
 *   - the mirrors: parameters written on the host after a step reach the
 *     next forward and the next optimizer step; read back after a step;
 *     the bf16 weights follow a host write to a frozen tensor;
 *   - ckpt_write from the back end, ckpt_read into a CPU model and back
 *     into a back-end model: parameters and moments bit for bit;
 *   - fp16 logits and gradients against the CPU's fp16 (1e-5, 1e-4);
 *   - inference plans: the training plan's logits bit for bit, float32
 *     and bf16, 4 blocks; and the CPU's within 1e-5;
 *   - the back end less one bf16 operation: model_set_bf16 refuses it,
 *     naming the operation and the back end; fp16 still works;
 *   - devsim only: nothing left allocated at the end, and that the
 *     simulation bites (a child that reads back-end memory from the host,
 *     or gives an operation host memory, dies).
 * CPU references are computed with the CPU back end current and freed
 * before the back end under test is made current (one back end at a time). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adamw_allowance.h"
#include "check.h"
#include "ckpt/ckpt.h"
#include "model/model.h"
#include "model_testkit.h"
#include "ops/ops_backend.h"
#include "ops_devsim_backend.h"
#include "optim/optim.h"

#ifdef FTUNE_HAVE_CUDA
#include <mpi.h>

#include "cuda/gpu_device.h"
#include "cuda/ops_cuda.h"
#endif

enum { GRAD_ACCUM = 2, STEPS = 3, WARMUP = 2, TOTAL = 5 };
static const float LR = 1e-3f, WEIGHT_DECAY = 0.01f, MAX_GRAD_NORM = 1.0f;
static const double TOL_LOGITS = 1e-5, TOL_GRAD = 1e-4;
static const double TOL_LOGITS_BF16 = 1e-4, TOL_GRAD_BF16 = 5e-3;
static const double TOL_VS_CPU = 1e-5;
/* fp16 gradients: output gradients are rounded to fp16 before the products,
 * and one that lands within summation noise of a rounding midpoint goes the
 * other way (one fp16 step, 2^-11 relative): bf16's reasoning, fp16's step. */
static const double TOL_GRAD_FP16 = 2e-3;
static const double KEY_BIAS_GRAD_ABS = 1e-7;

static const ops_backend *under_test; /* the back end being tested */

typedef enum precision { FP32, BF16, FP16 } precision;

/* Make the CPU (cpu true) or the back end under test current. */
static void use(bool cpu) { ops_backend_use(cpu ? ops_cpu_backend() : under_test); }

static const char *arch_name(model_arch a) { return a == MODEL_ARCH_BERT ? "bert" : "gpt2"; }

/* A host copy of n floats of the current back end's memory. */
static float *download(const float *dev, size_t n)
{
    float *h = malloc(n * sizeof(float) + 1);
    ops_backend_current()->to_host(h, dev, n * sizeof(float));
    return h;
}

static float *host_copy(const float *src, size_t n)
{
    float *h = malloc(n * sizeof(float) + 1);
    memcpy(h, src, n * sizeof(float));
    return h;
}

/* ---- fixtures ------------------------------------------------------------------ */

/* model_testkit.h's make_model in precision pr. */
static model *make_model_in(model_arch arch, const char *dir, int first_trainable, precision pr)
{
    model *m = make_model(arch, dir, first_trainable);
    ft_error err;
    CHECK(model_set_bf16(m, pr == BF16, &err) == FT_OK);
    CHECK(model_set_fp16(m, pr == FP16, &err) == FT_OK);
    return m;
}

/* rel_error of got vs want over tensor t, with its key-bias elements
 * compared absolutely (largest difference into *key_abs). */
static double tensor_error(const model_tensor *t, const float *got, const float *want,
                           double *key_abs)
{
    size_t kb = 0, ke = 0;
    *key_abs = 0.0;
    if (!key_bias_range(t, &kb, &ke)) return rel_error(got, want, t->numel);
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < t->numel; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (i >= kb && i < ke) {
            if (d > *key_abs || d != d) *key_abs = d;
            continue;
        }
        if (d > diff || d != d) diff = d;
        scale = fmax(scale, fabs((double)want[i]));
    }
    return scale > 0.0 ? diff / scale : diff;
}

/* Every tensor of got (model layout) against want; frozen ones must be
 * identical. Returns the worst relative error. */
static double compare_all(const model *m, const char *what, const float *got, const float *want,
                          double tol, double key_tol)
{
    double worst = 0.0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        double key_abs, e = tensor_error(t, got + t->offset, want + t->offset, &key_abs);
        CHECK_MSG(e <= tol, "%s %s: rel err %.3g (tol %g)", what, t->name, e, tol);
        CHECK_MSG(key_abs <= key_tol, "%s %s: key bias off by %.3g", what, t->name, key_abs);
        worst = fmax(worst, e);
    }
    return worst;
}

/* The largest differences of the stored moments m and v of element i after
 * the steps (unnormalised, as the optimizer keeps them): the same noise
 * enters m linearly and v as |g'^2 - g^2| <= sigma (2 |g| + sigma); plus
 * the float32 rounding of each update, b m + (1 - b) g (three operations,
 * each within u of the magnitudes it adds; two runs: 6 u). */
static void moment_allowance(const adamw_trajectory *tr, size_t i, double *dm, double *dv)
{
    const double b1 = ADAMW_BETA1, b2 = ADAMW_BETA2;
    double m_abs = 0.0, v = 0.0;
    *dm = *dv = 0.0;
    for (int s = 0; s < tr->steps; s++) {
        double g = tr->coef[s] * tr->grads[(size_t)s * tr->n + i], sg = tr->sigma[s];
        m_abs = b1 * m_abs + (1.0 - b1) * fabs(g);
        v = b2 * v + (1.0 - b2) * g * g;
        *dm = b1 * *dm + (1.0 - b1) * sg + 6.0 * ADAMW_U * m_abs;
        *dv = b2 * *dv + (1.0 - b2) * sg * (2.0 * fabs(g) + sg) + 6.0 * ADAMW_U * v;
    }
}

typedef struct ratio_worst {
    double ratio, err, allowed; /* the largest err / allowed, and its terms */
    size_t at;                  /* its element in the tensor */
} ratio_worst;

static void note_ratio(ratio_worst *w, double err, double allowed, size_t at)
{
    if (err > w->ratio * allowed || err != err) {
        w->ratio = err != err ? INFINITY : err / allowed;
        w->err = err, w->allowed = allowed, w->at = at;
    }
}

static void check_ratio(const ratio_worst *w, const char *what, const model_tensor *t)
{
    CHECK_MSG(w->ratio <= 1.0, "%s %s[%zu]: off by %.3g, allowed %.3g", what, t->name, w->at,
              w->err, w->allowed);
}

/* Parameters got against want after tr's steps, per element of every
 * tensor, within adamw_update_allowance; and the moments, when given as
 * {got m, want m, got v, want v}, within moment_allowance. Key
 * biases, whose gradient is only noise, may flip; their moments stay
 * within KEY_BIAS_GRAD_ABS. Returns the worst err / allowed. */
static double compare_steps(const model *m, adamw_trajectory *tr, const char *what,
                            const float *got, const float *want, const float *const mv[4])
{
    double worst = 0.0;
    for (int k = 0; k < model_tensor_count(m); k++) {
        const model_tensor *t = model_tensor_at(m, k);
        size_t kb = 0, ke = 0, span = adamw_noise_span(t);
        bool has_key = key_bias_range(t, &kb, &ke);
        ratio_worst wp = {0}, wm = {0}, wv = {0};
        for (size_t j = 0; j < t->numel; j++) {
            size_t i = t->offset + j;
            bool key = has_key && j >= kb && j < ke;
            if (j % span == 0) adamw_set_noise_floor(tr, i, span);
            double p_abs = fmax(fabs(got[i]), fabs(want[i]));
            note_ratio(&wp, fabs((double)got[i] - want[i]),
                       adamw_update_allowance(tr, i, key, p_abs), j);
            if (!mv) continue;
            double dm, dv;
            moment_allowance(tr, i, &dm, &dv);
            if (key) dm = dv = KEY_BIAS_GRAD_ABS;
            note_ratio(&wm, fabs((double)mv[0][i] - mv[1][i]), dm, j);
            note_ratio(&wv, fabs((double)mv[2][i] - mv[3][i]), dv, j);
        }
        check_ratio(&wp, what, t);
        if (mv) check_ratio(&wm, "exp_avg", t), check_ratio(&wv, "exp_avg_sq", t);
        worst = fmax(worst, fmax(wp.ratio, fmax(wm.ratio, wv.ratio)));
    }
    return worst;
}

/* ---- against PyTorch ----------------------------------------------------------- */

/* The word embedding's gradient is stored for the fixture's rows only. */
static double word_grad_error(const model_tensor *t, const float *g, const float *ref, size_t nref,
                              const int32_t *rows, size_t nrows)
{
    size_t c = (size_t)t->shape[1];
    if (nref != nrows * c) return INFINITY;
    float *picked = malloc(nref * sizeof(float) + 1);
    for (size_t r = 0; r < nrows; r++) memcpy(picked + r * c, g + (size_t)rows[r] * c, c * 4);
    double e = rel_error(picked, ref, nref);
    free(picked);
    return e;
}

/* Gradients of the first batch (downloaded) against reference(_bf16). */
static void check_reference_grads(const model *m, const float *g, const fixture *ref, double tol,
                                  double key_tol, const char *label)
{
    size_t nrows = 0;
    int32_t *rows = fixture_get(ref, "grad_rows", &nrows, NULL);
    double worst = 0.0;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        const float *gt = g + t->offset;
        if (!model_tensor_trainable(m, t)) {
            int clean = 1;
            for (size_t j = 0; j < t->numel; j++) clean &= gt[j] == 0.0f;
            CHECK_MSG(clean, "%s: frozen %s has a gradient", label, t->name);
            continue;
        }
        char key[160];
        snprintf(key, sizeof key, "grad.%s", t->name);
        size_t n = 0;
        float *want = fixture_get(ref, key, &n, NULL);
        double key_abs = 0.0, e = INFINITY;
        if (want && strstr(t->name, "wte.weight") == NULL &&
            strstr(t->name, "word_embeddings") == NULL)
            e = n == t->numel ? tensor_error(t, gt, want, &key_abs) : INFINITY;
        else if (want)
            e = word_grad_error(t, gt, want, n, rows, nrows);
        CHECK_MSG(e <= tol, "%s: gradient %s rel err %.3g", label, t->name, e);
        CHECK_MSG(key_abs <= key_tol, "%s: key bias %s off by %.3g", label, t->name, key_abs);
        worst = fmax(worst, e);
        free(want);
    }
    fprintf(stderr, "%s: worst gradient rel err %.3g\n", label, worst);
    free(rows);
}

static void check_reference(model_arch arch, const char *dir, int first_trainable, precision pr)
{
    char label[96];
    snprintf(label, sizeof label, "%s %s%s vs PyTorch", arch_name(arch),
             pr == BF16 ? "bf16" : "fp32", first_trainable ? " frozen" : "");
    use(false);
    model *m = make_model_in(arch, dir, first_trainable, pr);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    fixture ref;
    CHECK(fixture_open(&ref, dir,
                       pr == BF16 ? "reference_bf16.safetensors" : "reference.safetensors"));
    model_batch x = micro(&bt, 0);
    double loss = 0.0;
    ft_error err;
    CHECK(model_forward(m, &x, NULL, &loss, &err) == FT_OK);
    size_t n = 0;
    float *want_logits = fixture_get(&ref, "logits", &n, NULL);
    float *want_loss = fixture_get(&ref, "loss", &n, NULL);
    double e_logits = rel_error(model_logits(m), want_logits, (size_t)B * 3);
    double e_loss = fabs(loss - want_loss[0]) / fabs(want_loss[0]);
    double tol = pr == BF16 ? TOL_LOGITS_BF16 : TOL_LOGITS;
    CHECK_MSG(e_logits <= tol, "%s: logits rel err %.3g", label, e_logits);
    CHECK_MSG(e_loss <= tol, "%s: loss rel err %.3g", label, e_loss);
    fprintf(stderr, "%s: logits rel err %.3g, loss rel err %.3g\n", label, e_logits, e_loss);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    float *g = download(model_grads(m), model_param_count(m));
    check_reference_grads(m, g, &ref, pr == BF16 ? TOL_GRAD_BF16 : TOL_GRAD,
                          pr == BF16 ? 1e3 * KEY_BIAS_GRAD_ABS : KEY_BIAS_GRAD_ABS, label);
    free(g);
    free(want_logits);
    free(want_loss);
    fixture_close(&ref);
    free_batches(&bt);
    model_free(m);
}

/* ---- AdamW steps against the CPU ------------------------------------------------- */

typedef struct run_result {
    double losses[STEPS * GRAD_ACCUM], norms[STEPS];
    float *params, *m, *v;
    float *grads; /* STEPS x n, each step's gradient before clipping */
} run_result;

static void run_result_free(run_result *r)
{
    free(r->params);
    free(r->m);
    free(r->v);
    free(r->grads);
}

/* `steps` optimizer steps as HF Trainer takes them, dropout on; r (when
 * given) gets the losses, the norms and, when r->grads is set, the
 * gradients. */
static void train_steps(model *m, optim *o, const batches *bt, int steps, run_result *r)
{
    ft_error err;
    for (int step = 0; step < steps; step++) {
        model_dropout d = {true, 42, (uint64_t)step};
        model_zero_grads(m);
        for (int a = 0; a < GRAD_ACCUM; a++) {
            model_batch x = micro(bt, step * GRAD_ACCUM + a);
            double loss = 0.0;
            CHECK(model_forward(m, &x, &d, &loss, &err) == FT_OK);
            model_backward(m, 1.0f / GRAD_ACCUM);
            if (r) r->losses[step * GRAD_ACCUM + a] = loss;
        }
        size_t n = model_param_count(m);
        if (r && r->grads)
            ops_backend_current()->to_host(r->grads + (size_t)step * n, model_grads(m),
                                           n * sizeof(float));
        double norm = optim_clip_grad_norm(m, MAX_GRAD_NORM);
        if (r) r->norms[step] = norm;
        optim_step(o, m, (float)(LR * sched_lr_factor(SCHED_LINEAR, step, WARMUP, TOTAL)));
    }
}

static optim *make_optim(const model *m)
{
    optim_hparams h = optim_default_hparams(LR);
    h.weight_decay = WEIGHT_DECAY;
    optim *o = NULL;
    ft_error err;
    CHECK(optim_create(&o, m, &h, &err) == FT_OK);
    return o;
}

static void train_run(model_arch arch, const char *dir, bool cpu, run_result *r)
{
    use(cpu);
    model *m = make_model_in(arch, dir, 0, FP32);
    optim *o = make_optim(m);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    size_t n = model_param_count(m);
    r->grads = malloc(STEPS * n * sizeof(float));
    train_steps(m, o, &bt, STEPS, r);
    r->params = host_copy(model_params_read(m), n);
    r->m = host_copy(optim_exp_avg(o), n);
    r->v = host_copy(optim_exp_avg_sq(o), n);
    free_batches(&bt);
    optim_free(o);
    model_free(m);
}

static void check_training(model_arch arch, const char *dir)
{
    run_result want = {0}, got = {0};
    train_run(arch, dir, true, &want);
    train_run(arch, dir, false, &got);
    for (int i = 0; i < STEPS * GRAD_ACCUM; i++)
        CHECK_MSG(fabs(got.losses[i] - want.losses[i]) <= TOL_VS_CPU * fabs(want.losses[i]),
                  "%s micro-batch %d: loss %.9g, CPU %.9g", arch_name(arch), i, got.losses[i],
                  want.losses[i]);
    for (int s = 0; s < STEPS; s++)
        CHECK_MSG(fabs(got.norms[s] - want.norms[s]) <= TOL_VS_CPU * want.norms[s],
                  "%s step %d: grad norm %.9g, CPU %.9g", arch_name(arch), s, got.norms[s],
                  want.norms[s]);
    use(true); /* only for the table */
    model_config cfg = tiny_config(arch, 2);
    model *layout = NULL;
    ft_error err;
    CHECK(model_create(&layout, &cfg, &err) == FT_OK);
    /* The allowance follows the CPU's gradients and clipping. */
    adamw_trajectory tr = {want.grads, model_param_count(layout), STEPS, {0}, {0}, {0}};
    for (int s = 0; s < STEPS; s++) {
        tr.lr[s] = (float)(LR * sched_lr_factor(SCHED_LINEAR, s, WARMUP, TOTAL));
        tr.coef[s] = adamw_clip_coef(want.norms[s], MAX_GRAD_NORM);
    }
    const float *const mv[4] = {got.m, want.m, got.v, want.v};
    double e = compare_steps(layout, &tr, "trained", got.params, want.params, mv);
    fprintf(stderr,
            "%s %d AdamW steps, dropout on, vs CPU: losses/norms ok, parameters and "
            "moments within %.3g of their allowance\n",
            arch_name(arch), STEPS, e);
    model_free(layout);
    run_result_free(&want);
    run_result_free(&got);
}

/* ---- the mirrors --------------------------------------------------------------------- */

enum { L3 = B * 3 };

typedef struct mirror_result {
    float before[L3], stepped[L3], written[L3], bf_before[L3], bf_after[L3];
    float *p1, *p2;
    float *grads; /* the gradient of both steps, twice (2 x n) */
    size_t n;
} mirror_result;

/* Host writes: the head's weight doubled. */
static void double_head(model *m)
{
    bool bert = model_get_config(m)->arch == MODEL_ARCH_BERT;
    const model_tensor *t = model_find_tensor(m, bert ? "classifier.weight" : "score.weight");
    float *p = model_params(m) + t->offset;
    for (size_t i = 0; i < t->numel; i++) p[i] *= 2.0f;
}

/* forward x, a step, read back (p1); forward (stepped); host write, forward
 * (written); host write, a step straight away, read back (p2). */
static void mirror_run(model_arch arch, const char *dir, bool cpu, mirror_result *r)
{
    use(cpu);
    model *m = make_model_in(arch, dir, 0, FP32);
    optim *o = make_optim(m);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    model_batch x = micro(&bt, 1);
    ft_error err;
    size_t n = r->n = model_param_count(m);
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(r->before, model_logits(m), sizeof r->before);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    r->grads = malloc(2 * n * sizeof(float));
    ops_backend_current()->to_host(r->grads, model_grads(m), n * sizeof(float));
    memcpy(r->grads + n, r->grads, n * sizeof(float));
    optim_step(o, m, LR);
    r->p1 = host_copy(model_params_read(m), n);
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(r->stepped, model_logits(m), sizeof r->stepped);
    double_head(m);
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(r->written, model_logits(m), sizeof r->written);
    double_head(m);
    optim_step(o, m, LR);
    r->p2 = host_copy(model_params_read(m), n);
    free_batches(&bt);
    optim_free(o);
    model_free(m);
}

/* bf16 with block 0 frozen: a host write to a frozen matrix reaches the
 * bf16 weights of the next forward. */
static void bf16_refresh_run(model_arch arch, const char *dir, bool cpu, mirror_result *r)
{
    use(cpu);
    model *m = make_model_in(arch, dir, 1, BF16);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    model_batch x = micro(&bt, 0);
    ft_error err;
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(r->bf_before, model_logits(m), sizeof r->bf_before);
    const model_tensor *t = model_find_tensor(
        m, arch == MODEL_ARCH_BERT ? "bert.encoder.layer.0.intermediate.dense.weight"
                                   : "transformer.h.0.mlp.c_fc.weight");
    CHECK(t && !model_tensor_trainable(m, t));
    float *w = model_params(m) + t->offset;
    for (size_t i = 0; i < t->numel; i++) w[i] *= 3.0f;
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(r->bf_after, model_logits(m), sizeof r->bf_after);
    free_batches(&bt);
    model_free(m);
}

static void check_mirrors(model_arch arch, const char *dir)
{
    mirror_result want = {0}, got = {0};
    mirror_run(arch, dir, true, &want);
    bf16_refresh_run(arch, dir, true, &want);
    mirror_run(arch, dir, false, &got);
    bf16_refresh_run(arch, dir, false, &got);
    const char *a = arch_name(arch);
    CHECK_MSG(rel_error(got.before, want.before, L3) <= TOL_VS_CPU, "%s: logits", a);
    CHECK_MSG(rel_error(got.stepped, want.stepped, L3) <= TOL_VS_CPU, "%s: logits after a step", a);
    CHECK_MSG(rel_error(got.stepped, got.before, L3) > 1e-4, "%s: the step changed nothing", a);
    CHECK_MSG(rel_error(got.written, want.written, L3) <= TOL_VS_CPU,
              "%s: logits after a host write", a);
    CHECK_MSG(rel_error(got.written, got.stepped, L3) > 1e-2,
              "%s: a host write did not reach the forward", a);
    CHECK(got.n == want.n);
    use(true);
    model_config cfg = tiny_config(arch, 2);
    model *layout = NULL;
    ft_error err;
    CHECK(model_create(&layout, &cfg, &err) == FT_OK);
    /* Two steps at LR on the CPU's gradient, unclipped. Between them a host
     * write doubles the head, and with it the first step's difference
     * there: the allowance of p2 gives the first step twice its rate. */
    adamw_trajectory tr = {want.grads, want.n, 1, {LR}, {1.0, 1.0}, {0}};
    double e1 =
        compare_steps(layout, &tr, "parameters read back after a step", got.p1, want.p1, NULL);
    tr.steps = 2, tr.lr[0] = 2.0 * LR, tr.lr[1] = LR;
    double e2 = compare_steps(layout, &tr, "parameters after a host write and a step", got.p2,
                              want.p2, NULL);
    fprintf(stderr,
            "%s mirrors: parameters after one and two steps at lr %g within %.3g "
            "and %.3g of their allowance\n",
            a, LR, e1, e2);
    model_free(layout);
    CHECK_MSG(rel_error(got.bf_before, want.bf_before, L3) <= TOL_LOGITS_BF16, "%s: bf16", a);
    CHECK_MSG(rel_error(got.bf_after, want.bf_after, L3) <= TOL_LOGITS_BF16,
              "%s: bf16 after a frozen write", a);
    CHECK_MSG(rel_error(got.bf_after, got.bf_before, L3) > 1e-3,
              "%s: bf16 mirror not refreshed after a host write to a frozen tensor", a);
    fprintf(stderr, "%s mirrors: host writes reach forward and step, reads see steps\n", a);
    free(want.p1), free(want.p2), free(got.p1), free(got.p2);
    free(want.grads), free(got.grads);
}

/* ---- checkpoints ------------------------------------------------------------------------ */

typedef struct saved {
    size_t n;
    float *params, *m, *v, logits[L3];
    long steps;
} saved;

static ckpt_state ckpt_state_make(void)
{
    ckpt_state s = {0};
    s.step = s.optimizer_steps = 2;
    s.global_batch = B * GRAD_ACCUM;
    s.world_size = 1;
    s.seed = 42;
    s.loss_scale = 1.0;
    s.best_metric = NAN;
    s.best_step = -1;
    snprintf(s.data_fingerprint, sizeof s.data_fingerprint, "devsim");
    return s;
}

/* A fresh model and optimizer (other weights) on the current back end,
 * the checkpoint read into them, compared bit for bit with `want`. */
static void read_into_fresh(model_arch arch, const char *path, const saved *want,
                            const model_batch *x, bool cpu)
{
    use(cpu);
    model_config cfg = tiny_config(arch, 2);
    model *m = NULL;
    ft_error err;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    CHECK(model_plan(m, B, T, &err) == FT_OK);
    model_init_random(m, 9);
    optim *o = make_optim(m);
    ckpt_state s = {0};
    CHECK_MSG(ckpt_read(path, m, o, &s, &err) == FT_OK, "ckpt_read: %s", err.msg);
    size_t bytes = want->n * sizeof(float);
    const char *where = cpu ? "into a CPU model" : "into a back-end model";
    CHECK_MSG(memcmp(model_params_read(m), want->params, bytes) == 0, "params %s", where);
    CHECK_MSG(memcmp(optim_exp_avg(o), want->m, bytes) == 0, "exp_avg %s", where);
    CHECK_MSG(memcmp(optim_exp_avg_sq(o), want->v, bytes) == 0, "exp_avg_sq %s", where);
    CHECK_EQ_INT(optim_step_count(o), want->steps);
    CHECK(model_forward(m, x, NULL, NULL, &err) == FT_OK);
    if (!cpu) /* the same back end and parameters: the same logits */
        CHECK_MSG(memcmp(model_logits(m), want->logits, sizeof want->logits) == 0,
                  "logits after ckpt_read differ");
    else
        CHECK(rel_error(model_logits(m), want->logits, L3) <= TOL_VS_CPU);
    ckpt_state_free(&s);
    optim_free(o);
    model_free(m);
}

static void check_ckpt(model_arch arch, const char *dir)
{
    char tmp[] = "/tmp/ftune-devsim-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/checkpoint-2.h5", tmp);
    use(false);
    model *m = make_model_in(arch, dir, 0, FP32);
    optim *o = make_optim(m);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    train_steps(m, o, &bt, 2, NULL);
    saved sv = {.n = model_param_count(m), .steps = optim_step_count(o)};
    model_batch x = micro(&bt, 2);
    ft_error err;
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(sv.logits, model_logits(m), sizeof sv.logits);
    ckpt_state s = ckpt_state_make();
    CHECK_MSG(ckpt_write(path, m, o, &s, &err) == FT_OK, "ckpt_write: %s", err.msg);
    sv.params = host_copy(model_params_read(m), sv.n);
    sv.m = host_copy(optim_exp_avg(o), sv.n);
    sv.v = host_copy(optim_exp_avg_sq(o), sv.n);
    optim_free(o);
    model_free(m);
    read_into_fresh(arch, path, &sv, &x, true);
    read_into_fresh(arch, path, &sv, &x, false);
    fprintf(stderr, "%s checkpoint: written on %s, read on the CPU and back: bit for bit\n",
            arch_name(arch), under_test->name);
    free(sv.params), free(sv.m), free(sv.v);
    free_batches(&bt);
    unlink(path);
    rmdir(tmp);
}

/* ---- fp16 and inference plans against the CPU ------------------------------------------- */

typedef struct fp16_result {
    float logits[L3];
    double loss;
    float *grads;
} fp16_result;

static void fp16_run(model_arch arch, const char *dir, bool cpu, fp16_result *r)
{
    use(cpu);
    model *m = make_model_in(arch, dir, 0, FP16);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    model_batch x = micro(&bt, 0);
    model_dropout d = {true, 42, 1};
    ft_error err;
    CHECK(model_forward(m, &x, &d, &r->loss, &err) == FT_OK);
    memcpy(r->logits, model_logits(m), sizeof r->logits);
    model_zero_grads(m);
    model_backward(m, 1024.0f); /* a loss scale, as fp16 training uses */
    r->grads = download(model_grads(m), model_param_count(m));
    free_batches(&bt);
    model_free(m);
}

static void check_fp16(model_arch arch, const char *dir)
{
    fp16_result want = {0}, got = {0};
    fp16_run(arch, dir, true, &want);
    fp16_run(arch, dir, false, &got);
    double e = rel_error(got.logits, want.logits, L3);
    CHECK_MSG(e <= TOL_VS_CPU, "%s fp16: logits rel err %.3g vs the CPU", arch_name(arch), e);
    CHECK_MSG(fabs(got.loss - want.loss) <= TOL_VS_CPU * want.loss, "%s fp16: loss",
              arch_name(arch));
    use(true);
    model_config cfg = tiny_config(arch, 2);
    model *layout = NULL;
    ft_error err;
    CHECK(model_create(&layout, &cfg, &err) == FT_OK);
    double eg = compare_all(layout, "fp16 gradient", got.grads, want.grads, TOL_GRAD_FP16,
                            1024 * 1e3 * KEY_BIAS_GRAD_ABS);
    fprintf(stderr, "%s fp16 (dropout on) vs CPU: logits rel err %.3g, worst gradient %.3g\n",
            arch_name(arch), e, eg);
    model_free(layout);
    free(want.grads);
    free(got.grads);
}

/* Logits of the training plan and of the inference plan (4 blocks, so both
 * sets of buffers are reused), float32 then bf16. */
static void inference_run(model_arch arch, const char *dir, bool cpu, float out[2][2][L3])
{
    use(cpu);
    model_config cfg = tiny_config(arch, 4);
    batches bt;
    load_batches(&bt, dir, 100, 7);
    model_batch x = micro(&bt, 1);
    ft_error err;
    for (int bf16 = 0; bf16 < 2; bf16++) {
        model *m = NULL;
        CHECK(model_create(&m, &cfg, &err) == FT_OK);
        model_init_random(m, 3);
        CHECK(model_set_bf16(m, bf16, &err) == FT_OK);
        CHECK(model_plan(m, B, T, &err) == FT_OK);
        CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
        memcpy(out[bf16][0], model_logits(m), sizeof out[bf16][0]);
        CHECK(model_plan_inference(m, B, T, &err) == FT_OK);
        CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
        memcpy(out[bf16][1], model_logits(m), sizeof out[bf16][1]);
        model_free(m);
    }
    free_batches(&bt);
}

static void check_inference(model_arch arch, const char *dir)
{
    float want[2][2][L3], got[2][2][L3];
    inference_run(arch, dir, true, want);
    inference_run(arch, dir, false, got);
    for (int bf16 = 0; bf16 < 2; bf16++) {
        CHECK_MSG(memcmp(got[bf16][0], got[bf16][1], sizeof got[bf16][0]) == 0,
                  "%s%s: inference plan logits differ from the training plan's", arch_name(arch),
                  bf16 ? " bf16" : "");
        double e = rel_error(got[bf16][1], want[bf16][1], L3);
        CHECK_MSG(e <= (bf16 ? TOL_LOGITS_BF16 : TOL_VS_CPU), "%s%s inference vs CPU: %.3g",
                  arch_name(arch), bf16 ? " bf16" : "", e);
    }
}

/* ---- device work per training step (devsim only) ---------------------------------------- */

/* Kernel launches, cuBLAS products, memsets and device copies of one bf16
 * training step (zero, forward, backward, clip, AdamW) of a model with
 * BERT-base's or GPT-2's layer and head counts on tiny widths: the count
 * does not depend on the widths, and on a GPU each item costs the host a
 * few microseconds to issue, which must stay below the step's GPU time.
 * The second step is counted (the first fills the bf16 mirror). */
static size_t step_work(model_arch arch, int layers)
{
    model_config c = {arch, 50,     16,    arch == MODEL_ARCH_BERT ? 2 : 0,
                      24,   layers, 12,    48,
                      3,    1e-5f,  0.02f, 0.1f,
                      0.1f, 0.1f,   0,     arch == MODEL_ARCH_BERT ? OPS_GELU_ERF : OPS_GELU_TANH,
                      {0}};
    enum { SB = 2, ST = 8 };
    int32_t ids[SB * ST], lengths[SB] = {ST, 5}, labels[SB] = {1, 2};
    int64_t index[SB] = {3, 4};
    for (int i = 0; i < SB * ST; i++) ids[i] = 1 + i % 40;
    model_batch x = {SB, ST, ids, lengths, labels, index};
    ft_error err;
    model *m = NULL;
    CHECK(model_create(&m, &c, &err) == FT_OK);
    model_init_random(m, 5);
    CHECK(model_set_bf16(m, true, &err) == FT_OK && model_plan(m, SB, ST, &err) == FT_OK);
    optim *o = make_optim(m);
    size_t work = 0;
    for (int step = 0; step < 2; step++) {
        size_t before = ops_devsim_get_counts().device_work;
        model_dropout d = {true, 42, (uint64_t)step};
        double loss = 0.0;
        model_zero_grads(m);
        CHECK(model_forward(m, &x, &d, &loss, &err) == FT_OK);
        model_backward(m, 1.0f);
        optim_clip_grad_norm(m, MAX_GRAD_NORM);
        optim_step(o, m, (float)LR);
        work = ops_devsim_get_counts().device_work - before;
    }
    optim_free(o);
    model_free(m);
    return work;
}

/* The budget guards the launch count (measured: BERT 68 per layer + 46,
 * GPT-2 68 + 30): per-head attention products (61 more per layer at
 * NH = 12), per-tensor norm launches (2 per tensor, 32 more per layer),
 * per-matrix bf16 refreshes (3 more) or per-tensor AdamW launches would
 * exceed it. */
static const size_t WORK_PER_LAYER_MAX = 70, WORK_FIXED_MAX = 55;

static void check_step_work(void)
{
    static const model_arch archs[] = {MODEL_ARCH_BERT, MODEL_ARCH_GPT2};
    for (int i = 0; i < 2; i++) {
        size_t w12 = step_work(archs[i], 12), w11 = step_work(archs[i], 11);
        size_t per_layer = w12 - w11, fixed = w12 - 12 * per_layer;
        fprintf(stderr,
                "%s bf16 step, 12 layers x 12 heads: %zu device work items "
                "(%zu per layer + %zu)\n",
                arch_name(archs[i]), w12, per_layer, fixed);
        CHECK_MSG(per_layer <= WORK_PER_LAYER_MAX && fixed <= WORK_FIXED_MAX,
                  "%s: %zu per layer (at most %zu), %zu fixed (at most %zu)", arch_name(archs[i]),
                  per_layer, WORK_PER_LAYER_MAX, fixed, WORK_FIXED_MAX);
    }
}

/* ---- the simulation bites (devsim only) ------------------------------------------------- */

/* Whether a child running fn dies (rather than returning and exiting 0). */
static bool child_dies(void (*fn)(model *), model *m)
{
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        fn(m);
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return false;
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void read_grads_on_host(model *m)
{
    volatile float v = model_grads(m)[0]; /* device memory: must fault */
    (void)v;
}

static void host_memory_to_op(model *m)
{
    (void)m;
    float host[4] = {0};
    ops_add(host, host, host, 4); /* host memory to an operation: must abort */
}

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

static void check_simulation_bites(void)
{
    if (under_valgrind()) {
        fprintf(stderr, "under valgrind: the crash self-test is skipped\n");
        return;
    }
    use(false);
    model_config cfg = tiny_config(MODEL_ARCH_BERT, 2);
    model *m = NULL;
    ft_error err;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    fprintf(stderr, "devsim self-test: two children must die now (messages expected):\n");
    CHECK_MSG(child_dies(read_grads_on_host, m), "host read of device memory did not fault");
    CHECK_MSG(child_dies(host_memory_to_op, m), "host memory given to an operation passed");
    model_free(m);
}

/* ---- a back end without an operation -------------------------------------------------- */

/* The back end under test does every operation of ops_list.h; less its
 * bf16 backward product (a copy of its table), bf16 is refused
 * with a message that names the operation and the back end; fp16, which
 * does not need it, is not. */
static void check_missing_op(void)
{
    static ops_backend partial;
    static char name[64];
    for (int op = 0; op < OPS_OP_CORE_COUNT; op++) /* OPS_LIST_LLM: CPU only */
        CHECK_MSG(ops_backend_has(under_test, (ops_op)op), "%s lacks %s", under_test->name,
                  ops_op_name((ops_op)op));
    partial = *under_test;
    snprintf(name, sizeof name, "%s-without-bf16", under_test->name);
    partial.name = name;
    partial.linear_backward_bf16 = NULL;
    ops_backend_use(&partial);
    model_config cfg = tiny_config(MODEL_ARCH_BERT, 2);
    model *m = NULL;
    ft_error err = {0};
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    char want[160];
    snprintf(want, sizeof want, "model: bf16: unsupported op linear_backward_bf16 on back end %s",
             name);
    CHECK(model_set_bf16(m, true, &err) == FT_EINVAL);
    CHECK_MSG(strcmp(err.msg, want) == 0, "model_set_bf16 said \"%s\"", err.msg);
    CHECK(model_set_fp16(m, true, &err) == FT_OK);
    model_free(m);
    use(false);
}

/* The decoder LLMs' operations (OPS_LIST_LLM) are CPU only so far: on this
 * back end a decoder model is refused when planned, naming the first one. */
static void check_decoder_refused(void)
{
    model_config c = {0};
    c.arch = MODEL_ARCH_LLAMA;
    c.vocab_size = c.num_labels = 50, c.max_positions = 16, c.hidden = 16, c.layers = 1;
    c.heads = 2, c.intermediate = 32, c.layer_norm_eps = 1e-6f, c.initializer_range = 0.02f;
    c.llm.kv_heads = 1, c.llm.head_dim = 8, c.llm.rope_theta = 10000.0;
    use(false);
    model *m = NULL;
    ft_error err = {0};
    CHECK(model_create(&m, &c, &err) == FT_OK);
    char want[160];
    snprintf(want, sizeof want, "unsupported op rmsnorm_forward on back end %s", under_test->name);
    CHECK(model_plan(m, 2, 8, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, want);
    model_free(m);
    use(false);
}

/* ---- main ----------------------------------------------------------------------------- */

/* The back end named by argv[1], or exit 77 (visibly) where it cannot run. */
static int choose(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    if (strcmp(name, "devsim") == 0) {
        under_test = ops_devsim_backend();
        return 0;
    }
    if (strcmp(name, "cuda") != 0) {
        fprintf(stderr, "usage: test_model_backend devsim|cuda\n");
        return 2;
    }
#ifdef FTUNE_HAVE_CUDA
    MPI_Init(&argc, &argv);
    gpu_device_info info;
    ft_error err;
    if (gpu_device_count() == 0 || gpu_device_select(MPI_COMM_WORLD, &info, &err) != FT_OK) {
        fprintf(stderr, "test_model_backend cuda: no GPU visible: skipped\n");
        return 77;
    }
    fprintf(stderr, "GPU %d: %s\n", info.device, info.name);
    under_test = ops_cuda_backend();
    return 0;
#else
    fprintf(stderr, "test_model_backend cuda: not a CUDA build: skipped\n");
    return 77;
#endif
}

int main(int argc, char **argv)
{
    int rc = choose(argc, argv);
    if (rc == 0) {
        static const model_arch archs[] = {MODEL_ARCH_BERT, MODEL_ARCH_GPT2};
        for (int i = 0; i < 2; i++) {
            char dir[512];
            snprintf(dir, sizeof dir, "%s/model/%s", FTUNE_FIXTURES, arch_name(archs[i]));
            check_reference(archs[i], dir, 0, FP32);
            check_reference(archs[i], dir, 1, FP32);
            check_reference(archs[i], dir, 0, BF16);
            check_training(archs[i], dir);
            check_mirrors(archs[i], dir);
            check_ckpt(archs[i], dir);
            check_fp16(archs[i], dir);
            check_inference(archs[i], dir);
        }
        check_missing_op();
        check_decoder_refused();
        if (under_test == ops_devsim_backend()) {
            use(false);
            check_step_work();
            check_simulation_bites();
            CHECK_MSG(ops_devsim_live_regions() == 0,
                      "%zu back-end allocations (%zu bytes) "
                      "never freed",
                      ops_devsim_live_regions(), ops_devsim_live_bytes());
            ops_devsim_counts c = ops_devsim_get_counts();
            fprintf(stderr,
                    "devsim: %zu operations, %zu uploads (%zu bytes), %zu downloads "
                    "(%zu bytes)\n",
                    c.ops, c.to_device_calls, c.to_device_bytes, c.to_host_calls, c.to_host_bytes);
        }
        rc = check_finish();
    }
#ifdef FTUNE_HAVE_CUDA
    int mpi_up = 0;
    MPI_Initialized(&mpi_up);
    if (mpi_up) MPI_Finalize();
#endif
    return rc;
}
