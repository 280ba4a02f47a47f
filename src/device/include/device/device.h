/* device: where a program's operations run, chosen once at start.
 *
 * A CUDA build with a GPU visible on EVERY rank runs on the GPUs: one rank
 * per GPU (gpu_device.h picks the GPU from the node-local rank), operations
 * through the CUDA back end (ops_backend.h), gradients reduced through NCCL.
 * Otherwise, or when the user asks for the CPU (the "use_cpu" key of
 * Hugging Face's TrainingArguments, --cpu in ftune-eval), the CPU back
 * end; ftune-predict always runs on the CPU. All ranks agree on the choice
 * (a job never mixes them).
 *
 * Not here: the operations (src/ops, src/cuda), the all-reduce (src/comm). */
#ifndef DEVICE_H
#define DEVICE_H

#include <mpi.h>
#include <stdbool.h>

#include "core/ft_error.h"

/* comm.h's type by its tag: programs name MPI communicators "comm". */
struct comm;

typedef struct device_choice {
    bool gpu;          /* the CUDA back end is in use */
    int gpu_index;     /* this rank's GPU, or -1 */
    char name[256];    /* "cpu" or the GPU's name */
    void *grad_engine; /* the NCCL engine given to comm, or NULL */
} device_choice;

/* Choose, make the choice current (ops_backend_use) and log it on rank 0.
 * Collective over comm. */
ft_status device_select(MPI_Comm mpi, bool use_cpu, device_choice *out, ft_error *err);

/* On a GPU, reduce c's gradients through NCCL (comm_use_grad_engine) on a
 * communicator over c's ranks; on the CPU nothing (MPI does it). Collective. */
ft_status device_attach_grad_engine(device_choice *d, struct comm *c, ft_error *err);
/* Undo device_attach_grad_engine (waits for reductions in flight). */
void device_release(device_choice *d, struct comm *c);

/* Tell the back end that the run uses mixed precision (bf16 or fp16): on a
 * GPU its float32 products may then use TF32 tensor cores. In fp16 mode that
 * changes nothing in the block products' results: operands already rounded
 * to fp16 (10-bit significand, a narrower exponent) are exact in TF32
 * (10-bit significand, float32's exponent), so a TF32 product of them is
 * still the exact fp16 product with float32 sums, at tensor-core speed. The
 * other float32 products (attention, pooler, head) take TF32's precision,
 * finer than the bf16/fp16 that torch.autocast gives them. No-op on CPUs. */
void device_mixed_precision(const device_choice *d, bool on);

/* The CPU's float32 GEMM library from FTUNE_GEMM (auto, openblas, onednn;
 * see ops_cpu_gemm.c), said at info. device_select calls it for a CPU run;
 * a program without MPI (ftune-predict) calls it itself. */
ft_status device_cpu_gemm(ft_error *err);

/* Whether a run that asked for bf16 keeps it (*bf16 stays true) or runs in
 * float32. On a GPU and with FTUNE_CPU_BF16=on it keeps it. On a CPU, by
 * default (FTUNE_CPU_BF16=auto), only where bf16 products are faster than
 * float32 (ops_cpu_bf16_pays: AMX, AMD Zen 4/5; not an Intel Xeon without
 * AMX, nor emulated bf16), with a warning when it does not. A rule, not a
 * timing: a resumed run on the same kind of CPU decides the same. All ranks
 * of mpi agree (collective; MPI_COMM_NULL for one process without MPI). */
ft_status device_bf16_decide(MPI_Comm mpi, const device_choice *d, bool *bf16, ft_error *err);

/* Whether this build has the CUDA back end. */
bool device_cuda_built(void);

#endif
