/* The decoder LLMs (src/model/llama.c, src/hf/hf_llm.c) against
 * transformers: for each folder of tests/fixtures/llm/ (written by
 * tests/reference/make_llm_fixtures.py from LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM and Phi3ForCausalLM), loaded through
 * hf_model_load as users load a folder: logits, the masked causal-LM loss
 * and every gradient of a padded batch with masked prompts, then the
 * parameters after 3 AdamW steps (gradient accumulation 2, clipping 1.0,
 * linear warm-up). Then hostile configs, and a back end without the
 * decoder operations.
 *
 * Tolerances:
 *  - logits and loss: 1e-5 relative to the tensor's largest magnitude. Both
 *    sides compute the same float32 operations; they differ in summation
 *    order only (sgemm blocking against PyTorch's, attention's dot products
 *    of D = 16 or 32 terms, RMSNorm's sums of 64): each sum of n terms errs
 *    by at most n u sum|terms| (u = 2^-24 = 6e-8), about 4e-6 for the
 *    widest (C = 128 terms of the MLP) in the worst case and ~sqrt(n) u in
 *    practice; two layers add a few such errors: 1e-5 leaves room without
 *    hiding a wrong mask, scale or rotation (each of those moves the logits
 *    by 1e-2 or more).
 *  - gradients: 1e-4 of each tensor's largest. Backward sums over the
 *    N = 48 token rows and the vocabulary (V = 256) besides, and RMSNorm's
 *    gradient subtracts two nearly equal terms, which loses a few bits
 *    relative to the tensor's largest element: 10 times the forward bound.
 *  - trained parameters: per element, the AdamW allowance of
 *    adamw_allowance.h (AdamW divides by sqrt(v), so a gradient at the
 *    noise floor may become a step of up to lr either way), with ftune's
 *    own per-step gradients.
 *  - bf16 (model_set_bf16) against reference_bf16.safetensors, transformers'
 *    classes with the blocks' nn.Linear products patched to bf16 operands
 *    and float32 sums (make_llm_fixtures.py), test_model.c's derivation:
 *    both sides round the same operands the same way, so the products
 *    agree up to float32 summation order, but an operand that lands within
 *    float32's noise (RMSNorm, attention, SiLU computed in another order)
 *    of a bf16 rounding midpoint rounds the other way: one bf16 step,
 *    2^-8 relative, on that element. These models are small (C = 64) and
 *    the final RMSNorm rescales the residual stream, so one flip moves its
 *    token's logits by up to ~1e-3 of the largest: rounding every operand
 *    of transformers' own run after moving it by +-1 float32 ulp gave
 *    logits 7.6e-4 (mistral), 2.4e-4 (phi3), 0 (the others), loss 3e-6,
 *    gradients 3.9e-3. So: every token's logits within TOL_LOGITS_BF16 =
 *    2e-3 (2^-9, half a bf16 step) and all but BF16_FLIP_TOKENS of the 48
 *    tokens within float32's TOL_LOGITS (a wrong product moves them all);
 *    loss 1e-4; gradients (every output gradient rounded too, 7 products
 *    x 2 blocks, RMSNorm's gradient cancelling) TOL_GRAD_BF16 = 1e-2 of
 *    each tensor's largest. A bf16 run must also differ from the float32
 *    reference by more than BF16_MIN_SHIFT (bf16 really ran).
 *  - packed rows (check_packing): the same tolerances against the examples
 *    run as rows of their own (its comment says why).
 *  - gradient checkpointing: logits, loss and every gradient BIT-IDENTICAL
 *    to the run without it (the same operations in the same order), in
 *    float32 and bf16, all blocks trainable and frozen below 1.
 * Every check prints the worst offender. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adamw_allowance.h"
#include "check.h"
#include "core/ft_fs.h"
#include "hf/hf_llm.h"
#include "hf/hf_model.h"
#include "llama_impl.h"
#include "model/model.h"
#include "model_fixture.h"
#include "ops/ops_backend.h"
#include "optim/optim.h"

/* make_llm_fixtures.py's constants */
enum { B = 3, T = 16, MICRO = 6, GRAD_ACCUM = 2, STEPS = 3, WARMUP = 2, TOTAL = 5 };
static const float LR = 1e-3f, WEIGHT_DECAY = 0.01f, MAX_GRAD_NORM = 1.0f;
static const double TOL_LOGITS = 1e-5, TOL_GRAD = 1e-4;
static const double TOL_LOGITS_BF16 = 2e-3, TOL_LOSS_BF16 = 1e-4, TOL_GRAD_BF16 = 1e-2,
                    BF16_MIN_SHIFT = 1e-4;
enum { BF16_FLIP_TOKENS = 6 };

typedef struct batches {
    int32_t *ids, *lengths, *labels; /* [MICRO*B*T], [MICRO*B], [MICRO*B*T] */
} batches;

static void load_batches(batches *bt, const char *dir)
{
    fixture fx;
    size_t n = 0;
    CHECK(fixture_open(&fx, dir, "batch.safetensors"));
    bt->ids = fixture_get(&fx, "input_ids", &n, NULL);
    CHECK(n == (size_t)MICRO * B * T);
    bt->lengths = fixture_get(&fx, "lengths", &n, NULL);
    CHECK(n == (size_t)MICRO * B);
    bt->labels = fixture_get(&fx, "labels", &n, NULL);
    CHECK(n == (size_t)MICRO * B * T);
    fixture_close(&fx);
}

static void free_batches(batches *bt)
{
    free(bt->ids);
    free(bt->lengths);
    free(bt->labels);
}

