#!/usr/bin/env python3
"""Check the documentation's links: README.md and docs/*.md.

Fails (exit 1, one line per fault) when
  - a relative link or image points to a file that does not exist,
  - a link's #anchor names no heading of the target Markdown file
    (headings turned into anchors as GitHub does),
  - README.md is longer than 300 lines (it is a guide; the rest is in docs/),
  - a document in docs/ is not linked from README.md (each doc one click away).
Links inside code blocks and inline code are not links and are skipped, as are
absolute URLs (http:, https:, mailto:).

Usage: check_doc_links.py [REPO_ROOT]   (default: the folder above tests/)
"""
import os
import re
import sys

README_MAX_LINES = 300
LINK = re.compile(r'!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')


def strip_code(text):
    """The text with fenced code blocks and inline code blanked out."""
    out, fenced = [], False
    for line in text.split('\n'):
        if re.match(r'^\s*(```|~~~)', line):
            fenced = not fenced
            out.append('')
            continue
        out.append('' if fenced else re.sub(r'`[^`]*`', '', line))
    return '\n'.join(out)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    s = heading.strip().lower()
    s = re.sub(r'[^\w\- ]', '', s)
    return s.replace(' ', '-')


_ANCHORS = {}


def anchors(path):
    """The anchors of a Markdown file's headings (read once)."""
    cache = _ANCHORS
    if path not in cache:
        seen, result = {}, set()
        fenced = False
        with open(path, encoding='utf-8') as f:
            for line in f:
                if re.match(r'^\s*(```|~~~)', line):
                    fenced = not fenced
                m = None if fenced else HEADING.match(line.rstrip('\n'))
                if not m:
                    continue
                base = slug(m.group(2))
                n = seen.get(base, 0)
                seen[base] = n + 1
                result.add(base if n == 0 else '%s-%d' % (base, n))
        cache[path] = result
    return cache[path]


def check_file(root, rel, faults):
    path = os.path.join(root, rel)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    links = []
    for lineno, line in enumerate(strip_code(text).split('\n'), 1):
        for m in LINK.finditer(line):
            target = m.group(1)
            links.append(target)
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):
                continue
            file_part, _, anchor = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            where = '%s:%d: link %s' % (rel, lineno, target)
            if not os.path.exists(dest):
                faults.append('%s: no such file %s' % (where, os.path.relpath(dest, root)))
            elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
                faults.append('%s: no heading with anchor #%s in %s' % (where, anchor, os.path.relpath(dest, root)))
    return text, links


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..', '..'))
    docs_dir = os.path.join(root, 'docs')
    docs = sorted(d for d in os.listdir(docs_dir) if d.endswith('.md')) if os.path.isdir(docs_dir) else []
    faults = []
    readme, readme_links = check_file(root, 'README.md', faults)
    for d in docs:
        check_file(root, os.path.join('docs', d), faults)
    lines = readme.count('\n') + (0 if readme.endswith('\n') else 1)
    if lines > README_MAX_LINES:
        faults.append('README.md: %d lines, more than %d (move detail into docs/)' % (lines, README_MAX_LINES))
    linked = {os.path.normpath(t.partition('#')[0]) for t in readme_links}
    for d in docs:
        if os.path.join('docs', d) not in linked:
            faults.append('README.md: docs/%s is not linked' % d)
    for f in faults:
        print('check_doc_links: ' + f)
    print('check_doc_links: README.md %d lines, %d documents in docs/, %d faults' % (lines, len(docs), len(faults)))
    return 1 if faults else 0


if __name__ == '__main__':
    sys.exit(main())
