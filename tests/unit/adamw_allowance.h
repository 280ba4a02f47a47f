/* adamw_allowance.h: how far two float32 runs of the same AdamW steps may
 * drift apart, per element, when their gradients differ only by rounding
 * (ftune against PyTorch in test_model.c, a back end against the CPU in
 * test_model_backend.c). Two BLAS kernels sum a gradient in different
 * orders; AdamW divides by sqrt(v), so where a gradient is near zero that
 * rounding becomes a step of up to lr either way. One tolerance relative to
 * a tensor's largest value either fails there or, loose enough, hides real
 * bugs (a wrong bias correction, decay on LayerNorm weights, no clipping);
 * these bounds follow each element instead.
 *
 * Step t moves an element by -lr_t (r_t + wd p), r_t = mh_t / (sqrt(vh_t) +
 * eps), where mh_t = sum_k a_k g_k and vh_t = sum_k b_k g_k^2 are the
 * bias-corrected moments of the clipped gradients g_1..g_t (sum a_k =
 * sum b_k = 1). r is scale-free: a gradient error counts relative to
 * sqrt(vh), not to the tensor's largest gradient. If each g_k may differ
 * between the two runs by sigma_k, then
 *     |d mh| <= sum a_k sigma_k = em,
 *     |d sqrt(vh)| <= sqrt(sum b_k sigma_k^2) = es  (triangle inequality),
 *     |d r| <= (em + |r| es) / (sqrt(vh) - es + eps)              ("shift"),
 * and never more than |r| + R_t, R_t = sqrt(sum a_k^2 / b_k) being the
 * largest |r| any gradients give (Cauchy-Schwarz; 1 to 1.004 here) ("flip").
 * An element whose gradient stands clear of the noise gets the shift, tiny;
 * one at the noise floor (sqrt(vh) < es), and a key bias (gradient 0 in
 * exact arithmetic), may flip: up to (|r| + R_t) lr_t <= 2.01 lr_t a step
 * (3e-3 over test_model.c's three steps, whose rates add to 1.5e-3). The decay
 * factor is the same on both sides; it scales a difference already counted
 * by lr wd = 1e-5, neglected.
 *
 * The gradients g_k are one run's own, recorded before clipping and scaled
 * by the reference's clip coefficient, so that a broken clip or step in the
 * run under test is not excused. Step t's gradient is taken at parameters
 * the earlier steps moved apart by the differences bounded here, which
 * adds to its noise (measured below).
 *
 * The noise floor sigma_t (both runs' errors together): each gradient
 * element of the fixtures' tiny models is made of float32 sums, the last
 * over the 2 x 3 x 16 = 96 token rows of a step, the earlier ones (on its
 * path back from the loss) over at most ADAMW_SUM_TERMS = 256 terms (the
 * MLP's width). In any order, so with any BLAS kernel, n terms sum with an
 * error of at most (n - 1) u sum|terms|, u = 2^-24 (Higham, Accuracy and
 * Stability of Numerical Algorithms, 4.2), and the rounding of the layers
 * above enters each term the same way. We take sum|terms| to be of the
 * order of S_t, the largest |clipped gradient| of the tensor, or of the
 * row for a lookup table (embeddings: row v sums only the gradients
 * reaching the positions that hold token v, and a rare token's are 1e-3 of
 * [CLS]'s): terms of random signs add to about sqrt(n) times their size, so
 * the worst case n - 1 over-counts the usual sqrt(n) growth by sqrt(256) =
 * 16, which pays for sum|terms| exceeding S_t a few times. Both runs err
 * so: sigma_t = 2 ADAMW_SUM_TERMS u S_t = 3.1e-5 S_t. A row no position
 * holds has no sum, so no noise: both runs keep its gradient at exactly 0.
 * Measured on an EPYC (Zen 5), the gradients of OpenBLAS's Prescott,
 * Haswell and SkylakeX kernels differ by at most 31 u S_t in the first two
 * steps (same parameters) and 44 u S_t in the third (parameters already
 * apart): sigma_t = 512 u S_t is 12 times the worst.
 *
 * The parameters' own rounding: each run rounds p twice a step (the decay
 * product and the update), 0.5 ulp <= u |p| each: 4 u |p| for both runs;
 * and r's float32 arithmetic (a dozen operations, each within u of the
 * magnitudes it combines, |r| <= R_t) errs by a few u: ADAMW_STEP_ARITH_U
 * = 16 u of 2 lr for both runs. */
