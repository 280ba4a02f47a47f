#!/usr/bin/env python3
"""Check that an ftune report.html is well-formed and self-contained.

Usage: check_html.py REPORT_HTML [--svgs N] [--expect-text TEXT]...

Parses the page with html.parser (standard library only) and fails (exit 1,
one line per problem) unless:
  - every element is closed, in order (void elements excepted), and the
    document is html > head + body with a <title>;
  - nothing is loaded from elsewhere: no src, href, xlink:href, srcset,
    action, formaction or poster attribute other than a "#fragment", no
    <script>, <link>, <iframe>, <object>, <embed>, <base>, and no url(...) or
    @import in CSS; no on* event-handler attribute;
  - at least N <svg> elements are present (default 3: confusion matrix,
    loss curves, reliability diagram), each with a viewBox;
  - each --expect-text appears verbatim in the page's text content (after
    entity decoding), i.e. it was escaped, not interpreted as markup.
"""
import argparse
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed", "base", "frame",
                  "frameset", "applet", "img", "audio", "video", "source"}
URL_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "formaction",
             "poster", "data", "background"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.text = [], [], []
        self.svgs = self.svgs_without_viewbox = 0
        self.seen = set()
        self.in_style = False

    def where(self):
        line, col = self.getpos()
        return f"line {line}:{col + 1}"

    def problem(self, what):
        self.problems.append(f"{self.where()}: {what}")

    def check_attrs(self, tag, attrs):
        for name, value in attrs:
            name = name.lower()
            value = value or ""
            if name in URL_ATTRS and not value.startswith("#"):
                self.problem(f"<{tag} {name}=\"{value}\"> loads an external resource")
            if name.startswith("on"):
                self.problem(f"<{tag}> has an event handler attribute {name}")
            if name == "style" and re.search(r"url\s*\(|@import", value, re.I):
                self.problem(f"<{tag}> style loads a resource: {value}")

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        if tag in FORBIDDEN_TAGS:
            self.problem(f"<{tag}> is not allowed in a self-contained report")
        self.check_attrs(tag, attrs)
        if tag == "svg":
            self.svgs += 1
            if "viewbox" not in {n.lower() for n, _ in attrs}:
                self.svgs_without_viewbox += 1
        if tag == "style":
            self.in_style = True
        if tag not in VOID:
            self.stack.append((tag, self.where()))

    def handle_startendtag(self, tag, attrs):
        self.seen.add(tag)
        if tag in FORBIDDEN_TAGS:
            self.problem(f"<{tag}/> is not allowed in a self-contained report")
        self.check_attrs(tag, attrs)
        if tag == "svg":
            self.problem("empty <svg/>")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problem(f"end tag </{tag}> for a void element")
            return
        if tag == "style":
            self.in_style = False
        if not self.stack:
            self.problem(f"</{tag}> closes nothing")
            return
        open_tag, opened = self.stack.pop()
        if open_tag != tag:
            self.problem(f"</{tag}> closes <{open_tag}> opened at {opened}")

    def handle_data(self, data):
        if self.in_style:
            if re.search(r"url\s*\(|@import", data, re.I):
                self.problem("CSS loads a resource (url() or @import)")
        else:
            self.text.append(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html")
    ap.add_argument("--svgs", type=int, default=3)
    ap.add_argument("--expect-text", action="append", default=[])
    args = ap.parse_args()
    with open(args.html, encoding="utf-8") as f:  # also fails on invalid UTF-8
        page = f.read()
    c = Checker()
    c.feed(page)
    c.close()
    if not page.lstrip().lower().startswith("<!doctype html>"):
        c.problems.append("no <!DOCTYPE html> at the start")
    for tag, opened in c.stack:
        c.problems.append(f"<{tag}> opened at {opened} is never closed")
    for needed in ("html", "head", "title", "body", "style"):
        if needed not in c.seen:
            c.problems.append(f"no <{needed}> element")
    if c.svgs < args.svgs:
        c.problems.append(f"{c.svgs} <svg> elements, expected at least {args.svgs}")
    if c.svgs_without_viewbox:
        c.problems.append(f"{c.svgs_without_viewbox} <svg> without a viewBox")
    text = "".join(c.text)
    for expected in args.expect_text:
        if expected not in text:
            c.problems.append(f"text content lacks {expected!r}")
    for p in c.problems:
        print(f"{args.html}: {p}")
    if c.problems:
        return 1
    print(f"{args.html}: well-formed, self-contained, {c.svgs} svg elements, "
          f"{len(args.expect_text)} expected texts found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
