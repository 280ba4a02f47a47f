/* test_cuda_kernels_host: the CUDA back end's kernel bodies (src/cuda/kern_*.cuh)
 * run on the CPU through the host runner (tests/support/kern_host_runner.h:
 * one thread per block, as kern_common.cuh describes) and compared with
 * ops_cpu_backend()'s ops on the same random inputs. No GPU needed: this
 * file is plain C++ (CMake compiles it with the host compiler), so it runs
 * in every build, under ASan and valgrind too. (The whole back end on the
 * host, memory included: tests/support/ops_devsim_backend.h.)
 *
 * Bit-identical: dropout (masks and values, in place, odd sizes, large
 * example indices), bf16 rounding (special values and every bf16 pattern
 * back), fp16 rounding, embedding forward/backward (a heavy repeated id), row gathers,
 * add/scale. Within tolerance (relative, |a-b| <= tol *
 * max(1, |b|)): GELU, tanh 1e-5 (CPU polynomials vs libm); LayerNorm,
 * column sums, cross-entropy, AdamW 1e-5; attention 1e-5 (plain products
 * here in place of cuBLAS, the same plan of kern_attention.cuh);
 * sum of squares 1e-12. What only the GPU test covers: cuBLAS/cuBLASLt,
 * the CUB sort, launches, the warp shuffles and shared memory. */
#include <algorithm>
#include <math.h>
#include <numeric>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

extern "C" {
#include "ops/ops_backend.h"
#include "core/rng.h"
}
#include "check.h"
#include "kern_attention.cuh"
#include "kern_elementwise.cuh"
#include "kern_layernorm.cuh"
#include "kern_reduce.cuh"
#include "kern_rows.cuh"
#include "kern_host_runner.h"
#include "ops_compare.h"

static const ops_backend *cpu;

/* ---- element-wise ------------------------------------------------------------- */

static void test_elementwise(size_t n)
{
    vec a = randv(n, -8, 8), b = randv(n), d = randv(n);
    a[0] = n > 1 ? 30.0f : a[0]; /* tails: exp overflow paths */
    if (n > 2) a[1] = -30.0f;
    vec got(n), want(n);
    kern_host_run_threads(3, 5,
                          [&](kern_idx ix) { kern_add(ix, got.data(), a.data(), b.data(), n); });
    cpu->add(want.data(), a.data(), b.data(), n);
    CHECK_BITS("add", got, want);
    kern_host_run_threads(2, 3, [&](kern_idx ix) { kern_scale(ix, got.data(), n, 0.37f); });
    cpu->scale(want.data(), n, 0.37f);
    CHECK_BITS("scale", got, want);
    kern_host_run(2, [&](kern_idx ix) { kern_tanh_forward(ix, got.data(), a.data(), n); });
    cpu->tanh_forward(want.data(), a.data(), n);
    CHECK_NEAR("tanh", got, want, 1e-6);
    vec y = want;
    got = d, want = d;
    kern_host_run(2,
                  [&](kern_idx ix) { kern_tanh_backward(ix, got.data(), y.data(), b.data(), n); });
    cpu->tanh_backward(want.data(), y.data(), b.data(), n);
    CHECK_BITS("tanh backward", got, want);
}

static void test_bias(int n, int c)
{
    vec x = randv((size_t)n * c);
    vec db = randv((size_t)c), dbw = db;
    int chunks = kern_colsum_chunks(n);
    vec partial((size_t)chunks * c);
    kern_colvalue_plain v = {x.data(), c};
    kern_host_run(5, [&](kern_idx ix) { kern_colsum_partial(ix, partial.data(), v, n, c); });
    kern_host_run(
        3, [&](kern_idx ix) { kern_colsum_finish(ix, db.data(), NULL, partial.data(), n, c); });
    cpu->bias_backward(dbw.data(), x.data(), n, c);
    CHECK_NEAR("bias backward (column sums)", db, dbw, 1e-5);
}

