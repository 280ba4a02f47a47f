/* model + optim against PyTorch: logits, loss, every gradient and the
 * parameters after 3 AdamW steps (gradient accumulation 2, clipping 1.0,
 * linear warm-up schedule), for BERT, GPT-2 and their frozen variants, all
 * with dropout off; then dropout determinism. The reference is
 * tests/reference/make_model_fixtures.py (constants repeated below). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adamw_allowance.h"
#include "check.h"
#include "model/model.h"
#include "model_testkit.h"
#include "optim/optim.h"
#include "core/rng.h"

enum { GRAD_ACCUM = 2, STEPS = 3, WARMUP = 2, TOTAL = 5 };
static const float LR = 1e-3f, WEIGHT_DECAY = 0.01f, MAX_GRAD_NORM = 1.0f;
/* Tolerances, relative to the largest magnitude of each reference tensor
 * (trained parameters: per element, see adamw_allowance.h). */
static const double TOL_LOGITS = 1e-5, TOL_GRAD = 1e-4;
/* bf16 mode against reference_bf16.safetensors (the same rounding done by
 * PyTorch): the products agree up to float32 accumulation order, but an
 * operand that lands within that noise of a bf16 rounding midpoint rounds
 * the other way (one bf16 step, 2^-8 relative), so the bounds are looser.
 * A bf16 run must also differ from the float32 reference by more than
 * BF16_MIN_SHIFT (the bf16 path really ran). */
static const double TOL_LOGITS_BF16 = 1e-4, TOL_GRAD_BF16 = 5e-3, BF16_MIN_SHIFT = 1e-4;

typedef struct worst {
    double err;
    char name[128];
} worst;

static void note(worst *w, const char *what, const char *name, double err)
{
    if (err > w->err || err != err) {
        w->err = err;
        snprintf(w->name, sizeof w->name, "%s %s", what, name);
    }
}

static const char *word_name(model_arch arch)
{
    return arch == MODEL_ARCH_BERT ? "bert.embeddings.word_embeddings.weight"
                                   : "transformer.wte.weight";
}

/* Key biases (key_bias_range, model_testkit.h) hold rounding noise, which
 * AdamW turns into steps of up to lr. Their gradients are checked against
 * an absolute bound instead, KEY_BIAS_GRAD_ABS; their trained values may
 * differ by whole steps (adamw_allowance.h). */
static const double KEY_BIAS_GRAD_ABS = 1e-7;

/* rel_error on the elements of t outside its key-bias range, and the largest
 * absolute difference inside it (*key_abs). */
static double rel_error_split(const model_tensor *t, const float *a, const float *ref, size_t n,
                              double *key_abs)
{
    size_t kb = 0, ke = 0;
    *key_abs = 0.0;
    if (n != t->numel || !key_bias_range(t, &kb, &ke)) return rel_error(a, ref, n);
    for (size_t i = kb; i < ke; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (d > *key_abs || d != d) *key_abs = d;
    }
    if (kb == 0 && ke == n) return 0.0;
    double e1 = rel_error(a, ref, kb), e2 = rel_error(a + ke, ref + ke, n - ke);
    double scale1 = 0.0, scale2 = 0.0; /* back to one scale: the max |ref| */
    for (size_t i = 0; i < kb; i++) scale1 = fmax(scale1, fabs(ref[i]));
    for (size_t i = ke; i < n; i++) scale2 = fmax(scale2, fabs(ref[i]));
    double scale = fmax(scale1, scale2);
    return scale > 0.0 ? fmax(e1 * scale1, e2 * scale2) / scale : 0.0;
}

/* Word-embedding rows outside `rows` have no gradient. */
static int untouched_rows_zero(const model *m, const float *grad, const model_tensor *t,
                               const int32_t *rows, size_t nrows)
{
    (void)m;
    int64_t C = t->shape[1];
    char *used = calloc((size_t)t->shape[0], 1);
    for (size_t r = 0; r < nrows; r++) used[rows[r]] = 1;
    int ok = 1;
    for (int64_t v = 0; v < t->shape[0]; v++)
        if (!used[v])
            for (int64_t j = 0; j < C; j++) ok &= grad[v * C + j] == 0.0f;
    free(used);
    return ok;
}

/* Compare a gradient or parameter tensor; the word embedding is stored only
 * on `rows` (other rows: `rest_check` says what they must be). */
