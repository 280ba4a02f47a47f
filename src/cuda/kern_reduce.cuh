/* kern_reduce: deterministic reductions (kern_common.cuh): column sums of
 * [N,C] matrices (bias and LayerNorm parameter gradients) and the sum of
 * squares (global gradient norm).
 *
 * Design: no atomics. Column sums go in two launches: blocks own a tile of
 * KERN_TILE columns and a chunk of KERN_CHUNK_ROWS rows and write a partial
 * sum per (chunk, column) (rows r0+ty, r0+ty+8, ... per thread, then the 8
 * sub-sums in order); a second launch adds the partials of each column in
 * chunk order onto the destination. The order of every addition depends on
 * the data's indices only, never on thread counts or timing, so results are
 * the same on every run (and on the host runner, up to FMA contraction).
 * The sum of squares is a fixed number of blocks (a function of n alone),
 * each a grid-stride double sum and a block tree, then one block adds the
 * partials. */
#ifndef KERN_REDUCE_CUH
#define KERN_REDUCE_CUH

#include "kern_common.cuh"

extern "C" {
#include "ops/ops.h"
}

enum { KERN_TILE = 32, KERN_SUBROWS = 8, KERN_CHUNK_ROWS = 64 };

KERN_HD int kern_colsum_chunks(int n) { return (n + KERN_CHUNK_ROWS - 1) / KERN_CHUNK_ROWS; }
KERN_HD int kern_colsum_tiles(int c) { return (c + KERN_TILE - 1) / KERN_TILE; }

/* Values summed per column: one or two floats per element (value.outs). */
struct kern_pair {
    float a, b;
};

/* partial[o][chunk][c] = sums of value(r, j).{a,b} over the chunk's rows.
 * Blocks: kern_colsum_chunks(n) * kern_colsum_tiles(c). */
template <class V>
KERN_HD void kern_colsum_partial(kern_idx ix, float *partial, V value, int n, int c)
{
    KERN_SHARED(kern_pair, part, KERN_TILE * KERN_SUBROWS);
    int tiles = kern_colsum_tiles(c), chunks = kern_colsum_chunks(n);
    size_t plane = (size_t)chunks * c;
    for (int blk = ix.block; blk < chunks * tiles; blk += ix.nblocks) {
        int chunk = blk / tiles, j0 = (blk % tiles) * KERN_TILE;
        int r0 = chunk * KERN_CHUNK_ROWS, r1 = r0 + KERN_CHUNK_ROWS < n ? r0 + KERN_CHUNK_ROWS : n;
        for (int k = ix.thread; k < KERN_TILE * KERN_SUBROWS; k += ix.nthreads) {
            int j = j0 + k % KERN_TILE;
            kern_pair acc = {0.0f, 0.0f};
            for (int r = r0 + k / KERN_TILE; j < c && r < r1; r += KERN_SUBROWS) {
                kern_pair v = value(r, j);
                acc.a += v.a;
                acc.b += v.b;
            }
            part[k] = acc;
        }
        kern_sync();
        for (int tx = ix.thread; tx < KERN_TILE; tx += ix.nthreads) {
            int j = j0 + tx;
            if (j >= c) continue;
            kern_pair s = part[tx];
            for (int ty = 1; ty < KERN_SUBROWS; ty++) {
                s.a += part[ty * KERN_TILE + tx].a;
                s.b += part[ty * KERN_TILE + tx].b;
            }
            partial[(size_t)chunk * c + j] = s.a;
            if (V::outs == 2) partial[plane + (size_t)chunk * c + j] = s.b;
        }
        kern_sync();
    }
}

/* dst_a[j] += Σ_chunk partial[0][chunk][j] (and dst_b from plane 1), in
 * chunk order. dst_a or dst_b may be NULL. */
KERN_HD void kern_colsum_finish(kern_idx ix, float *dst_a, float *dst_b, const float *partial,
                                int n, int c)
{
    int chunks = kern_colsum_chunks(n);
    size_t plane = (size_t)chunks * c;
    KERN_FOR(ix, j, (size_t)c)
    {
        float sa = 0.0f, sb = 0.0f;
        for (int ch = 0; ch < chunks; ch++) {
            if (dst_a) sa += partial[(size_t)ch * c + j];
            if (dst_b) sb += partial[plane + (size_t)ch * c + j];
        }
        if (dst_a) dst_a[j] += sa;
        if (dst_b) dst_b[j] += sb;
    }
}

