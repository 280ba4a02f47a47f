/* bench_sgemm: the matrix-product ceiling of this machine, measured the way
 * a BERT-base training step multiplies, by every float32 library ftune can
 * choose (ops_cpu_gemm.c) and in bf16.
 *
 * usage: bench_sgemm [TOKENS] [REPS]   (defaults 2048 = 16 x 128, 7)
 * Times the products of one encoder layer's linear layers at M = TOKENS:
 * forward out = x·Wᵀ (NT), backward dx = dy·W (NN) and dW = dyᵀ·x (TN), for
 * (in, out) = (768, 768), (768, 3072), (3072, 768), each the median of REPS
 * after 2 warm-ups.
 * Prints "key=value" lines: one per candidate (candidate=openblas, with
 * OpenBLAS's kernels as loaded, and candidate=onednn: peak, mean and each
 * shape's median); then sgemm_peak_gflops, the best candidate's peak (the
 * ceiling bench_train_step.sh divides by), with the best candidate and the
 * one ftune chooses here (and why); then the bf16 products
 * (ops_cpu_matmul_bf16, oneDNN: Debian's OpenBLAS 0.3.21 is built without
 * sbgemm), bf16_peak_gflops being the ceiling of the bf16 runs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "ops/ops.h"
#include "ops/ops_cpu.h"

enum { LIB_BF16 = 2 }; /* after OPS_GEMM_OPENBLAS and OPS_GEMM_ONEDNN */

typedef struct probe {
    const char *name;
    bool ta, tb;
    int m, n, k; /* C[m,n] = op(A)[m,k] op(B)[k,n] */
} probe;

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
}

/* Median GFLOP/s of one shape, through one float32 library or (bf16)
 * through ops_cpu_matmul_bf16 on the same values rounded to bf16. */
static double time_probe(const probe *p, int reps, int lib)
{
    size_t sa = (size_t)p->m * p->k, sb = (size_t)p->k * p->n, sc = (size_t)p->m * p->n;
    float *a = malloc(sa * sizeof(float)), *b = malloc(sb * sizeof(float));
    ops_bf16 *a16 = malloc(sa * sizeof(ops_bf16)), *b16 = malloc(sb * sizeof(ops_bf16));
    float *c = calloc(sc, sizeof(float));
    double *t = malloc((size_t)reps * sizeof(double)), gf = 0.0;
    if (!a || !b || !a16 || !b16 || !c || !t) goto done;
    fill(a, sa);
    fill(b, sb);
    ops_to_bf16(a16, a, sa);
    ops_to_bf16(b16, b, sb);
    bool ta = p->ta, tb = p->tb;
    for (int r = 0; r < reps + 2; r++) {
        double t0 = bench_now_s();
        if (lib == LIB_BF16)
            ops_cpu_matmul_bf16(c, a16, b16, p->m, p->n, p->k, ta, tb, false);
        else
            ops_cpu_sgemm_with((ops_cpu_gemm_lib)lib, ta, tb, p->m, p->n, p->k, 1.0f, a,
                               ta ? p->m : p->k, b, tb ? p->k : p->n, 0.0f, c, p->n);
        if (r >= 2) t[r - 2] = bench_now_s() - t0;
    }
    gf = 2.0 * p->m * p->n * p->k / bench_median(t, reps) / 1e9;
done:
    free(a);
    free(a16);
    free(b);
    free(b16);
    free(c);
    free(t);
    return gf;
}

typedef struct figures {
    double peak, mean;
    char shapes[512];
} figures;

/* Every BERT-base layer product at M = m through one library. */
static figures measure(int m, int reps, int lib)
{
    static const int io[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
    figures f = {0.0, 0.0, ""};
    for (int s = 0; s < 3; s++) {
        int in = io[s][0], out = io[s][1];
        probe ps[3] = {{"fwd_nt", false, true, m, out, in},
                       {"dx_nn", false, false, m, in, out},
                       {"dw_tn", true, false, out, in, m}};
        for (int i = 0; i < 3; i++) {
            double g = time_probe(&ps[i], reps, lib);
            f.peak = g > f.peak ? g : f.peak;
            f.mean += g / 9.0;
            size_t len = strlen(f.shapes);
            snprintf(f.shapes + len, sizeof f.shapes - len, " %s_%dx%d=%.1f", ps[i].name, in, out,
                     g);
        }
    }
    return f;
}

int main(int argc, char **argv)
{
    int m = argc > 1 ? atoi(argv[1]) : 2048, reps = argc > 2 ? atoi(argv[2]) : 7;
    if (m < 1 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_sgemm [TOKENS] [REPS]\n");
        return 2;
    }
    figures lib[2];
    for (int l = 0; l < 2; l++) {
        lib[l] = measure(m, reps, l);
        printf("candidate=%s peak_gflops=%.1f mean_gflops=%.1f%s %s\n",
               l == OPS_GEMM_ONEDNN ? "onednn" : "openblas", lib[l].peak, lib[l].mean,
               lib[l].shapes, l == OPS_GEMM_ONEDNN ? "isa=jit-by-cpuid" : "");
        fflush(stdout);
    }
    int best = lib[OPS_GEMM_ONEDNN].peak > lib[OPS_GEMM_OPENBLAS].peak;
    /* The chosen library's own shapes, then the ceiling: the best library's. */
    printf("sgemm_peak_gflops=%.1f sgemm_mean_gflops=%.1f best=%s chosen=%s openblas_core=%s "
           "reason=\"%s\"\n",
           lib[best].peak, lib[best].mean, best ? "onednn" : "openblas",
           ops_cpu_gemm_current() == OPS_GEMM_ONEDNN ? "onednn" : "openblas",
           ops_cpu_gemm_openblas_core(), ops_cpu_gemm_describe());
    figures f = measure(m, reps, LIB_BF16);
    printf("bf16_peak_gflops=%.1f bf16_mean_gflops=%.1f%s isa=%s\n", f.peak, f.mean, f.shapes,
           ops_bf16_isa());
    return 0;
}