static double compare_tensor(model *m, const model_tensor *t, const float *got, const fixture *fx,
                             const char *key, const int32_t *rows, size_t nrows, double *key_abs)
{
    *key_abs = 0.0;
    size_t n = 0;
    float *ref = fixture_get(fx, key, &n, NULL);
    if (!ref) {
        CHECK_MSG(0, "%s missing from the fixture", key);
        return INFINITY;
    }
    double err;
    if (strcmp(t->name, word_name(model_get_config(m)->arch)) == 0) {
        int64_t C = t->shape[1];
        float *picked = malloc(nrows * (size_t)C * sizeof(float));
        for (size_t r = 0; r < nrows; r++)
            memcpy(picked + r * C, got + (size_t)rows[r] * C, (size_t)C * sizeof(float));
        CHECK(n == nrows * (size_t)C);
        err = rel_error(picked, ref, n);
        free(picked);
    } else {
        CHECK_MSG(n == t->numel, "%s: %zu values, table has %zu", key, n, t->numel);
        err = n == t->numel ? rel_error_split(t, got, ref, n, key_abs) : INFINITY;
    }
    free(ref);
    return err;
}

/* Logits, loss and gradients of the first batch against reference.safetensors.
 * Frozen: trainable tensors must match the full model's reference, frozen ones
 * must have no gradient at all. */
static void check_gradients(model_arch arch, const char *dir, int first_trainable, bool bf16)
{
    model *m = make_model(arch, dir, first_trainable);
    ft_error err;
    CHECK(model_set_bf16(m, bf16, &err) == FT_OK);
    double tol_logits = bf16 ? TOL_LOGITS_BF16 : TOL_LOGITS;
    double tol_grad = bf16 ? TOL_GRAD_BF16 : TOL_GRAD;
    double key_grad_abs = bf16 ? 1e3 * KEY_BIAS_GRAD_ABS : KEY_BIAS_GRAD_ABS;
    batches bt;
    load_batches(&bt, dir, 0, 1);
    fixture ref;
    CHECK(fixture_open(&ref, dir, bf16 ? "reference_bf16.safetensors" : "reference.safetensors"));
    size_t nrows = 0, n = 0;
    int32_t *rows = fixture_get(&ref, "grad_rows", &nrows, NULL);
    model_batch x = micro(&bt, 0);
    model_dropout off = {false, 0, 0};
    double loss = 0.0;
    CHECK(model_forward(m, &x, &off, &loss, &err) == FT_OK);
    float *ref_logits = fixture_get(&ref, "logits", &n, NULL);
    if (bf16) {
        fixture ref32;
        CHECK(fixture_open(&ref32, dir, "reference.safetensors"));
        float *logits32 = fixture_get(&ref32, "logits", &n, NULL);
        double shift = rel_error(model_logits(m), logits32, (size_t)B * 3);
        CHECK_MSG(shift > BF16_MIN_SHIFT, "bf16 logits within %.3g of float32", shift);
        free(logits32);
        fixture_close(&ref32);
    }
    float *ref_loss = fixture_get(&ref, "loss", &n, NULL);
    double e_logits = rel_error(model_logits(m), ref_logits, (size_t)B * 3);
    double e_loss = fabs(loss - ref_loss[0]) / fabs(ref_loss[0]);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    worst w = {0.0, ""};
    int frozen_clean = 1;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        const float *g = model_grads(m) + t->offset;
        if (!model_tensor_trainable(m, t)) {
            for (size_t j = 0; j < t->numel; j++) frozen_clean &= g[j] == 0.0f;
            continue;
        }
        char key[160];
        snprintf(key, sizeof key, "grad.%s", t->name);
        double key_abs;
        double e = compare_tensor(m, t, g, &ref, key, rows, nrows, &key_abs);
        CHECK_MSG(e <= tol_grad, "%s: gradient rel err %.3g", t->name, e);
        CHECK_MSG(key_abs <= key_grad_abs, "%s: key bias gradient off by %.3g", t->name, key_abs);
        note(&w, "grad", t->name, e);
        if (strcmp(t->name, word_name(arch)) == 0) CHECK(untouched_rows_zero(m, g, t, rows, nrows));
    }
    fprintf(stderr, "%s%s%s: logits rel err %.3g, loss %.9g rel err %.3g, worst gradient %s %.3g\n",
            arch == MODEL_ARCH_BERT ? "bert" : "gpt2", first_trainable ? " frozen" : "",
            bf16 ? " bf16" : "", e_logits, loss, e_loss, w.name, w.err);
    CHECK_MSG(e_logits <= tol_logits, "logits rel err %.3g", e_logits);
    CHECK_MSG(e_loss <= tol_logits, "loss rel err %.3g", e_loss);
    CHECK(frozen_clean);
    free(ref_logits);
    free(ref_loss);
    free(rows);
    fixture_close(&ref);
    free_batches(&bt);
    model_free(m);
}

