#!/usr/bin/env python3
"""Check tests/fixtures/model/ against the real Hugging Face classes.

The CTest test reference_fixtures_transformers runs it with the python of
env/reference.sh's environment (transformers 5, PyTorch 2):

    ~/.cache/ftune-ref/bin/python tests/reference/check_fixtures_with_transformers.py [bert|gpt2 ...]

It loads each fixture folder with AutoModelForSequenceClassification
.from_pretrained (config.json + model.safetensors, exactly as a user would),
runs the first batch with dropout off, and compares logits, loss and every
parameter's gradient with reference.safetensors; then it takes the 3 training
steps with transformers' own pieces (Trainer.get_decay_parameter_names,
get_linear_schedule_with_warmup, torch AdamW, clip_grad_norm_) and compares
with trained.safetensors. Exit status 0 when every tensor agrees within
1e-5 (logits, loss and trained weights: of the tensor's largest magnitude;
gradients: of the model's largest gradient; key biases: see key_bias), 1
otherwise.

It proves that make_model_fixtures.py's plain PyTorch modules are the
Hugging Face architectures (names, shapes, masks, GELU variants, pooling).
"""
import os
import sys

try:
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup
except ImportError as e:  # the reference environment is missing
    print(f"check_fixtures_with_transformers: {e}: run bash env/reference.sh: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_fixtures as mk  # noqa: E402  (shares the constants)

TOL = 1e-5


def rel_err(a, b, scale=None):
    """max |a - b| over the scale: b's largest magnitude unless given."""
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    s = float(b.abs().max()) if scale is None else scale
    return float((a - b).abs().max() / max(s, 1e-30))


def key_bias(kind, name, p):
    """The elements of p that are a key bias: their gradient is exactly zero
    (a key bias adds q.b to every score of a query, a constant that softmax
    removes), so float sums leave only noise there, and AdamW, which
    divides m by sqrt(v), turns that noise into steps of up to lr."""
    mask = torch.zeros_like(p, dtype=torch.bool)
    if kind == "bert" and name.endswith("attention.self.key.bias"):
        mask[:] = True
    if kind == "gpt2" and name.endswith("attn.c_attn.bias"):
        h = p.shape[0] // 3                       # [query | key | value]
        mask[h:2 * h] = True
    return mask


def decay_names(model):
    try:
        from transformers import Trainer
        return set(Trainer.get_decay_parameter_names(None, model))
    except Exception:  # older transformers: the same rule by hand
        from transformers.pytorch_utils import ALL_LAYERNORM_LAYERS
        from transformers.trainer_pt_utils import get_parameter_names
        names = get_parameter_names(model, ALL_LAYERNORM_LAYERS)
        return {n for n in names if "bias" not in n}


def check(kind):
    folder = os.path.join(mk.OUT, kind)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager")
    model.eval()                                   # dropout off
    batch = load_file(os.path.join(folder, "batch.safetensors"))
    ref = load_file(os.path.join(folder, "reference.safetensors"))
    trained_ref = load_file(os.path.join(folder, "trained.safetensors"))
    ids, lengths, labels = (batch[k].long() for k in ("input_ids", "lengths", "labels"))
    rows = ref["grad_rows"].long()
    word = mk.word_name(kind)
    worst = []

    def run(m):
        i, n, y = mk.micro(ids, lengths, labels, m)
        mask = mk.padding_mask(i.shape, n).long()
        out = model(input_ids=i, attention_mask=mask, labels=y)
        return out.logits, out.loss

    logits, loss = run(0)
    worst.append(("logits", rel_err(logits, ref["logits"])))
    worst.append(("loss", rel_err(loss.reshape(1), ref["loss"])))
    # The loss HF computes must be the mean cross-entropy the fixture uses.
    worst.append(("loss vs F.cross_entropy",
                  rel_err(loss, F.cross_entropy(logits, mk.micro(ids, lengths, labels, 0)[2]))))
    loss.backward()
    # Gradients: float32 sums of the same terms in another order differ by a
    # few ulps of the largest partial sums, so each gradient is compared at
    # TOL of the largest gradient of the model (a gradient that is zero in
    # exact arithmetic, a key bias's, is then held to that too).
    g_max = max(float(ref[k].abs().max()) for k in ref if k.startswith("grad."))
    for n, p in model.named_parameters():
        g = p.grad[rows] if n == word else p.grad
        worst.append(("grad." + n, rel_err(g, ref["grad." + n], g_max)))
    model.zero_grad(set_to_none=True)

    decay = decay_names(model)
    for n, _ in model.named_parameters():
        assert (n in decay) == mk.decays(n), f"decay rule differs on {n}"
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay],
         "weight_decay": mk.WEIGHT_DECAY},
        {"params": [p for n, p in model.named_parameters() if n not in decay],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=mk.LR, betas=mk.BETAS, eps=mk.EPS)
    sched = get_linear_schedule_with_warmup(opt, mk.WARMUP, mk.TOTAL)
    for step in range(mk.STEPS):
        for a in range(mk.GRAD_ACCUM):
            (_, loss) = run(step * mk.GRAD_ACCUM + a)
            (loss / mk.GRAD_ACCUM).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), mk.MAX_GRAD_NORM)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
    # Trained weights: TOL of each tensor's largest magnitude, except the
    # key-bias elements (see key_bias), whose noise-driven AdamW steps may
    # differ by up to 2 lr a step: held to that, over the weight's scale.
    for n, p in model.named_parameters():
        got = (p[rows] if n == word else p).detach()
        want = trained_ref[n]
        kb = key_bias(kind, n, got)
        worst.append(("trained." + n, rel_err(got[~kb], want[~kb]) if (~kb).any() else 0.0))
        if kb.any():
            bound = 2 * mk.LR * mk.STEPS
            worst.append(("trained." + n + " (key bias, over 2 lr x steps)",
                          TOL * rel_err(got[kb], want[kb], bound)))

    bad = [(n, e) for n, e in worst if not e <= TOL]
    name, err = max(worst, key=lambda x: x[1])
    print(f"{kind}: {len(worst)} tensors compared, worst {name} rel err {err:.3g}"
          + (f"; {len(bad)} over {TOL}: {bad[:5]}" if bad else ""))
    return not bad


def main():
    torch.manual_seed(0)
    ok = all([check(k) for k in sys.argv[1:] or ["bert", "gpt2"]])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
