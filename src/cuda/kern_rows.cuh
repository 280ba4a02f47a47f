/* kern_rows: bodies that move or score whole rows (kern_common.cuh):
 * embedding lookup and its gradient, row gathers, cross-entropy, AdamW.
 *
 * Embedding backward is deterministic without atomics: the launcher sorts
 * (id, row) pairs by id with a STABLE sort, so the rows of one id sit
 * together in their original order; the group at the start of each run of
 * equal ids adds those rows into the table, in order. That is exactly the
 * CPU's order of additions (bit-identical results), and ids with many rows
 * (a padding token) cost one group a longer loop, not contention. Gathers
 * back (rows picked once per example, usually distinct) loop the picks in
 * order per column for the same reason. */
#ifndef KERN_ROWS_CUH
#define KERN_ROWS_CUH

#include "kern_common.cuh"

extern "C" {
#include "ops/ops.h"
}

/* out[N,C] = (accumulate ? out : 0) + table[ids[i], :]. */
KERN_HD void kern_embedding_forward(kern_idx ix, float *out, const int32_t *ids, const float *table,
                                    int n, int c, bool accumulate)
{
    KERN_FOR(ix, i, (size_t)n * c)
    {
        size_t row = i / (size_t)c, j = i % (size_t)c;
        float v = table[(size_t)ids[row] * c + j];
        out[i] = accumulate ? out[i] + v : v;
    }
}

/* Columns of one group of kern_embedding_backward_sorted. */
enum { KERN_EMB_COLS = 128 };

KERN_HD size_t kern_embedding_backward_groups(int n, int c)
{
    return (size_t)n * (size_t)((c + KERN_EMB_COLS - 1) / KERN_EMB_COLS);
}

/* dtable[id, :] += dout[rows of id, :] in row order; sorted_ids/sorted_rows
 * are the (id, row) pairs stably sorted by id. One group per (sorted
 * position, slice of KERN_EMB_COLS columns); only the first position of
 * each run of an id works. A long run (BERT's token type 0 is on every
 * row) is thus spread over c/KERN_EMB_COLS groups, on as many SMs, instead
 * of one block reading every row alone; each column still adds its rows
 * in row order, so the sums are the CPU's bit for bit. */
KERN_HD void kern_embedding_backward_sorted(kern_idx ix, float *dtable, const int32_t *sorted_ids,
                                            const int32_t *sorted_rows, const float *dout, int n,
                                            int c)
{
    size_t slices = (size_t)((c + KERN_EMB_COLS - 1) / KERN_EMB_COLS);
    KERN_FOR_GROUP(ix, g, kern_embedding_backward_groups(n, c))
    {
        size_t p = g / slices;
        int j0 = (int)(g % slices) * KERN_EMB_COLS;
        int j1 = j0 + KERN_EMB_COLS < c ? j0 + KERN_EMB_COLS : c;
        int32_t id = sorted_ids[p];
        if (p > 0 && sorted_ids[p - 1] == id) continue;
        float *dst = dtable + (size_t)id * c;
        for (int j = j0 + ix.thread; j < j1; j += ix.nthreads) {
            float acc = dst[j];
            for (size_t q = p; q < (size_t)n && sorted_ids[q] == id; q++)
                acc += dout[(size_t)sorted_rows[q] * c + j];
            dst[j] = acc;
        }
    }
}

/* out[R,C] = inp[rows[r], :]. */
KERN_HD void kern_gather_rows_forward(kern_idx ix, float *out, const float *inp,
                                      const int32_t *rows, int r, int c)
{
    KERN_FOR(ix, i, (size_t)r * c) out[i] = inp[(size_t)rows[i / c] * c + i % c];
}

/* dinp[rows[r], :] += dout[r, :]: one thread per column, picks in order. */
KERN_HD void kern_gather_rows_backward(kern_idx ix, float *dinp, const float *dout,
                                       const int32_t *rows, int r, int c)
{
    KERN_FOR(ix, j, (size_t)c)
    {
        for (int i = 0; i < r; i++) dinp[(size_t)rows[i] * c + j] += dout[(size_t)i * c + j];
    }
}

/* ---- cross-entropy ------------------------------------------------------------ */

/* Per example (one thread each; L is a classifier's label count):
 * probs = softmax(z), loss = logsumexp(z) - z[label], in double as the CPU. */