/* STEPS optimizer steps as HF Trainer takes them; grads receives each
 * step's accumulated gradient before clipping (STEPS x model_param_count). */
static void train_steps(model *m, const batches *bt, double lrs[STEPS], double norms[STEPS],
                        float *grads)
{
    optim_hparams h = optim_default_hparams(LR);
    h.weight_decay = WEIGHT_DECAY;
    optim *o = NULL;
    ft_error err;
    CHECK(optim_create(&o, m, &h, &err) == FT_OK);
    model_dropout off = {false, 0, 0};
    size_t n = model_param_count(m);
    for (int step = 0; step < STEPS; step++) {
        model_zero_grads(m);
        for (int a = 0; a < GRAD_ACCUM; a++) {
            model_batch x = micro(bt, step * GRAD_ACCUM + a);
            CHECK(model_forward(m, &x, &off, NULL, &err) == FT_OK);
            model_backward(m, 1.0f / GRAD_ACCUM);
        }
        memcpy(grads + (size_t)step * n, model_grads(m), n * sizeof(float));
        norms[step] = optim_clip_grad_norm(m, MAX_GRAD_NORM);
        lrs[step] = LR * sched_lr_factor(SCHED_LINEAR, step, WARMUP, TOTAL);
        optim_step(o, m, (float)lrs[step]);
    }
    optim_free(o);
}

/* Word-embedding rows no batch uses only decay: p0 prod(1 - lr_k wd). */
static void check_unused_rows_decayed(model *m, const float *initial, const double lrs[STEPS],
                                      const int32_t *rows, size_t nrows)
{
    const model_tensor *t = model_find_tensor(m, word_name(model_get_config(m)->arch));
    double decay = 1.0;
    for (int s = 0; s < STEPS; s++) decay *= 1.0 - (double)(float)lrs[s] * WEIGHT_DECAY;
    char *used = calloc((size_t)t->shape[0], 1);
    for (size_t r = 0; r < nrows; r++) used[rows[r]] = 1;
    double e = 0.0;
    for (int64_t v = 0; v < t->shape[0]; v++)
        for (int64_t j = 0; !used[v] && j < t->shape[1]; j++) {
            size_t k = t->offset + (size_t)(v * t->shape[1] + j);
            e = fmax(e, fabs(model_params(m)[k] - initial[k] * decay));
        }
    CHECK_MSG(e <= 1e-8, "unused embedding rows: %.3g off the decay", e);
    free(used);
}

/* ---- trained parameters ----------------------------------------------------------
 * Each element's update, delta = trained - initial, against PyTorch's,
 * delta_ref = ref - initial, within the allowance adamw_allowance.h derives
 * from AdamW and float32 summation. The fixtures hold PyTorch's gradient of
 * the first micro-batch only, so the allowance follows ftune's own
 * gradients, which agree with it (check_gradients). */
typedef struct update_worst {
    double ratio, err, allowed; /* the largest err / allowed, and its terms */
    size_t at;                  /* its element in the tensor */
    double err_max;             /* the largest |delta - delta_ref| */
    size_t compared, flips;     /* elements; those allowed a whole step */
} update_worst;

static void note_update(update_worst *w, const adamw_trajectory *tr, size_t i, size_t at, double p0,
                        double p, double ref, bool noise_only)
{
    double err = fabs((p - p0) - (ref - p0));
    double allowed = adamw_update_allowance(tr, i, noise_only, fmax(fabs(p0), fabs(ref)));
    double step = 0.0;
    for (int s = 0; s < tr->steps; s++) step += tr->lr[s];
    w->compared++;
    w->flips += allowed >= step;
    w->err_max = fmax(w->err_max, err);
    if (err > w->ratio * allowed || err != err) {
        w->ratio = err / allowed;
        w->err = err, w->allowed = allowed, w->at = at;
    }
}

/* Tensor t's updates against fixture fx (the word embedding stored only on
 * `rows`). */
