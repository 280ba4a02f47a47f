/* optim: AdamW, HF schedules and clipping. See optim.h for the semantics. */
#include "optim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_alloc.h"
#include "core/ft_hook.h"
#include "core/ft_log.h"
#include "ops/ops_backend.h"

/* The moments live on the back end (next to the parameters AdamW updates),
 * with host copies for checkpoints (ops_mirror). */
struct optim {
    optim_hparams h;
    ops_mirror m, v;
    ops_adamw_span *spans; /* the trainable tensors, rebuilt per step */
    int span_cap;
    long steps;
};

ft_status sched_parse(const char *name, sched_kind *out, ft_error *err)
{
    if (strcmp(name, "linear") == 0)
        *out = SCHED_LINEAR;
    else if (strcmp(name, "constant_with_warmup") == 0 || strcmp(name, "constant") == 0)
        *out = SCHED_CONSTANT;
    else if (strcmp(name, "cosine") == 0)
        *out = SCHED_COSINE;
    else
        return ft_fail(err, FT_EINVAL,
                       "lr_scheduler_type: expected \"linear\", \"cosine\", \"constant\" "
                       "or \"constant_with_warmup\", got \"%s\"",
                       name);
    return FT_OK;
}

double sched_lr_factor(sched_kind kind, long step, long warmup, long total)
{
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    long span = total - warmup > 1 ? total - warmup : 1;
    double progress = (double)(step - warmup) / (double)span;
    switch (kind) {
    case SCHED_LINEAR: {
        double f = (double)(total - step) / (double)span;
        return f > 0.0 ? f : 0.0;
    }
    case SCHED_COSINE: {
        /* num_cycles = 0.5: half a cosine from 1 to 0. */
        double f = 0.5 * (1.0 + cos(3.14159265358979323846 * 2.0 * 0.5 * progress));
        return f > 0.0 ? f : 0.0;
    }
    case SCHED_CONSTANT:
    default: return 1.0;
    }
}

optim_hparams optim_default_hparams(float lr)
{
    optim_hparams h = {lr, 0.9f, 0.999f, 1e-8f, 0.0f};
    return h;
}

ft_status optim_create(optim **out, const model *m, const optim_hparams *h, ft_error *err)
{
    *out = NULL;
    optim *o = ft_calloc_array(1, sizeof *o);
    size_t n = model_param_count(m);
    if (!o) return ft_fail(err, FT_ENOMEM, "optim: out of memory");
    o->span_cap = model_tensor_count(m);
    o->spans = ft_calloc_array((size_t)o->span_cap, sizeof *o->spans);
    ft_status st = o->spans ? FT_OK : ft_fail(err, FT_ENOMEM, "optim: out of memory");
    if (st == FT_OK) st = ops_mirror_create(&o->m, n, "optim: AdamW exp_avg", err);
    if (st == FT_OK) st = ops_mirror_create(&o->v, n, "optim: AdamW exp_avg_sq", err);
    if (st != FT_OK) {
        optim_free(o);
        return st;
    }
    o->h = *h;
    *out = o;
    return FT_OK;
}

void optim_free(optim *o)
{
    if (!o) return;
    ops_mirror_free(&o->m);
    ops_mirror_free(&o->v);
    free(o->spans);
    free(o);
}

/* L2 norm of the trainable gradients: per-tensor sums added in order (as
 * torch's per-parameter norms), with one wait on a GPU. */
static double grad_norm(model *m)
{
    int n;
    const ops_span *spans = model_trainable_spans(m, false, &n);
    return sqrt(ops_sum_squares_spans(model_grads(m), spans, n));
}

static void scale_grads(model *m, float s)
{
    int n;
    const ops_span *runs = model_trainable_spans(m, true, &n);
    float *g = model_grads(m);
    for (int i = 0; i < n; i++) ops_scale(g + runs[i].offset, runs[i].n, s);
}

/* torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to 1. */
static float clip_coef(double norm, float max_norm)
{
    if (max_norm <= 0.0f) return 1.0f;
    float coef = (float)(max_norm / ((float)norm + 1e-6f));
    return coef < 1.0f ? coef : 1.0f;
}

double optim_clip_grad_norm(model *m, float max_norm)
{
    double norm = grad_norm(m);
    float coef = clip_coef(norm, max_norm);
    if (coef < 1.0f) scale_grads(m, coef);
    return norm;
}

/* Test hooks: FTUNE_TRAIN_LOSS_SCALE_START and FTUNE_TRAIN_LOSS_SCALE_INTERVAL
 * let a short test run skip and grow. A value that is not a whole number
 * >= 1, or for the scale not a power of two (unscaling must stay exact),
 * is ignored with a warning naming the variable. */
static double env_hook(const char *name, double fallback, bool power_of_two)
{
    const char *e = ft_hook_env(name);
    if (!e || !*e) return fallback;
    char *end = NULL;
    double v = strtod(e, &end);
    int exp2 = 0;
    bool ok = *end == '\0' && v >= 1.0 && v <= 0x1p62 && v == floor(v) &&
              (!power_of_two || frexp(v, &exp2) == 0.5);
    if (ok) return v;
    ft_log_warn("%s='%s': expected a whole number >= 1%s; using %g", name, e,
                power_of_two ? " that is a power of two" : "", fallback);
    return fallback;
}

scaler scaler_make(bool enabled)
{
    scaler s = {.enabled = enabled, .scale = 1.0, .interval = 2000};
    if (enabled) {
        s.scale = env_hook("FTUNE_TRAIN_LOSS_SCALE_START", 65536.0, true);
        s.interval = (int64_t)env_hook("FTUNE_TRAIN_LOSS_SCALE_INTERVAL", 2000.0, false);
    }
    return s;
}

bool scaler_unscale_and_clip(scaler *s, model *m, float max_norm, double *norm)
{
    if (!s->enabled) {
        *norm = optim_clip_grad_norm(m, max_norm);
        return true;
    }
    /* The scale is a power of two: the scaled norm divided by it is the
     * norm of the unscaled gradients to the last bit, and coef / scale
     * multiplies as unscaling then clipping would. */
    double scaled = grad_norm(m);
    if (!isfinite(scaled)) {
        *norm = scaled;
        s->scale *= 0.5;
        s->good_steps = 0;
        s->skipped++;
        return false;
    }
    *norm = scaled / s->scale;
    float total = clip_coef(*norm, max_norm) / (float)s->scale;
    if (total != 1.0f) scale_grads(m, total);
    if (++s->good_steps == s->interval) {
        s->scale *= 2.0;
        s->good_steps = 0;
    }
    return true;
}

void optim_step(optim *o, model *m, float lr)
{
    o->steps++;
    float *p = model_params_for_step(m), *g = model_grads(m);
    int count = 0;
    for (int i = 0; i < model_tensor_count(m) && count < o->span_cap; i++) {
        const model_tensor *t = model_tensor_at(m, i);
        if (!model_tensor_trainable(m, t)) continue;
        o->spans[count++] =
            (ops_adamw_span){t->offset, t->numel, t->weight_decay ? o->h.weight_decay : 0.0f};
    }
    if (count == 0) return;
    ops_adamw_hparams h = {lr, o->h.beta1, o->h.beta2, o->h.eps, 0.0f, o->steps};
    ops_adamw_spans(p, g, ops_mirror_device(&o->m), ops_mirror_device(&o->v), o->spans, count, &h);
}

long optim_step_count(const optim *o) { return o->steps; }
float *optim_exp_avg(optim *o) { return ops_mirror_host(&o->m); }
float *optim_exp_avg_sq(optim *o) { return ops_mirror_host(&o->v); }
void optim_set_step_count(optim *o, long steps) { o->steps = steps; }
