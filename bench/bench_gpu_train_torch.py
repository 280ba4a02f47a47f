#!/usr/bin/env python3
"""PyTorch + Hugging Face baseline of ftune's GPU training step.

usage: bench_gpu_train_torch.py [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT]
       (defaults: 32 128 20 5 0.1)

The model is transformers' BertForSequenceClassification built from
BertConfig() (BERT-base: 12 layers, hidden 768, 12 heads, intermediate 3072,
vocabulary 30522, GELU erf) with 2 labels and random weights: nothing is
downloaded. Dropout DROPOUT on hidden states and attention probabilities.
A step is what Trainer does per optimizer step with bf16=True and no
accumulation: forward and cross-entropy under
torch.autocast("cuda", dtype=torch.bfloat16) with float32 weights, backward,
clip_grad_norm_(1.0), AdamW (lr 2e-5, weight decay 0.01 except biases and
LayerNorm weights), zero_grad(set_to_none=True). Eager mode (no
torch.compile). Inputs are full-length random token ids made on the GPU.

Timing: WARMUP steps, then STEPS steps each between two
torch.cuda.synchronize(); the median step gives samples/s.

Environment (the strongest configuration is the default):
  FTUNE_BENCH_TORCH_ATTN   attn_implementation: sdpa (default; PyTorch's
                           fused attention kernels) or eager
  FTUNE_BENCH_TORCH_FUSED  1 (default): AdamW(fused=True); 0: the for-each one
Prints one line of key=value pairs (bench_gpu_train.sh reads it); model
FLOPs per sample are 6 x (matmul parameters) x T + 12 x L x T^2 x C, as
bench_train_step.c counts them.
"""
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def parse_args(argv):
    a = argv[1:]
    if a and a[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    try:
        b = int(a[0]) if len(a) > 0 else 32
        t = int(a[1]) if len(a) > 1 else 128
        steps = int(a[2]) if len(a) > 2 else 20
        warm = int(a[3]) if len(a) > 3 else 5
        p = float(a[4]) if len(a) > 4 else 0.1
    except ValueError as e:
        sys.exit(f"bench_gpu_train_torch.py: {e}; usage: [BATCH] [SEQ] [STEPS] [WARMUP] [DROPOUT]")
    if b < 1 or t < 1 or t > 512 or steps < 1 or warm < 0 or not 0 <= p < 1:
        sys.exit("bench_gpu_train_torch.py: need BATCH >= 1, 1 <= SEQ <= 512, STEPS >= 1, "
                 "WARMUP >= 0, 0 <= DROPOUT < 1")
    return b, t, steps, warm, p


def make_model(p, attn):
    from transformers import BertConfig, BertForSequenceClassification
    cfg = BertConfig(hidden_dropout_prob=p, attention_probs_dropout_prob=p, num_labels=2)
    try:
        model = BertForSequenceClassification(cfg, attn_implementation=attn)
    except TypeError:  # older transformers: no attn_implementation argument
        cfg._attn_implementation = attn
        model = BertForSequenceClassification(cfg)
    return model.cuda().train(), cfg


def make_optimizer(model, fused):
    def decays(name):
        return not (name.endswith(".bias") or "LayerNorm" in name)
    named = list(model.named_parameters())
    groups = [{"params": [q for n, q in named if decays(n)], "weight_decay": 0.01},
              {"params": [q for n, q in named if not decays(n)], "weight_decay": 0.0}]
    if fused:
        try:
            return torch.optim.AdamW(groups, lr=2e-5, fused=True), True
        except (TypeError, RuntimeError):  # a torch without fused AdamW
            pass
    return torch.optim.AdamW(groups, lr=2e-5), False


def step_flops(cfg, t):
    c, inter, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    matmul_params = layers * (4 * c * c + 2 * c * inter)
    return 6.0 * matmul_params * t + 12.0 * layers * t * t * c


def main():
    b, t, steps, warm, p = parse_args(sys.argv)
    if not torch.cuda.is_available():
        sys.exit("bench_gpu_train_torch.py: torch sees no CUDA GPU")
    attn = os.environ.get("FTUNE_BENCH_TORCH_ATTN", "sdpa")
    fused = os.environ.get("FTUNE_BENCH_TORCH_FUSED", "1") != "0"
    torch.manual_seed(0)
    model, cfg = make_model(p, attn)
    opt, fused = make_optimizer(model, fused)
    dev = torch.device("cuda")
    mask = torch.ones(b, t, dtype=torch.long, device=dev)
    labels = torch.arange(b, device=dev) % 2
    times = []
    for s in range(warm + steps):
        ids = torch.randint(1000, 21000, (b, t), device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(input_ids=ids, attention_mask=mask).logits
            loss = F.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if s >= warm:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    gflop = step_flops(cfg, t) * b / 1e9
    import transformers
    name = torch.cuda.get_device_name().replace(" ", "_")
    print(f"impl=pytorch device={name} precision=bf16 arch=bert batch={b} seq={t} dropout={p:g} "
          f"step_s={med:.4f} step_min_s={min(times):.4f} step_max_s={max(times):.4f} "
          f"samples_per_s={b / med:.1f} gflop={gflop:.1f} gflops={gflop / med:.1f} "
          f"peak_gpu_mib={torch.cuda.max_memory_allocated() / 2**20:.0f} attn={attn} "
          f"fused_adamw={int(fused)} torch={torch.__version__} "
          f"transformers={transformers.__version__} loss={loss.float().item():.4f}")


if __name__ == "__main__":
    main()