static update_worst compare_updates(model *m, const model_tensor *t, adamw_trajectory *tr,
                                    const float *initial, const fixture *fx, const int32_t *rows,
                                    size_t nrows)
{
    update_worst w = {0};
    size_t n = 0, kb = 0, ke = 0, C = (size_t)t->shape[1];
    float *ref = fixture_get(fx, t->name, &n, NULL);
    bool word = strcmp(t->name, word_name(model_get_config(m)->arch)) == 0;
    if (!ref || n != (word ? nrows * C : t->numel)) {
        CHECK_MSG(0, "%s: missing from the fixture or the wrong size", t->name);
        free(ref);
        w.ratio = INFINITY;
        return w;
    }
    bool key = key_bias_range(t, &kb, &ke);
    size_t span = adamw_noise_span(t);
    for (size_t k = 0; k < n; k++) {
        size_t j = word ? (size_t)rows[k / C] * C + k % C : k, i = t->offset + j;
        if (k == 0 || j % span == 0) adamw_set_noise_floor(tr, i - j % span, span);
        note_update(&w, tr, i, j, initial[i], model_params(m)[i], ref[k], key && j >= kb && j < ke);
    }
    free(ref);
    return w;
}

/* The lrs and pre-clipping norms against the fixture's; tr gets the rates
 * and the reference's clip coefficients. */
static void check_schedule(const fixture *ref, const double lrs[STEPS], const double norms[STEPS],
                           adamw_trajectory *tr)
{
    size_t n = 0;
    float *ref_lr = fixture_get(ref, "lr", &n, NULL);
    float *ref_norm = fixture_get(ref, "grad_norm", &n, NULL);
    for (int s = 0; s < STEPS; s++) {
        CHECK_CLOSE(lrs[s], ref_lr[s], 1e-6);
        CHECK_MSG(fabs(norms[s] - ref_norm[s]) <= 1e-5 * ref_norm[s],
                  "step %d grad norm %.9g vs %.9g", s, norms[s], ref_norm[s]);
        tr->lr[s] = (float)lrs[s];
        tr->coef[s] = adamw_clip_coef(ref_norm[s], MAX_GRAD_NORM);
    }
    free(ref_lr);
    free(ref_norm);
}

/* Every trainable tensor's updates (compare_updates); frozen ones unchanged. */
static void check_updates(model *m, const float *initial, adamw_trajectory *tr, const fixture *ref,
                          const int32_t *rows, size_t nrows, const char *label)
{
    update_worst all = {0};
    char worst_name[128] = "";
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        if (!model_tensor_trainable(m, t)) {
            CHECK_MSG(memcmp(model_params(m) + t->offset, initial + t->offset,
                             t->numel * sizeof(float)) == 0,
                      "frozen %s changed", t->name);
            continue;
        }
        update_worst w = compare_updates(m, t, tr, initial, ref, rows, nrows);
        CHECK_MSG(w.ratio <= 1.0, "%s[%zu]: update off by %.3g, allowed %.3g", t->name, w.at, w.err,
                  w.allowed);
        all.compared += w.compared, all.flips += w.flips;
        all.err_max = fmax(all.err_max, w.err_max);
        if (w.ratio > all.ratio || w.ratio != w.ratio) {
            all.ratio = w.ratio, all.err = w.err, all.allowed = w.allowed, all.at = w.at;
            snprintf(worst_name, sizeof worst_name, "%s", t->name);
        }
    }
    fprintf(stderr,
            "%s: worst update %s[%zu] off by %.3g of %.3g allowed (%.3g); largest "
            "difference %.3g; %zu of %zu elements at the noise floor\n",
            label, worst_name, all.at, all.err, all.allowed, all.ratio, all.err_max, all.flips,
            all.compared);
}

