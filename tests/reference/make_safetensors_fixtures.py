#!/usr/bin/python3
"""Reference files for the st_ module (tests/unit/test_st.c).

Writes tests/fixtures/safetensors/:

  good.safetensors      F32, F16, BF16, F64 and integer tensors (I64 I32 I16
                        I8 U8 BOOL) with "__metadata__" {"format": "pt"}. The
                        header lists the tensors in another order than their
                        data, and a 3-byte U8 tensor comes first in the data
                        so every tensor after it sits at an odd address.
  good_expected/NAME.f32  for each float tensor: torch's own conversion of it
                        to float32 (tensor.float()), raw little-endian; the
                        F16 tensor holds zeros, subnormals, the largest
                        normal, infinities, NaN and a value of every exponent.
  good_expected/NAME.bin  for each integer tensor: its raw bytes.
  narrow.f32            float32 inputs (ties, overflow edges, subnormal
                        edges, NaN, infinities, random values) and
  narrow_f16.u16, narrow_bf16.u16  torch's .half() / .bfloat16() of them
                        (round to nearest even), raw little-endian bits.
  reference_order.safetensors  F16, BF16 and F32 tensors laid out the way the
                        Rust safetensors crate's serialize() lays them out
                        (sorted by dtype, widest first, then by name; compact
                        JSON, "__metadata__" first, spaces to 8 bytes), with
                        reference_order.f32: the fp32 inputs in the order
                        test_st.c lists them. st_write must reproduce the file
                        byte for byte.
  bad_*.safetensors     one crafted hostile file per check of st_open (the
                        phrase each error must contain is in test_st.c).

The python `safetensors` package is not installed here, so files are written
by the small writer below from the format's specification; F16/BF16 values
come from torch's conversions. Run: /usr/bin/python3 make_safetensors_fixtures.py
The fixtures are committed; CI only reads them.
"""
import json
import os
import shutil
import struct

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "safetensors")

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
          torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
# The Rust crate's Dtype enum order (its writer sorts by it, largest first).
RUST_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
              "I32", "U32", "F32", "F64", "I64", "U64"]


def raw_bytes(t):
    """Little-endian bytes of a tensor (16-bit floats through their bits)."""
    t = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.numpy().astype(np.uint8).tobytes()
    a = t.numpy()
    return a.astype(a.dtype.newbyteorder("<")).tobytes()


def header_bytes(text):
    data = text.encode()
    data += b" " * (-len(data) % 8)
    return struct.pack("<Q", len(data)) + data


