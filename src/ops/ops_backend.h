/* ops_backend: which device the operations of ops.h run on.
 *
 * Design: ops.h's functions are the model's only way to compute. Each is a
 * one-line call through the current back end's table (ops_dispatch.c), so the
 * same model code runs on the CPU (ops_cpu*.c: OpenBLAS, oneDNN, OpenMP) or on
 * a GPU (src/cuda/ops_cuda*.cu: cuBLAS and kernels, CUDA builds only). Every
 * pointer given to an operation is memory of the current back end: host memory
 * for the CPU, device memory for the GPU, including the small integer arrays
 * (ids, lengths, labels, example indices, row picks).
 *
 * The memory functions are the only way the model allocates, zeroes and moves
 * such memory, and the only place host and back-end memory meet. On the CPU
 * they are malloc/memset/memcpy; on the GPU cudaMalloc and cudaMemcpy on the
 * back end's stream. Operations are ordered as called (one stream on the GPU);
 * to_host and the operations that return a number (crossentropy_forward,
 * sum_squares) wait for what came before, so their results are final.
 *
 * The back end is chosen once per process, before any model is created
 * (ops_backend_use); a model's memory belongs to the back end it was made on.
 * Not here: which GPU a rank uses (gpu_device.h). */
#ifndef OPS_BACKEND_H
#define OPS_BACKEND_H

#include "ft_error.h"
#include "ops.h"