static void check_training(model_arch arch, const char *dir, int first_trainable)
{
    model *m = make_model(arch, dir, first_trainable);
    size_t np = model_param_count(m);
    float *initial = malloc(np * sizeof(float)), *grads = malloc(STEPS * np * sizeof(float));
    memcpy(initial, model_params(m), np * sizeof(float));
    batches bt;
    load_batches(&bt, dir, 0, 1);
    double lrs[STEPS], norms[STEPS];
    train_steps(m, &bt, lrs, norms, grads);
    fixture ref, grad_ref;
    CHECK(fixture_open(&ref, dir, first_trainable ? "frozen.safetensors" : "trained.safetensors"));
    CHECK(fixture_open(&grad_ref, dir, "reference.safetensors"));
    size_t nrows = 0;
    int32_t *rows = fixture_get(&grad_ref, "grad_rows", &nrows, NULL);
    adamw_trajectory tr = {grads, np, STEPS, {0}, {0}, {0}};
    check_schedule(&ref, lrs, norms, &tr);
    char label[64];
    snprintf(label, sizeof label, "%s%s", arch == MODEL_ARCH_BERT ? "bert" : "gpt2",
             first_trainable ? " frozen" : "");
    fprintf(stderr, "%s: grad norms %.6g %.6g %.6g\n", label, norms[0], norms[1], norms[2]);
    check_updates(m, initial, &tr, &ref, rows, nrows, label);
    if (!first_trainable) check_unused_rows_decayed(m, initial, lrs, rows, nrows);
    free(rows);
    fixture_close(&ref);
    fixture_close(&grad_ref);
    free_batches(&bt);
    free(grads);
    free(initial);
    model_free(m);
}

/* Dropout: same (seed, step) gives the same loss, another step another loss;
 * an example's mask depends on its global index, not on its place in the
 * batch (so not on the rank that holds it); backward runs with the mask. */
