#!/usr/bin/env python3
"""Make tests/fixtures/model/{bert,gpt2}/: tiny random models in Hugging Face
form and the reference dumps that ftune's model tests compare against, all
computed by transformers' own BertForSequenceClassification and
GPT2ForSequenceClassification.

Run with the python of env/reference.sh's environment (PyTorch 2,
transformers 5):

    ~/.cache/ftune-ref/bin/python tests/reference/make_model_fixtures.py [bert|gpt2 ...]

The models are built from the config.json written here (BertConfig /
GPT2Config), with dropout 0 and attention_implementation "eager" (ATTN):
transformers' explicit matmul / additive mask / softmax / matmul, the same
order of operations as ftune's attention, rather than "sdpa", whose fused
kernel (flash or memory-efficient on some inputs) sums in another order
depending on the machine. Weights are drawn here (init_weights), not by
transformers' initialisation, so they do not depend on its version.

What is written, per model (float32 little-endian safetensors, int32 ids):
  config.json        Hugging Face config
  model.safetensors  initial weights, HF names
  batch.safetensors  input_ids [MICRO*B, T], lengths, labels; rows 0..B-1 are
                     "the batch" of the logits/gradient dump, and micro-batch m
                     is rows m*B..m*B+B-1 (training uses MICRO micro-batches)
  reference.safetensors
                     logits [B, L], loss [1] (the model's own loss: mean
                     cross-entropy of the batch), grad.NAME for every
                     parameter; the word embedding is stored only on the rows
                     the batches use: grad_rows [U] int32 and grad.WORD [U, H]
  trained.safetensors
                     every parameter after STEPS AdamW steps as HF Trainer
                     takes them: GRAD_ACCUM micro-batches per step with
                     loss / GRAD_ACCUM, clip_grad_norm_(MAX_GRAD_NORM),
                     torch.optim.AdamW with weight decay on
                     Trainer.get_decay_parameter_names (all but biases and
                     LayerNorm weights), get_linear_schedule_with_warmup; the
                     word embedding only on grad_rows as above (the other rows
                     only decay: p * prod(1 - lr_k * wd)) plus lr [STEPS] (the
                     rate each step used) and grad_norm [STEPS] (pre-clipping
                     global norms)
  reference_bf16.safetensors
                     as reference.safetensors, with the blocks' linear layers
                     (BERT's nn.Linear in encoder.layer.*, GPT-2's Conv1D in
                     transformer.h.*) in ftune's bf16 mixed precision: their
                     forward is patched (bf16_blocks) to Bf16Product, operands
                     rounded to bf16 (nearest even), float32 accumulation,
                     biases and everything else float32
  frozen.safetensors trainable tensors only (last block, final norm / pooler,
                     head) after STEPS steps with the rest frozen
                     (requires_grad False), and its lr / grad_norm; the script
                     asserts that the frozen model's gradients equal the full
                     model's on those tensors.
check_fixtures_with_transformers.py (CTest reference_fixtures_transformers)
recomputes all of it from the committed files alone.
"""
import contextlib
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config,
                          GPT2ForSequenceClassification, Trainer,
                          get_linear_schedule_with_warmup)
from transformers.pytorch_utils import Conv1D

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "model")

# Shapes and training constants; tests/unit/test_model.c repeats them.
LAYERS, HIDDEN, HEADS, INTER, VOCAB, POSITIONS, LABELS = 2, 64, 4, 256, 1000, 64, 3
B, T = 3, 16
MICRO = 6                      # micro-batches in batch.safetensors
GRAD_ACCUM, STEPS = 2, 3       # 3 optimizer steps of 2 micro-batches each
LR, WEIGHT_DECAY, WARMUP, TOTAL = 1e-3, 0.01, 2, 5
BETAS, EPS, MAX_GRAD_NORM = (0.9, 0.999), 1e-8, 1.0
FIRST_LENGTHS = [16, 11, 5]    # lengths of the first (reference) batch
SEED = 1234
ATTN = "eager"                 # transformers' attention implementation
DROPOUT_KEYS = {"bert": ("hidden_dropout_prob", "attention_probs_dropout_prob"),
                "gpt2": ("resid_pdrop", "embd_pdrop", "attn_pdrop", "summary_first_dropout")}