/* Bias + GELU forward, and GELU's backward with the bias gradient inside
 * the column-sum pass (kern_colvalue_gelu), against the CPU's fused
 * operations: 1e-5 (the CPU's exp/Φ are polynomials, the kernels' libm),
 * the biased pre-activation bit for bit; without a bias, the plain
 * backward kernel. Inputs reach ±30 for the tails' overflow paths. */
static void test_bias_gelu(int n, int c)
{
    size_t nc = (size_t)n * c;
    vec x = randv(nc, -8, 8), bias = randv((size_t)c), dact = randv(nc);
    x[0] = 30.0f;
    if (nc > 1) x[1] = -30.0f;
    for (int erf_kind = 0; erf_kind < 2; erf_kind++) {
        ops_gelu_kind kind = erf_kind ? OPS_GELU_ERF : OPS_GELU_TANH;
        const char *name = erf_kind ? "bias+gelu erf" : "bias+gelu tanh";
        vec pre = x, pre_c = x, act(nc), act_c(nc);
        kern_host_run_threads(3, 5, [&](kern_idx ix) {
            kern_bias_gelu_forward(ix, act.data(), pre.data(), bias.data(), (size_t)n, c, erf_kind);
        });
        cpu->bias_gelu_forward(act_c.data(), pre_c.data(), bias.data(), n, c, kind);
        CHECK_BITS("bias+gelu pre-activation", pre, pre_c);
        CHECK_NEAR(name, act, act_c, 1e-5);
        vec dpre = randv(nc), dpre_c = randv(nc), db = randv((size_t)c), db_c = db;
        int chunks = kern_colsum_chunks(n);
        vec partial((size_t)chunks * c);
        kern_colvalue_gelu v = {dpre.data(), pre.data(), dact.data(), c, (bool)erf_kind};
        kern_host_run(4, [&](kern_idx ix) { kern_colsum_partial(ix, partial.data(), v, n, c); });
        kern_host_run(
            3, [&](kern_idx ix) { kern_colsum_finish(ix, db.data(), NULL, partial.data(), n, c); });
        cpu->gelu_bias_backward(dpre_c.data(), db_c.data(), pre.data(), dact.data(), n, c, kind);
        CHECK_NEAR("gelu backward (with bias)", dpre, dpre_c, 1e-5);
        CHECK_NEAR("gelu bias gradient", db, db_c, 1e-5);
        vec plain = randv(nc);
        kern_host_run_threads(2, 3, [&](kern_idx ix) {
            kern_gelu_backward(ix, plain.data(), pre.data(), dact.data(), nc, erf_kind);
        });
        CHECK_BITS("gelu backward (no bias)", plain, dpre);
    }
}

/* ---- bf16 ------------------------------------------------------------------------ */

static void test_bf16(void)
{
    const uint32_t special[] = {0x00000000u, 0x80000000u, 0x3f800000u, 0x3f808000u,
                                0x3f818000u, 0x3f807fffu, 0x7f7fffffu, 0x7f800000u,
                                0xff800000u, 0x7fc00001u, 0x7f800001u, 0xff800001u,
                                0x00000001u, 0x00018000u, 0x807fffffu, 0x7f7f8000u};
    size_t ns = sizeof special / sizeof special[0], n = ns + 5000;
    vec x = randv(n, -1e4f, 1e4f);
    for (size_t i = 0; i < ns; i++) memcpy(&x[i], &special[i], sizeof(float));
    std::vector<uint16_t> got(n), want(n);
    kern_host_run_threads(3, 4,
                          [&](kern_idx ix) { kern_to_bf16_all(ix, got.data(), x.data(), n); });
    cpu->to_bf16(want.data(), x.data(), n);
    CHECK_BITS("to_bf16", got, want);
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); i++) all[i] = (uint16_t)i;
    vec back(all.size()), want_back(all.size());
    for (size_t i = 0; i < all.size(); i++) {
        uint32_t bits = (uint32_t)all[i] << 16; /* bf16 is float32's top half */
        memcpy(&want_back[i], &bits, sizeof bits);
        back[i] = kern_from_bf16(all[i]);
    }
    CHECK_BITS("kern_from_bf16 (all 65536 patterns)", back, want_back);
}

