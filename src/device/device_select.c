/* device_select: the CPU or this rank's GPU (see device.h). */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include "comm.h"
#include "ft_log.h"
#include "ops_backend.h"
#ifdef FTUNE_HAVE_CUDA
#include "comm_nccl.h"
#include "gpu_device.h"
#include "ops_cuda.h"
#endif

bool device_cuda_built(void)
{
#ifdef FTUNE_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

static void use_cpu_backend(device_choice *out)
{
    ops_backend_use(ops_cpu_backend());
    out->gpu = false;
    out->gpu_index = -1;
    snprintf(out->name, sizeof out->name, "cpu");
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
                       "use_cpu", info.device, info.name, info.sharing);
    ops_backend_use(ops_cuda_backend());
    out->gpu = true;
    out->gpu_index = info.device;
    snprintf(out->name, sizeof out->name, "%s", info.name);
    ft_log_info("GPU %d of %d on this node: %s, %.1f GiB, compute capability %d.%d "
                "(node-local rank %d of %d)", info.device, info.count, info.name,
                (double)info.memory_bytes / (1u << 30), info.cc_major, info.cc_minor,
                info.local_rank, info.local_size);
    return FT_OK;
}
#endif

ft_status device_select(MPI_Comm mpi, bool use_cpu, device_choice *out,
                        ft_error *err)
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
    use_cpu_backend(out);
    return FT_OK;
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