def write_layout(path, data_order, header_order, metadata=None):
    """data_order: [(name, tensor)] in data order; the header lists the
    entries in header_order (names), compact JSON."""
    entries, blobs, offset = {}, [], 0
    for name, t in data_order:
        raw = raw_bytes(t)
        entries[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                         "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in header_order:
        header[name] = entries[name]
    with open(path, "wb") as f:
        f.write(header_bytes(json.dumps(header, separators=(",", ":"))))
        f.write(b"".join(blobs))


def write_reference_order(path, tensors, metadata):
    """The Rust crate's serialize(): sort by dtype (widest first) then name."""
    order = sorted(tensors.items(),
                   key=lambda kv: (-RUST_ORDER.index(DTYPES[kv[1].dtype]), kv[0].encode()))
    write_layout(path, order, [n for n, _ in order], metadata)


def f16_specials():
    bits = [0x0000, 0x8000, 0x0001, 0x8001, 0x0002, 0x01FF, 0x0200, 0x03FF, 0x83FF,
            0x0400, 0x8400, 0x3C00, 0xBC00, 0x3C01, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
            0x7E00, 0x7C01, 0xFE00, 0x3555, 0x4248]
    bits += [(e << 10) | ((e * 37) & 0x3FF) for e in range(1, 31)]  # every exponent
    rng = np.random.default_rng(1)
    bits += [int(b) for b in rng.integers(0, 0x10000, 64)]
    b = torch.tensor(np.array(bits, dtype=np.uint16).astype(np.int16))
    return b.view(torch.float16)


def bf16_values():
    bits = [0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x3F80, 0xBF80, 0x7F7F, 0xFF7F,
            0x7F80, 0xFF80, 0x7FC0, 0x4049]
    g = torch.Generator().manual_seed(2)
    vals = torch.cat([torch.tensor(np.array(bits, dtype=np.uint16).astype(np.int16))
                      .view(torch.bfloat16),
                      (torch.randn(87, generator=g) * 3).to(torch.bfloat16)])
    return vals.reshape(2, 50)


def good_file():
    g = torch.Generator().manual_seed(0)
    f32 = torch.randn(3, 4, generator=g)
    f32[0, 0], f32[0, 1], f32[0, 2], f32[0, 3] = -0.0, float("inf"), float("nan"), 1e-40
    tensors = [
        ("u8.odd", torch.tensor([1, 2, 250], dtype=torch.uint8)),  # misaligns the rest
        ("f32.mat", f32),
        ("f16.special", f16_specials()),
        ("bf16.vals", bf16_values()),
        ("f64.vals", torch.tensor([0.1, -2.5, 1e300, 1e-300, 3.0], dtype=torch.float64)),
        ("f32.scalar", torch.tensor(7.25)),
        ("f32.empty", torch.zeros(0, 5)),
        ("bert.embeddings.position_ids", torch.arange(8, dtype=torch.int64).reshape(1, 8)),
        ("i32.ids", torch.tensor([101, -7, 2 ** 31 - 1], dtype=torch.int32)),
        ("i16.v", torch.tensor([-300, 300], dtype=torch.int16)),
        ("i8.v", torch.tensor([-128, 127, 0], dtype=torch.int8)),
        ("bool.mask", torch.tensor([True, False, True])),
    ]
    header_order = sorted(n for n, _ in tensors)[::-1]  # not the data order
    write_layout(os.path.join(OUT, "good.safetensors"), tensors, header_order,
                 {"format": "pt", "note": "ftune test"})
    exp = os.path.join(OUT, "good_expected")
    os.makedirs(exp)
    for name, t in tensors:
        if t.is_floating_point():
            with open(os.path.join(exp, name + ".f32"), "wb") as f:
                f.write(raw_bytes(t.float()))
        else:
            with open(os.path.join(exp, name + ".bin"), "wb") as f:
                f.write(raw_bytes(t))


def narrow_file():
    f16_max, f16_tiny = 65504.0, 2.0 ** -24
    v = [0.0, -0.0, 1.0, -1.0, f16_max, 65519.99, 65520.0, -65520.0, 70000.0, 1e30,
         f16_tiny, f16_tiny / 2, f16_tiny * 0.5000001, f16_tiny * 1.5, f16_tiny * 2.5,
         2.0 ** -14, 2.0 ** -14 - f16_tiny / 2, 2.0 ** -15, 1e-10, -1e-10,
         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20,  # F16 ties
         1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 1.0 + 2.0 ** -8 + 2.0 ** -20,     # BF16 ties
         3.3895313892515355e38, 3.4028234663852886e38, 1e-40, -1e-45, 1.1754942e-38,
         float("inf"), float("-inf"), float("nan")]
    g = torch.Generator().manual_seed(3)
    x = torch.cat([torch.tensor(v, dtype=torch.float32),
                   torch.randn(200, generator=g) * 100,
                   torch.randn(60, generator=g) * 1e-5])
    with open(os.path.join(OUT, "narrow.f32"), "wb") as f:
        f.write(raw_bytes(x))
    with open(os.path.join(OUT, "narrow_f16.u16"), "wb") as f:
        f.write(raw_bytes(x.half()))
    with open(os.path.join(OUT, "narrow_bf16.u16"), "wb") as f:
        f.write(raw_bytes(x.bfloat16()))


def reference_order_file():
    # Inputs, in the order test_st.c lists them: (name, shape, stored dtype).
    specs = [("z.f32", (2, 3), torch.float32), ("a.bf16", (4,), torch.bfloat16),
             ("m.f16", (2, 2), torch.float16), ("b.f32", (3,), torch.float32),
             ("c.bf16", (1, 1, 2), torch.bfloat16), ("A.f32", (), torch.float32)]
    g = torch.Generator().manual_seed(4)
    inputs, tensors = [], {}
    for name, shape, dtype in specs:
        x = torch.randn(shape, generator=g)
        inputs.append(x.reshape(-1))
        tensors[name] = x.to(dtype)
    write_reference_order(os.path.join(OUT, "reference_order.safetensors"), tensors,
                          {"format": "pt"})
    with open(os.path.join(OUT, "reference_order.f32"), "wb") as f:
        f.write(raw_bytes(torch.cat(inputs)))


def bad(name, header_text, data=b"", raw_len=None, pad=True):
    """A crafted file: header text (not checked), optional explicit length."""
    text = header_text.encode() if isinstance(header_text, str) else header_text
    if pad:
        text += b" " * (-len(text) % 8)
    n = len(text) if raw_len is None else raw_len
    with open(os.path.join(OUT, "bad_" + name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", n) + text + data)


def bad_files():
    t16 = b"\0" * 16
    ok = '"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}'
    with open(os.path.join(OUT, "bad_too_short.safetensors"), "wb") as f:
        f.write(b"\x10\0\0\0\0")
    bad("len_zero", "{" + ok + "}", t16, raw_len=0)
    bad("len_past_file", "{" + ok + "}", t16, raw_len=4096)
    bad("len_absurd", "{" + ok + "}", t16, raw_len=2 ** 63 + 5)
    bad("not_json", '{"a":{"dtype":"F32",', t16)
    bad("not_object", "[1,2,3]", t16)
    bad("trailing", "{" + ok + "} x", t16)
    bad("nul", b'{"a\0b":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', t16)
    bad("utf8", b'{"a\xff":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}', t16)
    bad("entry_not_object", '{"a":[1,2]}', t16)
    bad("dtype_missing", '{"a":{"shape":[2,2],"data_offsets":[0,16]}}', t16)
    bad("dtype_unknown", '{"a":{"dtype":"Q4","shape":[2,2],"data_offsets":[0,16]}}', t16)
    bad("shape_negative", '{"a":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}}', t16)
    bad("shape_float", '{"a":{"dtype":"F32","shape":[2,2.5],"data_offsets":[0,16]}}', t16)
    bad("shape_string", '{"a":{"dtype":"F32","shape":"2x2","data_offsets":[0,16]}}', t16)
    bad("shape_ndim", '{"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],'
                      '"data_offsets":[0,1]}}', t16)
    bad("shape_overflow", '{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],'
                          '"data_offsets":[0,16]}}', t16)
    bad("bytes_overflow", '{"a":{"dtype":"F64","shape":[9007199254740992,512],'
                          '"data_offsets":[0,16]}}', t16)
    bad("offsets_three", '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8,16]}}', t16)
    bad("offsets_string", '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":["0","16"]}}', t16)
    bad("offsets_huge", '{"a":{"dtype":"F32","shape":[2,2],'
                        '"data_offsets":[1e20,100000000000000000016]}}', t16)
    bad("begin_after_end", '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[16,0]}}', t16)
    bad("size_mismatch", '{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', t16)
    bad("past_end", '{"a":{"dtype":"F32","shape":[100],"data_offsets":[0,400]}}', t16)
    bad("overlap", '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                   '"b":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}}', t16)
    bad("overlap_inside", '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                          '"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', t16)
    bad("duplicate", '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                     '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', t16)
    bad("metadata_string", '{"__metadata__":"pt",' + ok + '}', t16)
    bad("metadata_number", '{"__metadata__":{"format":1},' + ok + '}', t16)
    bad("metadata_twice", '{"__metadata__":{},"__metadata__":{},' + ok + '}', t16)
    good = open(os.path.join(OUT, "good.safetensors"), "rb").read()
    with open(os.path.join(OUT, "bad_truncated_data.safetensors"), "wb") as f:
        f.write(good[:-5])
    n = struct.unpack("<Q", good[:8])[0]
    with open(os.path.join(OUT, "bad_truncated_header.safetensors"), "wb") as f:
        f.write(good[:8 + n // 2])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    good_file()
    narrow_file()
    reference_order_file()
    bad_files()
    print("wrote", OUT, "with torch", torch.__version__)


if __name__ == "__main__":
    main()