static void test_fp16(void)
{
    size_t n = 6000;
    vec x = randv(n, -70000.0f, 70000.0f), tiny = randv(n, -1e-4f, 1e-4f);
    x.insert(x.end(), tiny.begin(), tiny.end());
    const float special[] = {65504.0f,
                             65519.99f,
                             65520.0f,
                             -65520.0f,
                             6.1035156e-05f,
                             5.9604645e-08f,
                             2.9802322e-08f,
                             2.9802326e-08f,
                             INFINITY,
                             NAN,
                             -0.0f,
                             1.0f + 1.0f / 2048.0f,
                             1.0f + 3.0f / 2048.0f};
    x.insert(x.end(), special, special + sizeof special / sizeof special[0]);
    vec got(x.size()), want(x.size());
    kern_host_run_threads(
        3, 2, [&](kern_idx ix) { kern_round_fp16_all(ix, got.data(), x.data(), x.size()); });
    cpu->round_fp16(want.data(), x.data(), x.size());
    CHECK_BITS("round_fp16", got, want);
}

/* ---- LayerNorm -------------------------------------------------------------------- */

static void test_layernorm(int n, int c)
{
    size_t nc = (size_t)n * c;
    vec x = randv(nc, -3, 5), w = randv((size_t)c, 0.5f, 1.5f), b = randv((size_t)c);
    vec out(nc), mean(n), rstd(n), out_c(nc), mean_c(n), rstd_c(n);
    kern_host_run(3, [&](kern_idx ix) {
        kern_layernorm_forward(ix, out.data(), mean.data(), rstd.data(), x.data(), w.data(),
                               b.data(), n, c, 1e-5f);
    });
    cpu->layernorm_forward(out_c.data(), mean_c.data(), rstd_c.data(), x.data(), w.data(), b.data(),
                           n, c, 1e-5f);
    CHECK_NEAR("layernorm out", out, out_c, 1e-5);
    CHECK_NEAR("layernorm mean", mean, mean_c, 1e-5);
    CHECK_NEAR("layernorm rstd", rstd, rstd_c, 1e-5);
    vec dy = randv(nc), dx = randv(nc), dw = randv((size_t)c), db = randv((size_t)c);
    vec dx_c = dx, dw_c = dw, db_c = db;
    kern_host_run(2, [&](kern_idx ix) {
        kern_layernorm_backward_inputs(ix, dx.data(), dy.data(), x.data(), w.data(), mean_c.data(),
                                       rstd_c.data(), n, c);
    });
    int chunks = kern_colsum_chunks(n);
    vec partial(2 * (size_t)chunks * c);
    kern_colvalue_layernorm v = {dy.data(), x.data(), mean_c.data(), rstd_c.data(), c};
    kern_host_run(4, [&](kern_idx ix) { kern_colsum_partial(ix, partial.data(), v, n, c); });
    kern_host_run(1, [&](kern_idx ix) {
        kern_colsum_finish(ix, dw.data(), db.data(), partial.data(), n, c);
    });
    cpu->layernorm_backward(dx_c.data(), dw_c.data(), db_c.data(), dy.data(), x.data(), w.data(),
                            mean_c.data(), rstd_c.data(), n, c);
    CHECK_NEAR("layernorm dinp", dx, dx_c, 1e-5);
    CHECK_NEAR("layernorm dweight", dw, dw_c, 1e-5);
    CHECK_NEAR("layernorm dbias", db, db_c, 1e-5);
}

/* ---- embeddings and gathers ----------------------------------------------------------- */

/* What the GPU's stable radix sort gives: (id, row) pairs by id, rows in order. */
static void stable_sort_ids(const std::vector<int32_t> &ids, std::vector<int32_t> &sids,
                            std::vector<int32_t> &srows)
{
    srows.resize(ids.size());
    std::iota(srows.begin(), srows.end(), 0);
    std::stable_sort(srows.begin(), srows.end(),
                     [&](int32_t a, int32_t b) { return ids[a] < ids[b]; });
    sids.resize(ids.size());
    for (size_t i = 0; i < ids.size(); i++) sids[i] = ids[srows[i]];
}