KERN_HD void kern_crossentropy_forward(kern_idx ix, float *losses, float *probs,
                                       const float *logits, const int32_t *labels, int b, int l)
{
    KERN_FOR(ix, i, (size_t)b)
    {
        const float *z = logits + i * l;
        float *pr = probs + i * l;
        float zmax = z[0];
        for (int j = 1; j < l; j++) zmax = z[j] > zmax ? z[j] : zmax;
        double sum = 0.0;
        for (int j = 0; j < l; j++) sum += exp((double)z[j] - zmax);
        for (int j = 0; j < l; j++) pr[j] = (float)(exp((double)z[j] - zmax) / sum);
        losses[i] = (float)(log(sum) + zmax - z[labels[i]]);
    }
}

/* *mean = Σ losses / b, in example order (one thread). */
KERN_HD void kern_mean_losses(kern_idx ix, double *mean, const float *losses, int b)
{
    if (ix.block != 0 || ix.thread != 0) return;
    double total = 0.0;
    for (int i = 0; i < b; i++) total += losses[i];
    *mean = total / b;
}

KERN_HD void kern_crossentropy_backward(kern_idx ix, float *dlogits, const float *probs,
                                        const int32_t *labels, int b, int l, float dloss)
{
    KERN_FOR(ix, i, (size_t)b * l)
    {
        size_t e = i / l;
        int j = (int)(i % l);
        dlogits[i] += dloss * (probs[i] - (j == labels[e] ? 1.0f : 0.0f));
    }
}

/* ---- AdamW --------------------------------------------------------------------- */

/* One tensor's part of an AdamW launch: elements [offset, offset + n) of
 * the arrays, numbered [start, start + n) among all spans' elements. */
struct kern_adamw_span {
    size_t offset, n, start;
    float decay; /* 1 - lr * weight_decay */
};

/* The scalars of a step as torch computes them (double, then float). */
struct kern_adamw_step {
    float beta1, beta2, eps, step_size, bc2_sqrt;
};

/* Host side, shared by the launchers and the host tests: the step's
 * scalars as ops_cpu.c computes them (double, then float), a tensor's
 * decay factor, and the span table of kern_adamw_spans (returns the total
 * element count). */
static inline kern_adamw_step kern_adamw_step_for(const ops_adamw_hparams *h)
{
    double bc1 = 1.0 - pow(h->beta1, (double)h->step);
    double bc2 = 1.0 - pow(h->beta2, (double)h->step);
    kern_adamw_step s = {h->beta1, h->beta2, h->eps, (float)(h->lr / bc1), (float)sqrt(bc2)};
    return s;
}

static inline float kern_adamw_decay(float lr, float weight_decay)
{
    return (float)(1.0 - (double)lr * weight_decay);
}

static inline size_t kern_adamw_spans_table(kern_adamw_span *table, const ops_adamw_span *spans,
                                            int count, float lr)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        kern_adamw_span t = {spans[i].offset, spans[i].n, total,
                             kern_adamw_decay(lr, spans[i].weight_decay)};
        table[i] = t;
        total += spans[i].n;
    }
    return total;
}

KERN_HD void kern_adamw_element(float *param, const float *grad, float *m, float *v, size_t i,
                                float decay, const kern_adamw_step &s)
{
    float g = grad[i];
    float p = param[i] * decay;
    float mi = m[i] * s.beta1 + g * (1.0f - s.beta1);
    float vi = v[i] * s.beta2 + (1.0f - s.beta2) * g * g;
    float denom = sqrtf(vi) / s.bc2_sqrt + s.eps;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - s.step_size * (mi / denom);
}

/* All spans in one launch: element e of the concatenation finds its span
 * by binary search over the starts. */
KERN_HD void kern_adamw_spans(kern_idx ix, float *param, const float *grad, float *m, float *v,
                              const kern_adamw_span *spans, int count, size_t total,
                              kern_adamw_step s)
{
    KERN_FOR(ix, e, total)
    {
        int at = kern_last_at_most(spans, count, &kern_adamw_span::start, e);
        const kern_adamw_span &sp = spans[at];
        kern_adamw_element(param, grad, m, v, sp.offset + (e - sp.start), sp.decay, s);
    }
}

#endif
