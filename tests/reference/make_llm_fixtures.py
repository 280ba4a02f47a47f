#!/usr/bin/env python3
"""Make tests/fixtures/llm/<case>/: tiny random decoder LLMs in Hugging Face
form and the reference dumps tests/unit/test_model_llm.c compares against,
computed by transformers' own LlamaForCausalLM, Qwen2ForCausalLM,
MistralForCausalLM and Phi3ForCausalLM.

Run with the python of env/reference.sh's environment (PyTorch 2,
transformers 5):

    ~/.cache/ftune-ref/bin/python tests/reference/make_llm_fixtures.py [case ...]
    ~/.cache/ftune-ref/bin/python tests/reference/make_llm_fixtures.py --check

--check (CTest reference_llm_fixtures) makes them in a temporary folder and
compares them with the committed ones.

The cases (CASES): hidden 64, 2 layers, 4 query heads sharing 2 key/value
heads (grouped-query attention) everywhere, vocabulary 256, float32, eager
attention, dropout 0:
  llama    LlamaForCausalLM, untied lm_head, rope_scaling linear (factor 2)
  llama3   LlamaForCausalLM, tied embeddings, rope_scaling llama3, head_dim
           32 (so heads x head_dim = 128 != hidden), attention_bias (q, k, v
           and o biases), weights in two shards (model.safetensors.index.json)
  qwen2    Qwen2ForCausalLM (q/k/v biases), tied embeddings
  mistral  MistralForCausalLM, untied, sliding_window 64 (>= the sequence)
  phi3     Phi3ForCausalLM (fused qkv_proj, gate_up_proj), untied
Conventions as make_model_fixtures.py: weights drawn here (normal 0.02,
norm weights 1 + 0.1 noise, biases too), batches right padded with
pad_token_id 0, 3 AdamW steps of 2 micro-batches (loss / 2 each), HF
Trainer's decay names, clipping and linear warmup schedule.

Rows 1, 4, 7, ... hold the pad id 0 as a real token (position 1), which
transformers' nn.Embedding(padding_idx=pad_token_id) gives no gradient.

Labels: the input ids with -100 on each row's prompt (its first P tokens,
P drawn in [1, length - 2]) and on the padding; the loss is the model's own
(transformers' ForCausalLMLoss: logits at j against the label at j + 1, the
mean over counted tokens).

What is written, per case (float32 little-endian safetensors, int32 ids):
  config.json              the config (transformers 4 spelling: rope_theta,
                           rope_scaling), as released models ship it
  model.safetensors        initial weights, HF names (or two shards and
                           model.safetensors.index.json)
  batch.safetensors        input_ids [MICRO*B, T], lengths, labels [MICRO*B, T]
  reference.safetensors    logits [B, T, V], loss [1], grad.NAME for every
                           parameter, of micro-batch 0
  reference_bf16.safetensors
                           as reference.safetensors, with the blocks' linear
                           layers (q/k/v/o, gate/up/down; Phi-3's fused
                           qkv_proj and gate_up_proj) in ftune's bf16 mixed
                           precision: their forward patched (bf16_blocks) to
                           make_model_fixtures.py's Bf16Product, operands
                           rounded to bf16 (nearest even), float32
                           accumulation, biases and everything else float32
  trained.safetensors      every parameter after STEPS steps, lr [STEPS],
                           grad_norm [STEPS]
"""
import contextlib
import json
import os
import struct
import sys
import tempfile

import numpy as np
import torch
from torch import nn
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Phi3Config, Phi3ForCausalLM, Qwen2Config, Qwen2ForCausalLM)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_fixtures import (BETAS, EPS, GRAD_ACCUM, LR, MAX_GRAD_NORM,  # noqa: E402
                                 STEPS, TOTAL, WARMUP, WEIGHT_DECAY, Bf16Product, Trainer,
                                 get_linear_schedule_with_warmup, save_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "llm")

# Shapes; tests/unit/test_model_llm.c repeats B, T, MICRO.
LAYERS, HIDDEN, HEADS, KV_HEADS, INTER, VOCAB, POSITIONS = 2, 64, 4, 2, 128, 256, 128
B, T, MICRO = 3, 16, 6
FIRST_LENGTHS = [16, 11, 5]
SEED = 4321
ATTN = "eager"