static void test_embedding(int n, int c, int vocab)
{
    std::vector<int32_t> ids(n);
    for (int i = 0; i < n; i++)
        ids[i] = i % 5 < 2 ? 0 : (int32_t)rng_below(3, 9, (uint64_t)i, (uint64_t)vocab);
    vec table = randv((size_t)vocab * c), out = randv((size_t)n * c), out_c = out;
    for (int acc = 0; acc < 2; acc++) {
        kern_host_run_threads(3, 4, [&](kern_idx ix) {
            kern_embedding_forward(ix, out.data(), ids.data(), table.data(), n, c, acc);
        });
        cpu->embedding_forward(out_c.data(), ids.data(), table.data(), n, c, acc);
        CHECK_BITS(acc ? "embedding forward (accumulate)" : "embedding forward", out, out_c);
    }
    std::vector<int32_t> sids, srows;
    stable_sort_ids(ids, sids, srows);
    vec dt = randv(table.size()), dt_c = dt, dout = randv((size_t)n * c);
    kern_host_run_threads(5, 3, [&](kern_idx ix) {
        kern_embedding_backward_sorted(ix, dt.data(), sids.data(), srows.data(), dout.data(), n, c);
    });
    cpu->embedding_backward(dt_c.data(), ids.data(), dout.data(), n, c);
    CHECK_BITS("embedding backward", dt, dt_c);
}

static void test_gather(void)
{
    const int n = 9, c = 13, r = 5;
    std::vector<int32_t> rows = {0, 8, 3, 3, 5}; /* a repeated pick too */
    vec inp = randv((size_t)n * c), out((size_t)r * c), out_c(out.size());
    kern_host_run_threads(2, 3, [&](kern_idx ix) {
        kern_gather_rows_forward(ix, out.data(), inp.data(), rows.data(), r, c);
    });
    cpu->gather_rows_forward(out_c.data(), inp.data(), rows.data(), r, c);
    CHECK_BITS("gather forward", out, out_c);
    vec din = randv(inp.size()), din_c = din, dout = randv(out.size());
    kern_host_run_threads(2, 3, [&](kern_idx ix) {
        kern_gather_rows_backward(ix, din.data(), dout.data(), rows.data(), r, c);
    });
    cpu->gather_rows_backward(din_c.data(), dout.data(), rows.data(), r, c);
    CHECK_BITS("gather backward", din, din_c);
}

/* ---- dropout --------------------------------------------------------------------------- */

static void test_dropout(size_t per, float p)
{
    const int b = 3;
    const int64_t idx[3] = {5, 0, 1000000007};
    size_t n = (size_t)b * per;
    uint64_t seed = 42, site = ops_dropout_site(3, 2, 1);
    kern_dropout_args a = kern_dropout_args_for(p, seed, site, per);
    vec x = randv(n), y(n), y_c(n);
    kern_host_run_threads(
        4, 3, [&](kern_idx ix) { kern_dropout(ix, y.data(), x.data(), b, per, idx, a); });
    cpu->dropout_forward(y_c.data(), x.data(), b, per, idx, p, seed, site);
    CHECK_BITS("dropout forward", y, y_c);
    vec z = x;
    kern_host_run(2, [&](kern_idx ix) { kern_dropout(ix, z.data(), z.data(), b, per, idx, a); });
    CHECK_BITS("dropout forward in place", z, y_c);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) kept += y[i] != 0.0f;
    if (n >= 100) CHECK_MSG(kept > 0 && kept < n, "dropout p=%g kept %zu of %zu", p, kept, n);
}

/* ---- attention -------------------------------------------------------------------------- */

/* The head split against its definition by loops, and merge as its inverse
 * (plain and accumulating). Values are small integers: exact. */
