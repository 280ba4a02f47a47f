#!/usr/bin/env python3
"""Check tests/fixtures/model/ against transformers, from the committed files.

The CTest test reference_fixtures_transformers runs it with the python of
env/reference.sh's environment (transformers 5, PyTorch 2):

    ~/.cache/ftune-ref/bin/python tests/reference/check_fixtures_with_transformers.py [bert|gpt2 ...]

make_model_fixtures.py wrote the fixtures with BertForSequenceClassification
and GPT2ForSequenceClassification built from its own constants. This check
starts from the fixture folder alone, as a user would:
AutoModelForSequenceClassification.from_pretrained (config.json +
model.safetensors; dropout set to 0, eager attention as the generator uses),
and recomputes
  reference.safetensors       logits, loss (checked to be F.cross_entropy's
                              mean) and every gradient of the first batch;
  trained.safetensors         3 AdamW steps with transformers' pieces
                              (make_model_fixtures.train: Trainer's decay
                              names, get_linear_schedule_with_warmup,
                              torch AdamW, clip_grad_norm_), lr, grad_norm;
  frozen.safetensors          the same with all but the top frozen;
  reference_bf16.safetensors  the first batch with the blocks' linear layers
                              in bf16 (make_model_fixtures.bf16_blocks);
and, as a bound on the choice of attention, the first batch with "sdpa"
attention against reference.safetensors.

Tolerances. Another CPU, thread count or torch build sums the same float32
terms in another order (MKL's kernel choice depends on the CPU); that is the
only expected difference. u = 2^-24. A product or sum of K terms reordered
moves by up to about K u of the sum of magnitudes, and a few layers forward
and back compound a handful of those: measured, Debian's torch 1.13
against PyPI's torch 2.15 (MKL) on the same classes and inputs, logits 2-5
ulp, gradients up to 7.4 ulp of each tensor's largest magnitude (7e-7).
TOL = 1e-5 (168 ulp) covers that over tenfold; the smallest architectural slip
tried, "gelu" in place of GPT-2's "gelu_new" (they differ by under 1e-3 on
these activations), moves the logits by 1.3e-5, the gradients by 2.2e-5
and the trained weights by 3.9e-4: caught. Gradients are compared at TOL of the
model's largest gradient (a gradient that is zero in exact arithmetic, a
key bias's, holds only noise and is held to that too). Trained weights: TOL
of each tensor's largest magnitude: AdamW divides m by sqrt(v), so an
element whose gradient is small carries a large relative error into its
step, but a step is at most lr (sum of the rates 1.5e-3, against weights up
to 0.08), and the largest movement measured between the torch builds was
5.2e-6 of the tensor; key-bias elements, driven by noise alone, may differ
by up to 2 lr a step (key_bias). bf16: an operand within rounding noise of a
bf16 midpoint may round the other way, one bf16 step (2^-8 relative) in
one product term; TOL_BF16 = 1e-4 of the model's largest logit / gradient.
Exit status 0 when every tensor agrees, 1 otherwise, 77 (skipped) when
transformers cannot be imported.
"""
import os
import sys

try:
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification
except ImportError as e:  # the reference environment is missing
    print(f"check_fixtures_with_transformers: {e}: run bash env/reference.sh: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_fixtures as mk  # noqa: E402  (constants, train, bf16_blocks)

TOL, TOL_BF16 = 1e-5, 1e-4


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


def load(folder, kind, attn):
    """The fixture model as a user loads it; dropout 0."""
    zero = {k: 0.0 for k in mk.DROPOUT_KEYS[kind]}
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, dtype=torch.float32, attn_implementation=attn, **zero)
    assert model.config._attn_implementation == attn
    return model.train()


def compare_first_batch(worst, what, dump, ref, tol):
    """logits, loss and gradients of a first_batch_dump against ref."""
    s = max(float(v.abs().max()) for k, v in ref.items() if k.startswith("grad."))
    worst.append((what + " logits", rel_err(dump["logits"], ref["logits"]), tol))
    worst.append((what + " loss", rel_err(dump["loss"], ref["loss"]), tol))
    for k in ref:
        if k.startswith("grad."):
            worst.append((f"{what} {k}", rel_err(dump[k], ref[k], s), tol))


