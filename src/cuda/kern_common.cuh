/* kern_common: what every kernel body of the CUDA back end is written against.
 *
 * Design: a kernel body is a __host__ __device__ function of a kern_idx
 * (this block or warp, how many there are, this thread, how many threads
 * work together) and of plain pointers. On the GPU a __global__ wrapper
 * fills kern_idx from blockIdx/threadIdx; on the CPU kern_run_host calls
 * the SAME body once per block with one thread, so every grid-stride or
 * thread-stride loop covers everything and the "group sum" of one thread
 * is its own value. That is how tests/unit/test_cuda_kernels_host.cu checks
 * the kernels in CI, where there is no GPU.
 *
 * Rules for bodies: loops over work stride by nthreads/nblocks; threads
 * meet only through kern_sync, kern_warp_* and kern_block_*; shared memory
 * is declared with KERN_SHARED (a stack array on the host). The device-only
 * parts (shuffles, __shared__, __syncthreads) are the few lines behind
 * __CUDA_ARCH__ below.
 *
 * Not here: launching (ops_cuda_impl.h), the operations' meaning (ops.h). */
#ifndef KERN_COMMON_CUH
#define KERN_COMMON_CUH

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

/* Without nvcc (the host test is plain C++) the qualifiers mean nothing. */
#ifndef __CUDACC__
#define __host__
#define __device__
#endif
#define KERN_HD __host__ __device__ inline

/* Where a body runs: a group of nthreads threads (a block, or a warp for
 * the warp-per-row kernels) that is number `block` of nblocks groups. */
struct kern_idx {
    int block, nblocks, thread, nthreads;
};

#ifdef __CUDA_ARCH__
#define KERN_SHARED(type, name, count) __shared__ type name[count]
#else
#define KERN_SHARED(type, name, count) type name[count]
#endif

/* Threads of a block wait for each other (nothing to wait for on the host). */
KERN_HD void kern_sync(void)
{
#ifdef __CUDA_ARCH__
    __syncthreads();
#endif
}

/* Sum / max of v over the 32 lanes of a warp; every lane gets the result.
 * The order of the tree is fixed, so results do not vary run to run. */
KERN_HD float kern_warp_sum(float v)
{
#ifdef __CUDA_ARCH__
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
#endif
    return v;
}

KERN_HD double kern_warp_sum_double(double v)
{
#ifdef __CUDA_ARCH__
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
#endif
    return v;
}

KERN_HD float kern_warp_max(float v)
{
#ifdef __CUDA_ARCH__
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
#endif
    return v;
}

/* Lanes of a warp see each other's global-memory writes. */
KERN_HD void kern_warp_sync(void)
{
#ifdef __CUDA_ARCH__
    __syncwarp();
#endif
}

enum { KERN_MAX_WARPS = 32 };

/* Sum of v over the threads of a block (nthreads a multiple of 32 on the
 * GPU); every thread gets the result. Fixed order: deterministic. */
KERN_HD double kern_block_sum_double(double v, const kern_idx &ix)
{
#ifdef __CUDA_ARCH__
    __shared__ double part[KERN_MAX_WARPS];
    v = kern_warp_sum_double(v);
    int warps = ix.nthreads / 32;
    __syncthreads(); /* part[] may still be read by a previous call */
    if (ix.thread % 32 == 0) part[ix.thread / 32] = v;
    __syncthreads();
    double s = 0.0;
    for (int w = 0; w < warps; w++) s += part[w];
    return s;
#else
    (void)ix;
    return v;
#endif
}

/* ---- bit patterns ------------------------------------------------------------ */

KERN_HD uint32_t kern_f2u(float f)
{
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

KERN_HD float kern_u2f(uint32_t u)
{
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* float32 -> bf16, round to nearest even, NaN kept quiet: the integer
 * recipe of ops_cpu_bf16.c, so both back ends round bit for bit alike. */
KERN_HD uint16_t kern_to_bf16(float x)
{
    uint32_t u = kern_f2u(x);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

KERN_HD float kern_from_bf16(uint16_t b) { return kern_u2f((uint32_t)b << 16); }

/* ---- Philox4x32-10 (src/core/rng.c, bit for bit) ----------------------------- */

struct kern_philox4 {
    uint32_t v[4];
};

KERN_HD uint32_t kern_mulhi(uint32_t a, uint32_t b)
{
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (uint32_t)(((uint64_t)a * b) >> 32);
#endif
}

/* Block `counter` of the stream (seed, stream): rng_block's four words. */
KERN_HD kern_philox4 kern_philox(uint64_t seed, uint64_t stream, uint64_t counter)
{
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int round = 0; round < 10; round++) {
        uint32_t hi0 = kern_mulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = kern_mulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    kern_philox4 out = {{c0, c1, c2, c3}};
    return out;
}

/* Dropout keeps counter word w when its top 24 bits >= threshold, i.e. when
 * rng_uniform >= p (threshold = ceil(p * 2^24), ops_dropout_threshold of ops.h). */
KERN_HD bool kern_keep(uint32_t word, uint32_t threshold) { return (word >> 8) >= threshold; }

/* The last i < count with a[i].*key <= x (0 when none): a binary search
 * over ascending keys, to find the span of a table that holds item x (an
 * empty span shares its start with the next one, so it is never chosen). */
template <class T, class K> KERN_HD int kern_last_at_most(const T *a, int count, K T::*key, K x)
{
    int lo = 0, hi = count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (a[mid].*key <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* for (i over [0, n) in grid-stride order) */
#define KERN_FOR(ix, i, n)                                                     \
    for (size_t i = (size_t)(ix).block * (ix).nthreads + (ix).thread; i < (n); \
         i += (size_t)(ix).nblocks * (ix).nthreads)

/* for (row over [0, n) one group at a time) */
#define KERN_FOR_GROUP(ix, row, n) \
    for (size_t row = (size_t)(ix).block; row < (n); row += (size_t)(ix).nblocks)

/* ---- small maths ---------------------------------------------------------------- */

#define KERN_GELU_TANH_K  0.7978845608028654f /* sqrt(2/pi) */
#define KERN_INV_SQRT_2PI 0.3989422804014327f

#endif