static void check_dropout(model_arch arch, const char *dir)
{
    model *m = make_model(arch, dir, 0);
    batches bt;
    load_batches(&bt, dir, 0, 1);
    model_batch x = micro(&bt, 0);
    model_dropout off = {false, 0, 0}, d = {true, 42, 7}, d2 = {true, 42, 8};
    double l_off, l1, l2, l3;
    ft_error err;
    CHECK(model_forward(m, &x, &off, &l_off, &err) == FT_OK);
    CHECK(model_forward(m, &x, &d, &l1, &err) == FT_OK);
    float logits_row1[3];
    memcpy(logits_row1, model_logits(m) + 3, sizeof logits_row1);
    CHECK(model_forward(m, &x, &d, &l2, &err) == FT_OK);
    CHECK(model_forward(m, &x, &d2, &l3, &err) == FT_OK);
    CHECK(l1 == l2);
    CHECK(l1 != l3);
    CHECK(l1 != l_off);
    /* Row 1 alone, same global example index 1: the same logits, bit for bit. */
    model_batch one = {1, T, x.input_ids + T, x.lengths + 1, x.labels + 1, x.example_index + 1};
    CHECK(model_forward(m, &one, &d, NULL, &err) == FT_OK);
    /* Not bit for bit: sgemm may block a 16-row product unlike a 48-row one. */
    CHECK(rel_error(model_logits(m), logits_row1, 3) < 1e-5);
    int64_t other_index = 5;
    one.example_index = &other_index;
    CHECK(model_forward(m, &one, &d, NULL, &err) == FT_OK);
    CHECK(rel_error(model_logits(m), logits_row1, 3) > 1e-3);
    /* Dropout without example indices is refused; so are bad inputs. */
    model_batch bad = x;
    bad.example_index = NULL;
    CHECK(model_forward(m, &bad, &d, NULL, &err) == FT_EINVAL);
    int32_t ids[T];
    memcpy(ids, x.input_ids, sizeof ids);
    ids[3] = 1000;
    model_batch bad_id = {1, T, ids, x.lengths, x.labels, x.example_index};
    CHECK(model_forward(m, &bad_id, &off, NULL, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "token id 1000");
    /* A backward pass with dropout gives a finite, non-zero gradient, and
     * the same one twice. */
    CHECK(model_forward(m, &x, &d, &l1, &err) == FT_OK);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    size_t np = model_param_count(m);
    float *g1 = malloc(np * sizeof(float));
    memcpy(g1, model_grads(m), np * sizeof(float));
    double sum = 0.0;
    for (size_t i = 0; i < np; i++) sum += (double)g1[i] * g1[i];
    CHECK(sum > 0.0 && isfinite(sum));
    model_zero_grads(m);
    CHECK(model_forward(m, &x, &d, &l2, &err) == FT_OK);
    model_backward(m, 1.0f);
    CHECK(memcmp(g1, model_grads(m), np * sizeof(float)) == 0);
    free(g1);
    free_batches(&bt);
    model_free(m);
}

/* With dropout on (no reference can share our masks), the backward pass
 * must still be the derivative of the forward pass: central differences of
 * the loss along the gradient and along a random direction. */
static double loss_at(model *m, const model_batch *x, const model_dropout *d, const float *theta,
                      const float *dir, double eps)
{
    size_t n = model_param_count(m);
    float *p = model_params(m);
    for (size_t i = 0; i < n; i++) p[i] = theta[i] + (float)(eps * dir[i]);
    double loss = 0.0;
    ft_error err;
    CHECK(model_forward(m, x, d, &loss, &err) == FT_OK);
    return loss;
}

static void check_dropout_gradient(model_arch arch, const char *dir)
{
    model *m = make_model(arch, dir, 0);
    batches bt;
    load_batches(&bt, dir, 0, 1);
    model_batch x = micro(&bt, 0);
    model_dropout d = {true, 42, 7};
    ft_error err;
    size_t n = model_param_count(m);
    CHECK(model_forward(m, &x, &d, NULL, &err) == FT_OK);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    float *theta = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    memcpy(theta, model_params(m), n * sizeof(float));
    const float *g = model_grads(m);
    for (int k = 0; k < 2; k++) {
        double norm = 0.0, dot = 0.0;
        for (size_t i = 0; i < n; i++) {
            v[i] = k == 0 ? g[i] : rng_normal(9, 9, i);
            norm += (double)v[i] * v[i];
        }
        for (size_t i = 0; i < n; i++) {
            v[i] = (float)(v[i] / sqrt(norm));
            dot += (double)v[i] * g[i];
        }
        double eps = k == 0 ? 1e-3 : 1e-2;
        double fd =
            (loss_at(m, &x, &d, theta, v, eps) - loss_at(m, &x, &d, theta, v, -eps)) / (2 * eps);
        double rel = fabs(fd - dot) / fabs(dot);
        fprintf(stderr,
                "%s dropout: directional derivative %.6g, finite difference %.6g "
                "(rel %.3g)\n",
                arch == MODEL_ARCH_BERT ? "bert" : "gpt2", dot, fd, rel);
        CHECK_MSG(rel < (k == 0 ? 2e-4 : 3e-3), "%s direction: rel err %.3g",
                  k == 0 ? "gradient" : "random", rel);
    }
    free(theta);
    free(v);
    free_batches(&bt);
    model_free(m);
}

/* HF's initialisation from the config alone: weights normal(0, 0.02)
 * (GPT-2's c_proj: 0.02 / sqrt(2 layers)), biases 0, LayerNorm 1 / 0, BERT's
 * padding row 0; reproducible from the seed. */
static void check_init(model_arch arch)
{
    model_config cfg = tiny_config(arch, 2);
    model *m = NULL, *m2 = NULL;
    ft_error err;
    CHECK(model_create(&m, &cfg, &err) == FT_OK);
    CHECK(model_create(&m2, &cfg, &err) == FT_OK);
    model_init_random(m, 5);
    model_init_random(m2, 5);
    CHECK(memcmp(model_params(m), model_params(m2), model_param_count(m) * sizeof(float)) == 0);
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        const float *x = model_params(m) + t->offset;
        double sum = 0.0, sq = 0.0, lo = x[0], hi = x[0];
        for (size_t j = 0; j < t->numel; j++) {
            sum += x[j];
            sq += (double)x[j] * x[j];
            lo = fmin(lo, x[j]);
            hi = fmax(hi, x[j]);
        }
        double mean = sum / t->numel, sd = sqrt(sq / t->numel - mean * mean);
        size_t len = strlen(t->name);
        int bias = len >= 4 && strcmp(t->name + len - 4, "bias") == 0;
        int norm = strstr(t->name, "LayerNorm") || strstr(t->name, "ln_");
        if (bias) {
            CHECK_MSG(lo == 0.0 && hi == 0.0, "%s not zero", t->name);
        } else if (norm) {
            CHECK_MSG(lo == 1.0 && hi == 1.0, "%s not one", t->name);
        } else if (t->numel >= 1000) {
            double want = strstr(t->name, "c_proj.weight") ? 0.02 / 2.0 : 0.02;
            /* se of a sd estimate: sd / sqrt(2n); 5 standard errors. */
            CHECK_MSG(fabs(sd - want) < 5 * want / sqrt(2.0 * t->numel), "%s: sd %.5g, want %.5g",
                      t->name, sd, want);
            CHECK_MSG(fabs(mean) < 5 * want / sqrt((double)t->numel), "%s: mean %.3g", t->name,
                      mean);
        }
    }
    if (arch == MODEL_ARCH_BERT) {
        const float *pad = model_params(m) + model_find_tensor(m, word_name(arch))->offset;
        int zero = 1;
        for (int j = 0; j < cfg.hidden; j++) zero &= pad[j] == 0.0f; /* pad id 0 */
        CHECK(zero);
    }
    model_free(m);
    model_free(m2);
}

