/* ops_compare.h: comparing an operation's results with the CPU back end's,
 * shared by the tests of the CUDA kernels (test_cuda_kernels_host on the
 * host, test_ops_cuda on a GPU). C++ (vectors); include after check.h and,
 * inside extern "C", rng.h. */
#ifndef OPS_COMPARE_H
#define OPS_COMPARE_H

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <vector>

typedef std::vector<float> vec;

/* Print every comparison's error, not only failures (the GPU test does). */
static bool ops_compare_verbose = false;

/* n uniform values in [lo, hi); each call draws a fresh Philox stream. */
static vec randv(size_t n, float lo = -1.0f, float hi = 1.0f)
{
    static uint64_t stream = 1;
    vec v(n);
    uint64_t s = stream++;
    for (size_t i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng_uniform(7, s, i);
    return v;
}

/* max |got - want| / max(1, |want|); NaN counts as the worst. */
static double max_err(const float *got, const float *want, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / fmax(1.0, fabs((double)want[i]));
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

/* got may be a temporary (a download): it is evaluated once. */
#define CHECK_NEAR(name, got, want, tol)                                                  \
    do {                                                                                  \
        const auto &g_ = (got);                                                           \
        bool same_ = g_.size() == (want).size();                                          \
        double e_ = same_ ? max_err(g_.data(), (want).data(), (want).size()) : INFINITY;  \
        if (ops_compare_verbose) fprintf(stderr, "  %-34s max error %.3g\n", (name), e_); \
        CHECK_MSG(e_ <= (tol), "%s: max error %.3g (tol %g)", (name), e_, (double)(tol)); \
    } while (0)

#define CHECK_BITS(name, got, want)                                                            \
    CHECK_MSG((got).size() == (want).size() &&                                                 \
                  memcmp((got).data(), (want).data(), (want).size() * sizeof((want)[0])) == 0, \
              "%s: not bit-identical", (name))

#endif
