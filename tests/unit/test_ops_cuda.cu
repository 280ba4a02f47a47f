/* test_ops_cuda: every operation of the CUDA back end (ops_cuda_backend(),
 * device memory through its own to_device/to_host) against the CPU back end
 * on the same inputs. Label gpu: without a GPU it says so and exits 77
 * (CTest: skipped).
 *
 * Tolerances (relative, |a-b| <= tol * max(1, |b|)): float32 products and
 * everything built on them 1e-4 (cuBLAS sums in another order); bf16
 * products 1e-2; element-wise, LayerNorm, loss, AdamW 1e-4; sum of squares
 * 1e-9. Bit-identical: dropout, bf16/fp16 rounding, embedding and gathers,
 * and a second run of every reduction (determinism). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

#include <mpi.h> /* before extern "C": it pulls C++ headers */
extern "C" {
#include "cuda/gpu_device.h"
#include "ops/ops_backend.h"
#include "cuda/ops_cuda.h"
#include "core/rng.h"
}
#include "check.h"
#include "ops_compare.h"

static const ops_backend *cpu, *gpu;
static std::vector<std::pair<void *, size_t>> allocations;

template <class T> static T *up(const std::vector<T> &v)
{
    size_t bytes = v.size() * sizeof(T);
    T *p = (T *)gpu->alloc(bytes);
    FT_CHECK(p != NULL);
    gpu->to_device(p, v.data(), bytes);
    allocations.push_back({p, bytes});
    return p;
}

template <class T> static std::vector<T> down(const T *p, size_t n)
{
    std::vector<T> v(n);
    gpu->to_host(v.data(), p, n * sizeof(T));
    return v;
}

static void free_all(void)
{
    for (auto &a : allocations) gpu->free(a.first, a.second);
    allocations.clear();
}

static void test_linear(int n, int c, int oc, ops_weight_layout layout, bool bf16, int shift)
{
    vec x = randv((size_t)n * c), w = randv((size_t)c * oc), bias = randv((size_t)oc);
    vec dout = randv((size_t)n * oc), dx = randv(x.size()), dw = randv(w.size());
    vec db = randv((size_t)oc), out((size_t)n * oc);
    /* shift > 0: an output misaligned for cuBLASLt (its fallback path) */
    vec out_pad(out.size() + shift);
    float *d_out = up(out_pad) + shift, *d_dx = up(dx), *d_dw = up(dw), *d_db = up(db);
    const float *d_x = up(x), *d_dout = up(dout);
    if (!bf16) {
        cpu->linear_forward(out.data(), x.data(), w.data(), bias.data(), n, c, oc, layout);
        gpu->linear_forward(d_out, d_x, up(w), up(bias), n, c, oc, layout);
        cpu->linear_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), n, c,
                             oc, layout);
        gpu->linear_backward(d_dx, d_dw, d_db, d_dout, d_x, up(w), n, c, oc, layout);
    } else {
        std::vector<ops_bf16> wb(w.size()), xs(x.size()), ds(dout.size());
        cpu->to_bf16(wb.data(), w.data(), w.size());
        ops_bf16 *d_wb = up(wb), *d_xs = up(xs), *d_ds = up(ds);
        cpu->linear_forward_bf16(out.data(), x.data(), xs.data(), wb.data(), bias.data(), n, c, oc,
                                 layout);
        gpu->linear_forward_bf16(d_out, d_x, d_xs, d_wb, up(bias), n, c, oc, layout);
        cpu->linear_backward_bf16(dx.data(), dw.data(), db.data(), dout.data(), ds.data(), x.data(),
                                  xs.data(), wb.data(), n, c, oc, layout);
        gpu->linear_backward_bf16(d_dx, d_dw, d_db, d_dout, d_ds, d_x, d_xs, d_wb, n, c, oc,
                                  layout);
    }
    double tol = bf16 ? 1e-2 : 1e-4;
    CHECK_NEAR(bf16 ? "linear_forward_bf16" : "linear_forward", down(d_out, out.size()), out, tol);
    CHECK_NEAR("linear dinp", down(d_dx, dx.size()), dx, tol);
    CHECK_NEAR("linear dweight", down(d_dw, dw.size()), dw, tol);
    CHECK_NEAR("linear dbias", down(d_db, db.size()), db, 1e-4);
    free_all();
}

