/* ops_cuda: the CUDA back end of ops.h (CUDA builds only).
 *
 * ops_cuda_backend() is the table of ops_backend.h for the GPU current
 * when it is first called (the caller has run gpu_device_select): cuBLAS
 * (float32, TF32 off unless allowed) and cuBLASLt (bf16 products with the
 * bias in the epilogue) for the matrix products, kernels for the rest
 * (src/cuda/kern_*.cuh). Everything runs in order on ONE non-blocking
 * stream the back end creates; to_host, crossentropy_forward and
 * sum_squares_spans wait for it. Results are deterministic: no atomics on
 * floats, reductions in a fixed order; dropout masks equal the CPU's bit
 * for bit (the same Philox counters).
 *
 * This header has no CUDA types, so C code of the programs can include it.
 * Not here: choosing the GPU (gpu_device.h), NCCL (gpu_device.h). */
#ifndef OPS_CUDA_H
#define OPS_CUDA_H

#include <stdbool.h>

#include "ops/ops_backend.h"

/* The GPU back end; creates the stream and the cuBLAS handles on first use. */
const ops_backend *ops_cuda_backend(void);

/* The back end's cudaStream_t as a void * (for the NCCL all-reduce, which
 * must run in order with the operations). */
void *ops_cuda_stream(void);

/* Let float32 products use TF32 tensor cores (10-bit mantissa operands,
 * about 8x faster on A100/H100; off by default so that float32 training
 * matches the CPU to float accuracy). */
void ops_cuda_allow_tf32(bool allow);

#endif
