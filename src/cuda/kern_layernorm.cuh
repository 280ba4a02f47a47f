/* kern_layernorm: LayerNorm bodies, one warp per row (kern_common.cuh):
 * two passes for mean and biased variance (as ops_cpu.c, in float with a
 * fixed lane tree instead of double), then the normalised row. Backward:
 * dx = rstd (g - mean(g) - xhat mean(g xhat)), g = dy w, per row; the
 * parameter gradients are column sums (kern_reduce.cuh). */
#ifndef KERN_LAYERNORM_CUH
#define KERN_LAYERNORM_CUH

#include "kern_common.cuh"

KERN_HD void kern_layernorm_forward(kern_idx ix, float *out, float *mean, float *rstd,
                                    const float *inp, const float *weight, const float *bias, int n,
                                    int c, float eps)
{
    KERN_FOR_GROUP(ix, row, (size_t)n)
    {
        const float *x = inp + row * c;
        float *y = out + row * c;
        float sum = 0.0f;
        for (int j = ix.thread; j < c; j += ix.nthreads) sum += x[j];
        float mu = kern_warp_sum(sum) / (float)c;
        float sq = 0.0f;
        for (int j = ix.thread; j < c; j += ix.nthreads) sq += (x[j] - mu) * (x[j] - mu);
        float r = 1.0f / sqrtf(kern_warp_sum(sq) / (float)c + eps);
        for (int j = ix.thread; j < c; j += ix.nthreads)
            y[j] = ((x[j] - mu) * r) * weight[j] + bias[j];
        if (ix.thread == 0) {
            mean[row] = mu;
            rstd[row] = r;
        }
    }
}

KERN_HD void kern_layernorm_backward_inputs(kern_idx ix, float *dinp, const float *dout,
                                            const float *inp, const float *weight,
                                            const float *mean, const float *rstd, int n, int c)
{
    KERN_FOR_GROUP(ix, row, (size_t)n)
    {
        const float *x = inp + row * c, *dy = dout + row * c;
        float *dx = dinp + row * c, mu = mean[row], r = rstd[row];
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int j = ix.thread; j < c; j += ix.nthreads) {
            float g = dy[j] * weight[j];
            g_sum += g;
            gx_sum += g * ((x[j] - mu) * r);
        }
        float g_mean = kern_warp_sum(g_sum) / (float)c;
        float gx_mean = kern_warp_sum(gx_sum) / (float)c;
        for (int j = ix.thread; j < c; j += ix.nthreads) {
            float xhat = (x[j] - mu) * r, g = dy[j] * weight[j];
            dx[j] += r * (g - g_mean - xhat * gx_mean);
        }
    }
}

#endif
