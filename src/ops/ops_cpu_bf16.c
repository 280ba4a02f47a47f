/* ops_cpu_bf16: bf16 matrix products of ops.h on the CPU, through oneDNN.
 *
 * Why oneDNN: Debian's OpenBLAS (0.3.21) has no bf16 GEMM (sbgemm is not
 * built), and oneDNN is the library PyTorch itself calls for bf16 products
 * on CPUs (the same Debian package, libdnnl 2.6). Its brgemm matmul uses
 * AVX512-BF16 (vdpbf16ps: two bf16 products per float32 lane per FMA) or
 * AMX. oneDNN 2.6 has no bf16 matmul at all below AVX-512 (and valgrind
 * hides AVX-512 from it): there the product is emulated here, exactly, by
 * widening both operands to float32 (bf16 -> float32 is exact, and so is a
 * product of two bf16 values) and calling cblas_sgemm: the same maths at
 * float32 speed.
 *
 * Design: one engine and one stream for the process (created once, on first
 * use; oneDNN keeps them for the process's life, so do we). A product is a
 * matmul primitive over the caller's buffers described by strides: a
 * transposed operand is the same memory with swapped strides, no copy.
 * oneDNN caches primitives by their description, so asking for the same
 * shapes every step costs a lookup, not a JIT compilation.
 *
 * Failures of oneDNN here are programming errors (shapes are the model's
 * own), so they stop the program through FT_CHECK. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/ft_error.h"
#include "core/ft_alloc.h"
#include "ops/ops_cpu.h"
#include "ops_cpu_simd.h"

/* ---- conversion ------------------------------------------------------------ */

/* Round to nearest even by adding 0x7fff plus the lowest kept bit, then
 * truncating; a NaN keeps its sign and top payload bits and is made quiet
 * so that truncation cannot turn it into an infinity. */
OPS_CLONES
static void to_bf16_piece(ops_bf16 *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &in[i], sizeof u);
        uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        uint32_t nan = (u >> 16) | 0x40u;
        out[i] = (ops_bf16)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
    }
}

OPS_CLONES
static void from_bf16_piece(float *out, const ops_bf16 *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)in[i] << 16;
        memcpy(&out[i], &u, sizeof u);
    }
}

void ops_cpu_to_bf16(ops_bf16 *out, const float *in, size_t n)
{
    CHUNKED(n, to_bf16_piece(out + i0, in + i0, len));
}

static void from_bf16(float *out, const ops_bf16 *in, size_t n)
{
    CHUNKED(n, from_bf16_piece(out + i0, in + i0, len));
}

/* ---- oneDNN state ---------------------------------------------------------- */

static pthread_once_t dnnl_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static dnnl_stream_t stream;
static bool dnnl_has_bf16; /* else the float32 emulation */

static void matrix_desc(dnnl_memory_desc_t *md, int rows, int cols, bool trans,
                        dnnl_data_type_t type);

/* Whether oneDNN implements a bf16 matmul on this CPU: ask for a small one. */
static bool probe_bf16(void)
{
    dnnl_memory_desc_t md[3];
    matrix_desc(&md[0], 16, 16, false, dnnl_bf16);
    matrix_desc(&md[1], 16, 16, false, dnnl_bf16);
    matrix_desc(&md[2], 16, 16, false, dnnl_f32);
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    bool ok = dnnl_matmul_desc_init(&desc, &md[0], &md[1], NULL, &md[2]) == dnnl_success &&
              dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    return ok;
}

static void dnnl_setup(void)
{
    FT_CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success);
    FT_CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) == dnnl_success);
    dnnl_has_bf16 = probe_bf16();
}

bool ops_cpu_bf16_native(void)
{
    pthread_once(&dnnl_once, dnnl_setup);
    if (!dnnl_has_bf16) return false;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

const char *ops_cpu_bf16_isa(void)
{
    pthread_once(&dnnl_once, dnnl_setup);
    if (!dnnl_has_bf16) return "none: emulated with float32 sgemm";
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "AMX";
    case dnnl_cpu_isa_avx512_core_bf16: return "AVX512-BF16";
    case dnnl_cpu_isa_avx512_core_vnni:
    case dnnl_cpu_isa_avx512_core: return "AVX-512 (bf16 emulated)";
    case dnnl_cpu_isa_avx2_vnni:
    case dnnl_cpu_isa_avx2: return "AVX2 (bf16 emulated)";
    default: return "baseline (bf16 emulated)";
    }
}

