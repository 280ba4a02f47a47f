/* ops_devsim_backend: the CUDA back end simulated on the CPU, with memory
 * that host code cannot touch (see ops_devsim_backend.h for what and why).
 *
 * Layout of this file: the region registry and its protection (every
 * back-end function opens a `scope`, which makes all live regions
 * readable/writable for its duration), the argument checks, the SIGSEGV
 * reporter, the memory functions, then the operations in the order of
 * src/cuda/ops_cuda_{matmul,elementwise,embedding,attention}.cu, each
 * following its launcher: same bodies, same grid sizes, same passes. */
#include <execinfo.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

extern "C" {
#include "ops/ops_cpu.h"
}
#include "kern_attention.cuh"
#include "kern_dropout.cuh"
#include "kern_elementwise.cuh"
#include "kern_host_runner.h"
#include "kern_layernorm.cuh"
#include "kern_reduce.cuh"
#include "kern_rows.cuh"
#include "ops_devsim_backend.h"

namespace
{

/* ---- the registry ------------------------------------------------------------ */

struct region {
    size_t bytes, mapped;
};

/* Base address -> region. Never freed (reachable at exit, not a leak). */
std::map<uintptr_t, region> &live()
{
    static std::map<uintptr_t, region> *m = new std::map<uintptr_t, region>;
    return *m;
}

std::recursive_mutex &lock()
{
    static std::recursive_mutex *mu = new std::recursive_mutex;
    return *mu;
}

int depth; /* nesting of scopes (under lock()) */
ops_devsim_counts counts;
std::vector<char> scratch_mem; /* the kernels' partial results (host: internal) */

size_t page_size() { return (size_t)sysconf(_SC_PAGESIZE); }

/* A broken rule: say which operation and argument, then abort. */
[[noreturn]] __attribute__((format(printf, 2, 3))) void fail(const char *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ops_devsim: %s: ", op);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void protect_all(int prot)
{
    for (auto &r : live())
        if (mprotect((void *)r.first, r.second.mapped, prot) != 0) {
            perror("ops_devsim: mprotect");
            abort();
        }
}

/* Held for the whole of a back-end function: memory open inside. */
struct scope {
    scope()
    {
        lock().lock();
        if (depth++ == 0) {
            protect_all(PROT_READ | PROT_WRITE);
            counts.ops++;
        }
    }
    ~scope()
    {
        if (--depth == 0) protect_all(PROT_NONE);
        lock().unlock();
    }
    scope(const scope &) = delete;
    scope &operator=(const scope &) = delete;
};

/* The region holding [p, p + bytes), or NULL. */
const region *find(const void *p, size_t bytes, uintptr_t *base)
{
    auto &m = live();
    uintptr_t a = (uintptr_t)p;
    auto it = m.upper_bound(a);
    if (it == m.begin()) return NULL;
    --it;
    if (a - it->first > it->second.bytes || bytes > it->second.bytes - (a - it->first)) return NULL;
    if (base) *base = it->first;
    return &it->second;
}

/* p must be back-end memory of `bytes` bytes, aligned to `align`. */
void need(const char *op, const char *arg, const void *p, size_t bytes, size_t align)
{
    if (bytes == 0) return;
    if (!p) fail(op, "argument %s is NULL (%zu bytes wanted)", arg, bytes);
    if ((uintptr_t)p % align)
        fail(op, "argument %s (%p) is misaligned for its type (%zu-byte elements)", arg, p, align);
    if (!find(p, bytes, NULL))
        fail(op,
             "argument %s (%p, %zu bytes) is not back-end memory of that extent "
             "(host memory given to a device operation, or a buffer planned too small?)",
             arg, p, bytes);
}

void need_f(const char *op, const char *arg, const float *p, size_t n)
{
    need(op, arg, p, n * sizeof(float), alignof(float));
}

void need_opt_f(const char *op, const char *arg, const float *p, size_t n)
{
    if (p) need_f(op, arg, p, n);
}

void need_i32(const char *op, const char *arg, const int32_t *p, size_t n)
{
    need(op, arg, p, n * sizeof(int32_t), alignof(int32_t));
}

void need_bf16(const char *op, const char *arg, const ops_bf16 *p, size_t n)
{
    need(op, arg, p, n * sizeof(ops_bf16), alignof(ops_bf16));
}

/* p must be host memory (ops.h says HOST), not the back end's. */
void need_host(const char *op, const char *arg, const void *p, size_t bytes)
{
    if (bytes && p && find(p, 1, NULL))
        fail(op, "argument %s (%p, %zu bytes) is back-end memory where ops.h wants host memory",
             arg, p, bytes);
}

/* Rows picked by ids[0..n) (back-end memory, readable in a scope): 1 +
 * the largest, each checked >= 0. */
size_t rows_used(const char *op, const int32_t *ids, int n)
{
    int32_t hi = -1;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0) fail(op, "row index %d at %d is negative", (int)ids[i], i);
        hi = std::max(hi, ids[i]);
    }
    return (size_t)(hi + 1);
}

