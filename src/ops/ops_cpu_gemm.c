/* ops_cpu_gemm: the CPU back end's float32 matrix product, and the choice of
 * the library that computes it (OpenBLAS or oneDNN).
 *
 * Why a choice: Debian's OpenBLAS (0.3.21) picks its kernels from the CPU's
 * family and model, not from its instruction set. A CPU it does not know
 * gets its generic Prescott (SSE3) kernels: on an Intel Xeon of family 6
 * model 207 (AVX-512) that is 45-75 GFLOP/s on two cores where the machine
 * does 320-385. An OPENBLAS_CORETYPE left in the environment does the same
 * in the other direction (Haswell kernels on a Zen 5: 240 against 450).
 * oneDNN's sgemm is JIT-compiled for the instruction set cpuid reports, so
 * it runs at the machine's speed whatever the model number.
 *
 * The choice ("auto", the default): oneDNN, unless its kernels use a
 * narrower instruction set than OpenBLAS's (ONEDNN_MAX_CPU_ISA held low,
 * say). Measured on an AMD Zen 5 (2 cores), where OpenBLAS knows the CPU:
 * both reach 440-480 GFLOP/s on BERT-base's layer products, oneDNN twice
 * OpenBLAS's rate on attention's small per-head products inside an OpenMP
 * loop (197 against 105), a BERT-base step 7-8% faster. A rule, not a
 * timing probe: where two libraries are about as fast, a probe would pick
 * one in one run and the other in the next, and a resumed run must compute
 * what the interrupted one did.
 * FTUNE_GEMM=openblas|onednn|auto overrides it for every program.
 *
 * Not here: bf16 products (ops_cpu_bf16.c). */
#include "ops/ops_cpu.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ft_error.h"
#include "core/ft_log.h"

typedef enum isa_level { ISA_SSE, ISA_AVX, ISA_AVX2, ISA_AVX512 } isa_level;

static const char *const isa_names[] = {"SSE", "AVX", "AVX2", "AVX-512"};

static pthread_once_t gemm_once = PTHREAD_ONCE_INIT;
static ops_cpu_gemm_lib chosen = OPS_GEMM_OPENBLAS;
static char chosen_why[192];

static isa_level cpu_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
    if (__builtin_cpu_supports("avx")) return ISA_AVX;
#endif
    return ISA_SSE;
}

/* The instruction set of OpenBLAS's x86-64 kernel families by core name
 * (the names of its driver/others/dynamic.c). An unknown name counts as
 * generic: oneDNN is then the safe choice. */
static isa_level openblas_isa(const char *core)
{
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
    static const char *const avx2[] = {"haswell", "zen", "excavator"};
    static const char *const avx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (!strcasecmp(core, avx512[i])) return ISA_AVX512;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (!strcasecmp(core, avx2[i])) return ISA_AVX2;
    for (size_t i = 0; i < sizeof avx / sizeof *avx; i++)
        if (!strcasecmp(core, avx[i])) return ISA_AVX;
    return ISA_SSE;
}

const char *ops_cpu_gemm_openblas_core(void)
{
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}

/* The vector instruction set oneDNN JIT-compiles for here
 * (dnnl_cpu_isa_t's bits: avx512_core 0x27, avx2 0x7, avx 0x3). */
static isa_level onednn_isa(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    if ((isa & 0x27u) == 0x27u) return ISA_AVX512;
    if ((isa & 0x7u) == 0x7u) return ISA_AVX2;
    if ((isa & 0x3u) == 0x3u) return ISA_AVX;
    return ISA_SSE;
}

static ops_cpu_gemm_lib choose_auto(char *why, size_t size)
{
    const char *core = ops_cpu_gemm_openblas_core();
    isa_level cpu = cpu_isa(), blas = openblas_isa(core), dnnl = onednn_isa();
    bool use_dnnl = dnnl >= blas;
    snprintf(why, size, "auto: oneDNN's kernels use %s, OpenBLAS's %s kernels %s, on a CPU with %s",
             isa_names[dnnl], core, isa_names[blas], isa_names[cpu]);
    return use_dnnl ? OPS_GEMM_ONEDNN : OPS_GEMM_OPENBLAS;
}

ft_status ops_cpu_gemm_parse(const char *request, ops_cpu_gemm_lib *lib, char *why, size_t why_size,
                             ft_error *err)
{
    if (!request || !*request || !strcmp(request, "auto")) {
        *lib = choose_auto(why, why_size);
        return FT_OK;
    }
    if (!strcmp(request, "openblas") || !strcmp(request, "onednn")) {
        *lib = strcmp(request, "onednn") ? OPS_GEMM_OPENBLAS : OPS_GEMM_ONEDNN;
        snprintf(why, why_size, "FTUNE_GEMM=%s", request);
        return FT_OK;
    }
    return ft_fail(err, FT_EINVAL, "FTUNE_GEMM: expected auto, openblas or onednn, got \"%s\"",
                   request);
}

/* First use without ops_cpu_gemm_select (tests, benchmarks): the
 * environment's choice, or auto when it is not a valid one. */
static void choose_from_env(void)
{
    ft_error err;
    if (ops_cpu_gemm_parse(getenv("FTUNE_GEMM"), &chosen, chosen_why, sizeof chosen_why, &err) !=
        FT_OK) {
        ft_log_warn("%s: using auto", err.msg);
        chosen = choose_auto(chosen_why, sizeof chosen_why);
    }
}

ft_status ops_cpu_gemm_select(ft_error *err)
{
    /* Only validates: the choice itself is made once, from the same
     * variable, by choose_from_env (describe runs it). */
    ops_cpu_gemm_lib lib;
    char why[sizeof chosen_why];
    ft_status st = ops_cpu_gemm_parse(getenv("FTUNE_GEMM"), &lib, why, sizeof why, err);
    if (st != FT_OK) return st;
    ft_log_info("float32 products: %s", ops_cpu_gemm_describe());
    return FT_OK;
}

ops_cpu_gemm_lib ops_cpu_gemm_current(void)
{
    pthread_once(&gemm_once, choose_from_env);
    return chosen;
}

const char *ops_cpu_gemm_describe(void)
{
    static __thread char text[320];
    ops_cpu_gemm_lib lib = ops_cpu_gemm_current();
    snprintf(text, sizeof text, "%s (%s)",
             lib == OPS_GEMM_ONEDNN ? "oneDNN sgemm" : "OpenBLAS sgemm", chosen_why);
    return text;
}

void ops_cpu_sgemm_with(ops_cpu_gemm_lib lib, bool trans_a, bool trans_b, int m, int n, int k,
                        float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc)
{
    if (lib == OPS_GEMM_ONEDNN) {
        /* dnnl_sgemm is row-major, like the CBLAS call below. */
        dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                      lda, b, ldb, beta, c, ldc);
        FT_CHECK_MSG(st == dnnl_success, "dnnl_sgemm failed");
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void ops_cpu_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    ops_cpu_sgemm_with(ops_cpu_gemm_current(), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
                       beta, c, ldc);
}
