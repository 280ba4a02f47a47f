#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/TARGET/).

Seeds are small: a few valid files made from the fixtures' shapes, then
hand-written hostile cases (each named for what it tries). Files whose names
start with regress- are regression inputs of crashes found by fuzzing (kept
by hand, not written here); this script writes only its own names. Usage: python3 tests/fuzz/make_corpus.py
"""
import json
import os
import struct
import sys

# GPT-2's byte map, from the BPE fixture generator (stdlib only at import).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from make_bpe_fixtures import bytes_to_unicode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(header, data=b"", raw_len=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if raw_len is None else raw_len
    return struct.pack("<Q", n) + text + data


def st_corpus():
    fixtures = os.path.join(ROOT, "tests/fixtures/safetensors")
    for name in sorted(os.listdir(fixtures)):
        path = os.path.join(fixtures, name)
        if name.endswith(".safetensors") and os.path.getsize(path) <= 4096:
            with open(path, "rb") as f:
                put("st", name, f.read())
    put("st", "hostile_empty_header.st", safetensors({}))
    put("st", "hostile_shape_overflow.st", safetensors(
        {"a": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 0]}}))
    put("st", "hostile_nine_dims.st", safetensors(
        {"a": {"dtype": "U8", "shape": [1] * 9, "data_offsets": [0, 1]}}, b"\0"))
    put("st", "hostile_offsets_2p53.st", safetensors(
        {"a": {"dtype": "U8", "shape": [1], "data_offsets": [9007199254740992, 9007199254740993]}}))
    put("st", "hostile_len_past_end.st", safetensors(b"{}", raw_len=1 << 40))
    put("st", "hostile_scalar_f16.st", safetensors(
        {"__metadata__": {"format": "pt"}, "s": {"dtype": "F16", "shape": [], "data_offsets": [0, 2]}},
        b"\x00\x7c"))
    put("st", "hostile_zero_size_same_offset.st", safetensors(
        {"a": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]},
         "b": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [0, 0]}}))


def hf_corpus():
    for arch in ("bert", "gpt2"):
        with open(os.path.join(ROOT, "tests/fixtures/model", arch, "config.json"), "rb") as f:
            put("hf_config", arch + "_config.json", f.read())
    put("hf_config", "hostile_labels_mismatch.json",
        json.dumps({"model_type": "bert", "num_labels": 3, "id2label": {"0": "a", "5": "b"}}))
    put("hf_config", "hostile_duplicate_key.json", '{"model_type":"bert","hidden_size":8,"hidden_size":16}')
    put("hf_config", "hostile_huge_sizes.json",
        json.dumps({"model_type": "gpt2", "n_embd": 2**31, "n_layer": 1e300, "n_head": -1}))
    put("hf_config", "hostile_label2id_only.json",
        json.dumps({"model_type": "bert", "label2id": {"x": 0, "y": 0}, "problem_type": "regression"}))
    put("hf_config", "hostile_deep.json", "[" * 2000 + "]" * 2000)
    put("hf_config", "hostile_trailing_nul.json", b'{"model_type":"bert"}\0\0garbage')




def bpe_vocab():
    byte_tokens = bytes_to_unicode()
    vocab = {byte_tokens[b]: i for i, b in enumerate(sorted(byte_tokens))}
    merges = [("\u0120", "t"), ("h", "e"), ("\u0120t", "he"), ("a", "b")]
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


WORDPIECE_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox",
                    "hello", ",", "!", "'", "s", "a", "b", "ab", "##b", "##s", "##ing", "caf", "##e",
                    "\u00e9", "\u4e2d", "1", "##2", "##3", ".", "world"]


def tok_corpus():
    vocab, merges = bpe_vocab()
    put("tok_bpe", "valid_mini", json.dumps(vocab) + "\0#version: 0.2\n" +
        "".join(f"{a} {b}\n" for a, b in merges))
    put("tok_bpe", "hostile_merge_unknown", json.dumps(vocab) + "\0#version: 0.2\nzz q\n")
    put("tok_bpe", "hostile_no_nul", json.dumps(vocab))
    put("tok_bpe", "hostile_id_gap", json.dumps(dict(vocab, gap=100000)) + "\0a b\n")
    put("tok_bpe", "hostile_merges_crlf", json.dumps(vocab) + "\0\u0120 t\r\nh e extra\r\n")
    put("tok_bpe", "hostile_negative_id", '{"a": -1}\0a b\n')
    put("tok_vocab_txt", "valid_mini.txt", "\n".join(WORDPIECE_TOKENS) + "\n")
    put("tok_vocab_txt", "hostile_duplicates.txt", "[PAD]\n[UNK]\n[UNK]\na\na\n")
    put("tok_vocab_txt", "hostile_crlf_blank.txt", "[PAD]\r\n\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n##\r\n")
    put("tok_vocab_txt", "hostile_bad_utf8.txt", b"[PAD]\n[UNK]\n\xff\xfe\n\xc3\n")
    put("tok_vocab_txt", "hostile_no_unk.txt", "[CLS]\n[SEP]\nthe\n")
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, t in enumerate(WORDPIECE_TOKENS[:5])]
    wordpiece = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
                 "normalizer": {"type": "BertNormalizer", "clean_text": True,
                                "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
                 "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": None,
                 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
                 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                           "max_input_chars_per_word": 100,
                           "vocab": {t: i for i, t in enumerate(WORDPIECE_TOKENS)}}}
    put("tok_json", "valid_wordpiece.json", json.dumps(wordpiece))
    bpe = {"version": "1.0", "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>",
                                               "special": True}],
           "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
           "decoder": {"type": "ByteLevel"},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab,
                     "merges": [f"{a} {b}" for a, b in merges]}}
    put("tok_json", "valid_bpe.json", json.dumps(bpe))
    bpe_pairs = json.loads(json.dumps(bpe))
    bpe_pairs["model"]["merges"] = [[a, b] for a, b in merges]
    del bpe_pairs["model"]["type"]
    put("tok_json", "valid_bpe_untagged_pairs.json", json.dumps(bpe_pairs))
    bad = json.loads(json.dumps(wordpiece))
    bad["added_tokens"].append({"id": 999, "content": "[X]", "special": True})
    bad["model"]["max_input_chars_per_word"] = -5
    put("tok_json", "hostile_added_out_of_range.json", json.dumps(bad))
    bad = json.loads(json.dumps(wordpiece))
    bad["model"]["vocab"] = {"[UNK]": 3, "a": 2147483647}
    put("tok_json", "hostile_sparse_ids.json", json.dumps(bad))
    put("tok_json", "hostile_type_number.json", '{"model": {"type": 7, "vocab": []}}')


def dataset_corpus():
    put("dataset", "valid.jsonl", '{"text": "good film", "label": "pos"}\n'
        '{"text": "bad \\u00e9 film", "label": 0}\n\n{"text": "", "label": "neg"}\n'
        '{"text": "x", "label": null}\nnot json\n{"sentence": "other", "label": true}\n')
    put("dataset", "valid.json", '[{"review": "fine", "category": "a"},\n {"review": "[nested]}", '
        '"category": 2.5},\n 17, {"review": "\\"q\\"", "category": "b"}]\n')
    put("dataset", "valid.csv", 'text,label\n"a, quoted ""field""",pos\nplain,neg\n'
        '"multi\nline",pos\nbad"quote,neg\n,empty\r\n\xef\xbb\xbftoo,many,fields\n')
    put("dataset", "valid.tsv", "sentence\tlabel\nhello world\t1\n\"no quoting\"\t0\n\t\nlast\t1")
    put("dataset", "valid_noheader.csv", "spam,buy now\nham,see you\nspam,win\n")
    put("dataset", "hostile_bom_crlf.jsonl", '\ufeff{"text":"a","label":"b"}\r\n\r\n{"text":"c","label":"d"}')
    put("dataset", "hostile_unterminated.json", '[{"text": "a", "label": "b"}, {"text": "')
    put("dataset", "hostile_odd_quotes.csv", 'text,label\n"open,1\nx,2\n"""\n')
    put("dataset", "hostile_bad_utf8.jsonl", b'{"text": "\xff\xfe", "label": "a"}\n{"text": "\\ud800", "label": "a"}\n')
    put("dataset", "hostile_only_blank", " \n\t\n\r\n")
    put("dataset", "hostile_array_trailing.json", '[] x')