/* ---- SIGSEGV: name the culprit --------------------------------------------------- */

void say(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

void segv_handler(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    char buf[256];
    uintptr_t base = 0;
    const region *r = find(info->si_addr, 1, &base);
    if (r && depth == 0)
        snprintf(buf, sizeof buf,
                 "ops_devsim: host code touched back-end memory at %p (offset %zu of a "
                 "region of %zu bytes at %p): a missing to_host/to_device?\n",
                 info->si_addr, (size_t)((uintptr_t)info->si_addr - base), r->bytes, (void *)base);
    else
        snprintf(buf, sizeof buf, "ops_devsim: SIGSEGV at %p (not back-end memory)\n",
                 info->si_addr);
    say(buf);
    void *frames[32];
    int n = backtrace(frames, 32);
    backtrace_symbols_fd(frames, n, 2);
    signal(sig, SIG_DFL); /* the access faults again and the process dies */
}

void install_segv_reporter()
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}

/* ---- memory ------------------------------------------------------------------------ */

void *ds_alloc(size_t bytes)
{
    std::lock_guard<std::recursive_mutex> g(lock());
    size_t ps = page_size(), mapped = ((bytes ? bytes : 1) + ps - 1) / ps * ps;
    int prot = depth > 0 ? PROT_READ | PROT_WRITE : PROT_NONE;
    void *p = mmap(NULL, mapped, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;             /* out of memory: an ordinary NULL */
    live()[(uintptr_t)p] = region{bytes, mapped}; /* anonymous pages: zeroed */
    return p;
}

void ds_free(void *p, size_t bytes)
{
    if (!p) return;
    std::lock_guard<std::recursive_mutex> g(lock());
    auto it = live().find((uintptr_t)p);
    if (it == live().end())
        fail("free", "%p (%zu bytes) is not the start of a live allocation", p, bytes);
    if (it->second.bytes != bytes)
        fail("free", "%p freed with %zu bytes, allocated with %zu", p, bytes, it->second.bytes);
    munmap(p, it->second.mapped);
    live().erase(it);
}

void ds_zero(void *p, size_t bytes)
{
    scope s;
    need("zero", "p", p, bytes, 1);
    if (bytes) memset(p, 0, bytes);
    counts.device_work += bytes > 0;
}

void ds_to_device(void *dst, const void *src, size_t bytes)
{
    scope s;
    need("to_device", "dst", dst, bytes, 1);
    need_host("to_device", "host_src", src, bytes);
    if (bytes) memcpy(dst, src, bytes);
    counts.to_device_bytes += bytes;
    counts.to_device_calls++;
}

void ds_to_host(void *dst, const void *src, size_t bytes)
{
    scope s;
    need("to_host", "src", src, bytes, 1);
    need_host("to_host", "host_dst", dst, bytes);
    if (bytes) memcpy(dst, src, bytes);
    counts.to_host_bytes += bytes;
    counts.to_host_calls++;
}

void ds_copy(void *dst, const void *src, size_t bytes)
{
    scope s;
    need("copy", "dst", dst, bytes, 1);
    need("copy", "src", src, bytes, 1);
    if (bytes && dst != src) memmove(dst, src, bytes);
    counts.device_work += bytes && dst != src;
}

void ds_synchronize(void) { scope s; }

void *scratch(size_t bytes)
{
    if (scratch_mem.size() < bytes) scratch_mem.resize(std::max(bytes, 2 * scratch_mem.size()));
    return scratch_mem.data();
}

/* ---- launch shapes (ops_cuda_impl.h, ops_cuda_memory.cu) ------------------------- */

/* 256 threads a block; grid-stride kernels capped at 16 blocks per SM of an
 * H100/H200 (132 SMs), as ctx_create sets max_blocks. */
enum { THREADS = 256, WARPS = THREADS / 32, MAX_BLOCKS = 132 * 16 };

int grid(size_t n, int per_block = THREADS)
{
    size_t g = (n + (size_t)per_block - 1) / (size_t)per_block;
    return (int)std::min(g, (size_t)MAX_BLOCKS);
}

int warp_grid(size_t rows) { return grid(rows, WARPS); }

/* A launch whose threads never meet: every thread of every block. */
template <class F> void launch(int blocks, int threads, F body)
{
    if (blocks > 0) kern_host_run_threads(blocks, threads, body);
    counts.device_work += blocks > 0;
}

/* A launch whose threads meet (shared memory, block sums): one thread each. */
template <class F> void launch_1(int blocks, F body)
{
    if (blocks > 0) kern_host_run(blocks, body);
    counts.device_work += blocks > 0;
}

/* A warp-per-group launch of `blocks` blocks: blocks * WARPS groups. */
template <class F> void launch_warps(int blocks, F body)
{
    if (blocks > 0) kern_host_run(blocks * WARPS, body);
    counts.device_work += blocks > 0;
}

/* A cuBLAS product: ops_cpu's (float32 or bf16 operands), counted. */
template <class T>
void product(float *c, const T *a, const T *b, int m, int n, int k, bool ta, bool tb, bool acc)
{
    if constexpr (sizeof(T) == sizeof(float))
        ops_cpu_matmul(c, a, b, m, n, k, ta, tb, acc);
    else
        ops_cpu_matmul_bf16(c, a, b, m, n, k, ta, tb, acc);
    counts.device_work++;
}

/* kern_attention.cuh's batched product as one cublasSgemmStridedBatched. */
void batched_product(bool ta, bool tb, int m, int n, int k, float alpha, kern_mat a, kern_mat b,
                     float beta, float *c, int ldc, long long sc, int batch)
{
    kern_host_gemm(ta, tb, m, n, k, alpha, a, b, beta, c, ldc, sc, batch);
    counts.device_work++;
}

/* ---- matrix products (ops_cuda_matmul.cu) ---------------------------------------- */

/* dst[C] += column sums of x[N,C]: partials per chunk of rows, then a sum
 * of the partials in chunk order (two launches). */
void column_sums(float *dst, const float *x, int n, int c)
{
    if (n == 0 || c == 0) return;
    int chunks = kern_colsum_chunks(n);
    float *partial = (float *)scratch((size_t)chunks * c * sizeof(float));
    kern_colvalue_plain v = {x, c};
    launch_1(chunks * kern_colsum_tiles(c),
             [&](kern_idx ix) { kern_colsum_partial(ix, partial, v, n, c); });
    launch(grid((size_t)c), THREADS,
           [&](kern_idx ix) { kern_colsum_finish(ix, dst, (float *)NULL, partial, n, c); });
}

void ds_bias_backward(float *dbias, const float *dout, int n, int c)
{
    scope s;
    need_f("bias_backward", "dbias", dbias, (size_t)c);
    need_f("bias_backward", "dout", dout, (size_t)n * c);
    column_sums(dbias, dout, n, c);
}

void fill_rows(float *out, const float *bias, int n, int oc)
{
    launch(grid((size_t)n * oc), THREADS,
           [&](kern_idx ix) { kern_fill_rows(ix, out, bias, (size_t)n, oc); });
}

void ds_linear_forward(float *out, const float *inp, const float *w, const float *bias, int n,
                       int c, int oc, ops_weight_layout layout)
{
    scope s;
    need_f("linear_forward", "out", out, (size_t)n * oc);
    need_f("linear_forward", "inp", inp, (size_t)n * c);
    need_f("linear_forward", "weight", w, (size_t)c * oc);
    need_opt_f("linear_forward", "bias", bias, (size_t)oc);
    if (n == 0 || oc == 0) return;
    if (bias) fill_rows(out, bias, n, oc);
    product(out, inp, w, n, oc, c, false, layout == OPS_W_OUT_IN, bias != NULL);
}

void ds_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int n, int c, int oc, ops_weight_layout layout)
{
    scope s;
    const char *op = "linear_backward";
    bool out_in = layout == OPS_W_OUT_IN;
    need_f(op, "dout", dout, (size_t)n * oc);
    need_opt_f(op, "dinp", dinp, (size_t)n * c);
    need_opt_f(op, "dweight", dw, (size_t)c * oc);
    need_opt_f(op, "dbias", db, (size_t)oc);
    if (dinp) need_f(op, "weight", w, (size_t)c * oc);
    if (dw) need_f(op, "inp", inp, (size_t)n * c);
    if (n == 0) return;
    if (dinp) product(dinp, dout, w, n, c, oc, false, !out_in, true);
    if (dw) {
        if (out_in)
            product(dw, dout, inp, oc, c, n, true, false, true);
        else
            product(dw, inp, dout, c, oc, n, true, false, true);
    }
    if (db) column_sums(db, dout, n, oc);
}