static void test_elementwise(size_t n)
{
    vec a = randv(n, -8, 8), b = randv(n), d = randv(n);
    float *da = up(a), *db = up(b), *out = up(d);
    vec want(n);
    gpu->add(out, da, db, n);
    cpu->add(want.data(), a.data(), b.data(), n);
    CHECK_BITS("add", down(out, n), want);
    gpu->scale(out, n, 0.3f);
    cpu->scale(want.data(), n, 0.3f);
    CHECK_BITS("add + scale", down(out, n), want);
    for (int k = 0; k < 2; k++) {
        ops_gelu_kind kind = k ? OPS_GELU_ERF : OPS_GELU_TANH;
        /* as n rows of one column, bias-free */
        vec pre = a;
        float *dpre = up(a);
        gpu->bias_gelu_forward(out, dpre, NULL, (int)n, 1, kind);
        cpu->bias_gelu_forward(want.data(), pre.data(), NULL, (int)n, 1, kind);
        CHECK_NEAR("gelu", down(out, n), want, 1e-4);
        float *dd = up(d);
        gpu->gelu_bias_backward(dd, NULL, da, db, (int)n, 1, kind);
        cpu->gelu_bias_backward(want.data(), NULL, a.data(), b.data(), (int)n, 1, kind);
        CHECK_NEAR("gelu backward", down(dd, n), want, 1e-4);
    }
    gpu->tanh_forward(out, da, n);
    cpu->tanh_forward(want.data(), a.data(), n);
    CHECK_NEAR("tanh", down(out, n), want, 1e-4);
    float *dd = up(d);
    vec dw = d;
    gpu->tanh_backward(dd, out, db, n);
    cpu->tanh_backward(dw.data(), down(out, n).data(), b.data(), n);
    CHECK_NEAR("tanh backward", down(dd, n), dw, 1e-4);
    std::vector<ops_bf16> hb(n), gb(n);
    cpu->to_bf16(hb.data(), a.data(), n);
    ops_bf16 *dbf = up(gb);
    gpu->to_bf16(dbf, da, n);
    CHECK_BITS("to_bf16", down(dbf, n), hb);
    vec big = randv(n, -70000.0f, 70000.0f);
    gpu->round_fp16(out, up(big), n);
    cpu->round_fp16(want.data(), big.data(), n);
    CHECK_BITS("round_fp16", down(out, n), want);
    free_all();
}