MANIFEST = {
    "format": "ftune-shards", "version": 1,
    "tokenizer": {"kind": "wordpiece", "fingerprint": "6cd7275deb593d4c", "path": "model",
                  "vocab_size": 64, "pad_id": 0},
    "max_length": 16, "labels": ["negative", "positive"],
    "sources": [{"role": "input", "path": "synthetic", "format": "jsonl", "text_field": "text",
                 "label_field": "label", "bytes": 0, "files": 0, "records": 320, "crc32": "00000000"}],
    "seed": 7,
    "split": {"fractions": [0.8, 0.19999999999999996, 0], "stratify": False, "balance": "none",
              "balanced_out": 0},
    "splits": {
        "train": {"rows": 256, "truncated": 0, "class_rows": [136, 120], "files": [
            {"name": "train-00000-of-00002.h5", "rows": 128, "bytes": 10240, "crc32": "08705c86"},
            {"name": "train-00001-of-00002.h5", "rows": 128, "bytes": 10240, "crc32": "32d1a644"}]},
        "validation": {"rows": 64, "truncated": 0, "class_rows": [33, 31], "files": [
            {"name": "validation-00000-of-00001.h5", "rows": 64, "bytes": 7168, "crc32": "f0fadf23"}]},
        "test": {"rows": 0, "truncated": 0, "class_rows": [0, 0], "files": []}},
    "skipped": {"malformed_json": 3}}