/* ---- bf16 and fp16 ------------------------------------------------------------------ */

void to_bf16(ops_bf16 *out, const float *in, size_t n)
{
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_to_bf16_all(ix, out, in, n); });
}

void ds_to_bf16(ops_bf16 *out, const float *in, size_t n)
{
    scope s;
    need_bf16("to_bf16", "out", out, n);
    need_f("to_bf16", "in", in, n);
    to_bf16(out, in, n);
}

void ds_round_fp16(float *out, const float *in, size_t n)
{
    scope s;
    need_f("round_fp16", "out", out, n);
    need_f("round_fp16", "in", in, n);
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_round_fp16_all(ix, out, in, n); });
}

bool ds_bf16_native(void) { return ops_cpu_bf16_native(); }

const char *ds_bf16_isa(void)
{
    static char name[160];
    if (!name[0])
        snprintf(name, sizeof name, "devsim: CUDA kernel bodies on the host, products %s",
                 ops_cpu_bf16_isa());
    return name;
}

/* cuBLASLt's bias epilogue has no host twin: the fallback path of
 * ops_cuda_linear_forward_bf16 (bias rows, then the product onto them). */
void ds_linear_forward_bf16(float *out, const float *inp, ops_bf16 *inp16, const ops_bf16 *w,
                            const float *bias, int n, int c, int oc, ops_weight_layout layout)
{
    scope s;
    const char *op = "linear_forward_bf16";
    need_f(op, "out", out, (size_t)n * oc);
    need_f(op, "inp", inp, (size_t)n * c);
    need_bf16(op, "inp_bf16", inp16, (size_t)n * c);
    need_bf16(op, "weight", w, (size_t)c * oc);
    need_opt_f(op, "bias", bias, (size_t)oc);
    to_bf16(inp16, inp, (size_t)n * c);
    if (n == 0 || oc == 0) return;
    if (bias) fill_rows(out, bias, n, oc);
    product(out, inp16, w, n, oc, c, false, layout == OPS_W_OUT_IN, bias != NULL);
}

