/* ops_cuda_matmul: matrix products of the CUDA back end.
 *
 * float32: cublasSgemm with the row-major trick (a row-major C = A·B is the
 * column-major Cᵀ = Bᵀ·Aᵀ, so the operands are passed swapped), TF32 off
 * unless ops_cuda_allow_tf32. A linear layer writes its bias rows first and
 * adds the product onto them (beta = 1), as the CPU does.
 *
 * bf16: operands CUDA_R_16BF, float32 accumulation and result.
 * A bf16 product is one cublasGemmEx (CUBLAS_COMPUTE_32F). A bf16 linear
 * layer forward is one cublasLtMatmul with the bias added in its epilogue
 * (CUBLASLT_EPILOGUE_BIAS, float32 bias); its descriptors and the chosen
 * algorithm are cached per shape. Where cuBLASLt offers no algorithm (odd
 * alignments) it falls back to bias rows + cublasGemmEx. */
#include "ops_cuda_impl.h"

#include "kern_elementwise.cuh"
#include "kern_reduce.cuh"

#include <stdint.h>
#include <stdio.h>

KERN_GLOBAL(kern_fill_rows)

/* Row-major c[M,N] (+)= op(a)·op(b) as one cuBLAS call. */
static void matmul(float *c, const float *a, const float *b, int m, int n, int k, bool trans_a,
                   bool trans_b, bool accumulate)
{
    if (m == 0 || n == 0) return;
    float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    CUBLAS_OK(cublasSgemm(ops_cuda_ctx_get()->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                          trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b, trans_b ? k : n, a,
                          trans_a ? m : k, &beta, c, n));
}

/* dst[C] += column sums of x[N,C]. */
static void column_sums(float *dst, const float *x, int n, int c)
{
    kern_colvalue_plain v = {x, c};
    ops_cuda_column_sums(dst, (float *)NULL, v, n, c);
}

void ops_cuda_bias_backward(float *dbias, const float *dout, int n, int c)
{
    column_sums(dbias, dout, n, c);
}

static void fill_rows(float *out, const float *bias, int n, int oc)
{
    OPS_LAUNCH(kern_fill_rows, ops_cuda_grid((size_t)n * oc, OPS_THREADS), OPS_THREADS, out, bias,
               (size_t)n, oc);
}

void ops_cuda_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                             int n, int c, int oc, ops_weight_layout layout)
{
    if (bias) fill_rows(out, bias, n, oc);
    matmul(out, inp, weight, n, oc, c, false, layout == OPS_W_OUT_IN, bias != NULL);
}

void ops_cuda_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *weight, int n, int c, int oc,
                              ops_weight_layout layout)
{
    bool out_in = layout == OPS_W_OUT_IN;
    if (dinp) matmul(dinp, dout, weight, n, c, oc, false, !out_in, true);
    if (dweight) {
        if (out_in)
            matmul(dweight, dout, inp, oc, c, n, true, false, true);
        else
            matmul(dweight, inp, dout, c, oc, n, true, false, true);
    }
    if (dbias) column_sums(dbias, dout, n, oc);
}

/* ---- bf16 ------------------------------------------------------------------------ */

static void matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m, int n, int k,
                        bool trans_a, bool trans_b, bool accumulate)
{
    if (m == 0 || n == 0) return;
    float one = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    CUBLAS_OK(cublasGemmEx(ops_cuda_ctx_get()->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                           trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b, CUDA_R_16BF,
                           trans_b ? k : n, a, CUDA_R_16BF, trans_a ? m : k, &beta, c, CUDA_R_32F,
                           n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

bool ops_cuda_bf16_native(void)
{
    int device, major;
    CUDA_OK(cudaGetDevice(&device));
    CUDA_OK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    return major >= 8;
}

const char *ops_cuda_bf16_isa(void)
{
    return ops_cuda_bf16_native() ? "CUDA bf16 tensor cores (cuBLASLt)"
                                  : "CUDA (bf16 without tensor cores)";
}

/* One cached cuBLASLt plan: out[n,oc] = inp_bf16[n,c] · W + bias. */
struct lt_plan {
    int n, c, oc;
    bool trans_w;
    uint32_t align;
    bool usable;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t w_layout, x_layout, out_layout;
    cublasLtMatmulAlgo_t algo;
};

enum { LT_PLANS = 64 };
static lt_plan lt_plans[LT_PLANS];
static int lt_plan_count;

/* Largest power of two (<= 256) dividing the address. */
static uint32_t pointer_alignment(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    uint32_t al = 256;
    while (al > 1 && a % al) al /= 2;
    return al;
}

static void lt_plan_create(lt_plan *p)
{
    ops_cuda_ctx *cx = ops_cuda_ctx_get();
    cublasOperation_t tw = p->trans_w ? CUBLAS_OP_T : CUBLAS_OP_N, tx = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    cudaDataType_t bias_type = CUDA_R_32F;
    CUBLAS_OK(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CUBLAS_OK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &tw, sizeof tw));
    CUBLAS_OK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tx, sizeof tx));
    CUBLAS_OK(
        cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    CUBLAS_OK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                             &bias_type, sizeof bias_type));
    /* column-major view: out_cm[oc, n] = op(W)_cm[oc, c] · x_cm[c, n] */
    int wr = p->trans_w ? p->c : p->oc, wc = p->trans_w ? p->oc : p->c;
    CUBLAS_OK(cublasLtMatrixLayoutCreate(&p->w_layout, CUDA_R_16BF, wr, wc, wr));
    CUBLAS_OK(cublasLtMatrixLayoutCreate(&p->x_layout, CUDA_R_16BF, p->c, p->n, p->c));
    CUBLAS_OK(cublasLtMatrixLayoutCreate(&p->out_layout, CUDA_R_32F, p->oc, p->n, p->oc));
    cublasLtMatmulPreference_t pref;
    CUBLAS_OK(cublasLtMatmulPreferenceCreate(&pref));
    CUBLAS_OK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                   &cx->lt_workspace_bytes,
                                                   sizeof cx->lt_workspace_bytes));
    const cublasLtMatmulPreferenceAttributes_t aligns[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; i++)
        CUBLAS_OK(
            cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &p->align, sizeof p->align));
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    cublasStatus_t st =
        cublasLtMatmulAlgoGetHeuristic(cx->lt, p->desc, p->w_layout, p->x_layout, p->out_layout,
                                       p->out_layout, pref, 1, &result, &found);
    cublasLtMatmulPreferenceDestroy(pref);
    p->usable = st == CUBLAS_STATUS_SUCCESS && found > 0;
    if (p->usable) p->algo = result.algo;
}

