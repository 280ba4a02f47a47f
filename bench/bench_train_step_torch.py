#!/usr/bin/env python3
"""PyTorch twin of bench_train_step.c: the same model shapes and step
(forward, cross-entropy, backward, clip_grad_norm_ 1.0, AdamW with HF's
decay groups), fp32 or bf16 autocast, timed the same way (median of STEPS after WARMUP), with
the process's peak resident memory (getrusage ru_maxrss).

usage: bench_train_step_torch.py [bert|gpt2|qwen2] [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT] [PRECISION]

qwen2: the SFT step of bench_sft_step.sh: Qwen2ForCausalLM (bench_torch_models.py,
FTUNE_BENCH_LLM_SHAPE), random ids with labels -100 on each row's first half,
transformers' masked next-token loss; FTUNE_BENCH_GC=1 turns on
model.gradient_checkpointing_enable(). The FLOP count is bench_train_step.c's.
FTUNE_BENCH_PLAN_ONLY=1 (qwen2): print plan_mib, an estimate of the step's
peak memory (plan_mib's docstring), without building the model or stepping.

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
import os
import resource
import statistics
import sys
import time

import bench_torch_settings

# The OpenMP policy is read when torch loads its OpenMP: settings first.
SETTINGS = bench_torch_settings.prepare(
    "train-bf16" if len(sys.argv) > 7 and sys.argv[7] == "bf16" else "train-fp32")

import torch  # noqa: E402

from bench_torch_models import decays, loss as model_loss, make_model, qwen2_config  # noqa: E402
from transformers import Qwen2ForCausalLM  # noqa: E402


def step_gflop(cfg, arch, b, t):
    """bench_train_step.c's count: 6 x matmul parameters x tokens + attention
    12 x layers x B x T^2 x heads x head_dim (a decoder's lm_head counted)."""
    if arch != "qwen2":
        c, i, layers = 768, 3072, 12
        return (6.0 * layers * (4 * c * c + 2 * c * i) * b * t + 3.0 * layers * 4.0 * b * t * t * c) / 1e9
    c, layers = cfg.hidden_size, cfg.num_hidden_layers
    hd = c // cfg.num_attention_heads
    q, kv = cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd
    params = layers * (2 * c * q + 2 * c * kv + 3 * c * cfg.intermediate_size) + cfg.vocab_size * c
    return (6.0 * params * b * t + 12.0 * layers * b * t * t * q) / 1e9


def plan_mib(cfg, b, t, gc):
    """An estimate of the eager step's peak memory, for bench_sft_step.sh's
    check before it runs: float32 weights, gradients and AdamW's two moments
    (16 bytes a parameter); the activations autograd keeps, about 10 hidden-
    and 4 intermediate-wide float32 rows per token and layer (with
    checkpointing, each layer's input and one layer's recomputation); and
    about four [tokens, vocab] float32 arrays around the loss (logits, their
    float copy, log-softmax, gradient); 1 GiB for the process itself."""
    with torch.device("meta"):
        params = sum(p.numel() for p in Qwen2ForCausalLM(cfg).parameters())
    n, c, i, layers = b * t, cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    layer = n * (10 * c + 4 * i) * 4
    acts = layers * n * c * 4 + layer if gc else layers * layer
    return (16 * params + acts + 4 * n * cfg.vocab_size * 4) / 2**20 + 1024


def batch(arch, vocab, b, t):
    """Random ids; a classifier's labels 0/1, a causal LM's the ids with -100
    on the first half of each row (the prompt)."""
    if arch != "qwen2":
        return torch.randint(1000, 21000, (b, t)), torch.arange(b) % 2
    ids = torch.randint(0, vocab, (b, t))
    labels = ids.clone()
    labels[:, : t // 2] = -100
    return ids, labels


def main():
    a = sys.argv[1:]
    arch = a[0] if a else "bert"
    b, t = (int(a[1]) if len(a) > 1 else 16), (int(a[2]) if len(a) > 2 else 128)
    steps, warm = (int(a[3]) if len(a) > 3 else 5), (int(a[4]) if len(a) > 4 else 2)
    dropout = float(a[5]) if len(a) > 5 else 0.1
    bf16 = len(a) > 6 and a[6] == "bf16"
    gc = os.environ.get("FTUNE_BENCH_GC") == "1"
    if arch == "qwen2" and os.environ.get("FTUNE_BENCH_PLAN_ONLY") == "1":
        print(f"impl=pytorch arch={arch} batch={b} seq={t} gc={int(gc)} "
              f"plan_mib={plan_mib(qwen2_config(), b, t, gc):.0f}")
        return
    bench_torch_settings.apply(SETTINGS)
    torch.manual_seed(0)
    model, impl = make_model(arch, dropout)
    model.train()
    if gc:  # transformers 5 renames it; same switch
        getattr(model, "activation_checkpointing_enable", model.gradient_checkpointing_enable)()
    step_model = bench_torch_settings.maybe_compile(model, SETTINGS)
    named = list(model.named_parameters())
    groups = [{"params": [p for n, p in named if decays(n)], "weight_decay": 0.01},
              {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=2e-5)
    times = []
    for s in range(warm + steps):
        ids, labels = batch(arch, model.config.vocab_size, b, t)
        lengths = torch.full((b,), t)
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
    gflop = step_gflop(model.config, arch, b, t)
    print(f"impl=pytorch torch={torch.__version__} model={impl} precision={'bf16' if bf16 else 'fp32'} arch={arch} batch={b} seq={t} dropout={dropout:g} step_s={med:.3f} "
          f"step_min_s={min(times):.3f} step_max_s={max(times):.3f} tokens_per_s={b * t / med:.1f} gflop={gflop:.1f} gflops={gflop / med:.1f} threads={torch.get_num_threads()} "
          f"peak_rss_mib={rss_mib:.0f} loss={loss.float().item():.4f} first_step_s={first_s:.3f} "
          f"params={sum(p.numel() for p in model.parameters())} gc={int(gc)} "
          f"settings={bench_torch_settings.describe(SETTINGS)}")


if __name__ == "__main__":
    main()