void ds_linear_backward_bf16(float *dinp, float *dw, float *db, const float *dout, ops_bf16 *dout16,
                             const float *inp, ops_bf16 *inp16, const ops_bf16 *w, int n, int c,
                             int oc, ops_weight_layout layout)
{
    scope s;
    const char *op = "linear_backward_bf16";
    bool out_in = layout == OPS_W_OUT_IN;
    need_f(op, "dout", dout, (size_t)n * oc);
    need_opt_f(op, "dinp", dinp, (size_t)n * c);
    need_opt_f(op, "dweight", dw, (size_t)c * oc);
    need_opt_f(op, "dbias", db, (size_t)oc);
    if (dinp || dw) need_bf16(op, "dout_bf16", dout16, (size_t)n * oc);
    if (dinp) need_bf16(op, "weight", w, (size_t)c * oc);
    if (dw) need_f(op, "inp", inp, (size_t)n * c);
    if (dw) need_bf16(op, "inp_bf16", inp16, (size_t)n * c);
    if (dinp || dw) to_bf16(dout16, dout, (size_t)n * oc);
    if (dinp) product(dinp, dout16, w, n, c, oc, false, !out_in, true);
    if (dw) {
        to_bf16(inp16, inp, (size_t)n * c);
        if (out_in)
            product(dw, dout16, inp16, oc, c, n, true, false, true);
        else
            product(dw, inp16, dout16, c, oc, n, true, false, true);
    }
    if (db) column_sums(db, dout, n, oc);
}

/* ---- element-wise (ops_cuda_elementwise.cu) ------------------------------------------ */

void ds_add(float *out, const float *a, const float *b, size_t n)
{
    scope s;
    need_f("add", "out", out, n);
    need_f("add", "a", a, n);
    need_f("add", "b", b, n);
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_add(ix, out, a, b, n); });
}

void ds_scale(float *x, size_t n, float sc)
{
    scope s;
    need_f("scale", "x", x, n);
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_scale(ix, x, n, sc); });
}

