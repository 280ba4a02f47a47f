#!/usr/bin/env bash
# austen.sh: Jane Austen's six novels as JSONL paragraphs labelled by book, a
# 6-class set for ftune-shard, from Debian's r-cran-janeaustenr (the CRAN
# package janeaustenr 1.0.0: MIT; the texts, from Project Gutenberg, are in
# the public domain). The package keeps each novel as an R character vector,
# one element per printed line, in R's lazy-load database data/Rdata.rdb +
# .rdx; they are read here by a small reader of R's serialization in plain
# python3 (no R, no PyPI package: zlib/bzip2/xz, XDR strings and lists).
# What is kept: a paragraph is a run of non-blank lines, joined with single
# spaces (white-space runs collapsed; Gutenberg's _italics_ and -- kept);
# paragraphs of fewer than MIN_WORDS words (default 10) are dropped: chapter
# and volume headings, titles, "THE END", and one-line replies ("Yes.");
# so is the editor's "A NOTE ON THE TEXT" after Northanger Abbey.
# janeaustenr 1.0.0 gives 9,111 paragraphs: sensesensibility 1,619,
# prideprejudice 1,859, mansfieldpark 1,677, emma 2,135, northangerabbey 870,
# persuasion 951 (the script prints the counts; rerunning gives the same bytes).
# Lines, books in publication order: {"text": ..., "label": "emma" (the R
# object's name), "book": "Emma", "paragraph": N (1-based, per book),
# "line": N (the paragraph's first line in the R vector, 1-based)}. Then:
#   ftune-shard --input austen.jsonl --text-field text --label-field label \
#       --tokenizer DIR --output OUT --stratify
# Usage: austen.sh [-h] [OUTPUT] [PACKAGE_DEB_OR_DIR]   (default OUTPUT
#        austen.jsonl; PACKAGE: the .deb, an unpacked .deb, the installed
#        R package folder or its data/ folder; default: `apt-get download
#        r-cran-janeaustenr` into a temporary folder). MIN_WORDS=10.
set -euo pipefail
if [ "${1:-}" = -h ]; then sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0; fi
out="${1:-austen.jsonl}"
pkg="${2:-}"
min_words="${MIN_WORDS:-10}"
err() { echo "austen.sh: $1" >&2; exit "${2:-1}"; }  # err MESSAGE [STATUS]
[[ "$min_words" =~ ^[0-9]+$ ]] || err "MIN_WORDS must be a whole number, got '$min_words'" 2
command -v python3 >/dev/null || err "no python3 (the reader needs only its standard library)" 2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp" "$out.tmp.$$"' EXIT
if [ -z "$pkg" ]; then
    command -v apt-get >/dev/null || err "no PACKAGE given and no apt-get: give r-cran-janeaustenr's .deb (or its unpacked folder)" 2
    (cd "$tmp" && apt-get download r-cran-janeaustenr >"$tmp/apt.log" 2>&1) || {
        tail -3 "$tmp/apt.log" >&2
        err "apt-get download r-cran-janeaustenr failed: Debian's archive is needed (run apt-get update first), or give the .deb as PACKAGE"
    }
    pkg="$(echo "$tmp"/r-cran-janeaustenr_*.deb)"
fi
if [ -f "$pkg" ]; then
    command -v dpkg-deb >/dev/null || err "$pkg: no dpkg-deb to unpack it; unpack it elsewhere and give the folder" 2
    if ! version="$(dpkg-deb -f "$pkg" Package Version 2>/dev/null | tr '\n' ' ')" ||
        ! dpkg-deb -x "$pkg" "$tmp/deb" 2>/dev/null; then
        err "$pkg: not a .deb that dpkg-deb can unpack" 2
    fi
    echo "austen.sh: $version" >&2
    pkg="$tmp/deb"
fi
rdx=""
for d in "$pkg" "$pkg/data" "$pkg/usr/lib/R/site-library/janeaustenr/data"; do
    if [ -f "$d/Rdata.rdx" ] && [ -f "$d/Rdata.rdb" ]; then rdx="$d/Rdata.rdx"; break; fi
done
[ -n "$rdx" ] || err "$pkg: no data/Rdata.rdx + Rdata.rdb (not r-cran-janeaustenr, its unpacked .deb or its R package folder)" 2
mkdir -p "$(dirname "$out")"
python3 - "$rdx" "$out.tmp.$$" "$min_words" <<'PY'
import bz2, gzip, json, lzma, struct, sys, zlib

BOOKS = [("sensesensibility", "Sense & Sensibility"), ("prideprejudice", "Pride & Prejudice"),
         ("mansfieldpark", "Mansfield Park"), ("emma", "Emma"),
         ("northangerabbey", "Northanger Abbey"), ("persuasion", "Persuasion")]
END_OF_TEXT = {"northangerabbey": "A NOTE ON THE TEXT"}  # an editor's note follows


