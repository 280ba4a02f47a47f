/* ops_backend: which device the operations of ops.h run on.
 *
 * Design: ops.h's functions are the model's only way to compute. Each is a
 * call through the current back end's table (ops_dispatch.c, generated from
 * ops_list.h like the table itself), so the same model code runs on the CPU
 * (ops_cpu*.c: OpenBLAS, oneDNN, OpenMP) or on a GPU (src/cuda/ops_cuda*.cu:
 * cuBLAS and kernels, CUDA builds only). Every
 * pointer given to an operation is memory of the current back end: host memory
 * for the CPU, device memory for the GPU, including the small integer arrays
 * (ids, lengths, labels, example indices, row picks).
 *
 * The memory functions are the only way the model allocates, zeroes and moves
 * such memory, and the only place host and back-end memory meet. On the CPU
 * they are malloc/memset/memcpy; on the GPU cudaMalloc and cudaMemcpy on the
 * back end's stream. Operations are ordered as called (one stream on the GPU);
 * to_host and the operations that return a number (crossentropy_forward,
 * sum_squares_spans) wait for what came before, so their results are final.
 *
 * The back end of the operations is chosen once per process, before any
 * model is created (ops_backend_use; ops.h says why it is not an argument);
 * a model's memory belongs to the back end it was made on, which the model
 * and ops_mirror keep and use for their memory.
 * Not here: which GPU a rank uses (gpu_device.h). */
#ifndef OPS_BACKEND_H
#define OPS_BACKEND_H

#include "core/ft_error.h"
#include "ops/ops.h"

typedef struct ops_backend {
    const char *name; /* "cpu", "cuda" or "devsim" (in messages) */
    bool host_memory; /* its memory is the host's (no copies needed) */

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

    /* ---- the operations of ops_list.h, with their meaning and arguments;
     * NULL where this back end does not do the operation ---- */
#define OPS_FIELD(name, params, args)          void(*name) params;
#define OPS_FIELD_RET(ret, name, params, args) ret(*name) params;
    OPS_LIST(OPS_FIELD, OPS_FIELD_RET)
#undef OPS_FIELD
#undef OPS_FIELD_RET
} ops_backend;

/* The operations by number: OPS_OP_<name> (for messages and checks). */
typedef enum ops_op {
#define OPS_ENUM(name, params, args)          OPS_OP_##name,
#define OPS_ENUM_RET(ret, name, params, args) OPS_OP_##name,
    OPS_LIST(OPS_ENUM, OPS_ENUM_RET)
#undef OPS_ENUM
#undef OPS_ENUM_RET
        OPS_OP_COUNT
} ops_op;

/* The operations every back end does (OPS_LIST_CORE) come first: ops below
 * OPS_OP_CORE_COUNT; the decoder LLMs' (OPS_LIST_LLM) follow. */
enum ops_op_core_count {
#define OPS_CORE(name, params, args)          OPS_CORE_##name,
#define OPS_CORE_RET(ret, name, params, args) OPS_CORE_##name,
    OPS_LIST_CORE(OPS_CORE, OPS_CORE_RET)
#undef OPS_CORE
#undef OPS_CORE_RET
        OPS_OP_CORE_COUNT
};

/* "linear_forward" for OPS_OP_linear_forward. */
const char *ops_op_name(ops_op op);
/* Whether b does op (its pointer is not NULL). */
bool ops_backend_has(const ops_backend *b, ops_op op);
/* FT_OK when b does every one of ops[count]; otherwise FT_EINVAL with
 * "unsupported op <name> on back end <name>" for the first it does not.
 * For callers that choose a feature (model_set_bf16): ask first, fail with
 * a message. Calling an operation the current back end lacks is a bug:
 * FT_CHECK's abort with the same message. */
ft_status ops_backend_require(const ops_backend *b, const ops_op *ops, int count, ft_error *err);

/* A float array of the back end with a host copy, for what the host reads
 * or writes now and then (parameters for checkpoints and exports, optimizer
 * moments) while the operations use the back end's copy. Each side says when
 * it wrote; the other side's next access copies first. On a back end with
 * host memory both are the same array and nothing is copied. */
typedef struct ops_mirror {
    const ops_backend *be; /* the back end device belongs to */
    float *device, *host;
    size_t n;
    bool host_newer, device_newer;
} ops_mirror;

/* n zeroed floats on the current back end (and on the host); the mirror
 * keeps that back end for its copies and its free. FT_ENOMEM
 * naming `what` when either cannot be had. */
ft_status ops_mirror_create(ops_mirror *mr, size_t n, const char *what, ft_error *err);
void ops_mirror_free(ops_mirror *mr);
/* The host copy, up to date; writable ones mark the host side newer. */
float *ops_mirror_host(ops_mirror *mr);
const float *ops_mirror_host_read(ops_mirror *mr);
/* The back end's copy, up to date; writable ones mark it newer. */
float *ops_mirror_device(ops_mirror *mr);
const float *ops_mirror_device_read(ops_mirror *mr);

/* The CPU back end (always present). */
const ops_backend *ops_cpu_backend(void);

/* Make b the back end of this process's operations (the CPU's until then). A
 * back end's table is generated from ops_list.h (ops_cpu_backend.c); one
 * that does not do an operation sets that pointer NULL afterwards (a table
 * filled in a function, as test_ops_cpu.c's back end without bf16). */
void ops_backend_use(const ops_backend *b);
const ops_backend *ops_backend_current(void);

#endif