void ds_bias_gelu_forward(float *act, float *pre, const float *bias, int n, int c,
                          ops_gelu_kind kind)
{
    scope s;
    size_t nc = (size_t)n * c;
    need_f("bias_gelu_forward", "act", act, nc);
    need_f("bias_gelu_forward", "pre", pre, nc);
    if (bias) need_f("bias_gelu_forward", "bias", bias, (size_t)c);
    bool erf_kind = kind == OPS_GELU_ERF;
    launch(grid(nc), THREADS, [&](kern_idx ix) {
        kern_bias_gelu_forward(ix, act, pre, bias, (size_t)n, c, erf_kind);
    });
}

/* ops_cuda_gelu_bias_backward's launches. */
void ds_gelu_bias_backward(float *dpre, float *dbias, const float *pre, const float *dact, int n,
                           int c, ops_gelu_kind kind)
{
    scope s;
    size_t nc = (size_t)n * c;
    need_f("gelu_bias_backward", "dpre", dpre, nc);
    need_f("gelu_bias_backward", "pre", pre, nc);
    need_f("gelu_bias_backward", "dact", dact, nc);
    bool erf_kind = kind == OPS_GELU_ERF;
    if (nc == 0) return;
    if (!dbias) {
        launch(grid(nc), THREADS,
               [&](kern_idx ix) { kern_gelu_backward(ix, dpre, pre, dact, nc, erf_kind); });
        return;
    }
    need_f("gelu_bias_backward", "dbias", dbias, (size_t)c);
    int chunks = kern_colsum_chunks(n);
    float *partial = (float *)scratch((size_t)chunks * c * sizeof(float));
    kern_colvalue_gelu v = {dpre, pre, dact, c, erf_kind};
    launch_1(chunks * kern_colsum_tiles(c),
             [&](kern_idx ix) { kern_colsum_partial(ix, partial, v, n, c); });
    launch(grid((size_t)c), THREADS,
           [&](kern_idx ix) { kern_colsum_finish(ix, dbias, (float *)NULL, partial, n, c); });
}

void ds_tanh_forward(float *out, const float *inp, size_t n)
{
    scope s;
    need_f("tanh_forward", "out", out, n);
    need_f("tanh_forward", "inp", inp, n);
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_tanh_forward(ix, out, inp, n); });
}

void ds_tanh_backward(float *dinp, const float *out, const float *dout, size_t n)
{
    scope s;
    need_f("tanh_backward", "dinp", dinp, n);
    need_f("tanh_backward", "out", out, n);
    need_f("tanh_backward", "dout", dout, n);
    launch(grid(n), THREADS, [&](kern_idx ix) { kern_tanh_backward(ix, dinp, out, dout, n); });
}

/* ---- LayerNorm ---------------------------------------------------------------------- */

void ds_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                          const float *b, int n, int c, float eps)
{
    scope s;
    const char *op = "layernorm_forward";
    need_f(op, "out", out, (size_t)n * c);
    need_f(op, "mean", mean, (size_t)n);
    need_f(op, "rstd", rstd, (size_t)n);
    need_f(op, "inp", inp, (size_t)n * c);
    need_f(op, "weight", w, (size_t)c);
    need_f(op, "bias", b, (size_t)c);
    launch_warps(warp_grid((size_t)n), [&](kern_idx ix) {
        kern_layernorm_forward(ix, out, mean, rstd, inp, w, b, n, c, eps);
    });
}

void ds_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int n, int c)
{
    scope s;
    const char *op = "layernorm_backward";
    need_opt_f(op, "dinp", dinp, (size_t)n * c);
    need_opt_f(op, "dweight", dw, (size_t)c);
    need_opt_f(op, "dbias", db, (size_t)c);
    need_f(op, "dout", dout, (size_t)n * c);
    need_f(op, "inp", inp, (size_t)n * c);
    need_f(op, "weight", w, (size_t)c);
    need_f(op, "mean", mean, (size_t)n);
    need_f(op, "rstd", rstd, (size_t)n);
    if (dinp)
        launch_warps(warp_grid((size_t)n), [&](kern_idx ix) {
            kern_layernorm_backward_inputs(ix, dinp, dout, inp, w, mean, rstd, n, c);
        });
    if ((!dw && !db) || n == 0 || c == 0) return;
    int chunks = kern_colsum_chunks(n);
    float *partial = (float *)scratch(2 * (size_t)chunks * c * sizeof(float));
    kern_colvalue_layernorm v = {dout, inp, mean, rstd, c};
    launch_1(chunks * kern_colsum_tiles(c),
             [&](kern_idx ix) { kern_colsum_partial(ix, partial, v, n, c); });
    launch(grid((size_t)c), THREADS,
           [&](kern_idx ix) { kern_colsum_finish(ix, dw, db, partial, n, c); });
}