static lt_plan *lt_plan_get(int n, int c, int oc, bool trans_w, uint32_t align)
{
    for (int i = 0; i < lt_plan_count; i++) {
        lt_plan *p = &lt_plans[i];
        if (p->n == n && p->c == c && p->oc == oc && p->trans_w == trans_w && p->align == align)
            return p;
    }
    if (lt_plan_count == LT_PLANS) return NULL; /* unusual: plain path */
    lt_plan *p = &lt_plans[lt_plan_count++];
    p->n = n, p->c = c, p->oc = oc, p->trans_w = trans_w, p->align = align;
    lt_plan_create(p);
    return p;
}

/* out = x · W + bias through cuBLASLt; false when it has no algorithm. */
static bool linear_lt(float *out, const ops_bf16 *x, const ops_bf16 *w, const float *bias, int n,
                      int c, int oc, bool trans_w)
{
    uint32_t align = pointer_alignment(out);
    const void *ptrs[3] = {x, w, bias};
    for (int i = 0; i < 3; i++) {
        uint32_t a = pointer_alignment(ptrs[i]);
        align = a < align ? a : align;
    }
    if (align < 16) return false;
    lt_plan *p = lt_plan_get(n, c, oc, trans_w, align);
    if (!p || !p->usable) return false;
    ops_cuda_ctx *cx = ops_cuda_ctx_get();
    CUBLAS_OK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                             sizeof bias));
    float one = 1.0f, zero = 0.0f;
    CUBLAS_OK(cublasLtMatmul(cx->lt, p->desc, &one, w, p->w_layout, x, p->x_layout, &zero, out,
                             p->out_layout, out, p->out_layout, &p->algo, cx->lt_workspace,
                             cx->lt_workspace_bytes, cx->stream));
    return true;
}

void ops_cuda_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp_bf16,
                                  const ops_bf16 *weight, const float *bias, int n, int c, int oc,
                                  ops_weight_layout layout)
{
    bool trans_w = layout == OPS_W_OUT_IN;
    ops_cuda_to_bf16(inp_bf16, inp, (size_t)n * c);
    if (n == 0 || oc == 0) return;
    if (bias && linear_lt(out, inp_bf16, weight, bias, n, c, oc, trans_w)) return;
    if (bias) fill_rows(out, bias, n, oc);
    matmul_bf16(out, inp_bf16, weight, n, oc, c, false, trans_w, bias != NULL);
}

void ops_cuda_linear_backward_bf16(float *dinp, float *dweight, float *dbias, const float *dout,
                                   ops_bf16 *dout_bf16, const float *inp, ops_bf16 *inp_bf16,
                                   const ops_bf16 *weight, int n, int c, int oc,
                                   ops_weight_layout layout)
{
    bool out_in = layout == OPS_W_OUT_IN;
    if (dinp || dweight) ops_cuda_to_bf16(dout_bf16, dout, (size_t)n * oc);
    if (dinp) matmul_bf16(dinp, dout_bf16, weight, n, c, oc, false, !out_in, true);
    if (dweight) {
        ops_cuda_to_bf16(inp_bf16, inp, (size_t)n * c);
        if (out_in)
            matmul_bf16(dweight, dout_bf16, inp_bf16, oc, c, n, true, false, true);
        else
            matmul_bf16(dweight, inp_bf16, dout_bf16, c, oc, n, true, false, true);
    }
    if (dbias) column_sums(dbias, dout, n, oc);
}
