/* ops_cpu_backend: the CPU back end's table (ops_backend.h). Its memory is
 * host memory: blocks of 1 MiB and more come from ft_calloc_large (huge pages,
 * see ft_alloc.h), smaller ones from calloc; moves are memcpy, and nothing is
 * ever pending, so synchronize has nothing to wait for. */
#include <stdlib.h>
#include <string.h>

#include "ft_alloc.h"
#include "ops_backend.h"
#include "ops_cpu.h"

enum { LARGE_BYTES = 1 << 20 };

static void *cpu_alloc(size_t bytes)
{
    if (bytes >= LARGE_BYTES) return ft_calloc_large(bytes, 1);
    return ft_calloc_array(bytes ? bytes : 1, 1);
}

static void cpu_free(void *p, size_t bytes)
{
    if (bytes >= LARGE_BYTES)
        ft_free_large(p, bytes, 1);
    else
        free(p);
}

static void cpu_zero(void *p, size_t bytes)
{
    if (bytes) memset(p, 0, bytes);
}

static void cpu_move(void *dst, const void *src, size_t bytes)
{
    if (bytes && dst != src) memcpy(dst, src, bytes);
}

static void cpu_synchronize(void) {}

static const ops_backend cpu_backend = {
    .name = "cpu",
    .host_memory = true,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .zero = cpu_zero,
    .to_device = cpu_move,
    .to_host = cpu_move,
    .copy = cpu_move,
    .synchronize = cpu_synchronize,
    .matmul = ops_cpu_matmul,
    .linear_forward = ops_cpu_linear_forward,
    .linear_backward = ops_cpu_linear_backward,
    .to_bf16 = ops_cpu_to_bf16,
    .from_bf16 = ops_cpu_from_bf16,
    .round_fp16 = ops_cpu_round_fp16,
    .matmul_bf16 = ops_cpu_matmul_bf16,
    .bf16_native = ops_cpu_bf16_native,
    .bf16_isa = ops_cpu_bf16_isa,
    .linear_forward_bf16 = ops_cpu_linear_forward_bf16,
    .linear_backward_bf16 = ops_cpu_linear_backward_bf16,
    .bias_forward = ops_cpu_bias_forward,
    .bias_backward = ops_cpu_bias_backward,
    .add = ops_cpu_add,
    .accumulate = ops_cpu_accumulate,
    .scale = ops_cpu_scale,
    .bias_gelu_forward = ops_cpu_bias_gelu_forward,
    .gelu_bias_backward = ops_cpu_gelu_bias_backward,
    .tanh_forward = ops_cpu_tanh_forward,
    .tanh_backward = ops_cpu_tanh_backward,
    .layernorm_forward = ops_cpu_layernorm_forward,
    .layernorm_backward = ops_cpu_layernorm_backward,
    .embedding_forward = ops_cpu_embedding_forward,
    .embedding_backward = ops_cpu_embedding_backward,
    .gather_rows_forward = ops_cpu_gather_rows_forward,
    .gather_rows_backward = ops_cpu_gather_rows_backward,
    .dropout_forward = ops_cpu_dropout_forward,
    .dropout_backward = ops_cpu_dropout_backward,
    .attention_scratch_floats = ops_cpu_attention_scratch_floats,
    .attention_forward = ops_cpu_attention_forward,
    .attention_backward = ops_cpu_attention_backward,
    .crossentropy_forward = ops_cpu_crossentropy_forward,
    .crossentropy_backward = ops_cpu_crossentropy_backward,
    .sum_squares = ops_cpu_sum_squares,
    .sum_squares_spans = ops_cpu_sum_squares_spans,
    .adamw = ops_cpu_adamw,
    .adamw_spans = ops_cpu_adamw_spans,
};

const ops_backend *ops_cpu_backend(void) { return &cpu_backend; }