static model_batch micro(const batches *bt, int k)
{
    size_t rows = (size_t)k * B;
    model_batch x = {B, T, bt->ids + rows * T, bt->lengths + rows, bt->labels + rows * T, NULL};
    return x;
}

/* The folder through the loading path users get (hf_model_load). */
static model *load(const char *dir)
{
    hf_config cfg;
    model *m = NULL;
    ft_error err = {0};
    ft_status st = hf_model_load(dir, NULL, &m, &cfg, &err);
    CHECK_MSG(st == FT_OK, "%s: %s", dir, err.msg);
    hf_config_free(&cfg);
    if (m) CHECK(model_plan(m, B, T, &err) == FT_OK);
    return m;
}

/* ---- logits, loss, gradients ------------------------------------------------------- */

/* bf16: the logits must have moved from float32's reference. */
static double bf16_shift(const char *dir, const float *logits, size_t nl)
{
    fixture ref32;
    size_t n = 0;
    CHECK(fixture_open(&ref32, dir, "reference.safetensors"));
    float *logits32 = fixture_get(&ref32, "logits", &n, NULL);
    double shift = n == nl ? rel_error(logits, logits32, nl) : 0.0;
    free(logits32);
    fixture_close(&ref32);
    return shift;
}

/* Tokens whose logits [V] differ from the reference's by more than tol of
 * the reference's largest magnitude. */
static int tokens_beyond(const float *logits, const float *ref, size_t tokens, size_t V, double tol)
{
    double top = 0.0;
    for (size_t i = 0; i < tokens * V; i++) top = fmax(top, fabs((double)ref[i]));
    int count = 0;
    for (size_t k = 0; k < tokens; k++) {
        bool beyond = false;
        for (size_t v = 0; v < V; v++)
            beyond |= fabs((double)logits[k * V + v] - ref[k * V + v]) > tol * top;
        count += beyond;
    }
    return count;
}

static void check_gradients(const char *name, const char *dir, bool bf16)
{
    model *m = load(dir);
    if (!m) return;
    ft_error err0 = {0};
    CHECK_MSG(model_set_bf16(m, bf16, &err0) == FT_OK, "%s: %s", name, err0.msg);
    double tol_logits = bf16 ? TOL_LOGITS_BF16 : TOL_LOGITS;
    double tol_loss = bf16 ? TOL_LOSS_BF16 : TOL_LOGITS;
    double tol_grad = bf16 ? TOL_GRAD_BF16 : TOL_GRAD;
    batches bt;
    load_batches(&bt, dir);
    fixture ref;
    CHECK(fixture_open(&ref, dir, bf16 ? "reference_bf16.safetensors" : "reference.safetensors"));
    size_t n = 0;
    float *ref_logits = fixture_get(&ref, "logits", &n, NULL);
    float *ref_loss = fixture_get(&ref, "loss", &n, NULL);
    model_batch x = micro(&bt, 0);
    model_dropout off = {false, 0, 0};
    double loss = 0.0;
    ft_error err = {0};
    CHECK(model_forward(m, &x, &off, &loss, &err) == FT_OK);
    size_t nl = (size_t)B * T * model_get_config(m)->vocab_size;
    double e_logits = rel_error(model_logits(m), ref_logits, nl);
    double e_loss = fabs(loss - ref_loss[0]) / fabs(ref_loss[0]);
    double shift = bf16 ? bf16_shift(dir, model_logits(m), nl) : 1.0;
    size_t V = (size_t)model_get_config(m)->vocab_size;
    int off_tokens = tokens_beyond(model_logits(m), ref_logits, (size_t)B * T, V, TOL_LOGITS);
    model_zero_grads(m);
    model_backward(m, 1.0f);
    double worst = 0.0;
    const char *worst_name = "";
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        char key[160];
        snprintf(key, sizeof key, "grad.%s", t->name);
        float *g = fixture_get(&ref, key, &n, NULL);
        CHECK_MSG(g && n == t->numel, "%s: %s missing or misshapen", name, key);
        if (!g || n != t->numel) {
            free(g);
            continue;
        }
        double e = rel_error(model_grads(m) + t->offset, g, n);
        if (e > worst || e != e) worst = e, worst_name = t->name;
        free(g);
    }
    fprintf(stderr, "%s%s: logits rel err %.3g, loss %.9g rel err %.3g, worst gradient %s %.3g",
            name, bf16 ? " bf16" : "", e_logits, loss, e_loss, worst_name, worst);
    if (bf16)
        fprintf(stderr,
                "; %d of %d tokens' logits beyond %.0e; logits moved %.3g from "
                "float32's",
                off_tokens, B * T, TOL_LOGITS, shift);
    fprintf(stderr, "\n");
    CHECK_MSG(e_logits <= tol_logits, "%s: logits rel err %.3g", name, e_logits);
    CHECK_MSG(e_loss <= tol_loss, "%s: loss rel err %.3g", name, e_loss);
    CHECK_MSG(off_tokens <= (bf16 ? BF16_FLIP_TOKENS : 0), "%s: %d tokens' logits beyond %.0e",
              name, off_tokens, TOL_LOGITS);
    CHECK_MSG(worst <= tol_grad, "%s: gradient of %s rel err %.3g", name, worst_name, worst);
    CHECK_MSG(shift > BF16_MIN_SHIFT, "%s: bf16 logits within %.3g of float32", name, shift);
    free(ref_logits);
    free(ref_loss);
    fixture_close(&ref);
    free_batches(&bt);
    model_free(m);
}

/* Blocks below 1 frozen: the trainable tensors' gradients are the full
 * model's (the reference's), the frozen ones stay 0; an inference plan
 * gives the training plan's logits. */