COMMON = {"vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": INTER,
          "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
          "num_key_value_heads": KV_HEADS, "hidden_act": "silu",
          "max_position_embeddings": POSITIONS, "initializer_range": 0.02,
          "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "attention_dropout": 0.0,
          "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}

CASES = {
    "llama": (LlamaConfig, LlamaForCausalLM, "llama", {
        "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
        "rope_scaling": {"type": "linear", "factor": 2.0}}),
    "llama3": (LlamaConfig, LlamaForCausalLM, "llama", {
        "tie_word_embeddings": True, "attention_bias": True, "mlp_bias": False, "head_dim": 32,
        "rope_theta": 500000.0,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8}}),
    "qwen2": (Qwen2Config, Qwen2ForCausalLM, "qwen2", {
        "tie_word_embeddings": True, "use_sliding_window": False, "sliding_window": None,
        "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}),
    "mistral": (MistralConfig, MistralForCausalLM, "mistral", {
        "tie_word_embeddings": False, "sliding_window": 64}),
    "phi3": (Phi3Config, Phi3ForCausalLM, "phi3", {
        "tie_word_embeddings": False, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
        "rms_norm_eps": 1e-5, "sliding_window": None, "original_max_position_embeddings": POSITIONS}),
}
ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM",
        "mistral": "MistralForCausalLM", "phi3": "Phi3ForCausalLM"}


def config_json(case):
    _, _, model_type, extra = CASES[case]
    c = dict(COMMON)
    c.update(extra)
    c.update({"architectures": [ARCH[model_type]], "model_type": model_type})
    return c


def build_model(case):
    cfg_cls, cls, _, _ = CASES[case]
    c = {k: v for k, v in config_json(case).items()
         if k not in ("architectures", "model_type", "torch_dtype")}
    model = cls(cfg_cls(**c, attn_implementation=ATTN))
    assert model.config._attn_implementation == ATTN
    return model.float().train()


def init_weights(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))


def make_batches(gen):
    rows = MICRO * B
    lengths = torch.randint(4, T + 1, (rows,), generator=gen)
    lengths[:B] = torch.tensor(FIRST_LENGTHS)
    ids = torch.zeros(rows, T, dtype=torch.long)
    labels = torch.full((rows, T), -100, dtype=torch.long)
    for r in range(rows):
        n = int(lengths[r])
        ids[r, :n] = torch.randint(3, VOCAB, (n,), generator=gen)
        if r % 3 == 1:
            ids[r, 1] = 0   # the pad id as a real token: nn.Embedding(padding_idx) gives its
                            # row no gradient from any position
        prompt = int(torch.randint(1, n - 1, (1,), generator=gen))
        labels[r, prompt:n] = ids[r, prompt:n]
    return ids, lengths, labels


def run(model, ids, lengths, labels, m):
    s = slice(m * B, (m + 1) * B)
    i, n, y = ids[s], lengths[s], labels[s]
    mask = (torch.arange(T)[None, :] < n[:, None]).long()
    out = model(input_ids=i, attention_mask=mask, labels=y)
    return out.logits, out.loss


def train(model, ids, lengths, labels):
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = set(Trainer.get_decay_parameter_names(None, model))
    groups = [
        {"params": [p for n, p in named if n in decay], "weight_decay": WEIGHT_DECAY},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=EPS)
    sched = get_linear_schedule_with_warmup(opt, WARMUP, TOTAL)
    lrs, norms = [], []
    for step in range(STEPS):
        for a in range(GRAD_ACCUM):
            _, loss = run(model, ids, lengths, labels, step * GRAD_ACCUM + a)
            (loss / GRAD_ACCUM).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)))
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    return lrs, norms


def bf16_linear_forward(m, x):
    """nn.Linear (weight [out, in], bias optional) with its product in bf16
    and the bias added in float32."""
    y = Bf16Product.apply(x, m.weight.t())
    return y if m.bias is None else y + m.bias


