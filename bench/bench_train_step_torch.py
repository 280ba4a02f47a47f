#!/usr/bin/env python3
"""PyTorch twin of bench_train_step.c: the same model shapes and step
(forward, cross-entropy, backward, clip_grad_norm_ 1.0, AdamW with HF's
decay groups), fp32 or bf16 autocast, timed the same way (median of STEPS after WARMUP), with
the process's peak resident memory (getrusage ru_maxrss).

usage: bench_train_step_torch.py [bert|gpt2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT] [PRECISION]

PRECISION: fp32 (default) or bf16: forward and loss under
torch.autocast("cpu", dtype=torch.bfloat16), float32 weights and optimizer,
which is what Trainer's bf16=True does on a CPU.

The model: bench_torch_models.py (transformers' classes with sdpa attention;
a python without transformers is refused).
bench_train_step.sh picks the python. Settings (threads, OpenMP policy,
mkldnn, attention, flush-denormal, torch.compile): FTUNE_BENCH_TORCH_SETTINGS,
case train-fp32 or train-bf16 (bench_torch_settings.py); by default
torch.set_num_threads(FTUNE_BENCH_THREADS or 2) and the rest as before.
first_step_s is the first warm-up step (with torch.compile: the compilation),
never part of step_s.
"""
import resource
import statistics
import sys
import time

import bench_torch_settings

# The OpenMP policy is read when torch loads its OpenMP: settings first.
SETTINGS = bench_torch_settings.prepare(
    "train-bf16" if len(sys.argv) > 7 and sys.argv[7] == "bf16" else "train-fp32")

import torch  # noqa: E402

from bench_torch_models import decays, loss as model_loss, make_model  # noqa: E402


def main():
    a = sys.argv[1:]
    arch = a[0] if a else "bert"
    b, t = (int(a[1]) if len(a) > 1 else 16), (int(a[2]) if len(a) > 2 else 128)
    steps, warm = (int(a[3]) if len(a) > 3 else 5), (int(a[4]) if len(a) > 4 else 2)
    dropout = float(a[5]) if len(a) > 5 else 0.1
    bf16 = len(a) > 6 and a[6] == "bf16"
    bench_torch_settings.apply(SETTINGS)
    torch.manual_seed(0)
    model, impl = make_model(arch, dropout)
    model.train()
    step_model = bench_torch_settings.maybe_compile(model, SETTINGS)
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if decays(n)], "weight_decay": 0.01},
              {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=2e-5)
    times = []
    for s in range(warm + steps):
        ids = torch.randint(1000, 21000, (b, t))
        lengths = torch.full((b,), t)
        labels = torch.arange(b) % 2
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model_loss(step_model, impl, ids, lengths, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s == 0:
            first_s = time.perf_counter() - t0
        if s >= warm:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    c, i, layers = 768, 3072, 12
    gflop = (6.0 * layers * (4 * c * c + 2 * c * i) * b * t + 3.0 * layers * 4.0 * b * t * t * c) / 1e9
    print(f"impl=pytorch torch={torch.__version__} model={impl} precision={'bf16' if bf16 else 'fp32'} arch={arch} batch={b} seq={t} dropout={dropout:g} step_s={med:.3f} "
          f"step_min_s={min(times):.3f} step_max_s={max(times):.3f} gflop={gflop:.1f} gflops={gflop / med:.1f} threads={torch.get_num_threads()} "
          f"peak_rss_mib={rss_mib:.0f} loss={loss.float().item():.4f} first_step_s={first_s:.3f} "
          f"settings={bench_torch_settings.describe(SETTINGS)}")


if __name__ == "__main__":
    main()
