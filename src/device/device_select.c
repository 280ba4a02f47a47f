/* device_select: the CPU or this rank's GPU (see device.h). */
#include "device/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "core/ft_log.h"
#include "ops/ops_backend.h"
#include "ops/ops_cpu.h"
#ifdef FTUNE_HAVE_CUDA
#include "comm/comm_nccl.h"
#include "cuda/gpu_device.h"
#include "cuda/ops_cuda.h"
#endif

bool device_cuda_built(void)
{
#ifdef FTUNE_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

ft_status device_cpu_gemm(ft_error *err) { return ops_cpu_gemm_select(err); }

static ft_status use_cpu_backend(device_choice *out, ft_error *err)
{
    ops_backend_use(ops_cpu_backend());
    out->gpu = false;
    out->gpu_index = -1;
    snprintf(out->name, sizeof out->name, "cpu");
    return device_cpu_gemm(err);
}

#ifdef FTUNE_HAVE_CUDA
/* Every rank must see a GPU for the job to use them: the fewest wins. */
static int fewest_gpus(MPI_Comm mpi)
{
    int count = gpu_device_count(), fewest = 0;
    MPI_Allreduce(&count, &fewest, 1, MPI_INT, MPI_MIN, mpi);
    return fewest;
}

static ft_status use_gpu_backend(MPI_Comm mpi, device_choice *out, ft_error *err)
{
    gpu_device_info info;
    ft_status st = gpu_device_select(mpi, &info, err);
    if (st != FT_OK) return st;
    /* NCCL refuses two ranks of a communicator on one GPU: say so now,
     * in the job's terms, not as an NCCL failure later. */
    if (info.sharing > 0)
        return ft_fail(err, FT_EINVAL,
                       "GPU %d (%s) is used by %d other rank(s) of this node: start one rank "
                       "per GPU (e.g. srun --ntasks-per-node=GPUs --gpus-per-task=1), or set "
                       "use_cpu",
                       info.device, info.name, info.sharing);
    ops_backend_use(ops_cuda_backend());
    out->gpu = true;
    out->gpu_index = info.device;
    snprintf(out->name, sizeof out->name, "%s", info.name);
    ft_log_info("GPU %d of %d on this node: %s, %.1f GiB, compute capability %d.%d "
                "(node-local rank %d of %d)",
                info.device, info.count, info.name, (double)info.memory_bytes / (1u << 30),
                info.cc_major, info.cc_minor, info.local_rank, info.local_size);
    return FT_OK;
}
#endif

ft_status device_select(MPI_Comm mpi, bool use_cpu, device_choice *out, ft_error *err)
{
    memset(out, 0, sizeof *out);
    int rank = 0;
    MPI_Comm_rank(mpi, &rank);
#ifdef FTUNE_HAVE_CUDA
    if (!use_cpu) {
        if (fewest_gpus(mpi) > 0) return use_gpu_backend(mpi, out, err);
        if (rank == 0) ft_log_info("no GPU visible on every rank: running on the CPU");
    }
#else
    (void)err, (void)use_cpu, (void)rank;
#endif
    return use_cpu_backend(out, err);
}

ft_status device_attach_grad_engine(device_choice *d, comm *c, ft_error *err)
{
#ifdef FTUNE_HAVE_CUDA
    if (!d->gpu) return FT_OK;
    comm_nccl *e = NULL;
    ft_status st = comm_nccl_create(comm_mpi(c), ops_cuda_stream(), &e, err);
    if (st != FT_OK) return st;
    d->grad_engine = e;
    comm_use_grad_engine(c, comm_nccl_engine(), e);
    return FT_OK;
#else
    (void)d, (void)c, (void)err;
    return FT_OK;
#endif
}

void device_release(device_choice *d, comm *c)
{
#ifdef FTUNE_HAVE_CUDA
    if (d->grad_engine) {
        comm_use_grad_engine(c, NULL, NULL);
        comm_nccl_free(d->grad_engine);
        d->grad_engine = NULL;
    }
#else
    (void)d, (void)c;
#endif
}

void device_mixed_precision(const device_choice *d, bool on)
{
#ifdef FTUNE_HAVE_CUDA
    if (d->gpu) ops_cuda_allow_tf32(on);
#else
    (void)d, (void)on;
#endif
}

/* FTUNE_CPU_BF16: "auto" (or unset) measures, "on" keeps bf16. */
static ft_status bf16_forced(bool *forced, ft_error *err)
{
    const char *e = getenv("FTUNE_CPU_BF16");
    *forced = e && !strcmp(e, "on");
    if (!e || !*e || *forced || !strcmp(e, "auto")) return FT_OK;
    return ft_fail(err, FT_EINVAL, "FTUNE_CPU_BF16: expected auto or on, got \"%s\"", e);
}

ft_status device_bf16_decide(MPI_Comm mpi, const device_choice *d, bool *bf16, ft_error *err)
{
    bool forced = false;
    if (!*bf16 || d->gpu) return FT_OK;
    ft_status st = bf16_forced(&forced, err);
    /* Every rank joins the reduction, a failed one too: no rank waits alone. */
    int keep = st != FT_OK || forced || ops_cpu_bf16_pays(), all = keep;
    if (mpi != MPI_COMM_NULL) MPI_Allreduce(&keep, &all, 1, MPI_INT, MPI_LAND, mpi);
    if (st != FT_OK || all) return st;
    if (keep)
        ft_log_warn("bf16: another rank's CPU multiplies bf16 slower than float32: all ranks "
                    "run in float32 (FTUNE_CPU_BF16=on keeps bf16)");
    else
        ft_log_warn("bf16: this CPU's bf16 products (%s) are not faster than its float32 "
                    "ones (%s): running in float32, which is as fast and more precise "
                    "(FTUNE_CPU_BF16=on keeps bf16)",
                    ops_cpu_bf16_isa(), ops_cpu_gemm_describe());
    *bf16 = false;
    return FT_OK;
}