# ------------------------------------------------------------ the models ---
def config_json(kind):
    """The config.json of the fixture folder (dropout 0.1 as a user's would
    say; the fixture models run with DROPOUT_KEYS set to 0)."""
    labels = {"id2label": {str(i): f"LABEL_{i}" for i in range(LABELS)},
              "label2id": {f"LABEL_{i}": i for i in range(LABELS)}}
    if kind == "bert":
        c = {"architectures": ["BertForSequenceClassification"], "model_type": "bert",
             "vocab_size": VOCAB, "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
             "num_attention_heads": HEADS, "intermediate_size": INTER, "hidden_act": "gelu",
             "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
             "max_position_embeddings": POSITIONS, "type_vocab_size": 2,
             "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
             "position_embedding_type": "absolute", "classifier_dropout": None}
    else:
        c = {"architectures": ["GPT2ForSequenceClassification"], "model_type": "gpt2",
             "vocab_size": VOCAB, "n_embd": HIDDEN, "n_layer": LAYERS, "n_head": HEADS,
             "n_inner": INTER, "n_positions": POSITIONS, "n_ctx": POSITIONS,
             "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1,
             "attn_pdrop": 0.1, "summary_first_dropout": 0.1, "layer_norm_epsilon": 1e-5,
             "initializer_range": 0.02, "bos_token_id": 999, "eos_token_id": 999,
             "pad_token_id": 999, "scale_attn_weights": True,
             "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False}
    c.update(labels)
    c["problem_type"] = "single_label_classification"
    c["torch_dtype"] = "float32"
    return c


def build_model(kind):
    """transformers' class for config_json(kind), dropout 0, ATTN attention."""
    c = {k: v for k, v in config_json(kind).items() if k not in ("architectures", "torch_dtype")}
    c.update({k: 0.0 for k in DROPOUT_KEYS[kind]})
    cfg_cls, cls = ((BertConfig, BertForSequenceClassification) if kind == "bert"
                    else (GPT2Config, GPT2ForSequenceClassification))
    model = cls(cfg_cls(**c, attn_implementation=ATTN))
    assert model.config._attn_implementation == ATTN, model.config._attn_implementation
    return model.float().train()


def layernorm_weights(model):
    return {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)}


def init_weights(model, gen):
    """normal(0, 0.02) everywhere, in named_parameters order; LayerNorm weight
    1 + noise, so tests see LayerNorm gradients that a weight of exactly 1
    could hide."""
    ln = layernorm_weights(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in ln:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))


def word_name(kind):
    return "bert.embeddings.word_embeddings.weight" if kind == "bert" else "transformer.wte.weight"


# ------------------------------------------------------- bf16 precision ---
def to_bf16(x):
    """Round to the nearest bf16 (ties to even), kept as float32."""
    return x.bfloat16().float()


class Bf16Product(torch.autograd.Function):
    """y = r(x) @ r(w), w stored [in, out], r = to_bf16; float32
    accumulation. Backward rounds the output gradient too, as ftune does:
    dx = r(dy) @ r(w)^T, dw = r(x)^T @ r(dy)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return to_bf16(x) @ to_bf16(w)

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        dyr = to_bf16(dy)
        dx = dyr @ to_bf16(w).t()
        dw = to_bf16(x).reshape(-1, x.shape[-1]).t() @ dyr.reshape(-1, dy.shape[-1])
        return dx, dw


def bf16_linear_forward(m, x):
    """nn.Linear (weight [out, in]) or Conv1D (weight [in, out]) with its
    product in bf16 and the bias added in float32."""
    w = m.weight.t() if isinstance(m, nn.Linear) else m.weight
    return Bf16Product.apply(x, w) + m.bias


@contextlib.contextmanager
def bf16_blocks(model, kind):
    """Patch the forward of every linear layer inside the transformer blocks
    (not the embeddings, pooler or head) to bf16_linear_forward."""
    blocks = "bert.encoder.layer." if kind == "bert" else "transformer.h."
    patched = [m for n, m in model.named_modules()
               if n.startswith(blocks) and isinstance(m, (nn.Linear, Conv1D))]
    assert len(patched) == LAYERS * (6 if kind == "bert" else 4), len(patched)
    for m in patched:
        m.forward = bf16_linear_forward.__get__(m)
    try:
        yield
    finally:
        for m in patched:
            del m.forward


# ------------------------------------------------------ batches, training --
def make_batches(kind, gen):
    """MICRO*B rows of token ids, right padded; BERT: [CLS] ... [SEP], pad 0;
    GPT-2: ids below the pad/eos id 999."""
    rows = MICRO * B
    lengths = torch.randint(3, T + 1, (rows,), generator=gen)
    lengths[:B] = torch.tensor(FIRST_LENGTHS)
    labels = torch.randint(0, LABELS, (rows,), generator=gen)
    ids = torch.zeros(rows, T, dtype=torch.long)
    for r in range(rows):
        n = int(lengths[r])
        if kind == "bert":
            body = torch.randint(5, VOCAB, (n,), generator=gen)
            body[0], body[n - 1] = 2, 3                      # [CLS], [SEP]
            ids[r, :n] = body
        else:
            ids[r, :] = 999
            ids[r, :n] = torch.randint(0, 999, (n,), generator=gen)
    return ids, lengths, labels


def micro(ids, lengths, labels, m):
    s = slice(m * B, (m + 1) * B)
    return ids[s], lengths[s], labels[s]


def padding_mask(shape, lengths):
    """The attention_mask a tokenizer gives right-padded rows: 1 on tokens."""
    return (torch.arange(shape[1])[None, :] < lengths[:, None]).long()


def run(model, ids, lengths, labels, m):
    """(logits, loss) of micro-batch m: the model's own mean cross-entropy."""
    i, n, y = micro(ids, lengths, labels, m)
    out = model(input_ids=i, attention_mask=padding_mask(i.shape, n), labels=y)
    return out.logits, out.loss