static void check_frozen_and_inference(const char *name, const char *dir)
{
    model *m = load(dir);
    if (!m) return;
    batches bt;
    load_batches(&bt, dir);
    fixture ref;
    CHECK(fixture_open(&ref, dir, "reference.safetensors"));
    model_batch x = micro(&bt, 0);
    model_dropout off = {false, 0, 0};
    ft_error err = {0};
    model_freeze_below(m, 1);
    model_zero_grads(m); /* the frozen ones were never written: 0 since creation */
    CHECK(model_forward(m, &x, &off, NULL, &err) == FT_OK);
    model_backward(m, 1.0f);
    double worst = 0.0, frozen_abs = 0.0;
    size_t n = 0, nl = (size_t)B * T * model_get_config(m)->vocab_size;
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        const float *g = model_grads(m) + t->offset;
        if (!model_tensor_trainable(m, t)) {
            for (size_t j = 0; j < t->numel; j++) frozen_abs = fmax(frozen_abs, fabs(g[j]));
            continue;
        }
        char key[160];
        snprintf(key, sizeof key, "grad.%s", t->name);
        float *r = fixture_get(&ref, key, &n, NULL);
        if (r && n == t->numel) worst = fmax(worst, rel_error(g, r, n));
        free(r);
    }
    float *logits = malloc(nl * sizeof(float));
    memcpy(logits, model_logits(m), nl * sizeof(float));
    CHECK(model_plan_inference(m, B, T, &err) == FT_OK);
    CHECK(model_forward(m, &x, &off, NULL, &err) == FT_OK);
    double e_inf = rel_error(model_logits(m), logits, nl);
    fprintf(stderr,
            "%s frozen below 1: worst gradient %.3g, frozen gradients %.3g; inference "
            "plan logits %.3g\n",
            name, worst, frozen_abs, e_inf);
    CHECK_MSG(worst <= TOL_GRAD, "%s frozen: gradient rel err %.3g", name, worst);
    CHECK(frozen_abs == 0.0);
    CHECK(e_inf == 0.0);
    free(logits);
    fixture_close(&ref);
    free_batches(&bt);
    model_free(m);
}

/* ---- packed rows ---------------------------------------------------------------------- */

/* Examples A and B (fixture rows 0 and 1, cut to LA and LB tokens, first
 * labels -100 as ftune-shard writes them) packed into one row of PACK_T
 * tokens (padding after them: segment 0, position 0) against the two as
 * rows of their own, padded to PACK_T. Every token's logits within
 * TOL_LOGITS of the tensor's largest, the loss (the same mean over the same
 * counted tokens, so the same sum) within TOL_PACK_LOSS relative, every
 * gradient within TOL_GRAD of each tensor's largest: the attention visits
 * the same keys in the same order (ops.h), so they differ only where the
 * sgemm blocks the N = PACK_T against 2 PACK_T rows differently and where
 * backward sums the weight gradients over rows in another order (the
 * file's bounds above). The same packed row WITHOUT its position and
 * segment ids must differ (B would see A): more than 1e-3 of the largest
 * logit. And the reference: the fixture's logits are transformers' for
 * rows 0 and 1 (lengths 16 and 11) run apart, which by causality are also
 * theirs for the first LA and LB tokens alone, what a packed row must give
 * by definition: the packed logits within TOL_LOGITS of them. (transformers
 * packs by position_ids with flash-attention only; its eager and sdpa
 * LlamaForCausalLM on this packed row with position_ids attend across the
 * row: 0.73 of the largest logit off, transformers 5.25.) Worst
 * differences printed. With gradient checkpointing: bit-identical. */
enum { LA = 9, LB = 7, PACK_T = 20 };
static const double TOL_PACK_LOSS = 1e-6;

static void pack_example(const batches *bt, int row, int len, int32_t *ids, int32_t *labels)
{
    memcpy(ids, bt->ids + (size_t)row * T, (size_t)len * sizeof *ids);
    for (int j = 0; j < len; j++) labels[j] = j ? bt->ids[(size_t)row * T + j] : OPS_IGNORE_INDEX;
}

/* Forward and backward of x (packing or NULL): loss, logits and gradients
 * copied out (the caller frees them). */
static double run_packed(model *m, const model_batch *x, const model_packing *pk, float **logits,
                         float **grads)
{
    model_dropout off = {false, 0, 0};
    ft_error err = {0};
    double loss = 0.0;
    size_t nl = (size_t)x->b * x->t * model_get_config(m)->vocab_size, np = model_param_count(m);
    CHECK_MSG(model_forward_packed(m, x, pk, &off, &loss, &err) == FT_OK, "%s", err.msg);
    *logits = malloc(nl * sizeof(float));
    *grads = malloc(np * sizeof(float));
    if (!*logits || !*grads) return loss;
    memcpy(*logits, model_logits(m), nl * sizeof(float));
    model_zero_grads(m);
    model_backward(m, 1.0f);
    memcpy(*grads, model_grads(m), np * sizeof(float));
    return loss;
}

/* Worst |a - b| over n floats relative to b's largest. */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double top = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) top = fmax(top, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)a[i] - b[i]));
    return top > 0.0 ? worst / top : worst;
}