static void test_rows(int n, int c)
{
    size_t nc = (size_t)n * c;
    vec x = randv(nc, -3, 5), w = randv((size_t)c, 0.5f, 1.5f), bias = randv((size_t)c);
    vec out(nc), mean(n), rstd(n);
    float *d_out = up(out), *d_mean = up(mean), *d_rstd = up(rstd);
    const float *d_x = up(x), *d_w = up(w);
    gpu->layernorm_forward(d_out, d_mean, d_rstd, d_x, d_w, up(bias), n, c, 1e-5f);
    cpu->layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(), n,
                           c, 1e-5f);
    CHECK_NEAR("layernorm", down(d_out, nc), out, 1e-4);
    CHECK_NEAR("layernorm rstd", down(d_rstd, n), rstd, 1e-4);
    vec dy = randv(nc), dx = randv(nc), dw = randv((size_t)c), db = randv((size_t)c);
    float *d_dx = up(dx), *d_dw = up(dw), *d_db = up(db), *d_dw2 = up(dw), *d_db2 = up(db);
    const float *d_dy = up(dy);
    cpu->layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(),
                            mean.data(), rstd.data(), n, c);
    gpu->layernorm_backward(d_dx, d_dw, d_db, d_dy, d_x, d_w, up(mean), up(rstd), n, c);
    gpu->layernorm_backward(NULL, d_dw2, d_db2, d_dy, d_x, d_w, up(mean), up(rstd), n, c);
    CHECK_NEAR("layernorm dinp", down(d_dx, nc), dx, 1e-4);
    CHECK_NEAR("layernorm dweight", down(d_dw, (size_t)c), dw, 1e-4);
    CHECK_NEAR("layernorm dbias", down(d_db, (size_t)c), db, 1e-4);
    CHECK_BITS("layernorm dweight rerun", down(d_dw2, (size_t)c), down(d_dw, (size_t)c));
    vec bb = randv((size_t)c), bb_c = bb;
    float *d_bb = up(bb);
    gpu->bias_backward(d_bb, d_dy, n, c);
    cpu->bias_backward(bb_c.data(), dy.data(), n, c);
    CHECK_NEAR("bias_backward", down(d_bb, (size_t)c), bb_c, 1e-4);
    for (int k = 0; k < 2; k++) { /* the MLP's fused bias + GELU, both ways */
        ops_gelu_kind kind = k ? OPS_GELU_ERF : OPS_GELU_TANH;
        vec pre = x, act(nc), dpre(nc), gb = bias, gb_c = bias;
        float *d_pre = up(x), *d_act = up(act), *d_dpre = up(dpre), *d_gb = up(gb);
        gpu->bias_gelu_forward(d_act, d_pre, d_bb, n, c, kind);
        cpu->bias_gelu_forward(act.data(), pre.data(), down(d_bb, (size_t)c).data(), n, c, kind);
        CHECK_BITS("bias+gelu pre-activation", down(d_pre, nc), pre);
        CHECK_NEAR("bias+gelu", down(d_act, nc), act, 1e-4);
        gpu->gelu_bias_backward(d_dpre, d_gb, d_pre, d_dy, n, c, kind);
        cpu->gelu_bias_backward(dpre.data(), gb_c.data(), pre.data(), dy.data(), n, c, kind);
        CHECK_NEAR("gelu backward with bias", down(d_dpre, nc), dpre, 1e-4);
        CHECK_NEAR("gelu bias gradient", down(d_gb, (size_t)c), gb_c, 1e-4);
    }
    free_all();
}

static void test_embedding(int n, int c, int vocab)
{
    std::vector<int32_t> ids(n);
    for (int i = 0; i < n; i++)
        ids[i] = i % 3 == 0 ? 1 : (int32_t)rng_below(3, 9, (uint64_t)i, (uint64_t)vocab);
    vec table = randv((size_t)vocab * c), out = randv((size_t)n * c);
    float *d_out = up(out);
    const int32_t *d_ids = up(ids);
    gpu->embedding_forward(d_out, d_ids, up(table), n, c, true);
    cpu->embedding_forward(out.data(), ids.data(), table.data(), n, c, true);
    CHECK_BITS("embedding forward", down(d_out, out.size()), out);
    vec dt = randv(table.size()), dout = randv(out.size());
    float *d_dt = up(dt), *d_dt2 = up(dt);
    const float *d_dout = up(dout);
    gpu->embedding_backward(d_dt, d_ids, d_dout, n, c);
    gpu->embedding_backward(d_dt2, d_ids, d_dout, n, c);
    cpu->embedding_backward(dt.data(), ids.data(), dout.data(), n, c);
    CHECK_BITS("embedding backward", down(d_dt, dt.size()), dt);
    CHECK_BITS("embedding backward rerun", down(d_dt2, dt.size()), dt);
    std::vector<int32_t> rows = {0, n - 1, 3, 3};
    vec g((size_t)rows.size() * c), din = randv(out.size());
    float *d_g = up(g), *d_din = up(din);
    gpu->gather_rows_forward(d_g, d_out, up(rows), (int)rows.size(), c);
    cpu->gather_rows_forward(g.data(), out.data(), rows.data(), (int)rows.size(), c);
    CHECK_BITS("gather forward", down(d_g, g.size()), g);
    gpu->gather_rows_backward(d_din, d_g, up(rows), (int)rows.size(), c);
    cpu->gather_rows_backward(din.data(), g.data(), rows.data(), (int)rows.size(), c);
    CHECK_BITS("gather backward", down(d_din, din.size()), din);
    free_all();
}

