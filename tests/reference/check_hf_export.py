#!/usr/bin/env python3
"""Check folders written by ftune's hf_model_export against transformers.

    FTUNE_HF_EXPORT_TO=/tmp/hfx build/tests/test_hf_model
    ~/.cache/ftune-ref/bin/python tests/reference/check_hf_export.py /tmp/hfx

For bert and gpt2 under the folder: reads config.json (architectures,
id2label / label2id, torch_dtype) and model.safetensors by hand (u64 header
length, JSON header, raw data: the bytes ftune wrote, not what a library
makes of them), builds transformers' class from the exported config.json
(AutoConfig, AutoModelForSequenceClassification.from_config, eager attention
as make_model_fixtures.py), loads the tensors with
load_state_dict(strict=True), runs the first fixture batch and compares the
logits with tests/fixtures/model/KIND/reference.safetensors (1e-5 relative:
the fixture is the same class on the same weights, so only float32
summation order can differ), and checks every tensor equals the fixture's
model.safetensors bit for bit (the test exports the fixture model
unchanged). Exit 0 when all agree, 1 otherwise. CTest runs it as
test_hf_export_torch (tests/cmake/reference.cmake) with the reference
environment's python, skipped (77) where that or transformers is missing.
"""
import json
import os
import struct
import sys

try:
    import numpy as np
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification
except ImportError as e:  # the reference environment is missing
    print(f"check_hf_export: {e}: run bash env/reference.sh: skipped")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_model_fixtures as mk  # noqa: E402  (constants, padding_mask, ATTN)

FIXTURES = os.path.join(HERE, "..", "fixtures", "model")
TOL = 1e-5
DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        a = np.frombuffer(data[b:end], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = (e["dtype"], torch.from_numpy(a.reshape(e["shape"]).copy()))
    return out, meta


def check(kind, folder):
    ok = True
    cfg = json.load(open(os.path.join(folder, "config.json")))
    arch = {"bert": "BertForSequenceClassification", "gpt2": "GPT2ForSequenceClassification"}[kind]
    labels = {int(k): v for k, v in cfg["id2label"].items()}
    if cfg["architectures"] != [arch] or cfg["model_type"] != kind:
        print(f"{kind}: architectures/model_type {cfg['architectures']} {cfg['model_type']}")
        ok = False
    if cfg.get("torch_dtype") != "float32" or sorted(labels) != list(range(mk.LABELS)) or \
            {v: k for k, v in labels.items()} != cfg["label2id"]:
        print(f"{kind}: torch_dtype / id2label / label2id wrong")
        ok = False
    tensors, meta = read_safetensors(os.path.join(folder, "model.safetensors"))
    if meta != {"format": "pt"} or any(d != "F32" for d, _ in tensors.values()):
        print(f"{kind}: metadata {meta} or a non-F32 tensor")
        ok = False
    config = AutoConfig.from_pretrained(folder, attn_implementation=mk.ATTN)
    model = AutoModelForSequenceClassification.from_config(config)
    model.load_state_dict({k: t for k, (_, t) in tensors.items()}, strict=True)
    model.eval()                                   # dropout off
    if type(model).__name__ != arch:
        print(f"{kind}: transformers built {type(model).__name__}, not {arch}")
        ok = False
    fixture, _ = read_safetensors(os.path.join(FIXTURES, kind, "model.safetensors"))
    for name, (_, t) in fixture.items():
        if not torch.equal(tensors[name][1], t):
            print(f"{kind}: {name} differs from the fixture")
            ok = False
    batch, _ = read_safetensors(os.path.join(FIXTURES, kind, "batch.safetensors"))
    ref, _ = read_safetensors(os.path.join(FIXTURES, kind, "reference.safetensors"))
    ids = batch["input_ids"][1][:mk.B].long()
    lengths = batch["lengths"][1][:mk.B].long()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mk.padding_mask(ids.shape, lengths)).logits
    want = ref["logits"][1]
    err = float((logits.double() - want.double()).abs().max() / want.double().abs().max())
    print(f"{kind}: {len(tensors)} tensors loaded strictly, logits rel err {err:.3g}")
    return ok and err <= TOL


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    results = [check(kind, os.path.join(sys.argv[1], kind)) for kind in ("bert", "gpt2")]
    return 0 if all(results) else 1


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
