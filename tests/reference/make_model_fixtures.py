#!/usr/bin/python3
"""Make tests/fixtures/model/{bert,gpt2}/: tiny random models in Hugging Face
form and PyTorch reference dumps that ftune's model tests compare against.

Run with Debian's python3-torch (1.13): /usr/bin/python3 make_model_fixtures.py
`transformers` is not needed: the two classes below are plain PyTorch
re-statements of Hugging Face's BertForSequenceClassification and
GPT2ForSequenceClassification with the same parameter names, shapes and maths
(BERT: post-LN, exact erf GELU, additive padding mask of finfo(float32).min,
tanh pooler on [CLS]; GPT-2: pre-LN, Conv1D weights stored [in, out], causal
mask, tanh-approximated GELU ("gelu_new"), final ln_f, bias-free score head on
the last non-padding token). check_fixtures_with_transformers.py loads the same
files into the real transformers classes to confirm the equivalence.

What is written, per model (float32 little-endian safetensors, int32 ids):
  config.json        Hugging Face config
  model.safetensors  initial weights, HF names
  batch.safetensors  input_ids [MICRO*B, T], lengths, labels; rows 0..B-1 are
                     "the batch" of the logits/gradient dump, and micro-batch m
                     is rows m*B..m*B+B-1 (training uses MICRO micro-batches)
  reference.safetensors
                     logits [B, L], loss [1], grad.NAME for every parameter
                     (dropout off, mean cross-entropy of the batch); the word
                     embedding is stored only on the rows the batches use:
                     grad_rows [U] int32 and grad.WORD [U, H]
  trained.safetensors
                     every parameter after STEPS AdamW steps (HF Trainer:
                     GRAD_ACCUM micro-batches per step with loss / GRAD_ACCUM,
                     clip_grad_norm_(MAX_GRAD_NORM), AdamW with weight decay on
                     all but biases and LayerNorm weights, linear warm-up then
                     linear decay); the word embedding only on grad_rows as
                     above (the other rows only decay: p * prod(1 - lr_k * wd))
                     plus lr [STEPS] (the rate each step used) and
                     grad_norm [STEPS] (pre-clipping global norms)
  reference_bf16.safetensors
                     as reference.safetensors, with the blocks' linear layers in
                     ftune's bf16 mixed precision (Bf16Product): operands
                     rounded to bf16 (nearest even), float32 accumulation,
                     biases and everything else float32
  frozen.safetensors trainable tensors only (last block, final norm / pooler,
                     head) after STEPS steps with the rest frozen, and its
                     lr / grad_norm; the script asserts that the frozen model's
                     gradients equal the full model's on those tensors.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
DROPOUT = 0.0                  # fixtures: off; bench/ sets 0.1 for timing
MASK_MIN = torch.finfo(torch.float32).min
BF16 = False                   # block linears in bf16 (make() sets it last)


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


def block_linear(m, x):
    """A block's nn.Linear, in bf16 when BF16 (bias added in float32)."""
    if not BF16:
        return m(x)
    return Bf16Product.apply(x, m.weight.t()) + m.bias


# ---------------------------------------------------------------- BERT -----
class BertLayer(nn.Module):
    def __init__(self, eps):
        super().__init__()
        a = nn.Module()
        a.self = nn.Module()
        a.self.query = nn.Linear(HIDDEN, HIDDEN)
        a.self.key = nn.Linear(HIDDEN, HIDDEN)
        a.self.value = nn.Linear(HIDDEN, HIDDEN)
        a.output = nn.Module()
        a.output.dense = nn.Linear(HIDDEN, HIDDEN)
        a.output.LayerNorm = nn.LayerNorm(HIDDEN, eps=eps)
        self.attention = a
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(HIDDEN, INTER)
        self.output = nn.Module()
        self.output.dense = nn.Linear(INTER, HIDDEN)
        self.output.LayerNorm = nn.LayerNorm(HIDDEN, eps=eps)

    def forward(self, x, add_mask):
        s = self.attention.self
        q, k, v = (split_heads(block_linear(m, x)) for m in (s.query, s.key, s.value))
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS)
        probs = drop(torch.softmax(scores + add_mask, dim=-1), self.training)
        ctx = merge_heads(probs @ v)
        o = self.attention.output
        x = o.LayerNorm(drop(block_linear(o.dense, ctx), self.training) + x)
        h = F.gelu(block_linear(self.intermediate.dense, x))  # erf GELU ("gelu")
        return self.output.LayerNorm(drop(block_linear(self.output.dense, h), self.training) + x)