/* model_plan_inference (two sets of block buffers taking turns) gives the
 * training plan's logits bit for bit, in float32 and bf16, on 4 blocks so
 * that both sets are reused. */
static void check_inference_plan(model_arch arch, const char *dir)
{
    model_config cfg = tiny_config(arch, 2);
    cfg.layers = 4;
    batches bt;
    load_batches(&bt, dir, 0, 1);
    model_batch x = micro(&bt, 1);
    for (int bf16 = 0; bf16 < 2; bf16++) {
        model *m = NULL;
        ft_error err;
        CHECK(model_create(&m, &cfg, &err) == FT_OK);
        model_init_random(m, 3);
        CHECK(model_set_bf16(m, bf16, &err) == FT_OK);
        float full[B * 3], infer[B * 3];
        double loss_full = 0.0, loss_infer = 1.0;
        CHECK(model_plan(m, B, T, &err) == FT_OK);
        CHECK(model_forward(m, &x, NULL, &loss_full, &err) == FT_OK);
        memcpy(full, model_logits(m), sizeof full);
        CHECK(model_plan_inference(m, B, T, &err) == FT_OK);
        CHECK(model_forward(m, &x, NULL, &loss_infer, &err) == FT_OK);
        memcpy(infer, model_logits(m), sizeof infer);
        CHECK_MSG(memcmp(full, infer, sizeof full) == 0 && loss_full == loss_infer,
                  "%s%s: inference plan logits differ", arch == MODEL_ARCH_BERT ? "bert" : "gpt2",
                  bf16 ? " bf16" : "");
        model_free(m);
    }
    free_batches(&bt);
}

/* The bf16 mirror follows every write through model_params(), frozen
 * tensors included (a checkpoint or a best model loaded into a model that
 * already ran), while an optimizer step refreshes the trainable ones. */
static void check_bf16_refresh(model_arch arch, const char *dir)
{
    model *m = make_model(arch, dir, 1); /* block 0 frozen */
    ft_error err;
    CHECK(model_set_bf16(m, true, &err) == FT_OK);
    batches bt;
    load_batches(&bt, dir, 0, 1);
    model_batch x = micro(&bt, 0);
    float before[B * 3], after[B * 3];
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(before, model_logits(m), sizeof before);
    const model_tensor *t = model_find_tensor(
        m, arch == MODEL_ARCH_BERT ? "bert.encoder.layer.0.intermediate.dense.weight"
                                   : "transformer.h.0.mlp.c_fc.weight");
    CHECK(t != NULL && !model_tensor_trainable(m, t));
    float *w = model_params(m) + t->offset;
    for (size_t i = 0; i < t->numel; i++) w[i] *= 3.0f;
    CHECK(model_forward(m, &x, NULL, NULL, &err) == FT_OK);
    memcpy(after, model_logits(m), sizeof after);
    CHECK_MSG(memcmp(before, after, sizeof before) != 0,
              "bf16 mirror not refreshed after a write to a frozen tensor");
    free_batches(&bt);
    model_free(m);
}

int main(void)
{
    static const struct {
        model_arch arch;
        const char *name;
    } archs[] = {{MODEL_ARCH_BERT, "bert"}, {MODEL_ARCH_GPT2, "gpt2"}};
    for (int i = 0; i < 2; i++) {
        check_init(archs[i].arch);
        char dir[512];
        snprintf(dir, sizeof dir, "%s/model/%s", FTUNE_FIXTURES, archs[i].name);
        check_gradients(archs[i].arch, dir, 0, false);
        check_training(archs[i].arch, dir, 0);
        check_gradients(archs[i].arch, dir, 1, false);
        check_gradients(archs[i].arch, dir, 0, true);
        check_gradients(archs[i].arch, dir, 1, true);
        check_inference_plan(archs[i].arch, dir);
        check_bf16_refresh(archs[i].arch, dir);
        check_training(archs[i].arch, dir, 1);
        check_dropout(archs[i].arch, dir);
        check_dropout_gradient(archs[i].arch, dir);
    }
    return check_finish();
}
