/* ops_cpu: the CPU back end's implementations of ops.h (OpenBLAS, oneDNN,
 * OpenMP), one per operation, with ops.h's meaning and arguments on host
 * memory (prototypes generated from ops_list.h), plus the CPU's own GEMM
 * and products. Only the back end's table (ops_cpu_backend.c), the CPU
 * files, the simulated device (its stand-in for cuBLAS) and bench_sgemm call
 * them; everything else calls ops.h. */
#ifndef OPS_CPU_H
#define OPS_CPU_H

#include "core/ft_error.h"
#include "ops/ops.h"

/* ---- the float32 GEMM (ops_cpu_gemm.c) ---- */
typedef enum ops_cpu_gemm_lib { OPS_GEMM_OPENBLAS, OPS_GEMM_ONEDNN } ops_cpu_gemm_lib;
/* Check FTUNE_GEMM (auto, openblas, onednn; unset is auto) and say the
 * choice at info; a bad value is an error naming it. The choice is made
 * once, from the variable, by the first product or description (auto, with
 * a warning, on a bad value where this was not called). */
ft_status ops_cpu_gemm_select(ft_error *err);
/* request (NULL, "", "auto", "openblas" or "onednn") to a library, with the
 * reason in why[why_size]. */
ft_status ops_cpu_gemm_parse(const char *request, ops_cpu_gemm_lib *lib, char *why, size_t why_size,
                             ft_error *err);
ops_cpu_gemm_lib ops_cpu_gemm_current(void);
/* "oneDNN sgemm (auto: oneDNN's kernels use AVX-512, OpenBLAS's Haswell
 * kernels AVX2, on a CPU with AVX-512)": the choice and its reason (a
 * per-thread buffer). */
const char *ops_cpu_gemm_describe(void);
/* The core name OpenBLAS chose its kernels for ("Cooperlake", "Prescott"). */
const char *ops_cpu_gemm_openblas_core(void);
/* c = alpha op(a) op(b) + beta c, row-major (cblas_sgemm's arguments), by
 * the chosen library or by lib. */
void ops_cpu_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                   int lda, const float *b, int ldb, float beta, float *c, int ldc);
void ops_cpu_sgemm_with(ops_cpu_gemm_lib lib, bool trans_a, bool trans_b, int m, int n, int k,
                        float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                        float *c, int ldc);

/* c[M,N] = (accumulate ? c : 0) + op(a) · op(b), row-major; op(a) is [M,K]
 * (a stored [K,M] when trans_a), op(b) is [K,N] (b stored [N,K] when
 * trans_b): the linear layers' products (and cuBLAS's stand-in in the
 * simulated device). */
void ops_cpu_matmul(float *c, const float *a, const float *b, int m, int n, int k, bool trans_a,
                    bool trans_b, bool accumulate);
/* ops_cpu_matmul with a and b in bf16: float32 accumulation and result
 * (oneDNN; ops_cpu_bf16.c). */
void ops_cpu_matmul_bf16(float *c, const ops_bf16 *a, const ops_bf16 *b, int m, int n, int k,
                         bool trans_a, bool trans_b, bool accumulate);
/* Whether this CPU's bf16 products are faster than its float32 ones (a
 * rule from the instruction set and vendor, ops_cpu_bf16.c says why). */
bool ops_cpu_bf16_pays(void);

/* ---- the operations: ops_cpu_<name> for each entry of ops_list.h ---- */
#define OPS_CPU_PROTO(name, params, args)          void ops_cpu_##name params;
#define OPS_CPU_PROTO_RET(ret, name, params, args) ret ops_cpu_##name params;
OPS_LIST(OPS_CPU_PROTO, OPS_CPU_PROTO_RET)
#undef OPS_CPU_PROTO
#undef OPS_CPU_PROTO_RET

#endif