/* ---- embeddings and gathers (ops_cuda_embedding.cu) ----------------------------------- */

void ds_embedding_forward(float *out, const int32_t *ids, const float *table, int n, int c,
                          bool acc)
{
    scope s;
    const char *op = "embedding_forward";
    need_f(op, "out", out, (size_t)n * c);
    need_i32(op, "ids", ids, (size_t)n);
    if (n > 0) need_f(op, "table", table, rows_used(op, ids, n) * c);
    launch(grid((size_t)n * c), THREADS,
           [&](kern_idx ix) { kern_embedding_forward(ix, out, ids, table, n, c, acc); });
}

/* CUB's radix sort of (id, row) pairs is stable: std::stable_sort. */
void ds_embedding_backward(float *dtable, const int32_t *ids, const float *dout, int n, int c)
{
    scope s;
    const char *op = "embedding_backward";
    need_f(op, "dout", dout, (size_t)n * c);
    need_i32(op, "ids", ids, (size_t)n);
    if (n == 0 || c == 0) return;
    need_f(op, "dtable", dtable, rows_used(op, ids, n) * c);
    std::vector<int32_t> rows((size_t)n), sids((size_t)n);
    std::iota(rows.begin(), rows.end(), 0);
    std::stable_sort(rows.begin(), rows.end(),
                     [&](int32_t a, int32_t b) { return ids[a] < ids[b]; });
    for (int i = 0; i < n; i++) sids[(size_t)i] = ids[rows[(size_t)i]];
    const int32_t *sid = sids.data(), *srow = rows.data();
    size_t groups = kern_embedding_backward_groups(n, c);
    launch((int)std::min(groups, (size_t)65535 * 16), KERN_EMB_COLS,
           [&](kern_idx ix) { kern_embedding_backward_sorted(ix, dtable, sid, srow, dout, n, c); });
}

void ds_gather_rows_forward(float *out, const float *inp, const int32_t *rows, int r, int c)
{
    scope s;
    const char *op = "gather_rows_forward";
    need_f(op, "out", out, (size_t)r * c);
    need_i32(op, "rows", rows, (size_t)r);
    if (r > 0) need_f(op, "inp", inp, rows_used(op, rows, r) * c);
    launch(grid((size_t)r * c), THREADS,
           [&](kern_idx ix) { kern_gather_rows_forward(ix, out, inp, rows, r, c); });
}

void ds_gather_rows_backward(float *dinp, const float *dout, const int32_t *rows, int r, int c)
{
    scope s;
    const char *op = "gather_rows_backward";
    need_f(op, "dout", dout, (size_t)r * c);
    need_i32(op, "rows", rows, (size_t)r);
    if (r > 0) need_f(op, "dinp", dinp, rows_used(op, rows, r) * c);
    launch(grid((size_t)c), THREADS,
           [&](kern_idx ix) { kern_gather_rows_backward(ix, dinp, dout, rows, r, c); });
}

/* ---- dropout and attention (ops_cuda_attention.cu) ----------------------------------- */

void dropout_checks(const char *op, const float *out, const float *inp, int b, size_t per,
                    const int64_t *index, float p)
{
    need_f(op, "out", out, (size_t)b * per);
    need_f(op, "inp", inp, (size_t)b * per);
    if (p > 0.0f) need(op, "example_index", index, (size_t)b * sizeof(int64_t), 8);
}

void dropout_pass(float *out, const float *inp, int b, size_t per, const int64_t *index, float p,
                  uint64_t seed, uint64_t site)
{
    size_t quads = (size_t)b * ((per + 3) / 4);
    kern_dropout_args a = kern_dropout_args_for(p, seed, site, per);
    launch(grid(quads), THREADS,
           [&](kern_idx ix) { kern_dropout(ix, out, inp, b, per, index, a); });
}

void ds_dropout_forward(float *out, const float *inp, int b, size_t per, const int64_t *index,
                        float p, uint64_t seed, uint64_t site)
{
    scope s;
    dropout_checks("dropout_forward", out, inp, b, per, index, p);
    size_t n = (size_t)b * per;
    if (p <= 0.0f) {
        if (out != inp && n) memmove(out, inp, n * sizeof(float));
        return;
    }
    dropout_pass(out, inp, b, per, index, p, seed, site);
}

size_t ds_attention_scratch_floats(int b, int t, int c, int nh)
{
    return kern_attention_scratch_floats(b, t, c, nh);
}