class BertForSequenceClassification(nn.Module):
    EPS = 1e-12

    def __init__(self):
        super().__init__()
        bert = nn.Module()
        e = nn.Module()
        e.word_embeddings = nn.Embedding(VOCAB, HIDDEN)
        e.position_embeddings = nn.Embedding(POSITIONS, HIDDEN)
        e.token_type_embeddings = nn.Embedding(2, HIDDEN)
        e.LayerNorm = nn.LayerNorm(HIDDEN, eps=self.EPS)
        bert.embeddings = e
        bert.encoder = nn.Module()
        bert.encoder.layer = nn.ModuleList(BertLayer(self.EPS) for _ in range(LAYERS))
        bert.pooler = nn.Module()
        bert.pooler.dense = nn.Linear(HIDDEN, HIDDEN)
        self.bert = bert
        self.classifier = nn.Linear(HIDDEN, LABELS)

    def forward(self, ids, lengths):
        mask = padding_mask(ids.shape, lengths)
        add_mask = (1.0 - mask)[:, None, None, :] * MASK_MIN
        e = self.bert.embeddings
        pos = torch.arange(ids.shape[1])
        x = e.word_embeddings(ids) + e.token_type_embeddings(torch.zeros_like(ids)) \
            + e.position_embeddings(pos)[None]
        x = drop(e.LayerNorm(x), self.training)
        for layer in self.bert.encoder.layer:
            x = layer(x, add_mask)
        pooled = torch.tanh(self.bert.pooler.dense(x[:, 0]))
        return self.classifier(drop(pooled, self.training))


# ---------------------------------------------------------------- GPT-2 ----
class Conv1D(nn.Module):
    """HF's Conv1D: y = x @ W + b with W stored [in, out]."""

    def __init__(self, n_out, n_in):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        if BF16:                                 # every Conv1D is in a block
            return Bf16Product.apply(x, self.weight) + self.bias
        return x @ self.weight + self.bias


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class GPT2Block(nn.Module):
    def __init__(self, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(HIDDEN, eps=eps)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(3 * HIDDEN, HIDDEN)
        self.attn.c_proj = Conv1D(HIDDEN, HIDDEN)
        self.ln_2 = nn.LayerNorm(HIDDEN, eps=eps)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(INTER, HIDDEN)
        self.mlp.c_proj = Conv1D(HIDDEN, INTER)

    def forward(self, x, add_mask):
        t = x.shape[1]
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(HIDDEN, dim=2)
        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS)
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
        scores = torch.where(causal, scores, torch.tensor(MASK_MIN)) + add_mask
        ctx = merge_heads(drop(torch.softmax(scores, dim=-1), self.training) @ v)
        x = x + drop(self.attn.c_proj(ctx), self.training)
        return x + drop(self.mlp.c_proj(gelu_new(self.mlp.c_fc(self.ln_2(x)))), self.training)


class GPT2ForSequenceClassification(nn.Module):
    EPS = 1e-5

    def __init__(self):
        super().__init__()
        tr = nn.Module()
        tr.wte = nn.Embedding(VOCAB, HIDDEN)
        tr.wpe = nn.Embedding(POSITIONS, HIDDEN)
        tr.h = nn.ModuleList(GPT2Block(self.EPS) for _ in range(LAYERS))
        tr.ln_f = nn.LayerNorm(HIDDEN, eps=self.EPS)
        self.transformer = tr
        self.score = nn.Linear(HIDDEN, LABELS, bias=False)

    def forward(self, ids, lengths):
        mask = padding_mask(ids.shape, lengths)
        add_mask = (1.0 - mask)[:, None, None, :] * MASK_MIN
        tr = self.transformer
        x = drop(tr.wte(ids) + tr.wpe(torch.arange(ids.shape[1]))[None], self.training)
        for block in tr.h:
            x = block(x, add_mask)
        logits = self.score(tr.ln_f(x))                        # [B, T, L]
        return logits[torch.arange(ids.shape[0]), lengths - 1]


# ---------------------------------------------------------------- shared ---
def drop(x, training):
    """HF's dropout sites; DROPOUT is 0 for the fixtures (a no-op)."""
    return F.dropout(x, DROPOUT, training) if DROPOUT > 0 else x


def split_heads(x):
    b, t, _ = x.shape
    return x.view(b, t, HEADS, HIDDEN // HEADS).transpose(1, 2)


def merge_heads(x):
    b, _, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, HEADS * d)


def padding_mask(shape, lengths):
    return (torch.arange(shape[1])[None, :] < lengths[:, None]).float()


def is_layernorm(name):
    return "LayerNorm" in name or ".ln_" in name or name.startswith("ln_")