static void test_dropout(size_t per, float p)
{
    const int b = 3;
    std::vector<int64_t> idx = {5, 0, 1000000007};
    size_t n = (size_t)b * per;
    uint64_t seed = 42, site = ops_dropout_site(3, 2, 1);
    vec x = randv(n), y(n);
    float *d_x = up(x), *d_y = up(y);
    const int64_t *d_idx = up(idx);
    gpu->dropout_forward(d_y, d_x, b, per, d_idx, p, seed, site);
    cpu->dropout_forward(y.data(), x.data(), b, per, idx.data(), p, seed, site);
    CHECK_BITS("dropout forward", down(d_y, n), y);
    gpu->dropout_forward(d_x, d_x, b, per, d_idx, p, seed, site);
    CHECK_BITS("dropout forward in place", down(d_x, n), y);
    free_all();
}

static void test_attention(int b, int t, int c, int nh, bool causal, float p,
                           std::vector<int32_t> lengths)
{
    std::vector<int64_t> idx(b);
    for (int i = 0; i < b; i++) idx[i] = 7 + 1000 * i;
    ops_attention_shape s = {
        b, t, c, nh, causal, lengths.data(), idx.data(), p, 11, ops_dropout_site(1, 2, 3)};
    ops_attention_shape g = s;
    g.lengths = up(lengths);
    g.example_index = up(idx);
    size_t ntt = (size_t)b * nh * t * t;
    vec qkv = randv((size_t)b * t * 3 * c, -2, 2), out((size_t)b * t * c), probs(ntt);
    vec scratch(cpu->attention_scratch_floats(b, t, c, nh));
    vec gscratch(gpu->attention_scratch_floats(b, t, c, nh));
    float *d_out = up(out), *d_probs = up(probs), *d_scr = up(gscratch);
    const float *d_qkv = up(qkv);
    gpu->attention_forward(d_out, d_probs, d_qkv, &g, d_scr);
    cpu->attention_forward(out.data(), probs.data(), qkv.data(), &s, scratch.data());
    vec gp = down(d_probs, ntt);
    CHECK_NEAR("attention probs", gp, probs, 1e-4);
    CHECK_NEAR("attention out", down(d_out, out.size()), out, 1e-4);
    int zeros_differ = 0;
    for (size_t i = 0; i < ntt; i++) zeros_differ += (gp[i] == 0.0f) != (probs[i] == 0.0f);
    CHECK_EQ_INT(zeros_differ, 0);
    vec dout = randv(out.size()), dqkv = randv(qkv.size());
    float *d_dqkv = up(dqkv);
    gpu->attention_backward(d_dqkv, up(dout), d_qkv, up(probs), &g, d_scr);
    cpu->attention_backward(dqkv.data(), dout.data(), qkv.data(), probs.data(), &s, scratch.data());
    CHECK_NEAR("attention dqkv", down(d_dqkv, dqkv.size()), dqkv, 1e-4);
    free_all();
}