static void test_heads(int b, int t, int c, int nh, int parts)
{
    kern_heads hs = {b, t, c, nh, parts};
    int D = c / nh;
    size_t n = kern_heads_count(hs);
    vec src(n), split(n), back(n, -1.0f), twice = randv(n);
    for (size_t i = 0; i < n; i++) src[i] = (float)i;
    kern_host_run_threads(2, 32,
                          [&](kern_idx ix) { kern_heads_split(ix, split.data(), src.data(), hs); });
    size_t wrong = 0, i = 0;
    for (int p = 0; p < parts; p++)
        for (int e = 0; e < b; e++)
            for (int h = 0; h < nh; h++)
                for (int r = 0; r < t; r++)
                    for (int d = 0; d < D; d++, i++)
                        wrong += split[i] != src[((size_t)(e * t + r) * parts + p) * c + h * D + d];
    CHECK_MSG(wrong == 0, "head split: %zu of %zu misplaced", wrong, n);
    kern_host_run_threads(
        2, 32, [&](kern_idx ix) { kern_heads_merge(ix, back.data(), split.data(), hs, false); });
    CHECK_BITS("head merge", back, src);
    vec expect(n);
    for (size_t j = 0; j < n; j++) expect[j] = twice[j] + src[j];
    kern_host_run_threads(
        3, 32, [&](kern_idx ix) { kern_heads_merge(ix, twice.data(), split.data(), hs, true); });
    CHECK_BITS("head merge accumulating", twice, expect);
}

static void test_attention(int b, int t, int c, int nh, bool causal, float p,
                           std::vector<int32_t> lengths)
{
    std::vector<int64_t> idx(b);
    for (int i = 0; i < b; i++) idx[i] = 7 + 1000 * i;
    ops_attention_shape s = {
        b, t, c, nh, causal, lengths.data(), idx.data(), p, 11, ops_dropout_site(1, 2, 3)};
    kern_attn_args a = kern_attn_args_for(&s);
    size_t ntt = (size_t)b * nh * t * t;
    vec qkv = randv((size_t)b * t * 3 * c, -2, 2), out((size_t)b * t * c), out_c(out.size());
    vec probs(ntt), probs_c(ntt), scratch(kern_attention_scratch_floats(b, t, c, nh));
    vec scratch_c(cpu->attention_scratch_floats(b, t, c, nh));
    auto rows = [&](float *pr, float *sc, const kern_attn_args &aa) {
        kern_host_run(3, [&](kern_idx ix) { kern_attn_softmax(ix, pr, sc, aa); });
    };
    /* The head split and merge run with the GPU's launch shape, thread by thread. */
    auto split = [&](float *dst, const float *src, kern_heads hs) {
        kern_host_run_threads(3, 64, [&](kern_idx ix) { kern_heads_split(ix, dst, src, hs); });
    };
    auto merge = [&](float *dst, const float *src, kern_heads hs, bool acc) {
        kern_host_run_threads(3, 64, [&](kern_idx ix) { kern_heads_merge(ix, dst, src, hs, acc); });
    };
    kern_attention_forward_plan(out.data(), probs.data(), qkv.data(), a, c, scratch.data(),
                                kern_host_gemm, rows, split, merge);
    cpu->attention_forward(out_c.data(), probs_c.data(), qkv.data(), &s, scratch_c.data());
    CHECK_NEAR("attention probs", probs, probs_c, 1e-5);
    CHECK_NEAR("attention out", out, out_c, 1e-5);
    int masked_nonzero = 0;
    for (size_t i = 0; i < ntt; i++) masked_nonzero += (probs_c[i] == 0.0f) != (probs[i] == 0.0f);
    CHECK_EQ_INT(masked_nonzero, 0);
    vec dout = randv(out.size()), dqkv = randv(qkv.size()), dqkv_c = dqkv;
    auto brows = [&](float *ds, float *pd, const float *pr, const kern_attn_args &aa) {
        kern_host_run(2, [&](kern_idx ix) { kern_attn_softmax_backward(ix, ds, pd, pr, aa); });
    };
    kern_attention_backward_plan(dqkv.data(), dout.data(), qkv.data(), probs_c.data(), a, c,
                                 scratch.data(), kern_host_gemm, brows, split, merge);
    cpu->attention_backward(dqkv_c.data(), dout.data(), qkv.data(), probs_c.data(), &s,
                            scratch_c.data());
    CHECK_NEAR("attention dqkv", dqkv, dqkv_c, 1e-5);
}