def compare_trained(worst, what, kind, model, ref, rows, lrs, norms):
    """Parameters after training (see key_bias), lr and grad_norm."""
    worst.append((what + " lr", rel_err(torch.tensor(lrs), ref["lr"]), TOL))
    worst.append((what + " grad_norm", rel_err(torch.tensor(norms), ref["grad_norm"]), TOL))
    for n, p in model.named_parameters():
        if n not in ref:
            continue
        got = (p[rows] if n == mk.word_name(kind) else p).detach()
        want = ref[n]
        kb = key_bias(kind, n, got)
        if (~kb).any():
            worst.append((f"{what} {n}", rel_err(got[~kb], want[~kb]), TOL))
        if kb.any():
            bound = 2 * mk.LR * mk.STEPS
            worst.append((f"{what} {n} (key bias, over 2 lr x steps)",
                          TOL * rel_err(got[kb], want[kb], bound), TOL))


def check(kind):
    folder = os.path.join(mk.OUT, kind)
    ref = {f: load_file(os.path.join(folder, f + ".safetensors"))
           for f in ("batch", "reference", "trained", "frozen", "reference_bf16")}
    ids, lengths, labels = (ref["batch"][k].long() for k in ("input_ids", "lengths", "labels"))
    data = (ids, lengths, labels)
    rows = ref["reference"]["grad_rows"].long()
    worst = []

    model = load(folder, kind, mk.ATTN)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    dump = mk.first_batch_dump(model, kind, *data, rows)
    compare_first_batch(worst, "reference", dump, ref["reference"], TOL)
    # The loss transformers computes must be the mean cross-entropy.
    y0 = mk.micro(*data, 0)[2]
    worst.append(("loss vs F.cross_entropy",
                  rel_err(dump["loss"], F.cross_entropy(dump["logits"], y0).reshape(1)), TOL))
    lrs, norms = mk.train(model, *data)
    compare_trained(worst, "trained", kind, model, ref["trained"], rows, lrs, norms)

    mk.reset(model, initial, lambda n: mk.trainable_in_frozen(kind, n))
    lrs, norms = mk.train(model, *data)
    compare_trained(worst, "frozen", kind, model, ref["frozen"], rows, lrs, norms)
    for n, p in model.named_parameters():
        if not mk.trainable_in_frozen(kind, n):
            worst.append((f"frozen {n} unchanged", rel_err(p, initial[n]), 0.0))

    mk.reset(model, initial)
    with mk.bf16_blocks(model, kind):
        dump16 = mk.first_batch_dump(model, kind, *data, rows)
    compare_first_batch(worst, "bf16", dump16, ref["reference_bf16"], TOL_BF16)
    # The bf16 fixture must differ from float32 by more than rounding (the
    # patch ran): bf16's 2^-8 steps move the logits by about 1e-3 of them.
    shift = rel_err(ref["reference_bf16"]["logits"], ref["reference"]["logits"])
    if not shift > 1e-4:
        worst.append(("bf16 logits within 1e-4 of float32", float("nan"), 0.0))

    sdpa = load(folder, kind, "sdpa")
    compare_first_batch(worst, "sdpa", mk.first_batch_dump(sdpa, kind, *data, rows),
                        ref["reference"], TOL)

    bad = [(n, e) for n, e, tol in worst if not e <= tol]
    name, err, _ = max(worst, key=lambda x: x[1] / max(x[2], 1e-30))
    print(f"{kind}: {len(worst)} tensors compared, worst (against its tolerance) {name} "
          f"{err:.3g}" + (f"; {len(bad)} over tolerance: {bad[:5]}" if bad else ""))
    return not bad


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    ok = all([check(k) for k in sys.argv[1:] or ["bert", "gpt2"]])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
