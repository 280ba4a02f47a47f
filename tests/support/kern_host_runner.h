/* kern_host_runner: run the CUDA back end's kernel bodies (src/cuda/kern_*.cuh)
 * on the CPU, as kern_common.cuh describes: a launch of nblocks groups is a
 * loop over the groups, each body called with its kern_idx. Shared by
 * tests/unit/test_cuda_kernels_host.cu (bodies against the CPU back end) and
 * tests/support/ops_devsim_backend.cpp (the whole back end on the host).
 *
 * Plain C++ (no nvcc): include it after the kern_*.cuh headers' own
 * includes are reachable (-I src/cuda). Header only. */
#ifndef KERN_HOST_RUNNER_H
#define KERN_HOST_RUNNER_H

#include "kern_attention.cuh"

/* A launch of nblocks groups of ONE thread each. The only correct way to
 * run a body whose threads meet (kern_sync, KERN_SHARED, kern_warp_*,
 * kern_block_*): on the host a group sum of one thread is its own value. */
template <class F> static inline void kern_host_run(int nblocks, F body)
{
    for (int b = 0; b < nblocks; b++) {
        kern_idx ix = {b, nblocks, 0, 1};
        body(ix);
    }
}

/* A launch of nblocks groups of nthreads threads, run one thread after the
 * other: for bodies whose threads never meet (grid- or thread-stride loops
 * only); checks their stride arithmetic as the GPU's launch shape uses it. */
template <class F> static inline void kern_host_run_threads(int nblocks, int nthreads, F body)
{
    for (int b = 0; b < nblocks; b++)
        for (int t = 0; t < nthreads; t++) {
            kern_idx ix = {b, nblocks, t, nthreads};
            body(ix);
        }
}

/* kern_attention.cuh's batched product, plainly (double sums): row-major
 * C_i[M,N] = alpha op(A_i)·op(B_i) + beta C_i for i < batch. Stands in for
 * cublasSgemmStridedBatched. */
static inline void kern_host_gemm(bool ta, bool tb, int m, int n, int k, float alpha, kern_mat a,
                                  kern_mat b, float beta, float *c, int ldc, long long sc,
                                  int batch)
{
    for (int i = 0; i < batch; i++) {
        const float *A = a.p + i * a.stride, *B = b.p + i * b.stride;
        float *Cm = c + i * sc;
        for (int r = 0; r < m; r++)
            for (int q = 0; q < n; q++) {
                double s = 0.0;
                for (int t = 0; t < k; t++) {
                    float av = ta ? A[(size_t)t * a.ld + r] : A[(size_t)r * a.ld + t];
                    float bv = tb ? B[(size_t)q * b.ld + t] : B[(size_t)t * b.ld + q];
                    s += (double)av * bv;
                }
                float *dst = Cm + (size_t)r * ldc + q;
                *dst = (float)(alpha * s + (beta != 0.0f ? beta * *dst : 0.0f));
            }
    }
}

#endif