/* ---- loss, norm, AdamW -------------------------------------------------------------------- */

static void test_crossentropy(int b, int l)
{
    vec z = randv((size_t)b * l, -6, 6), losses(b), probs(z.size()), losses_c(b), probs_c(z.size());
    std::vector<int32_t> labels(b);
    for (int i = 0; i < b; i++) labels[i] = (i * 7 + 1) % l;
    double mean = 0.0;
    kern_host_run_threads(2, 3, [&](kern_idx ix) {
        kern_crossentropy_forward(ix, losses.data(), probs.data(), z.data(), labels.data(), b, l);
    });
    kern_host_run(1, [&](kern_idx ix) { kern_mean_losses(ix, &mean, losses.data(), b); });
    double mean_c =
        cpu->crossentropy_forward(losses_c.data(), probs_c.data(), z.data(), labels.data(), b, l);
    CHECK_NEAR("crossentropy losses", losses, losses_c, 1e-6);
    CHECK_NEAR("crossentropy probs", probs, probs_c, 1e-6);
    CHECK_CLOSE(mean, mean_c, 1e-9);
    vec dz = randv(z.size()), dz_c = dz;
    kern_host_run_threads(2, 3, [&](kern_idx ix) {
        kern_crossentropy_backward(ix, dz.data(), probs_c.data(), labels.data(), b, l, 0.125f);
    });
    cpu->crossentropy_backward(dz_c.data(), probs_c.data(), labels.data(), b, l, 0.125f);
    CHECK_BITS("crossentropy backward", dz, dz_c);
}

static void test_sum_squares(size_t n)
{
    vec x = randv(n, -3, 3);
    int blocks = kern_ssq_blocks(n);
    std::vector<double> partial(blocks);
    double got = 0.0;
    kern_host_run(blocks, [&](kern_idx ix) { kern_ssq_partial(ix, partial.data(), x.data(), n); });
    kern_host_run(1, [&](kern_idx ix) { kern_ssq_finish(ix, &got, partial.data(), blocks); });
    const ops_span whole = {0, n};
    double want = cpu->sum_squares_spans(x.data(), &whole, 1);
    CHECK_MSG(fabs(got - want) <= 1e-12 * want, "sum_squares n=%zu: %.17g vs %.17g", n, got, want);
}

/* All spans in two launches: each span's sum bit-identical to its own
 * partial + finish launches (run with few blocks, so blocks loop over
 * several spans; empty spans in the first, middle and last place), the
 * total within 1e-12 of the CPU's. */
static void test_sum_squares_spans(void)
{
    const ops_span spans[] = {{0, 0},     {5, 1},       {6, 5000}, {9000, 0},
                              {7000, 33}, {100, 70000}, {3, 0}};
    int count = (int)(sizeof spans / sizeof spans[0]);
    vec x = randv(80000, -3, 3);
    std::vector<kern_ssq_span> plan(count);
    int total = kern_ssq_spans_plan(plan.data(), spans, count);
    std::vector<double> partial(total), sums(count, -1.0);
    for (int nblocks : {1, 3, 1000}) {
        kern_host_run(nblocks, [&](kern_idx ix) {
            kern_ssq_spans_partial(ix, partial.data(), x.data(), plan.data(), count, total);
        });
        kern_host_run(nblocks % 4 + 1, [&](kern_idx ix) {
            kern_ssq_spans_finish(ix, sums.data(), partial.data(), plan.data(), count);
        });
        int differ = 0;
        for (int i = 0; i < count; i++) {
            size_t n = spans[i].n;
            double one = 0.0;
            if (n) {
                int blocks = kern_ssq_blocks(n);
                std::vector<double> p(blocks);
                const float *xs = x.data() + spans[i].offset;
                kern_host_run(blocks, [&](kern_idx ix) { kern_ssq_partial(ix, p.data(), xs, n); });
                kern_host_run(1, [&](kern_idx ix) { kern_ssq_finish(ix, &one, p.data(), blocks); });
            }
            differ += memcmp(&one, &sums[i], sizeof one) != 0;
        }
        CHECK_MSG(differ == 0, "sum_squares_spans (%d blocks): %d span sums differ", nblocks,
                  differ);
        double got = 0.0, want = cpu->sum_squares_spans(x.data(), spans, count);
        for (int i = 0; i < count; i++) got += sums[i];
        CHECK_MSG(fabs(got - want) <= 1e-12 * want, "sum_squares_spans: %.17g vs %.17g", got, want);
    }
}