@contextlib.contextmanager
def bf16_blocks(model, case):
    """Patch the forward of every linear layer inside the decoder blocks
    (model.layers.*; not the embedding or lm_head) to bf16_linear_forward."""
    patched = [m for n, m in model.named_modules()
               if n.startswith("model.layers.") and isinstance(m, nn.Linear)]
    assert len(patched) == LAYERS * (4 if case == "phi3" else 7), len(patched)
    for m in patched:
        m.forward = bf16_linear_forward.__get__(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


def reference_dump(model, ids, lengths, labels):
    """logits, loss and every gradient of micro-batch 0 (grads cleared after)."""
    model.zero_grad(set_to_none=True)
    logits, loss = run(model, ids, lengths, labels, 0)
    loss.backward()
    ref = {"logits": logits, "loss": loss.reshape(1)}
    for n, p in model.named_parameters():
        ref["grad." + n] = p.grad
    ref = {k: v.detach().clone() for k, v in ref.items()}
    model.zero_grad(set_to_none=True)
    return ref, loss


def save_weights(out, initial, sharded):
    if not sharded:
        save_safetensors(os.path.join(out, "model.safetensors"), initial, {"format": "pt"})
        return
    names = list(initial)
    half = len(names) // 2
    parts = {"model-00001-of-00002.safetensors": names[:half],
             "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for file, part in parts.items():
        save_safetensors(os.path.join(out, file), {n: initial[n] for n in part}, {"format": "pt"})
        weight_map.update({n: file for n in part})
    total = sum(4 * t.numel() for t in initial.values())
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


def make(case):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + sorted(CASES).index(case))
    model = build_model(case)
    init_weights(model, gen)
    ids, lengths, labels = make_batches(gen)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    out = os.path.join(OUT, case)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config_json(case), f, indent=2)
        f.write("\n")
    save_weights(out, initial, sharded=case == "llama3")
    save_safetensors(os.path.join(out, "batch.safetensors"),
                     {"input_ids": ids, "lengths": lengths, "labels": labels})

    ref, loss = reference_dump(model, ids, lengths, labels)
    save_safetensors(os.path.join(out, "reference.safetensors"), ref)
    with bf16_blocks(model, case):
        ref_bf16, _ = reference_dump(model, ids, lengths, labels)
    save_safetensors(os.path.join(out, "reference_bf16.safetensors"), ref_bf16)

    lrs, norms = train(model, ids, lengths, labels)
    trained = {n: p.detach().clone() for n, p in model.named_parameters()}
    trained.update({"lr": torch.tensor(lrs), "grad_norm": torch.tensor(norms)})
    save_safetensors(os.path.join(out, "trained.safetensors"), trained)
    print(f"{case}: loss {loss.item():.6f}, grad norms {norms}, "
          f"{len(initial)} tensors, {sum(t.numel() for t in initial.values())} parameters")


def load_safetensors(path):
    """{name: numpy array} of a file save_safetensors wrote."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    types = {"F32": "<f4", "I32": "<i4"}
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                             dtype=types[v["dtype"]]).reshape(v["shape"])
            for k, v in header.items()}


def compare(case, fresh, committed):
    """Each file of the fresh folder against the committed one: byte equal,
    or (another CPU's summation order) floats within REL_CHECK of each
    tensor's largest; trained parameters within TRAINED_ABS (AdamW turns
    rounding noise into steps of up to 2 lr each, adamw_allowance.h).
    Returns the number of differences."""
    bad = 0
    for name in sorted(os.listdir(committed)):
        a, b = os.path.join(fresh, name), os.path.join(committed, name)
        if not os.path.exists(a):
            print(f"{case}/{name}: not made by this script"); bad += 1; continue
        if open(a, "rb").read() == open(b, "rb").read():
            continue
        if not name.endswith(".safetensors") or name == "batch.safetensors":
            print(f"{case}/{name}: differs"); bad += 1; continue
        x, y = load_safetensors(a), load_safetensors(b)
        if x.keys() != y.keys():
            print(f"{case}/{name}: other tensors"); bad += 1; continue
        for k in x:
            d = float(np.max(np.abs(x[k].astype(np.float64) - y[k])))
            top = float(np.max(np.abs(y[k]))) or 1.0
            ok = d <= (TRAINED_ABS if name == "trained.safetensors" else REL_CHECK * top)
            if not ok:
                print(f"{case}/{name}: {k} differs by {d:.3g}"); bad += 1
    return bad


REL_CHECK, TRAINED_ABS = 1e-5, 2.01 * LR * STEPS


def main():
    """make_llm_fixtures.py [--check] [case ...]: write the fixtures, or with
    --check make them in a temporary folder and compare with the committed
    ones (exit 1 on a difference)."""
    global OUT
    torch.set_num_threads(1)
    args = [a for a in sys.argv[1:] if a != "--check"]
    cases = args or sorted(CASES)
    if "--check" not in sys.argv[1:]:
        for case in cases:
            make(case)
        return 0
    committed = OUT
    with tempfile.TemporaryDirectory() as tmp:
        OUT = tmp
        bad = 0
        for case in cases:
            make(case)
            bad += compare(case, os.path.join(tmp, case), os.path.join(committed, case))
    print("fixtures match" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