def decay_names(model):
    """HF Trainer's rule: weight decay on all but biases and LayerNorm."""
    return set(Trainer.get_decay_parameter_names(None, model))


def train(model, ids, lengths, labels):
    """STEPS optimizer steps as HF Trainer takes them; returns lrs, norms."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = decay_names(model)
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


def trainable_in_frozen(kind, name):
    last = f"encoder.layer.{LAYERS - 1}." if kind == "bert" else f"transformer.h.{LAYERS - 1}."
    heads = ("bert.pooler.", "classifier.") if kind == "bert" else ("transformer.ln_f.", "score.")
    return last in name or name.startswith(heads)


# ------------------------------------------------------------ safetensors --
def save_safetensors(path, tensors, metadata=None):
    """The safetensors format: u64 little-endian header size, a JSON header
    {name: {dtype, shape, data_offsets}}, padded with spaces to 8 bytes, then
    the raw little-endian data."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy())
        if a.dtype == np.float32:
            dtype = "F32"
        elif a.dtype in (np.int64, np.int32):
            a, dtype = a.astype("<i4"), "I32"
        else:
            raise ValueError(f"{name}: unsupported dtype {a.dtype}")
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def dump_params(model, kind, rows, only=None):
    return {n: (p[rows] if n == word_name(kind) else p)
            for n, p in model.named_parameters() if only is None or only(n)}


def first_batch_dump(model, kind, ids, lengths, labels, rows):
    """logits, loss and every gradient of micro-batch 0, as saved; leaves
    the gradients cleared."""
    model.zero_grad(set_to_none=True)
    logits, loss = run(model, ids, lengths, labels, 0)
    loss.backward()
    ref = {"logits": logits, "loss": loss.reshape(1), "grad_rows": rows.int()}
    for n, p in model.named_parameters():
        ref["grad." + n] = p.grad[rows] if n == word_name(kind) else p.grad
    ref = {k: v.detach().clone() for k, v in ref.items()}
    model.zero_grad(set_to_none=True)
    return ref


def reset(model, initial, trainable=lambda n: True):
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(initial[n])
            p.requires_grad_(trainable(n))
    model.zero_grad(set_to_none=True)


def make(kind):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + (0 if kind == "bert" else 1))
    model = build_model(kind)
    init_weights(model, gen)
    ids, lengths, labels = make_batches(kind, gen)
    rows = torch.unique(ids)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    out = os.path.join(OUT, kind)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config_json(kind), f, indent=2)
        f.write("\n")
    save_safetensors(os.path.join(out, "model.safetensors"), initial, {"format": "pt"})
    save_safetensors(os.path.join(out, "batch.safetensors"),
                     {"input_ids": ids, "lengths": lengths, "labels": labels})

    ref = first_batch_dump(model, kind, ids, lengths, labels, rows)
    save_safetensors(os.path.join(out, "reference.safetensors"), ref)

    lrs, norms = train(model, ids, lengths, labels)
    trained = dump_params(model, kind, rows)
    trained.update({"lr": torch.tensor(lrs), "grad_norm": torch.tensor(norms)})
    save_safetensors(os.path.join(out, "trained.safetensors"), trained)

    # Frozen: the initial weights, all but the top frozen.
    reset(model, initial, lambda n: trainable_in_frozen(kind, n))
    _, loss = run(model, ids, lengths, labels, 0)
    loss.backward()
    for n, p in model.named_parameters():
        if p.requires_grad:
            g = p.grad[rows] if n == word_name(kind) else p.grad
            assert torch.equal(g, ref["grad." + n]), f"frozen gradient of {n} differs"
        else:
            assert p.grad is None
    model.zero_grad(set_to_none=True)
    flrs, fnorms = train(model, ids, lengths, labels)
    frozen = dump_params(model, kind, rows, only=lambda n: trainable_in_frozen(kind, n))
    frozen.update({"lr": torch.tensor(flrs), "grad_norm": torch.tensor(fnorms)})
    save_safetensors(os.path.join(out, "frozen.safetensors"), frozen)

    # The same first batch with the blocks' products in bf16.
    reset(model, initial)
    with bf16_blocks(model, kind):
        ref16 = first_batch_dump(model, kind, ids, lengths, labels, rows)
    save_safetensors(os.path.join(out, "reference_bf16.safetensors"), ref16)
    print(f"{kind} bf16: loss {ref16['loss'].item():.6f} (float32 {ref['loss'].item():.6f}), "
          f"logits {ref16['logits'].numpy().ravel()}")

    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{kind} ({ATTN} attention): loss {ref['loss'].item():.6f}, "
          f"logits {ref['logits'].numpy().ravel()}, grad norms {norms} (frozen {fnorms}), "
          f"lrs {lrs}, {size} bytes in {out}")


def main():
    torch.set_num_threads(1)
    for kind in sys.argv[1:] or ["bert", "gpt2"]:
        make(kind)


if __name__ == "__main__":
    main()