static void test_adamw(long step)
{
    const size_t n = 1001;
    ops_adamw_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step};
    vec p = randv(n), g = randv(n), m = randv(n, -0.1f, 0.1f), v = randv(n, 0.0f, 0.01f);
    vec p2 = p, m2 = m, v2 = v;
    /* spans with gaps between them and their own weight decay */
    const ops_adamw_span spans[3] = {{0, 100, 0.0f}, {150, 1, 0.1f}, {200, 801, 0.01f}};
    std::vector<kern_adamw_span> table(3);
    size_t total = kern_adamw_spans_table(table.data(), spans, 3, h.lr);
    vec pc2 = p2, mc2 = m2, vc2 = v2, before = p2;
    kern_host_run_threads(2, 5, [&](kern_idx ix) {
        kern_adamw_spans(ix, p2.data(), g.data(), m2.data(), v2.data(), table.data(), 3, total,
                         kern_adamw_step_for(&h));
    });
    cpu->adamw_spans(pc2.data(), g.data(), mc2.data(), vc2.data(), spans, 3, &h);
    CHECK_NEAR("adamw_spans param", p2, pc2, 1e-6);
    CHECK_NEAR("adamw_spans m", m2, mc2, 1e-6);
    CHECK_NEAR("adamw_spans v", v2, vc2, 1e-6);
    CHECK(p2[120] == before[120] && p2[199] == before[199] && p2[0] != before[0]);
}

int main(void)
{
    cpu = ops_cpu_backend();
    const size_t sizes[] = {1, 37, 1000, 4099};
    for (size_t n : sizes) test_elementwise(n);
    test_bias(1, 1);
    test_bias(70, 33);
    test_bias(130, 100);
    test_bias_gelu(1, 1);
    test_bias_gelu(70, 33);
    test_bias_gelu(129, 130);
    test_bf16();
    test_fp16();
    const int ln[][2] = {{1, 1}, {3, 7}, {17, 64}, {5, 768}, {130, 33}};
    for (auto &s : ln) test_layernorm(s[0], s[1]);
    test_embedding(300, 13, 50);
    test_embedding(7, 1, 3);
    test_embedding(65, 64, 1000);
    test_embedding(500, 300, 2); /* long runs over three column slices */
    test_embedding(40, 129, 7);
    test_gather();
    const size_t pers[] = {1, 3, 4, 5, 1023, 2049};
    for (size_t per : pers)
        for (float p : {0.1f, 0.5f, 0.9f}) test_dropout(per, p);
    test_heads(2, 3, 8, 2, 3);
    test_heads(3, 5, 12, 3, 1);
    test_heads(1, 7, 4, 1, 3);
    test_attention(2, 5, 12, 3, false, 0.0f, {5, 3});
    test_attention(2, 5, 12, 3, false, 0.1f, {5, 3});
    test_attention(3, 8, 16, 2, true, 0.0f, {8, 6, 1});
    test_attention(3, 8, 16, 2, true, 0.3f, {8, 6, 1});
    test_attention(1, 33, 8, 1, true, 0.2f, {30});
    test_crossentropy(7, 2);
    test_crossentropy(5, 9);
    test_sum_squares(1);
    test_sum_squares(5000);
    test_sum_squares(1000003);
    test_sum_squares_spans();
    test_adamw(1);
    test_adamw(10);
    return check_finish();
}