/* Column sums of x[N,C] (bias gradients). */
struct kern_colvalue_plain {
    enum { outs = 1 };
    const float *x;
    int c;
    KERN_HD kern_pair operator()(int r, int j) const
    {
        kern_pair p = {x[(size_t)r * c + j], 0.0f};
        return p;
    }
};

/* LayerNorm parameter gradients: (dy * xhat, dy). */
struct kern_colvalue_layernorm {
    enum { outs = 2 };
    const float *dy, *x, *mean, *rstd;
    int c;
    KERN_HD kern_pair operator()(int r, int j) const
    {
        size_t at = (size_t)r * c + j;
        kern_pair p = {dy[at] * ((x[at] - mean[r]) * rstd[r]), dy[at]};
        return p;
    }
};

/* ---- sum of squares ------------------------------------------------------------ */

enum { KERN_SSQ_MAX_BLOCKS = 1024, KERN_SSQ_PER_BLOCK = 256 * 16 };

KERN_HD int kern_ssq_blocks(size_t n)
{
    size_t b = (n + KERN_SSQ_PER_BLOCK - 1) / KERN_SSQ_PER_BLOCK;
    return b < 1 ? 1 : (b > KERN_SSQ_MAX_BLOCKS ? KERN_SSQ_MAX_BLOCKS : (int)b);
}

/* partial[block] = Σ x² over the block's grid-stride elements. */
KERN_HD void kern_ssq_partial(kern_idx ix, double *partial, const float *x, size_t n)
{
    double acc = 0.0;
    KERN_FOR(ix, i, n) acc += (double)x[i] * x[i];
    acc = kern_block_sum_double(acc, ix);
    if (ix.thread == 0) partial[ix.block] = acc;
}

/* *out = Σ partial[0..count) (one block). */
KERN_HD void kern_ssq_finish(kern_idx ix, double *out, const double *partial, int count)
{
    double acc = 0.0;
    for (int i = ix.thread; i < count; i += ix.nthreads) acc += partial[i];
    acc = kern_block_sum_double(acc, ix);
    if (ix.thread == 0) *out = acc;
}

/* ---- sums of squares of many spans in two launches ----------------------------
 * The global gradient norm is a sum over every trainable tensor (about 200
 * in BERT-base): one partial launch and one finish launch per tensor would
 * be 400 launches a step. Instead, global block g of ONE launch plays block
 * g - first_block of its span's own launch (the same partition and tree, so
 * each span's sum is bit-identical to kern_ssq_partial + kern_ssq_finish on
 * that span alone), and one more launch finishes every span. */
struct kern_ssq_span {
    size_t offset, n;
    int first_block, blocks; /* blocks = 0 for an empty span */
};

/* Fill plan[count] from spans; returns the total number of blocks. */
static inline int kern_ssq_spans_plan(kern_ssq_span *plan, const ops_span *spans, int count)
{
    int total = 0;
    for (int i = 0; i < count; i++) {
        int b = spans[i].n ? kern_ssq_blocks(spans[i].n) : 0;
        kern_ssq_span s = {spans[i].offset, spans[i].n, total, b};
        plan[i] = s;
        total += b;
    }
    return total;
}

/* partial[first_block + b] for every block b of every span. */
KERN_HD void kern_ssq_spans_partial(kern_idx ix, double *partial, const float *x,
                                    const kern_ssq_span *plan, int count, int total_blocks)
{
    for (int g = ix.block; g < total_blocks; g += ix.nblocks) {
        kern_ssq_span s = plan[kern_last_at_most(plan, count, &kern_ssq_span::first_block, g)];
        kern_idx local = {g - s.first_block, s.blocks, ix.thread, ix.nthreads};
        kern_ssq_partial(local, partial + s.first_block, x + s.offset, s.n);
    }
}

/* sums[i] = the sum of span i's partials (0 for an empty span). */
KERN_HD void kern_ssq_spans_finish(kern_idx ix, double *sums, const double *partial,
                                   const kern_ssq_span *plan, int count)
{
    for (int i = ix.block; i < count; i += ix.nblocks) {
        kern_idx one = {0, 1, ix.thread, ix.nthreads};
        kern_ssq_finish(one, sums + i, partial + plan[i].first_block, plan[i].blocks);
    }
}

#endif