/* The packed logits against transformers' rows 0 and 1 of micro-batch 0. */
static void check_packing_reference(const char *name, const char *dir, const float *packed,
                                    size_t V)
{
    fixture ref;
    size_t n = 0;
    CHECK(fixture_open(&ref, dir, "reference.safetensors"));
    float *logits = fixture_get(&ref, "logits", &n, NULL);
    fixture_close(&ref);
    if (!logits || n != (size_t)B * T * V) {
        CHECK_MSG(false, "%s: reference logits", name);
        free(logits);
        return;
    }
    double top = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) top = fmax(top, fabs((double)logits[i]));
    for (size_t i = 0; i < LA * V; i++) worst = fmax(worst, fabs((double)packed[i] - logits[i]));
    for (size_t i = 0; i < LB * V; i++)
        worst = fmax(worst, fabs((double)packed[LA * V + i] - logits[(size_t)T * V + i]));
    CHECK_MSG(worst <= TOL_LOGITS * top, "%s packed: %.3g of the largest from transformers'", name,
              worst / top);
    fprintf(stderr, "%s packed: logits within %.3g of transformers' (examples apart)\n", name,
            worst / top);
    free(logits);
}

static void check_packing_logits(const char *name, const float *packed, const float *sep,
                                 const float *unmasked, size_t V)
{
    double worst = 0.0, moved = 0.0;
    /* A: packed tokens 0..LA-1 = row 0's; B: packed LA.. = row 1's 0..LB-1 */
    worst = fmax(worst, rel_diff(packed, sep, LA * V));
    worst = fmax(worst, rel_diff(packed + LA * V, sep + (size_t)PACK_T * V, LB * V));
    moved = rel_diff(unmasked + LA * V, sep + (size_t)PACK_T * V, LB * V);
    CHECK_MSG(worst <= TOL_LOGITS, "%s packed: logits differ by %.3g of the largest", name, worst);
    CHECK_MSG(moved > 1e-3, "%s packed: without segment ids B moved only %.3g", name, moved);
    fprintf(stderr, "%s packed: logits within %.3g (B without packing ids: %.3g)\n", name, worst,
            moved);
}