/* ---- products ---------------------------------------------------------------- */

/* A logical [rows, cols] matrix stored row-major, or, when `trans`, stored
 * as its transpose [cols, rows] row-major (element (i, j) at j*rows + i). */
static void matrix_desc(dnnl_memory_desc_t *md, int rows, int cols, bool trans,
                        dnnl_data_type_t type)
{
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {trans ? 1 : cols, trans ? rows : 1};
    FT_CHECK(dnnl_memory_desc_init_by_strides(md, 2, dims, type, strides) == dnnl_success);
}

/* md: a, b, c and (when bias) the float32 bias row [1, n]. */
static dnnl_primitive_t matmul_primitive(int m, int n, int k, bool trans_a, bool trans_b,
                                         bool accumulate, bool bias, dnnl_memory_desc_t md[4])
{
    matrix_desc(&md[0], m, k, trans_a, dnnl_bf16);
    matrix_desc(&md[1], k, n, trans_b, dnnl_bf16);
    matrix_desc(&md[2], m, n, false, dnnl_f32);
    matrix_desc(&md[3], 1, n, false, dnnl_f32);
    dnnl_matmul_desc_t desc;
    FT_CHECK(dnnl_matmul_desc_init(&desc, &md[0], &md[1], bias ? &md[3] : NULL, &md[2]) ==
             dnnl_success);
    dnnl_primitive_attr_t attr;
    FT_CHECK(dnnl_primitive_attr_create(&attr) == dnnl_success);
    if (accumulate) {
        /* c = 1.0 * c + a·b, the sum post-op. */
        dnnl_post_ops_t post;
        FT_CHECK(dnnl_post_ops_create(&post) == dnnl_success);
        FT_CHECK(dnnl_post_ops_append_sum(post, 1.0f) == dnnl_success);
        FT_CHECK(dnnl_primitive_attr_set_post_ops(attr, post) == dnnl_success);
        dnnl_post_ops_destroy(post);
    }
    dnnl_primitive_desc_t pd;
    FT_CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL) == dnnl_success);
    dnnl_primitive_attr_destroy(attr);
    dnnl_primitive_t prim;
    FT_CHECK(dnnl_primitive_create(&prim, pd) == dnnl_success);
    dnnl_primitive_desc_destroy(pd);
    return prim;
}

/* The emulation: both operands widened to float32, one sgemm. */
static void matmul_emulated(float *c, const ops_bf16 *a, const ops_bf16 *b, const float *bias,
                            int m, int n, int k, bool trans_a, bool trans_b, bool accumulate)
{
    size_t na = (size_t)m * k, nb = (size_t)k * n;
    float *wide = ft_malloc_array(na + nb, sizeof(float));
    FT_CHECK_MSG(wide != NULL, "out of memory in the bf16 emulation");
    from_bf16(wide, a, na);
    from_bf16(wide + na, b, nb);
    if (bias) {
        for (int i = 0; i < m; i++) memcpy(c + (size_t)i * n, bias, (size_t)n * sizeof(float));
        accumulate = true;
    }
    ops_cpu_sgemm(trans_a, trans_b, m, n, k, 1.0f, wide, trans_a ? m : k, wide + na,
                  trans_b ? k : n, accumulate ? 1.0f : 0.0f, c, n);
    free(wide);
}