#ifndef ADAMW_ALLOWANCE_H
#define ADAMW_ALLOWANCE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"

enum { ADAMW_MAX_STEPS = 8, ADAMW_SUM_TERMS = 256, ADAMW_STEP_ARITH_U = 16 };
static const double ADAMW_U = 0x1p-24; /* float32 unit roundoff */
static const double ADAMW_BETA1 = 0.9, ADAMW_BETA2 = 0.999, ADAMW_EPS = 1e-8;

typedef struct adamw_trajectory {
    const float *grads; /* steps x n, before clipping, model layout */
    size_t n;
    int steps;
    double lr[ADAMW_MAX_STEPS];    /* the rates the steps used (floats) */
    double coef[ADAMW_MAX_STEPS];  /* the reference's clip coefficient */
    double sigma[ADAMW_MAX_STEPS]; /* the current elements' noise floor */
} adamw_trajectory;

/* torch's clip_grad_norm_ coefficient: max_norm / (norm + 1e-6), at most 1
 * (max_norm <= 0: no clipping). */
static double adamw_clip_coef(double norm, double max_norm)
{
    return max_norm > 0.0 ? fmin(1.0, max_norm / (norm + 1e-6)) : 1.0;
}

/* R_t = sqrt(sum_k a_k^2 / b_k): the largest |r| after t steps. */
static double adamw_ratio_max(int t)
{
    double bc1 = 1.0 - pow(ADAMW_BETA1, t), bc2 = 1.0 - pow(ADAMW_BETA2, t), sum = 0.0;
    for (int k = 1; k <= t; k++) {
        double a = (1.0 - ADAMW_BETA1) * pow(ADAMW_BETA1, t - k) / bc1;
        double b = (1.0 - ADAMW_BETA2) * pow(ADAMW_BETA2, t - k) / bc2;
        sum += a * a / b;
    }
    return sqrt(sum);
}

/* sigma_t for the elements [offset, offset + count) of the model layout,
 * which share one noise floor: 2 ADAMW_SUM_TERMS u S_t (see above). */
static void adamw_set_noise_floor(adamw_trajectory *tr, size_t offset, size_t count)
{
    for (int s = 0; s < tr->steps; s++) {
        const float *g = tr->grads + (size_t)s * tr->n + offset;
        double top = 0.0;
        for (size_t j = 0; j < count; j++) top = fmax(top, fabs((double)g[j]));
        tr->sigma[s] = 2.0 * ADAMW_SUM_TERMS * ADAMW_U * tr->coef[s] * top;
    }
}

/* Elements of tensor t that share a noise floor: a row of a lookup table
 * (the embeddings), else the whole tensor. */
static size_t adamw_noise_span(const model_tensor *t)
{
    return t->layer == -1 && t->ndim == 2 ? (size_t)t->shape[1] : t->numel;
}

/* The largest |delta - delta_ref| the steps allow element i (model layout):
 * sum_t lr_t min(shift, flip), or the flip alone where the gradient is only
 * noise (noise_only); plus the rounding of p (largest magnitude p_abs). */
static double adamw_update_allowance(const adamw_trajectory *tr, size_t i, bool noise_only,
                                     double p_abs)
{
    const double b1 = ADAMW_BETA1, b2 = ADAMW_BETA2;
    double m = 0.0, v = 0.0, em = 0.0, ev = 0.0, allowed = 0.0;
    for (int s = 0; s < tr->steps; s++) {
        double g = tr->coef[s] * tr->grads[(size_t)s * tr->n + i], sg = tr->sigma[s];
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        em = b1 * em + (1.0 - b1) * sg;
        ev = b2 * ev + (1.0 - b2) * sg * sg;
        double bc1 = 1.0 - pow(b1, s + 1), bc2 = 1.0 - pow(b2, s + 1);
        double root = sqrt(v / bc2), es = sqrt(ev / bc2);
        double r = fabs(m / bc1) / (root + ADAMW_EPS);
        double flip = r + adamw_ratio_max(s + 1);
        double shift = (em / bc1 + r * es) / (root - es + ADAMW_EPS);
        bool at_floor = noise_only || root < es;
        allowed += tr->lr[s] * (at_floor ? flip : fmin(shift, flip));
        allowed += ADAMW_U * (2.0 * 2.0 * p_abs + ADAMW_STEP_ARITH_U * 2.0 * tr->lr[s]);
    }
    return allowed;
}

#endif