static void check_packing(const char *name, const char *dir)
{
    batches bt;
    load_batches(&bt, dir);
    model *m = load(dir);
    ft_error err = {0};
    if (!m || model_plan(m, 2, PACK_T, &err) != FT_OK) {
        CHECK_MSG(false, "%s: %s", name, err.msg);
        model_free(m), free_batches(&bt);
        return;
    }
    int32_t ids[2 * PACK_T] = {0}, labels[2 * PACK_T], pos[PACK_T] = {0}, seg[PACK_T] = {0};
    int32_t pids[PACK_T] = {0}, plabels[PACK_T], len_sep[2] = {LA, LB}, len_pack[1] = {LA + LB};
    for (int j = 0; j < 2 * PACK_T; j++) labels[j] = OPS_IGNORE_INDEX;
    for (int j = 0; j < PACK_T; j++) plabels[j] = OPS_IGNORE_INDEX;
    pack_example(&bt, 0, LA, ids, labels);
    pack_example(&bt, 1, LB, ids + PACK_T, labels + PACK_T);
    pack_example(&bt, 0, LA, pids, plabels);
    pack_example(&bt, 1, LB, pids + LA, plabels + LA);
    for (int j = 0; j < LA + LB; j++) pos[j] = j < LA ? j : j - LA, seg[j] = j < LA ? 1 : 2;
    model_batch sep = {2, PACK_T, ids, len_sep, labels, NULL};
    model_batch packed = {1, PACK_T, pids, len_pack, plabels, NULL};
    model_packing pk = {pos, seg};
    float *l_sep = NULL, *g_sep = NULL, *l_pack = NULL, *g_pack = NULL, *l_un = NULL, *g_un = NULL;
    double loss_sep = run_packed(m, &sep, NULL, &l_sep, &g_sep);
    double loss_pack = run_packed(m, &packed, &pk, &l_pack, &g_pack);
    run_packed(m, &packed, NULL, &l_un, &g_un);
    size_t V = (size_t)model_get_config(m)->vocab_size;
    if (l_sep && l_pack && l_un && g_sep && g_pack) {
        check_packing_logits(name, l_pack, l_sep, l_un, V);
        check_packing_reference(name, dir, l_pack, V);
        double dl = fabs(loss_pack - loss_sep) / fabs(loss_sep), worst = 0.0;
        CHECK_MSG(dl <= TOL_PACK_LOSS, "%s packed: loss %.9g, separate %.9g", name, loss_pack,
                  loss_sep);
        const char *worst_name = "";
        for (int i = 0; i < model_tensor_count(m); i++) {
            const model_tensor *t = model_tensor_at(m, i);
            double d = rel_diff(g_pack + t->offset, g_sep + t->offset, t->numel);
            if (d > worst) worst = d, worst_name = t->name;
        }
        CHECK_MSG(worst <= TOL_GRAD, "%s packed: gradient %s differs by %.3g", name, worst_name,
                  worst);
        fprintf(stderr, "%s packed: loss %.9g vs %.9g (rel %.3g), gradients within %.3g (%s)\n",
                name, loss_pack, loss_sep, dl, worst, worst_name);
    }
    /* gradient checkpointing recomputes the blocks with the same segments */
    float *l_ck = NULL, *g_ck = NULL;
    CHECK(model_set_gradient_checkpointing(m, true, &err) == FT_OK);
    double loss_ck = run_packed(m, &packed, &pk, &l_ck, &g_ck);
    CHECK_MSG(loss_ck == loss_pack && l_ck && g_ck && g_pack && l_pack &&
                  !memcmp(l_ck, l_pack, (size_t)PACK_T * V * sizeof(float)) &&
                  !memcmp(g_ck, g_pack, model_param_count(m) * sizeof(float)),
              "%s packed: gradient checkpointing changed the results", name);
    free(l_ck), free(g_ck);
    pos[0] = -1;
    double loss = 0.0;
    model_dropout off = {false, 0, 0};
    CHECK(model_forward_packed(m, &packed, &pk, &off, &loss, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "position id -1");
    free(l_sep), free(g_sep), free(l_pack), free(g_pack), free(l_un), free(g_un);
    model_free(m);
    free_batches(&bt);
}

/* ---- gradient checkpointing ------------------------------------------------------------ */

/* One forward and backward of micro-batch k: the loss, a copy of the logits
 * and of the gradient buffer (the caller frees them). */
static double run_once(model *m, const batches *bt, int k, float **logits, float **grads)
{
    model_batch x = micro(bt, k);
    model_dropout off = {false, 0, 0};
    ft_error err = {0};
    double loss = 0.0;
    size_t nl = (size_t)B * T * model_get_config(m)->vocab_size, np = model_param_count(m);
    CHECK_MSG(model_forward(m, &x, &off, &loss, &err) == FT_OK, "%s", err.msg);
    *logits = malloc(nl * sizeof(float));
    *grads = malloc(np * sizeof(float));
    if (!*logits || !*grads) return loss;
    memcpy(*logits, model_logits(m), nl * sizeof(float));
    model_zero_grads(m);
    model_backward(m, 1.0f);
    memcpy(*grads, model_grads(m), np * sizeof(float));
    return loss;
}

/* Checkpointed against not, on one model toggled between the two (the
 * same weights, the same bf16 mirror): logits, loss and gradients bit for
 * bit, on two micro-batches in a row (the second reruns blocks the first
 * backward left in the shared set). */
static void check_checkpointing(const char *name, const char *dir, bool bf16, int frozen_below)
{
    model *m = load(dir);
    if (!m) return;
    batches bt;
    load_batches(&bt, dir);
    ft_error err = {0};
    CHECK(model_set_bf16(m, bf16, &err) == FT_OK);
    model_freeze_below(m, frozen_below);
    size_t nl = (size_t)B * T * model_get_config(m)->vocab_size, np = model_param_count(m);
    size_t plain_floats = m->llm->act_floats;
    long differ = 0;
    size_t ckpt_floats = 0;
    for (int k = 0; k < 2; k++) {
        float *l0 = NULL, *g0 = NULL, *l1 = NULL, *g1 = NULL;
        CHECK(model_set_gradient_checkpointing(m, false, &err) == FT_OK);
        double loss0 = run_once(m, &bt, k, &l0, &g0);
        CHECK(model_set_gradient_checkpointing(m, true, &err) == FT_OK);
        ckpt_floats = m->llm->act_floats;
        double loss1 = run_once(m, &bt, k, &l1, &g1);
        if (l0 && l1 && g0 && g1) {
            differ += loss0 != loss1;
            differ += memcmp(l0, l1, nl * sizeof(float)) != 0;
            for (size_t i = 0; i < np; i++) differ += memcmp(&g0[i], &g1[i], sizeof(float)) != 0;
        }
        free(l0), free(g0), free(l1), free(g1);
    }
    fprintf(stderr,
            "%s%s checkpointed (frozen below %d): %ld values differ from the plain "
            "run's (of %zu gradients, 2 batches); activations %zu -> %zu floats\n",
            name, bf16 ? " bf16" : "", frozen_below, differ, np, plain_floats, ckpt_floats);
    CHECK_MSG(differ == 0, "%s: checkpointed gradients differ in %ld values", name, differ);
    CHECK(ckpt_floats < plain_floats);
    CHECK(llama_plan_floats(model_get_config(m), B, T, false, true, bf16) == ckpt_floats);
    CHECK(llama_plan_floats(model_get_config(m), B, T, false, false, bf16) == plain_floats);
    free_batches(&bt);
    model_free(m);
}

/* The activation plan of a Qwen2.5-0.5B-shaped model (its config.json's
 * shape) for 4 x 512 tokens, with and without checkpointing, from the plan
 * sizes alone (the model is not made). */
static void check_checkpointing_memory(void)
{
    static const char *const qwen05 =
        "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", "
        "\"vocab_size\": 151936, \"hidden_size\": 896, \"intermediate_size\": 4864, "
        "\"num_hidden_layers\": 24, \"num_attention_heads\": 14, \"num_key_value_heads\": 2, "
        "\"max_position_embeddings\": 32768, \"rope_theta\": 1000000.0, \"rms_norm_eps\": 1e-6, "
        "\"tie_word_embeddings\": true, \"use_sliding_window\": false, "
        "\"sliding_window\": 32768, \"max_window_layers\": 21}";
    model_config c;
    ft_error err = {0};
    ft_status st = hf_llm_config_parse(qwen05, strlen(qwen05), "config.json", &c, &err);
    CHECK_MSG(st == FT_OK, "Qwen2.5-0.5B config: %s", err.msg);
    if (st != FT_OK) return;
    for (int bf16 = 0; bf16 < 2; bf16++) {
        double plain = 4.0 * (double)llama_plan_floats(&c, 4, 512, false, false, bf16);
        double ckpt = 4.0 * (double)llama_plan_floats(&c, 4, 512, false, true, bf16);
        double gib = 1024.0 * 1024.0 * 1024.0;
        fprintf(stderr,
                "Qwen2.5-0.5B shape (24 x 896, 14/2 heads, I 4864, V 151936), 4 x 512 "
                "tokens%s: activation plan %.0f bytes (%.2f GiB) -> %.0f bytes (%.2f GiB) "
                "with gradient_checkpointing: %.2f GiB saved (%.1f%%)\n",
                bf16 ? ", bf16" : "", plain, plain / gib, ckpt, ckpt / gib, (plain - ckpt) / gib,
                100.0 * (plain - ckpt) / plain);
        CHECK(ckpt < plain);
    }
}

/* ---- 3 AdamW steps ------------------------------------------------------------------- */

static void train_steps(model *m, const batches *bt, double lrs[STEPS], double norms[STEPS],
                        float *grads)
{
    optim_hparams h = optim_default_hparams(LR);
    h.weight_decay = WEIGHT_DECAY;
    optim *o = NULL;
    ft_error err = {0};
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

/* The largest err / allowance over tensor t's elements (delta = trained -
 * initial against transformers' delta). */
static double tensor_updates(model *m, const model_tensor *t, adamw_trajectory *tr,
                             const float *initial, const float *ref, size_t *at)
{
    double ratio = 0.0;
    size_t span = adamw_noise_span(t);
    const float *p = model_params_read(m);
    for (size_t j = 0; j < t->numel; j++) {
        size_t i = t->offset + j;
        if (j % span == 0) adamw_set_noise_floor(tr, i, span);
        double p0 = initial[i], err = fabs((double)p[i] - ref[j]);
        double allowed = adamw_update_allowance(tr, i, false, fmax(fabs(p0), fabs(ref[j])));
        if (err > ratio * allowed || err != err) ratio = err / allowed, *at = j;
    }
    return ratio;
}

static void check_training(const char *name, const char *dir)
{
    model *m = load(dir);
    if (!m) return;
    size_t np = model_param_count(m);
    float *initial = malloc(np * sizeof(float)), *grads = malloc(STEPS * np * sizeof(float));
    memcpy(initial, model_params_read(m), np * sizeof(float));
    batches bt;
    load_batches(&bt, dir);
    double lrs[STEPS], norms[STEPS];
    train_steps(m, &bt, lrs, norms, grads);
    fixture ref;
    CHECK(fixture_open(&ref, dir, "trained.safetensors"));
    size_t n = 0;
    float *ref_lr = fixture_get(&ref, "lr", &n, NULL);
    float *ref_norm = fixture_get(&ref, "grad_norm", &n, NULL);
    adamw_trajectory tr = {grads, np, STEPS, {0}, {0}, {0}};
    for (int s = 0; s < STEPS; s++) {
        CHECK_CLOSE(lrs[s], ref_lr[s], 1e-6);
        /* the norm sums every gradient: within the gradients' tolerance */
        CHECK_MSG(fabs(norms[s] - ref_norm[s]) <= TOL_GRAD * ref_norm[s],
                  "%s: step %d grad norm %.9g vs %.9g", name, s, norms[s], ref_norm[s]);
        tr.lr[s] = (float)lrs[s];
        tr.coef[s] = adamw_clip_coef(ref_norm[s], MAX_GRAD_NORM);
    }
    double worst = 0.0;
    size_t worst_at = 0;
    const char *worst_name = "";
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        float *r = fixture_get(&ref, t->name, &n, NULL);
        CHECK_MSG(r && n == t->numel, "%s: trained %s missing or misshapen", name, t->name);
        size_t at = 0;
        double ratio = r && n == t->numel ? tensor_updates(m, t, &tr, initial, r, &at) : 0.0;
        if (ratio > worst || ratio != ratio) worst = ratio, worst_at = at, worst_name = t->name;
        free(r);
    }
    fprintf(stderr,
            "%s: grad norms %.6g %.6g %.6g; worst update %s[%zu] at %.3g of its "
            "allowance\n",
            name, norms[0], norms[1], norms[2], worst_name, worst_at, worst);
    CHECK_MSG(worst <= 1.0, "%s: %s[%zu] update off by %.3g of its allowance", name, worst_name,
              worst_at, worst);
    free(ref_lr);
    free(ref_norm);
    fixture_close(&ref);
    free_batches(&bt);
    free(grads);
    free(initial);
    model_free(m);
}

/* ---- hostile configs ------------------------------------------------------------------- */

static const char *const BASE =
    "{\"architectures\": [\"%s\"], \"model_type\": \"%s\", \"vocab_size\": 64, "
    "\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1, "
    "\"num_attention_heads\": 4, \"num_key_value_heads\": %d, \"max_position_embeddings\": "
    "64%s}";

static ft_status parse(const char *arch, const char *type, int kv, const char *extra,
                       model_config *c, ft_error *err)
{
    char text[1024];
    snprintf(text, sizeof text, BASE, arch, type, kv, extra);
    return hf_llm_config_parse(text, strlen(text), "config.json", c, err);
}

static void expect_refused(const char *arch, const char *type, int kv, const char *extra,
                           const char *needle)
{
    model_config c;
    ft_error err = {0};
    ft_status st = parse(arch, type, kv, extra, &c, &err);
    CHECK_MSG(st == FT_EINVAL, "%s%s accepted", type, extra);
    CHECK_STR_CONTAINS(err.msg, needle);
    fprintf(stderr, "refused: %s\n", err.msg);
}

static void check_hostile_configs(void)
{
    expect_refused("LlamaForCausalLM", "llama", 2,
                   ", \"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0}",
                   "'rope_scaling.rope_type' = \"yarn\"");
    expect_refused("LlamaForCausalLM", "llama", 2,
                   ", \"rope_parameters\": {\"rope_type\": \"dynamic\", \"rope_theta\": 1e4}",
                   "'rope_parameters.rope_type' = \"dynamic\"");
    expect_refused("Phi3ForCausalLM", "phi3", 2,
                   ", \"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1]}",
                   "\"longrope\"");
    expect_refused("LlamaForCausalLM", "llama", 3, "", "'num_key_value_heads' = 3 must divide");
    expect_refused("LlamaForCausalLM", "llama", 2, ", \"hidden_act\": \"gelu\"",
                   "'hidden_act' = \"gelu\"");
    expect_refused("LlamaForCausalLM", "llama", 2, ", \"mlp_bias\": true", "'mlp_bias'");
    expect_refused("LlamaForSequenceClassification", "llama", 2, "",
                   "'architectures' = [\"LlamaForSequenceClassification\", ...]");
    expect_refused("Qwen2ForCausalLM", "qwen2", 2, ", \"use_sliding_window\": true",
                   "'use_sliding_window'");
    expect_refused("MistralForCausalLM", "mistral", 2, ", \"attention_dropout\": 0.1",
                   "'attention_dropout'");
    expect_refused("Phi3ForCausalLM", "phi3", 2, ", \"partial_rotary_factor\": 0.5",
                   "'partial_rotary_factor'");
    expect_refused("LlamaForCausalLM", "llama", 2,
                   ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}",
                   "'rope_scaling.low_freq_factor'");
    expect_refused("LlamaForCausalLM", "llama", 2, ", \"head_dim\": 7", "'head_dim' = 7");
    expect_refused("Qwen2ForCausalLM", "qwen2", 2, ", \"layer_types\": [\"sliding_attention\"]",
                   "key 'layer_types'");
    /* Mistral's window shorter than the sequence: refused when planning. */
    model_config c;
    ft_error err = {0};
    CHECK(parse("MistralForCausalLM", "mistral", 2, ", \"sliding_window\": 8", &c, &err) == FT_OK);
    CHECK(c.llm.sliding_window == 8 && c.llm.kv_heads == 2 && c.llm.head_dim == 8);
    model *m = NULL;
    CHECK(model_create(&m, &c, &err) == FT_OK);
    CHECK(model_plan(m, 2, 8, &err) == FT_OK);
    CHECK(model_plan(m, 2, 16, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "'sliding_window' (8)");
    fprintf(stderr, "refused: %s\n", err.msg);
    model_free(m);
    /* "sliding_window": null is no window */
    CHECK(parse("MistralForCausalLM", "mistral", 4, ", \"sliding_window\": null", &c, &err) ==
          FT_OK);
    CHECK(c.llm.sliding_window == 0);
}

/* ---- hostile folders ------------------------------------------------------------------- */

static void put(const char *dir, const char *name, const char *text)
{
    char path[600];
    ft_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(ft_write_file_atomic(path, text, strlen(text), true, &err) == FT_OK);
}

/* hf_model_load(dir) fails with code and a message containing needle. */
static void expect_load_fails(const char *dir, ft_status code, const char *needle)
{
    hf_config cfg;
    model *m = NULL;
    ft_error err = {0};
    CHECK(hf_model_load(dir, NULL, &m, &cfg, &err) == code && m == NULL);
    CHECK_STR_CONTAINS(err.msg, needle);
    fprintf(stderr, "refused: %s\n", err.msg);
}

/* The llama fixture's weights under configs that disagree with them, and
 * an index naming a file outside the folder. */
static void check_hostile_folders(void)
{
    static const char *const SIZES =
        "{\"model_type\": \"%s\", \"vocab_size\": 256, \"hidden_size\": 64, "
        "\"intermediate_size\": %d, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
        "\"num_key_value_heads\": 2, \"max_position_embeddings\": 128}";
    char dir[] = "/tmp/ftune_llm_XXXXXX", weights[600], link_path[700], text[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(weights, sizeof weights, "%s/llm/llama/model.safetensors", FTUNE_FIXTURES);
    snprintf(link_path, sizeof link_path, "%s/model.safetensors", dir);
    snprintf(text, sizeof text, SIZES, "llama", 128);
    put(dir, "config.json", text);
    expect_load_fails(dir, FT_ENOTFOUND, "neither model.safetensors nor");
    hf_model_load_options scratch = {0, NULL, 3, true}; /* from scratch: allowed */
    hf_config cfg;
    model *m = NULL;
    ft_error err = {0};
    CHECK(hf_model_load(dir, &scratch, &m, &cfg, &err) == FT_OK && m != NULL);
    CHECK(m && model_get_config(m)->arch == MODEL_ARCH_LLAMA && model_tensor_count(m) == 21);
    model_free(m);
    hf_config_free(&cfg);
    put(dir, "model.safetensors.index.json",
        "{\"weight_map\": {\"model.embed_tokens.weight\": \"../evil.safetensors\"}}");
    expect_load_fails(dir, FT_EINVAL, "weight_map['model.embed_tokens.weight']");
    CHECK(symlink(weights, link_path) == 0);
    snprintf(text, sizeof text, SIZES, "qwen2", 128); /* Qwen2 wants q/k/v biases */
    put(dir, "config.json", text);
    expect_load_fails(dir, FT_ENOTFOUND, "'model.layers.0.self_attn.q_proj.bias' not found");
    snprintf(text, sizeof text, SIZES, "llama", 96);
    put(dir, "config.json", text);
    expect_load_fails(dir, FT_EINVAL, "'model.layers.0.mlp.gate_proj.weight' has shape [128, 64]");
    CHECK(ft_remove_tree(dir, &err) == FT_OK);
}

/* model_init_random as transformers initialises: Linear and Embedding
 * weights normal(0, initializer_range), norms 1, biases 0, the padding
 * row 0; then a forward pass of the random model gives a loss near log(V)
 * (within 0.5: 4 counted tokens of random logits). */
static void check_init_random(void)
{
    model_config c;
    ft_error err = {0};
    CHECK(parse("Qwen2ForCausalLM", "qwen2", 2, ", \"pad_token_id\": 3", &c, &err) == FT_OK);
    model *m = NULL;
    CHECK(model_create(&m, &c, &err) == FT_OK);
    model_init_random(m, 7);
    const float *p = model_params_read(m);
    for (int i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        double sum2 = 0.0, lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < t->numel; j++) {
            sum2 += (double)p[t->offset + j] * p[t->offset + j];
            lo = fmin(lo, p[t->offset + j]), hi = fmax(hi, p[t->offset + j]);
        }
        if (strstr(t->name, "norm"))
            CHECK_MSG(lo == 1.0 && hi == 1.0, "%s not 1", t->name);
        else if (strstr(t->name, "bias"))
            CHECK_MSG(lo == 0.0 && hi == 0.0, "%s not 0", t->name);
        else
            CHECK_MSG(fabs(sqrt(sum2 / (double)t->numel) - 0.02) < 0.004, "%s: rms %.4g", t->name,
                      sqrt(sum2 / (double)t->numel));
    }
    const model_tensor *e = model_find_tensor(m, "model.embed_tokens.weight");
    for (int j = 0; j < c.hidden; j++) CHECK(p[e->offset + 3 * (size_t)c.hidden + j] == 0.0f);
    int32_t ids[8] = {5, 6, 7, 8, 9, 10, 3, 3}, len[1] = {6};
    int32_t labels[8] = {-100, -100, 7, 8, 9, 10, -100, -100};
    model_batch x = {1, 8, ids, len, labels, NULL};
    model_dropout off = {false, 0, 0};
    double loss = 0.0;
    CHECK(model_plan(m, 1, 8, &err) == FT_OK);
    CHECK(model_forward(m, &x, &off, &loss, &err) == FT_OK);
    CHECK_MSG(fabs(loss - log(64.0)) < 0.5, "random model's loss %.4g, log V %.4g", loss,
              log(64.0));
    labels[2] = 64; /* outside the vocabulary */
    CHECK(model_forward(m, &x, &off, &loss, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "label 64 is neither -100 nor in [0, 64)");
    model_free(m);
}

/* What the decoders refuse: fp16; and gradient checkpointing is theirs
 * only (a BERT classifier refuses it). Switching either off is no error. */
static void check_precision_refusals(void)
{
    model_config c;
    ft_error err = {0};
    CHECK(parse("LlamaForCausalLM", "llama", 2, "", &c, &err) == FT_OK);
    model *m = NULL;
    CHECK(model_create(&m, &c, &err) == FT_OK);
    if (m) {
        CHECK(model_set_fp16(m, true, &err) == FT_EINVAL);
        CHECK_STR_CONTAINS(err.msg, "fp16 is not available for the decoder LLMs");
        fprintf(stderr, "refused: %s\n", err.msg);
        CHECK(model_set_gradient_checkpointing(m, true, &err) == FT_OK);
        CHECK(model_set_gradient_checkpointing(m, false, &err) == FT_OK);
        model_free(m);
    }
    model_config bert = {0};
    bert.arch = MODEL_ARCH_BERT;
    bert.vocab_size = 50, bert.max_positions = 16, bert.type_vocab_size = 2;
    bert.hidden = 16, bert.layers = 1, bert.heads = 2, bert.intermediate = 32;
    bert.num_labels = 2, bert.layer_norm_eps = 1e-12f, bert.initializer_range = 0.02f;
    bert.gelu = OPS_GELU_ERF;
    m = NULL;
    CHECK(model_create(&m, &bert, &err) == FT_OK);
    if (!m) return;
    CHECK(model_set_gradient_checkpointing(m, false, &err) == FT_OK);
    CHECK(model_set_gradient_checkpointing(m, true, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "decoder LLMs only");
    fprintf(stderr, "refused: %s\n", err.msg);
    model_free(m);
}

/* A back end without the decoder operations (the CUDA back end today):
 * planning fails naming the first missing operation. */
static void check_unsupported_backend(void)
{
    static ops_backend partial;
    partial = *ops_cpu_backend();
    partial.name = "cpu-without-rmsnorm";
    partial.rmsnorm_forward = NULL;
    model_config c;
    ft_error err = {0};
    CHECK(parse("LlamaForCausalLM", "llama", 2, "", &c, &err) == FT_OK);
    ops_backend_use(&partial);
    model *m = NULL;
    CHECK(model_create(&m, &c, &err) == FT_OK);
    CHECK(model_plan(m, 1, 4, &err) == FT_EINVAL);
    CHECK_STR_CONTAINS(err.msg, "unsupported op rmsnorm_forward on back end cpu-without-rmsnorm");
    fprintf(stderr, "refused: %s\n", err.msg);
    model_free(m);
    ops_backend_use(ops_cpu_backend());
}

int main(void)
{
    static const char *const cases[] = {"llama", "llama3", "qwen2", "mistral", "phi3"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/llm/%s", FTUNE_FIXTURES, cases[i]);
        check_gradients(cases[i], dir, false);
        check_gradients(cases[i], dir, true);
        check_checkpointing(cases[i], dir, false, 0);
        check_checkpointing(cases[i], dir, true, 0);
        check_checkpointing(cases[i], dir, false, 1);
        check_training(cases[i], dir);
        check_frozen_and_inference(cases[i], dir);
        check_packing(cases[i], dir);
    }
    check_checkpointing_memory();
    check_hostile_configs();
    check_hostile_folders();
    check_init_random();
    check_precision_refusals();
    check_unsupported_backend();
    return check_finish();
}