/* c = (accumulate ? c : 0) + op(a)·op(b) (+ bias on every row). */
static void matmul(float *c, const ops_bf16 *a, const ops_bf16 *b, const float *bias, int m, int n,
                   int k, bool trans_a, bool trans_b, bool accumulate)
{
    pthread_once(&dnnl_once, dnnl_setup);
    if (!dnnl_has_bf16) {
        matmul_emulated(c, a, b, bias, m, n, k, trans_a, trans_b, accumulate);
        return;
    }
    dnnl_memory_desc_t md[4];
    dnnl_primitive_t prim =
        matmul_primitive(m, n, k, trans_a, trans_b, accumulate, bias != NULL, md);
    /* oneDNN takes non-const handles; it only reads a, b and bias. */
    void *handles[4] = {(void *)(uintptr_t)a, (void *)(uintptr_t)b, c, (void *)(uintptr_t)bias};
    int count = bias ? 4 : 3;
    dnnl_memory_t mem[4];
    for (int i = 0; i < count; i++)
        FT_CHECK(dnnl_memory_create(&mem[i], &md[i], engine, handles[i]) == dnnl_success);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]},
                               {DNNL_ARG_WEIGHTS, mem[1]},
                               {DNNL_ARG_DST, mem[2]},
                               {DNNL_ARG_BIAS, count == 4 ? mem[3] : NULL}};
    FT_CHECK(dnnl_primitive_execute(prim, stream, count, args) == dnnl_success);
    FT_CHECK(dnnl_stream_wait(stream) == dnnl_success);
    for (int i = 0; i < count; i++) dnnl_memory_destroy(mem[i]);
    dnnl_primitive_destroy(prim);
}

void ops_cpu_matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m, int n, int k,
                         bool trans_a, bool trans_b, bool accumulate)
{
    matmul(c, a, b, NULL, m, n, k, trans_a, trans_b, accumulate);
}

/* ---- does bf16 pay on this CPU? ---------------------------------------------- */

/* A rule from the hardware, not a timing (a resumed run must make the same
 * choice as the run it continues). bf16 products beat float32 only where
 * the CPU multiplies more bf16 pairs per cycle: with AMX, and on AMD Zen 4/5,
 * whose vdpbf16ps does twice the products of a float32 FMA at the same rate
 * (850-970 against 440-480 GFLOP/s on a Zen 5). An Intel CPU without AMX
 * issues vdpbf16ps on one port where float32 FMAs issue on two: the same
 * products per cycle at best, fewer after the conversions (165-200 against
 * 320-385 on family 6 model 207). Emulated bf16 never pays. */
bool ops_cpu_bf16_pays(void)
{
    pthread_once(&dnnl_once, dnnl_setup);
    if (!dnnl_has_bf16) return false;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (isa == dnnl_cpu_isa_avx512_core_amx) return true;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return isa == dnnl_cpu_isa_avx512_core_bf16 && __builtin_cpu_is("amd");
#else
    return false;
#endif
}

/* ---- linear layers ------------------------------------------------------------ */

void ops_cpu_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp_bf16,
                                 const ops_bf16 *weight, const float *bias, int n, int c, int oc,
                                 ops_weight_layout layout)
{
    /* The bias is added by the product's own epilogue (one pass over out). */
    ops_cpu_to_bf16(inp_bf16, inp, (size_t)n * c);
    matmul(out, inp_bf16, weight, bias, n, oc, c, false, layout == OPS_W_OUT_IN, false);
}

void ops_cpu_linear_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout,
                                  ops_bf16 *dout_bf16, const float *inp, ops_bf16 *inp_bf16,
                                  const ops_bf16 *weight, int n, int c, int oc,
                                  ops_weight_layout layout)
{
    bool out_in = layout == OPS_W_OUT_IN;
    if (dinp || dweight) ops_cpu_to_bf16(dout_bf16, dout, (size_t)n * oc);
    if (dinp) ops_cpu_matmul_bf16(dinp, dout_bf16, weight, n, c, oc, false, !out_in, true);
    if (dweight) {
        ops_cpu_to_bf16(inp_bf16, inp, (size_t)n * c);
        if (out_in)
            ops_cpu_matmul_bf16(dweight, dout_bf16, inp_bf16, oc, c, n, true, false, true);
        else
            ops_cpu_matmul_bf16(dweight, inp_bf16, dout_bf16, c, oc, n, true, false, true);
    }
    if (dbias) ops_cpu_bias_backward(dbias, dout, n, oc);
}