typedef struct ops_backend {
    const char *name; /* "cpu" or "cuda" */
    bool host_memory;  /* its memory is the host's (no copies needed) */

    /* ---- memory ---- */
    /* Zeroed bytes of back-end memory, or NULL (out of memory). */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p, size_t bytes);
    void (*zero)(void *p, size_t bytes);
    void (*to_device)(void *dst, const void *host_src, size_t bytes);
    void (*to_host)(void *host_dst, const void *src, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    /* Wait until every operation called so far is done. */
    void (*synchronize)(void);

    /* ---- the operations, with the meaning and arguments of ops.h ---- */
    void (*matmul)(float *c, const float *a, const float *b, int m, int n, int k,
                   bool trans_a, bool trans_b, bool accumulate);
    void (*linear_forward)(float *out, const float *inp, const float *weight,
                           const float *bias, int n, int c, int oc,
                           ops_weight_layout layout);
    void (*linear_backward)(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, int n, int c, int oc,
                            ops_weight_layout layout);
    void (*to_bf16)(ops_bf16 *out, const float *in, size_t n);
    void (*from_bf16)(float *out, const ops_bf16 *in, size_t n);
    void (*round_fp16)(float *out, const float *in, size_t n);
    void (*matmul_bf16)(float *c, const ops_bf16 *a, const ops_bf16 *b, int m,
                        int n, int k, bool trans_a, bool trans_b,
                        bool accumulate);
    bool (*bf16_native)(void);
    const char *(*bf16_isa)(void);
    void (*linear_forward_bf16)(float *out, const float *inp,
                                ops_bf16 *inp_bf16, const ops_bf16 *weight,
                                const float *bias, int n, int c, int oc,
                                ops_weight_layout layout);
    void (*linear_backward_bf16)(float *dinp, float *dweight, float *dbias,
                                 const float *dout, ops_bf16 *dout_bf16,
                                 const float *inp, ops_bf16 *inp_bf16,
                                 const ops_bf16 *weight, int n, int c, int oc,
                                 ops_weight_layout layout);
    void (*bias_forward)(float *out, const float *inp, const float *bias, int n,
                         int c);
    void (*bias_backward)(float *dbias, const float *dout, int n, int c);
    void (*add)(float *out, const float *a, const float *b, size_t n);
    void (*accumulate)(float *dst, const float *src, size_t n);
    void (*scale)(float *x, size_t n, float s);
    void (*bias_gelu_forward)(float *act, float *pre, const float *bias, int n, int c,
                              ops_gelu_kind kind);
    void (*gelu_bias_backward)(float *dpre, float *dbias, const float *pre,
                               const float *dact, int n, int c, ops_gelu_kind kind);
    void (*tanh_forward)(float *out, const float *inp, size_t n);
    void (*tanh_backward)(float *dinp, const float *out, const float *dout,
                          size_t n);
    void (*layernorm_forward)(float *out, float *mean, float *rstd,
                              const float *inp, const float *weight,
                              const float *bias, int n, int c, float eps);
    void (*layernorm_backward)(float *dinp, float *dweight, float *dbias,
                               const float *dout, const float *inp,
                               const float *weight, const float *mean,
                               const float *rstd, int n, int c);
    void (*embedding_forward)(float *out, const int32_t *ids,
                              const float *table, int n, int c,
                              bool accumulate);
    void (*embedding_backward)(float *dtable, const int32_t *ids,
                               const float *dout, int n, int c);
    void (*gather_rows_forward)(float *out, const float *inp,
                                const int32_t *rows, int r, int c);
    void (*gather_rows_backward)(float *dinp, const float *dout,
                                 const int32_t *rows, int r, int c);
    void (*dropout_forward)(float *out, const float *inp, int b,
                            size_t per_example, const int64_t *example_index,
                            float p, uint64_t seed, uint64_t site);
    void (*dropout_backward)(float *dinp, const float *dout, int b,
                             size_t per_example, const int64_t *example_index,
                             float p, uint64_t seed, uint64_t site);
    size_t (*attention_scratch_floats)(int b, int t, int c, int nh);
    void (*attention_forward)(float *out, float *probs, const float *qkv,
                              const ops_attention_shape *s, float *scratch);
    void (*attention_backward)(float *dqkv, const float *dout,
                               const float *qkv, const float *probs,
                               const ops_attention_shape *s, float *scratch);
    double (*crossentropy_forward)(float *losses, float *probs,
                                   const float *logits, const int32_t *labels,
                                   int b, int l);
    void (*crossentropy_backward)(float *dlogits, const float *probs,
                                  const int32_t *labels, int b, int l,
                                  float dloss);
    double (*sum_squares)(const float *x, size_t n);
    double (*sum_squares_spans)(const float *x, const ops_span *spans, int count);
    void (*adamw)(float *param, const float *grad, float *m, float *v, size_t n,
                  const ops_adamw_hparams *h);
    void (*adamw_spans)(float *param, const float *grad, float *m, float *v,
                        const ops_adamw_span *spans, int count,
                        const ops_adamw_hparams *h);
} ops_backend;

/* A float array of the back end with a host copy, for what the host reads
 * or writes now and then (parameters for checkpoints and exports, optimizer
 * moments) while the operations use the back end's copy. Each side says when
 * it wrote; the other side's next access copies first. On a back end with
 * host memory both are the same array and nothing is copied. */
typedef struct ops_mirror {
    float *device, *host;
    size_t n;
    bool host_newer, device_newer;
} ops_mirror;

/* n zeroed floats on the current back end (and on the host). FT_ENOMEM
 * naming `what` when either cannot be had. */
ft_status ops_mirror_create(ops_mirror *mr, size_t n, const char *what,
                            ft_error *err);
void ops_mirror_free(ops_mirror *mr);
/* The host copy, up to date; writable ones mark the host side newer. */
float *ops_mirror_host(ops_mirror *mr);
const float *ops_mirror_host_read(ops_mirror *mr);
/* The back end's copy, up to date; writable ones mark it newer. */
float *ops_mirror_device(ops_mirror *mr);
const float *ops_mirror_device_read(ops_mirror *mr);

/* The CPU back end (always present). */
const ops_backend *ops_cpu_backend(void);

/* Make b the back end of this process's operations (the CPU's until then). */
void ops_backend_use(const ops_backend *b);
const ops_backend *ops_backend_current(void);

#endif