def decays(name):
    """HF Trainer: no weight decay on biases and LayerNorm weights."""
    return "bias" not in name and not is_layernorm(name)


def init_weights(model, gen):
    """normal(0, 0.02) everywhere; LayerNorm weight 1 + noise, so tests see
    LayerNorm gradients that a weight of exactly 1 could hide."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if is_layernorm(name) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))


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


def lr_lambda(step):
    """transformers.get_linear_schedule_with_warmup."""
    if step < WARMUP:
        return float(step) / float(max(1, WARMUP))
    return max(0.0, float(TOTAL - step) / float(max(1, TOTAL - WARMUP)))


def train(model, ids, lengths, labels):
    """STEPS optimizer steps as HF Trainer takes them; returns lrs, norms."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if decays(n)], "weight_decay": WEIGHT_DECAY},
        {"params": [p for n, p in named if not decays(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=LR, betas=BETAS, eps=EPS)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    lrs, norms = [], []
    for step in range(STEPS):
        for a in range(GRAD_ACCUM):
            i, n, y = micro(ids, lengths, labels, step * GRAD_ACCUM + a)
            loss = F.cross_entropy(model(i, n), y) / GRAD_ACCUM
            loss.backward()
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


def config_json(kind):
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


def word_name(kind):
    return "bert.embeddings.word_embeddings.weight" if kind == "bert" else "transformer.wte.weight"


def dump_params(model, kind, rows, prefix="", only=None):
    out = {}
    for name, p in model.named_parameters():
        if only is not None and not only(name):
            continue
        out[prefix + name] = p[rows] if name == word_name(kind) else p
    return out


def make(kind):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + (0 if kind == "bert" else 1))
    cls = BertForSequenceClassification if kind == "bert" else GPT2ForSequenceClassification
    model = cls()
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

    # Logits, loss and gradients of the first batch.
    i0, n0, y0 = micro(ids, lengths, labels, 0)
    logits = model(i0, n0)
    loss = F.cross_entropy(logits, y0)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    ref = {"logits": logits, "loss": loss.reshape(1), "grad_rows": rows.int()}
    for n, g in grads.items():
        ref["grad." + n] = g[rows] if n == word_name(kind) else g
    save_safetensors(os.path.join(out, "reference.safetensors"), ref)
    model.zero_grad(set_to_none=True)

    lrs, norms = train(model, ids, lengths, labels)
    trained = dump_params(model, kind, rows)
    trained.update({"lr": torch.tensor(lrs), "grad_norm": torch.tensor(norms)})
    save_safetensors(os.path.join(out, "trained.safetensors"), trained)

    # Frozen: restore the initial weights, freeze all but the top.
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(initial[n])
            p.requires_grad_(trainable_in_frozen(kind, n))
    F.cross_entropy(model(i0, n0), y0).backward()
    for n, p in model.named_parameters():
        if p.requires_grad:
            assert torch.equal(p.grad, grads[n]), f"frozen gradient of {n} differs"
        else:
            assert p.grad is None
    model.zero_grad(set_to_none=True)
    flrs, fnorms = train(model, ids, lengths, labels)
    frozen = dump_params(model, kind, rows, only=lambda n: trainable_in_frozen(kind, n))
    frozen.update({"lr": torch.tensor(flrs), "grad_norm": torch.tensor(fnorms)})
    save_safetensors(os.path.join(out, "frozen.safetensors"), frozen)

    # The same first batch with the blocks' products in bf16.
    global BF16
    BF16 = True
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(initial[n])
            p.requires_grad_(True)
    model.zero_grad(set_to_none=True)
    logits16 = model(i0, n0)
    loss16 = F.cross_entropy(logits16, y0)
    loss16.backward()
    ref16 = {"logits": logits16, "loss": loss16.reshape(1), "grad_rows": rows.int()}
    for n, p in model.named_parameters():
        ref16["grad." + n] = p.grad[rows] if n == word_name(kind) else p.grad
    save_safetensors(os.path.join(out, "reference_bf16.safetensors"), ref16)
    BF16 = False
    print(f"{kind} bf16: loss {loss16.item():.6f} (float32 {loss.item():.6f}), "
          f"logits {logits16.detach().numpy().ravel()}")

    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{kind}: loss {loss.item():.6f}, logits {logits.detach().numpy().ravel()}, "
          f"grad norms {norms} (frozen {fnorms}), lrs {lrs}, {size} bytes in {out}")


def main():
    torch.set_num_threads(1)
    for kind in sys.argv[1:] or ["bert", "gpt2"]:
        make(kind)


if __name__ == "__main__":
    main()