def manifest_corpus():
    put("manifest", "valid.json", json.dumps(MANIFEST, indent=1))
    m = json.loads(json.dumps(MANIFEST))
    m["labels"] = ["a", "a"]
    put("manifest", "hostile_duplicate_labels.json", json.dumps(m))
    m = json.loads(json.dumps(MANIFEST))
    m["splits"]["train"]["class_rows"] = [1]
    m["splits"]["train"]["files"][0]["name"] = "train-00000-of-00002.h5/../../x"
    put("manifest", "hostile_class_rows_short.json", json.dumps(m))
    m = json.loads(json.dumps(MANIFEST))
    m["tokenizer"]["fingerprint"] = "6cd7275deb593d4cXX"
    m["max_length"] = 1e20
    put("manifest", "hostile_numbers.json", json.dumps(m))
    m = json.loads(json.dumps(MANIFEST))
    m["sources"] = m["sources"] * 3
    put("manifest", "hostile_three_sources.json", json.dumps(m))


def h5_edit(index, dataset, kind, *rest):
    return bytes([(index << 1) | int(dataset), kind]) + bytes(rest)


def h5_corpus():
    put("shard", "valid_unchanged", b"")
    put("shard", "delete_rows", h5_edit(2, False, 0))
    put("shard", "rows_as_double", h5_edit(2, False, 9) + struct.pack("<d", 5.0))
    put("shard", "lengths_as_i64", h5_edit(0, True, 6 + 11, 5) + struct.pack("<5q", 1, 2, 3, 4, 5))
    put("shard", "input_ids_rank3", h5_edit(3, True, 3 + 33, 5, 4, 1))
    put("shard", "format_vlen", h5_edit(0, False, 10 + 44, 12) + b"ftune-shards")
    put("ckpt", "valid_unchanged", b"")
    put("ckpt", "delete_format", h5_edit(0, False, 0))
    put("ckpt", "version_as_string", h5_edit(1, False, 10, 1) + b"1")
    put("ckpt", "step_as_double", h5_edit(2, False, 9) + struct.pack("<d", 3.5))
    put("ckpt", "tensor_wrong_shape", h5_edit(0, True, 8 + 11, 3) + struct.pack("<3f", 1, 2, 3))
    put("ckpt", "config_vlen", h5_edit(14, False, 10 + 44, 2) + b"{}")


def cfg_corpus():
    put("cfg", "valid_json.json", json.dumps({"learning_rate": 2e-5, "num_train_epochs": 3,
                                              "bf16": False, "lr_scheduler_type": "cosine"}))
    put("cfg", "valid_args", "--learning_rate\n3e-5\n--lr_scheduler_type=linear\n--seed=7")
    put("cfg", "hostile_unknown_key", '{"learnin_rate": 1}')
    put("cfg", "hostile_big_int", '{"seed": 9007199254740993}')
    put("cfg", "hostile_args", "--\n--seed\n--=1\n--seed=1e400\n--bf16")
    put("cfg", "hostile_long_key", "--" + "k" * 600 + "=1")


def main():
    st_corpus()
    hf_corpus()
    tok_corpus()
    dataset_corpus()
    manifest_corpus()
    h5_corpus()
    cfg_corpus()


if __name__ == "__main__":
    main()