/* The head split and merge launches of ops_cuda_attention.cu. */
void heads_split(float *dst, const float *src, kern_heads s)
{
    launch(grid(kern_heads_count(s)), THREADS,
           [&](kern_idx ix) { kern_heads_split(ix, dst, src, s); });
}

void heads_merge(float *dst, const float *src, kern_heads s, bool accumulate)
{
    launch(grid(kern_heads_count(s)), THREADS,
           [&](kern_idx ix) { kern_heads_merge(ix, dst, src, s, accumulate); });
}

/* Every array of an attention call; q/k/v: [B,T,3C]; y: [B,T,C]. */
void attn_checks(const char *op, const ops_attention_shape *s, const float *y, const float *qkv,
                 const float *probs, const float *scratch_)
{
    size_t b = (size_t)s->b, t = (size_t)s->t, c = (size_t)s->c, ntt = b * s->nh * t * t;
    need_host(op, "shape", s, sizeof *s);
    need_f(op, "out/dout", y, b * t * c);
    need_f(op, "qkv/dqkv", qkv, b * t * 3 * c);
    need_f(op, "probs", probs, ntt);
    need_f(op, "scratch", scratch_, ds_attention_scratch_floats(s->b, s->t, s->c, s->nh));
    need_i32(op, "lengths", s->lengths, b);
    if (s->dropout_p > 0.0f) need(op, "example_index", s->example_index, b * sizeof(int64_t), 8);
}

void ds_attention_forward(float *out, float *probs, const float *qkv, const ops_attention_shape *sh,
                          float *scr)
{
    scope s;
    attn_checks("attention_forward", sh, out, qkv, probs, scr);
    kern_attn_args a = kern_attn_args_for(sh);
    auto rows = [&](float *pr, float *sc, const kern_attn_args &aa) {
        launch_warps(warp_grid((size_t)aa.b * aa.nh * aa.t),
                     [&](kern_idx ix) { kern_attn_softmax(ix, pr, sc, aa); });
    };
    kern_attention_forward_plan(out, probs, qkv, a, sh->c, scr, batched_product, rows, heads_split,
                                heads_merge);
}

void ds_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs,
                           const ops_attention_shape *sh, float *scr)
{
    scope s;
    attn_checks("attention_backward", sh, dout, qkv, probs, scr);
    need_f("attention_backward", "dqkv", dqkv, (size_t)sh->b * sh->t * 3 * sh->c);
    kern_attn_args a = kern_attn_args_for(sh);
    auto rows = [&](float *ds, float *pd, const float *pr, const kern_attn_args &aa) {
        launch_warps(warp_grid((size_t)aa.b * aa.nh * aa.t),
                     [&](kern_idx ix) { kern_attn_softmax_backward(ix, ds, pd, pr, aa); });
    };
    kern_attention_backward_plan(dqkv, dout, qkv, probs, a, sh->c, scr, batched_product, rows,
                                 heads_split, heads_merge);
}

/* ---- loss and optimiser ------------------------------------------------------------------ */

double ds_crossentropy_forward(float *losses, float *probs, const float *logits,
                               const int32_t *labels, int b, int l)
{
    scope s;
    const char *op = "crossentropy_forward";
    if (b == 0) return NAN;
    need_f(op, "losses", losses, (size_t)b);
    need_f(op, "probs", probs, (size_t)b * l);
    need_f(op, "logits", logits, (size_t)b * l);
    need_i32(op, "labels", labels, (size_t)b);
    launch(grid((size_t)b), THREADS, [&](kern_idx ix) {
        kern_crossentropy_forward(ix, losses, probs, logits, labels, b, l);
    });
    double mean = 0.0;
    launch(1, 32, [&](kern_idx ix) { kern_mean_losses(ix, &mean, losses, b); });
    return mean;
}

void ds_crossentropy_backward(float *dlogits, const float *probs, const int32_t *labels, int b,
                              int l, float dloss)
{
    scope s;
    const char *op = "crossentropy_backward";
    need_f(op, "dlogits", dlogits, (size_t)b * l);
    need_f(op, "probs", probs, (size_t)b * l);
    need_i32(op, "labels", labels, (size_t)b);
    launch(grid((size_t)b * l), THREADS, [&](kern_idx ix) {
        kern_crossentropy_backward(ix, dlogits, probs, labels, b, l, dloss);
    });
}

/* As the CUDA back end: the plan uploaded into device scratch, the two
 * launches over all spans, the sums downloaded and added in span order. */