class RUnserialize:
    """R's XDR serialization (format 'X', versions 2 and 3), the part data
    sets use: NULL, character, logical, integer and double vectors, lists,
    pairlists, symbols and references to them, attributes (names kept)."""

    def __init__(self, data, where):
        if data[:2] != b"X\n":
            raise ValueError(f"{where}: not R's XDR serialization (starts {data[:2]!r})")
        self.d, self.i, self.where, self.refs = data, 2, where, []
        version, _, _ = self.ints(3)
        if version == 3:
            (n,) = self.ints(1)
            self.i += n  # skips the writer's native encoding name
        elif version != 2:
            raise ValueError(f"{where}: serialization version {version}, expected 2 or 3")

    def ints(self, n):
        if self.i + 4 * n > len(self.d):
            raise ValueError(f"{self.where}: truncated at byte {self.i}")
        vals = struct.unpack_from(f">{n}i", self.d, self.i)
        self.i += 4 * n
        return vals

    def item(self):
        (flags,) = self.ints(1)
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == 254:                       # NILVALUE_SXP
            return None
        if kind == 255:                       # REFSXP: index in the flags or next
            return self.refs[(flags >> 8 or self.ints(1)[0]) - 1]
        if kind == 1:                         # SYMSXP: its name, remembered
            self.refs.append(("symbol", self.item()))
            return self.refs[-1]
        if kind == 9:                         # CHARSXP: -1 is NA
            (n,) = self.ints(1)
            if n < 0:
                return None
            raw, self.i = self.d[self.i:self.i + n], self.i + n
            return raw.decode("latin-1" if flags & (1 << 14) else "utf-8")
        if kind == 2:                         # LISTSXP: attributes, tag, car, cdr
            if has_attr:
                self.item()
            tag = self.item() if has_tag else None
            head = (tag[1] if tag else None, self.item())
            return [head] + (self.item() or [])
        (n,) = self.ints(1)
        if kind in (16, 19):                  # STRSXP, VECSXP
            val = [self.item() for _ in range(n)]
        elif kind in (10, 13):                # LGLSXP, INTSXP
            val = list(self.ints(n))
        elif kind == 14:                      # REALSXP
            val, self.i = list(struct.unpack_from(f">{n}d", self.d, self.i)), self.i + 8 * n
        else:
            raise ValueError(f"{self.where}: R type {kind} at byte {self.i - 8} is not read here")
        if has_attr:
            names = dict(self.item()).get("names")
            if names is not None:
                val = dict(zip(names, val))
        return val


def lazy_load(rdx):
    """{name: value} of an R lazy-load database: NAME.rdx (a gzip'd
    serialized index: name -> (offset, length) in NAME.rdb) and NAME.rdb
    (each value: 4-byte big-endian size, then zlib data, or a type byte
    Z/2/X/0 and zlib/bzip2/xz/stored data)."""
    with open(rdx, "rb") as f:
        raw = f.read()
    index = RUnserialize(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw, rdx).item()
    rdb = rdx[:-1] + "b"
    with open(rdb, "rb") as f:
        db = f.read()
    out = {}
    for name, (offset, length) in index["variables"].items():
        blob = db[offset:offset + length]
        codec = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress,
                 b"0": bytes}.get(blob[4:5])
        try:
            (size,) = struct.unpack_from(">I", blob)
            data = codec(blob[5:]) if codec else zlib.decompress(blob[4:])
        except (struct.error, zlib.error, lzma.LZMAError, OSError) as e:
            raise ValueError(f"{rdb}: {name}: {e}") from None
        if len(data) != size:
            raise ValueError(f"{rdb}: {name}: {len(data)} bytes, the index says {size}")
        out[name] = RUnserialize(data, f"{rdb}: {name}").item()
    return out


def paragraphs(lines, min_words, end_marker):
    """(first line, text) of each paragraph of at least min_words words,
    up to the line end_marker when there is one."""
    lines = [(line or "").strip() for line in lines]
    if end_marker in lines:
        lines = lines[:lines.index(end_marker)]
    out, run = [], []
    for i, line in enumerate(lines + [""], 1):
        if line:
            run.append((i, line))
        elif run:
            text = " ".join(" ".join(t for _, t in run).split())
            if len(text.split()) >= min_words:
                out.append((run[0][0], text))
            run = []
    return out


def main():
    rdx, out, min_words = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        data = lazy_load(rdx)
    except (OSError, ValueError, KeyError, TypeError, IndexError, struct.error, zlib.error,
            lzma.LZMAError) as e:
        sys.exit(f"austen.sh: cannot read the R data: {e}")
    counts = []
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for label, title in BOOKS:
            lines = data.get(label)
            if not isinstance(lines, list) or not all(isinstance(s, (str, type(None))) for s in lines):
                sys.exit(f"austen.sh: {rdx}: no character vector '{label}'")
            paras = paragraphs(lines, min_words, END_OF_TEXT.get(label))
            for n, (line, text) in enumerate(paras, 1):
                rec = {"text": text, "label": label, "book": title, "paragraph": n, "line": line}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            counts.append(f"{label} {len(paras)}")
    total = sum(int(c.split()[1]) for c in counts)
    print(f"austen.sh: {total} paragraphs: {', '.join(counts)}", file=sys.stderr)


main()
PY
mv "$out.tmp.$$" "$out"
echo "austen.sh: wrote $out ($(wc -c <"$out") bytes)" >&2