static void test_loss_and_optimiser(void)
{
    const int b = 37, l = 3;
    vec z = randv((size_t)b * l, -6, 6), losses(b), probs(z.size());
    std::vector<int32_t> labels(b);
    for (int i = 0; i < b; i++) labels[i] = i % l;
    float *d_losses = up(losses), *d_probs = up(probs);
    const int32_t *d_labels = up(labels);
    double mg = gpu->crossentropy_forward(d_losses, d_probs, up(z), d_labels, b, l);
    double mc =
        cpu->crossentropy_forward(losses.data(), probs.data(), z.data(), labels.data(), b, l);
    CHECK_CLOSE(mg, mc, 1e-6);
    CHECK_NEAR("crossentropy probs", down(d_probs, probs.size()), probs, 1e-5);
    vec dz = randv(z.size());
    float *d_dz = up(dz);
    gpu->crossentropy_backward(d_dz, d_probs, d_labels, b, l, 0.25f);
    cpu->crossentropy_backward(dz.data(), probs.data(), labels.data(), b, l, 0.25f);
    CHECK_NEAR("crossentropy backward", down(d_dz, dz.size()), dz, 1e-5);
    for (size_t n : {(size_t)1, (size_t)4097, (size_t)3000001}) {
        vec x = randv(n, -2, 2);
        const float *d_xs = up(x);
        const ops_span whole = {0, n};
        double sg = gpu->sum_squares_spans(d_xs, &whole, 1);
        double sg2 = gpu->sum_squares_spans(d_xs, &whole, 1);
        double sc = cpu->sum_squares_spans(x.data(), &whole, 1);
        CHECK_MSG(fabs(sg - sc) <= 1e-9 * sc && sg == sg2, "sum_squares %zu: %.17g vs %.17g", n, sg,
                  sc);
    }
    const size_t n = 100003;
    ops_adamw_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3};
    vec p = randv(n), gr = randv(n), m = randv(n, -0.1f, 0.1f), v = randv(n, 0.0f, 0.01f);
    float *dp2 = up(p), *dm2 = up(m), *dv2 = up(v);
    const float *dg = up(gr);
    vec p2 = p, m2 = m, v2 = v;
    const ops_adamw_span spans[3] = {{0, 1000, 0.0f}, {1500, 1, 0.1f}, {2000, 98003, 0.01f}};
    gpu->adamw_spans(dp2, dg, dm2, dv2, spans, 3, &h);
    cpu->adamw_spans(p2.data(), gr.data(), m2.data(), v2.data(), spans, 3, &h);
    CHECK_NEAR("adamw_spans", down(dp2, n), p2, 1e-5);
    CHECK_NEAR("adamw_spans m", down(dm2, n), m2, 1e-5);
    CHECK_NEAR("adamw_spans v", down(dv2, n), v2, 1e-5);
    free_all();
}

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    if (gpu_device_count() == 0) {
        fprintf(stderr, "test_ops_cuda: no GPU visible: skipped\n");
        return 77;
    }
    FT_CHECK(cudaSetDevice(0) == cudaSuccess);
    cpu = ops_cpu_backend();
    gpu = ops_cuda_backend();
    ops_compare_verbose = true; /* every error in the log of a GPU run */
    fprintf(stderr, "GPU back end: %s, bf16: %s\n", gpu->name, gpu->bf16_isa());
    for (int op = 0; op < OPS_OP_CORE_COUNT; op++) /* OPS_LIST_LLM: CPU only */
        CHECK_MSG(ops_backend_has(gpu, (ops_op)op), "the GPU lacks %s", ops_op_name((ops_op)op));
    for (int bf = 0; bf < 2; bf++)
        for (int shift = 0; shift < 2; shift++) {
            test_linear(64, 96, 160, OPS_W_OUT_IN, bf, shift);
            test_linear(37, 24, 40, OPS_W_IN_OUT, bf, shift);
        }
    test_elementwise(1);
    test_elementwise(100003);
    test_rows(1, 1);
    test_rows(300, 768);
    test_rows(77, 33);
    test_embedding(500, 64, 30);
    test_embedding(5, 1, 2);
    for (size_t per : {(size_t)1, (size_t)5, (size_t)4099})
        for (float p : {0.1f, 0.9f}) test_dropout(per, p);
    test_attention(2, 5, 12, 3, false, 0.0f, {5, 3});
    test_attention(3, 64, 64, 4, true, 0.1f, {64, 40, 1});
    test_attention(2, 33, 48, 2, false, 0.3f, {33, 17});
    test_loss_and_optimiser();
    return check_finish();
}