double ds_sum_squares_spans(const float *x, const ops_span *spans, int count)
{
    scope s;
    const char *op = "sum_squares_spans";
    need_host(op, "spans", spans, (size_t)count * sizeof *spans);
    if (count <= 0) return 0.0;
    std::vector<kern_ssq_span> plan((size_t)count);
    int total = kern_ssq_spans_plan(plan.data(), spans, count);
    for (int i = 0; i < count; i++) need_f(op, "x", x + spans[i].offset, spans[i].n);
    size_t plan_bytes = (size_t)count * sizeof(kern_ssq_span);
    char *base = (char *)scratch(plan_bytes + ((size_t)count + total) * sizeof(double));
    kern_ssq_span *dplan = (kern_ssq_span *)base;
    double *sums = (double *)(base + plan_bytes), *partial = sums + count;
    memcpy(dplan, plan.data(), plan_bytes);
    counts.device_work++;
    launch_1(std::min(total, (int)MAX_BLOCKS),
             [&](kern_idx ix) { kern_ssq_spans_partial(ix, partial, x, dplan, count, total); });
    launch_1(std::min(count, (int)MAX_BLOCKS),
             [&](kern_idx ix) { kern_ssq_spans_finish(ix, sums, partial, dplan, count); });
    double sum = 0.0;
    for (int i = 0; i < count; i++) sum += sums[i];
    counts.device_work++; /* the download */
    return sum;
}

void adamw_checks(const char *op, const float *p, const float *g, const float *m, const float *v,
                  size_t offset, size_t n)
{
    need_f(op, "param", p + offset, n);
    need_f(op, "grad", g + offset, n);
    need_f(op, "m", m + offset, n);
    need_f(op, "v", v + offset, n);
}

void ds_adamw_spans(float *param, const float *grad, float *m, float *v,
                    const ops_adamw_span *spans, int count, const ops_adamw_hparams *h)
{
    scope s;
    need_host("adamw_spans", "spans", spans, (size_t)count * sizeof *spans);
    need_host("adamw_spans", "hparams", h, sizeof *h);
    for (int i = 0; i < count; i++)
        adamw_checks("adamw_spans", param, grad, m, v, spans[i].offset, spans[i].n);
    std::vector<kern_adamw_span> table((size_t)count);
    size_t total = kern_adamw_spans_table(table.data(), spans, count, h->lr);
    const kern_adamw_span *t = table.data();
    kern_adamw_step st = kern_adamw_step_for(h);
    launch(grid(total), THREADS,
           [&](kern_idx ix) { kern_adamw_spans(ix, param, grad, m, v, t, count, total, st); });
}

/* ---- the table -------------------------------------------------------------------------- */

/* One ds_<name> per entry of ops_list.h. */
const ops_backend table = {.name = "devsim",
                           .host_memory = false,
                           .alloc = ds_alloc,
                           .free = ds_free,
                           .zero = ds_zero,
                           .to_device = ds_to_device,
                           .to_host = ds_to_host,
                           .copy = ds_copy,
                           .synchronize = ds_synchronize,
#define DS_ENTRY(name, params, args)          .name = ds_##name,
#define DS_ENTRY_RET(ret, name, params, args) .name = ds_##name,
                           OPS_LIST_CORE(DS_ENTRY, DS_ENTRY_RET)
/* The decoder LLMs' operations: not simulated (NULL, ops_list.h). */
#define DS_NONE(name, params, args)          .name = NULL,
#define DS_NONE_RET(ret, name, params, args) .name = NULL,
                               OPS_LIST_LLM(DS_NONE, DS_NONE_RET)
#undef DS_NONE
#undef DS_NONE_RET
#undef DS_ENTRY
#undef DS_ENTRY_RET
};

} // namespace

extern "C" const ops_backend *ops_devsim_backend(void)
{
    static bool reporter = (install_segv_reporter(), true);
    (void)reporter;
    return &table;
}

extern "C" size_t ops_devsim_live_regions(void)
{
    std::lock_guard<std::recursive_mutex> g(lock());
    return live().size();
}

extern "C" size_t ops_devsim_live_bytes(void)
{
    std::lock_guard<std::recursive_mutex> g(lock());
    size_t total = 0;
    for (auto &r : live()) total += r.second.bytes;
    return total;
}

extern "C" bool ops_devsim_owns(const void *p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> g(lock());
    return find(p, bytes, NULL) != NULL;
}

extern "C" ops_devsim_counts ops_devsim_get_counts(void)
{
    std::lock_guard<std::recursive_mutex> g(lock());
    return counts;
}
