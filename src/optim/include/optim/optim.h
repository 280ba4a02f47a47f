/* optim: AdamW, learning-rate schedules and gradient clipping with the
 * semantics of Hugging Face Trainer, so a run matches its PyTorch twin.
 *
 * Design: the moments use the model's parameter layout (two buffers of
 * model_param_count() floats), so a checkpoint writes them per tensor by the
 * same table. Weight decay follows Trainer's rule, already recorded per
 * tensor in model_tensor.weight_decay (not on biases nor LayerNorm weights).
 * Frozen tensors are skipped entirely (no decay, no moments), as torch skips
 * parameters without gradients. Schedules are HF's lr_lambda functions:
 * the factor for optimizer step k (0-based) multiplies the base rate, so the
 * first step of a warm-up uses rate 0, exactly as Trainer does.
 *
 * Gradient accumulation is the caller's loop: model_zero_grads, then for
 * each of A micro-batches model_forward + model_backward(m, 1.0f / A), then
 * optim_clip_grad_norm and optim_step.
 *
 * fp16 training scales the loss (scaler_, below) so that small gradients
 * survive fp16's range, as torch.cuda.amp.GradScaler does for Trainer.
 *
 * Not here: the all-reduce of gradients (src/comm). */
#ifndef OPTIM_H
#define OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ft_error.h"
#include "model/model.h"

/* ---- schedules (prefix sched_) --------------------------------------------- */

typedef enum sched_kind {
    SCHED_LINEAR,   /* "linear": warm-up, then linear decay to 0 at total */
    SCHED_CONSTANT, /* "constant_with_warmup" (and "constant": warmup 0) */
    SCHED_COSINE    /* "cosine": warm-up, then half a cosine to 0 at total */
} sched_kind;

/* Parse Trainer's lr_scheduler_type name; FT_EINVAL naming the accepted
 * values otherwise. */
ft_status sched_parse(const char *name, sched_kind *out, ft_error *err);

/* The multiplier of the base rate at optimizer step `step` (0-based), as
 * transformers' get_{linear,constant,cosine}_schedule_with_warmup. */
double sched_lr_factor(sched_kind kind, long step, long warmup, long total);

/* ---- AdamW (prefix optim_) ---------------------------------------------------- */

typedef struct optim_hparams {
    float lr; /* base learning rate (the schedule scales it) */
    float beta1, beta2, eps;
    float weight_decay; /* applied to tensors with weight_decay set */
} optim_hparams;

/* torch.optim.AdamW / TrainingArguments defaults: 0.9, 0.999, 1e-8, wd 0. */
optim_hparams optim_default_hparams(float lr);

typedef struct optim optim;

/* Moments zeroed, step count 0, for model m's layout. */
ft_status optim_create(optim **out, const model *m, const optim_hparams *h, ft_error *err);
void optim_free(optim *o);

/* Global L2 norm of the trainable gradients (before clipping); when it
 * exceeds max_norm > 0, scale them by max_norm / (norm + 1e-6), as
 * torch.nn.utils.clip_grad_norm_. max_norm <= 0: only measure. */
double optim_clip_grad_norm(model *m, float max_norm);

/* One AdamW step with rate lr on every trainable tensor; step count + 1. */
void optim_step(optim *o, model *m, float lr);

long optim_step_count(const optim *o);
/* For checkpoints and resume: host copies of the moments (model layout),
 * writable (the next step uses what was written), and the step count. */
float *optim_exp_avg(optim *o);
float *optim_exp_avg_sq(optim *o);
void optim_set_step_count(optim *o, long steps);

/* ---- dynamic loss scaling (prefix scaler_) -----------------------------------
 * torch.cuda.amp.GradScaler's rule with its defaults: backward runs on
 * loss * scale; a step whose gradients hold an inf or NaN is skipped and the
 * scale halves; after `interval` good steps in a row the scale doubles. The
 * scale stays a power of two, so scaling and unscaling are exact. */
typedef struct scaler {
    bool enabled;       /* false: scale 1, nothing is ever skipped */
    double scale;       /* 65536 at start */
    int64_t good_steps; /* good steps since the scale last changed */
    int64_t interval;   /* 2000 */
    int64_t skipped;    /* steps skipped in this process (for the log) */
} scaler;

/* An enabled scaler at GradScaler's initial scale and interval, or a disabled one. */
scaler scaler_make(bool enabled);

/* After a step's backward with loss * s->scale: clip as optim_clip_grad_norm
 * does on the UNSCALED gradients and unscale them, in one pass. Returns
 * false (and leaves the gradients) when they are not finite: the caller
 * skips the optimizer step. *norm gets the unscaled norm (inf/NaN on skip).
 * Updates the scale either way. */
bool scaler_unscale_and_clip(scaler *s, model *m, float max_norm, double *norm);

#endif
