/* bench_sgemm: the matrix-product ceiling of this machine, measured the way
 * a BERT-base training step uses cblas_sgemm.
 *
 * usage: bench_sgemm [TOKENS] [REPS]   (defaults 2048 = 16 x 128, 7)
 * Times the products of one encoder layer's linear layers at M = TOKENS:
 * forward out = x·Wᵀ (NT), backward dx = dy·W (NN) and dW = dyᵀ·x (TN), for
 * (in, out) = (768, 768), (768, 3072), (3072, 768), each the median of REPS
 * after 2 warm-ups.
 * Prints two "key=value" lines: sgemm_peak_gflops (the best median: the
 * ceiling bench_train_step.sh divides by), sgemm_mean_gflops, each shape's
 * median and OpenBLAS's core name; then the same for the bf16 products
 * (ops_matmul_bf16, oneDNN: Debian's OpenBLAS 0.3.21 is built without
 * sbgemm), bf16_peak_gflops being the ceiling of the bf16 runs. */
#include <cblas.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "ops.h"

typedef struct probe {
    const char *name;
    enum CBLAS_TRANSPOSE ta, tb;
    int m, n, k; /* C[m,n] = op(A)[m,k] op(B)[k,n] */
} probe;

static void fill(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
}

/* Median GFLOP/s of one shape, through cblas_sgemm or (bf16) through
 * ops_matmul_bf16 on the same values rounded to bf16. */
static double time_probe(const probe *p, int reps, bool bf16)
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
    bool ta = p->ta != CblasNoTrans, tb = p->tb != CblasNoTrans;
    for (int r = 0; r < reps + 2; r++) {
        double t0 = bench_now_s();
        if (bf16)
            ops_matmul_bf16(c, a16, b16, p->m, p->n, p->k, ta, tb, false);
        else
            cblas_sgemm(CblasRowMajor, p->ta, p->tb, p->m, p->n, p->k, 1.0f, a,
                        ta ? p->m : p->k, b, tb ? p->k : p->n, 0.0f, c, p->n);
        if (r >= 2) t[r - 2] = bench_now_s() - t0;
    }
    gf = 2.0 * p->m * p->n * p->k / bench_median(t, reps) / 1e9;
done:
    free(a);
    free(b);
    free(a16);
    free(b16);
    free(c);
    free(t);
    return gf;
}

int main(int argc, char **argv)
{
    int m = argc > 1 ? atoi(argv[1]) : 2048, reps = argc > 2 ? atoi(argv[2]) : 7;
    if (m < 1 || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_sgemm [TOKENS] [REPS]\n");
        return 2;
    }
    const int io[3][2] = {{768, 768}, {768, 3072}, {3072, 768}};
    for (int bf16 = 0; bf16 < 2; bf16++) {
        double best = 0.0, sum = 0.0;
        int count = 0;
        char shapes[512] = "";
        for (int s = 0; s < 3; s++) {
            int in = io[s][0], out = io[s][1];
            probe ps[3] = {{"fwd_nt", CblasNoTrans, CblasTrans, m, out, in},
                           {"dx_nn", CblasNoTrans, CblasNoTrans, m, in, out},
                           {"dw_tn", CblasTrans, CblasNoTrans, out, in, m}};
            for (int i = 0; i < 3; i++) {
                double g = time_probe(&ps[i], reps, bf16);
                best = g > best ? g : best;
                sum += g;
                count++;
                size_t len = strlen(shapes);
                snprintf(shapes + len, sizeof shapes - len, " %s_%dx%d=%.1f", ps[i].name, in, out, g);
            }
        }
        if (bf16)
            printf("bf16_peak_gflops=%.1f bf16_mean_gflops=%.1f%s isa=%s\n", best,
                   sum / count, shapes, ops_bf16_isa());
        else
            printf("sgemm_peak_gflops=%.1f sgemm_mean_gflops=%.1f%s core=%s\n", best,
                   sum / count, shapes, openblas_get_corename());
    }
    return 0;
}
