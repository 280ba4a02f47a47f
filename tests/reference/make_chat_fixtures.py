#!/usr/bin/env python3
"""Make the chat-template fixtures that test_chat compares with, byte for byte:

  tests/fixtures/chat/<family>.json
      {"family", "template" (file name under templates/), "bos_token",
       "eos_token", "cases": [{"messages", "vars" (extra template variables:
       tools, date_string, builtin_tools...; absent when none), "gen" (the
       rendering with add_generation_prompt=True), "nogen" (with False)}; or,
       where the template raises, "error" (the raise_exception message); or,
       where jinja2 fails otherwise, "fails" (ftune must fail too)]}
  tests/fixtures/chat/snippets.json
      {"random_vars", "cases": [{"template", "vars", "out" or "error"}, ...]}:
      the hand-written SNIPPETS (features one by one), UNSUPPORTED (jinja2
      renders them, ftune must refuse them naming line and column) and 1,000
      random templates over the supported subset (variables random_vars), a
      differential check: ftune renders each as jinja2 does, or refuses it,
      never renders it differently.

The renderer is transformers' own: PreTrainedTokenizerFast.apply_chat_template
(tokenize=False) on a tiny word-level tokenizer whose chat_template, bos_token
and eos_token are the family's (apply_chat_template normalises the messages,
passes the special tokens and the extra variables to render_jinja_template,
which renders with jinja2's ImmutableSandboxedEnvironment(trim_blocks=True,
lstrip_blocks=True) plus transformers' globals and tojson). The snippets go
through the same environment (_compile_jinja_template).

The 50 conversations per family are deterministic (random.Random(seed) over
tests/fixtures/tokenizer/corpus.jsonl, data/sotu/sotu.jsonl and hand-written
messy strings: unicode, quotes, braces, newlines, leading and trailing
spaces, empty content), with or without a system message, 1 to 6 turns; the
families whose template checks role alternation also get cases that break it;
the families with tool use get tools, tool calls and tool answers in a third
of their cases; messages-probe gets null fields and reasoning fields.

Usage: make_chat_fixtures.py [-h] [--out DIR]   (default tests/fixtures/chat)
"""
import argparse
import json
import os
import random

from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast
import jinja2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FAMILIES = [
    # name, template file, bos, eos, breaks alternation sometimes, tool use
    ("llama2", "llama-2-chat.jinja", "<s>", "</s>", True, None),
    ("llama3", "llama-3-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", True, None),
    # Llama 3.1/3.2's original templates (tools, builtin_tools, date_string)
    # are under Meta's Llama licences and are not shipped: their rows are
    # skipped unless a copy is put in the templates folder (the row's index
    # stays its seed, so the other families' cases do not move).
    ("llama3.1", "llama-3.1-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", False, "llama3.1"),
    ("llama3.2", "llama-3.2-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", False, "llama3.2"),
    ("mistral", "mistral-instruct.jinja", "<s>", "</s>", True, None),
    ("mistral-v0.2", "mistral-7b-instruct-v0.2.jinja", "<s>", "</s>", True, None),
    ("mistral-v0.3", "mistral-7b-instruct-v0.3.jinja", "<s>", "</s>", False, "mistral"),
    ("phi3", "phi-3.jinja", "<s>", "<|endoftext|>", True, None),
    ("phi3-mini", "phi-3-mini-4k-instruct.jinja", "<s>", "<|endoftext|>", False, None),
    ("phi3.5-mini", "phi-3.5-mini-instruct.jinja", "<s>", "<|endoftext|>", False, None),
    ("qwen2.5", "qwen2.5-instruct.jinja", None, "<|im_end|>", False, None),
    ("qwen2.5-original", "qwen2.5-instruct-original.jinja", None, "<|im_end|>", False, "qwen"),
    ("deepseek-r1-distill-qwen", "deepseek-r1-distill-qwen.jinja",
     "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", False, "deepseek"),
    # Not a model's: prints each message as the template sees it, to check
    # apply_chat_template's changes (null keys dropped, reasoning aliased).
    ("messages-probe", "messages-probe.jinja", "<s>", "</s>", False, "reasoning"),
]

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city, \"now\"",
     "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "add", "description": "Add two integers.",
     "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"]}}},
]

MESSY = [
    "", " ", "  leading spaces", "trailing spaces   ", "\n\nnewlines around\n\n",
    "tab\tseparated\tvalues", "quotes \"double\" and 'single'", "{{ not a tag }} {% nor this %}",
    "héllo wörld — ünïcödé ✓ 日本語のテキスト 🙂", "line one\nline two\r\nline three",
    "<think>reasoning here</think>the answer", "a</think>b</think>c", "\\backslash\\ and \\n literal",
    "[INST] fake tags [/INST] <|im_end|>", "ends with newline\n", "\u00a0nbsp\u00a0", "x",
]


def load_texts():
    texts = []
    with open(os.path.join(ROOT, "tests/fixtures/tokenizer/corpus.jsonl"), encoding="utf-8") as f:
        texts += [json.loads(line)["text"] for line in f if line.strip()]
    with open(os.path.join(ROOT, "data/sotu/sotu.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 40:
                break
            t = json.loads(line).get("text", "")
            texts.append(t[:300])
    return texts


def pick(rng, texts):
    r = rng.random()
    if r < 0.35:
        return rng.choice(MESSY)
    t = rng.choice(texts)
    if r < 0.5:
        t = " " + t + "\n"
    elif r < 0.6:
        t = t + " " + rng.choice(MESSY)
    return t


def conversation(rng, texts, alternating=True):
    msgs = []
    if rng.random() < 0.5:
        msgs.append({"role": "system", "content": pick(rng, texts)})
    turns = rng.randint(1, 6)
    for t in range(turns):
        role = "user" if t % 2 == 0 else "assistant"
        msgs.append({"role": role, "content": pick(rng, texts)})
    if not alternating:
        at = rng.randrange(len(msgs) + 1)
        msgs.insert(at, {"role": rng.choice(["user", "assistant"]), "content": pick(rng, texts)})
    return msgs


def tool_turns(rng, style):
    """An assistant tool call and the tool's answer, in the family's style."""
    city = rng.choice(["Paris", "Zürich", "New York", "Tōkyō"])
    if style == "deepseek":
        call = {"type": "function", "function": {"name": "get_weather",
                                                  "arguments": json.dumps({"city": city})}}
        return [{"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "content": "22 degrees"}]
    args = {"a": rng.randint(-5, 99), "b": rng.randint(0, 9)} if rng.random() < 0.5 else {"city": city}
    name = "add" if "a" in args else "get_weather"
    call = {"type": "function", "function": {"name": name, "arguments": args}}
    answer = {"role": "tool", "content": rng.choice(["42", "sunny, 22 °C", "{\"temp\": 22}"])}
    if style == "mistral":
        return []
    return [{"role": "assistant", "tool_calls": [call]}, answer]


def reasoning_conversation(rng, texts):
    """Messages with reasoning fields under each name, nulls, extra keys."""
    msgs = conversation(rng, texts)
    for m in msgs:
        for key in ("reasoning", "thinking", "reasoning_content", "name"):
            r = rng.random()
            if r < 0.25:
                m[key] = pick(rng, texts)[:30]
            elif r < 0.4:
                m[key] = None
        if rng.random() < 0.15:
            m["content"] = None
    return msgs, {}


def tool_conversation(rng, texts, style):
    """A conversation with tools: (messages, extra template variables)."""
    if style == "reasoning":
        return reasoning_conversation(rng, texts)
    msgs = [] if rng.random() < 0.5 else [{"role": "system", "content": pick(rng, texts)}]
    msgs.append({"role": "user", "content": pick(rng, texts)})
    msgs += tool_turns(rng, style)
    msgs.append({"role": "assistant", "content": pick(rng, texts)})
    if rng.random() < 0.5:
        msgs.append({"role": "user", "content": pick(rng, texts)})
    extra = {}
    if style != "deepseek" and rng.random() < 0.7:
        extra["tools"] = TOOLS[: rng.randint(1, 2)]
    if style.startswith("llama3") and rng.random() < 0.3:
        extra["tools_in_user_message"] = False
    if style == "llama3.1" and rng.random() < 0.3:
        extra["date_string"] = "01 Jan 2025"
    if style == "llama3.1" and rng.random() < 0.3:
        extra["builtin_tools"] = ["brave_search", "code_interpreter", "wolfram_alpha"]
        call = {"type": "function", "function": {"name": "brave_search",
                                                  "arguments": {"query": pick(rng, texts)[:40]}}}
        msgs.insert(-1, {"role": "assistant", "tool_calls": [call]})
        msgs.insert(-1, {"role": "ipython", "content": {"result": "ok", "n": 3}})
    return msgs, extra


def tiny_tokenizer(template, bos, eos):
    vocab = {"[UNK]": 0}
    for t in (bos, eos):
        if t is not None:
            vocab[t] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    kw = {"tokenizer_object": tok, "unk_token": "[UNK]", "eos_token": eos}
    if bos is not None:
        kw["bos_token"] = bos
    fast = PreTrainedTokenizerFast(**kw)
    fast.chat_template = template
    return fast


def render(tok, msgs, gen, extra):
    return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=gen, **extra)


def family_cases(tok, seed, texts, alternation, tool_style):
    """50 cases: "vars" are extra template variables; "error" is the text of
    a raise_exception, "fails" marks other jinja2 errors (ftune must fail)."""
    rng = random.Random(seed)
    cases = []
    while len(cases) < 50:
        alternating = not alternation or len(cases) % 10 != 9
        extra = {}
        if tool_style == "reasoning" or (tool_style and len(cases) % 3 == 2):
            msgs, extra = tool_conversation(rng, texts, tool_style)
        else:
            msgs = conversation(rng, texts, alternating)
        if tool_style == "llama3.2":  # it would call strftime_now: today's date
            extra.setdefault("date_string", "26 Jul 2024")
        case = {"messages": msgs}
        if extra:
            case["vars"] = extra
        try:
            case["gen"] = render(tok, msgs, True, extra)
            case["nogen"] = render(tok, msgs, False, extra)
        except jinja2.exceptions.TemplateError as e:
            case.pop("gen", None)
            if type(e) is jinja2.exceptions.TemplateError:
                case["error"] = str(e)
            else:
                case["fails"] = f"{type(e).__name__}: {e}"
        cases.append(case)
    return cases


# Small templates for the features one by one: (template, variables).
# jinja2 (as transformers configures it) gives each one's output, or fails.
SNIPPETS = [
    ("a\n  {% if true %}\n    x\n  {% endif %}\nb\n", {}),
    ("a  {%- if true -%}  x  {%- endif -%}  b", {}),
    ("a {{- ' x ' -}} b\n", {}),
    ("{# c #}\n  {#- c2 -#}  z\n{% if 1 %}  \n{% endif %}", {}),
    ("  {% for i in [1,2,3] %}{{ i }},{% endfor %}\n", {}),
    ("{%+ if true %}x{% endif +%}\ny", {}),
    ("line\r\nnext{% if true %}\r\n  in\r\n{% endif %}\r\n", {}),
    ("{% for m in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}", {"xs": ["a", "b", "c"]}),
    ("{% for m in xs %}{{ loop.previtem }}|{{ loop.nextitem }};{% endfor %}", {"xs": ["a", "b"]}),
    ("{% for m in xs if m != 'b' %}{{ m }}{{ loop.length }}{% else %}none{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("{% for m in xs %}x{% else %}empty{% endfor %}", {"xs": []}),
    ("{% for m in xs %}{% if m == 2 %}{% continue %}{% endif %}{% if m == 4 %}{% break %}{% endif %}{{ m }}{% endfor %}", {"xs": [1, 2, 3, 4, 5]}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"a": 1, "b": "two"}}),
    ("{% for k in d %}{{ k }}{% endfor %}", {"d": {"a": 1, "b": 2}}),
    ("{% for ch in 'héllo' %}[{{ ch }}]{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% set ns = namespace(x=1, y='a') %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}{{ ns.y }}", {}),
    ("{{ '  a b  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ none | trim }}|{{ 12 | trim }}", {}),
    ("{{ 'héllo' | length }} {{ [1,2] | length }} {{ {'a':1} | length }} {{ xs | count }}", {"xs": [1]}),
    ("{{ x | default('d') }} {{ '' | default('e', true) }} {{ 0 | d('z') }} {{ y | default }}", {}),
    ("{{ {'a': 'é\"\\n', 'b': [1, 2.5, true, none]} | tojson }}", {}),
    ("{{ x | tojson }}", {"x": {"name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}),
    ("{{ x | tojson(indent=2) }}", {"x": {"a": [1, {"b": []}], "c": {}}}),
    ("{{ 'a\tb\u00e9\x41' | tojson }}", {}),
    ("{{ 'hello world' | upper }} {{ 'HeLLo' | lower }} {{ 'hello big-world (x)' | title }} {{ 'hELLO' | capitalize }}", {}),
    ("{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'x</think>y'.split('</think>')[-1] }}", {}),
    ("{{ '  x '.strip() }}|{{ '  x '.lstrip() }}|{{ '  x '.rstrip() }}|{{ 'xxyxx'.strip('x') }}|{{ '\u00a0x\u3000'.strip() }}", {}),
    ("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.startswith(('x', 'a')) }} {{ 'abc'.upper() }} {{ 'it\'s a test'.title() }}", {}),
    ("{{ 'aXbXc'.replace('X', '-') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'ab' | replace('', '.') }} {{ '-'.join(['a', 'b']) }}", {}),
    ("{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[-1] }} {{ 'héllo'[1:3] }} {{ 'héllo'[::2] }} {{ xs[10] }}", {"xs": [1, 2, 3]}),
    ("{{ 1 + 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 1.5 * 2 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e-5 }} {{ 123456789.0 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ true ~ x }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ true + 1 }}", {}),
    ("{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }}", {}),
    ("{{ 'yes' if x else 'no' }} {{ 'y' if true }}|{{ 'y' if false }}| {{ x or 'fb' }} {{ 1 and 2 }} {{ not x }}", {}),
    ("{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 1 is number }} {{ true is boolean }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ x is not none }} {{ 1 is integer }} {{ 1.0 is float }}", {"x": 1}),
    ("{{ [1, 'a', none, true, 1.5] }} {{ {'k': 'v', 'n': [1]} }} {{ (1, 'x') }} {{ ('s',) }} {{ \"it's\" }} {{ [\"it's\", 'a\\b', 'x\\ny'] }}", {}),
    ("{% if x %}a{% elif y %}b{% elif z %}c{% else %}d{% endif %}", {"z": 1}),
    ("{{ messages[0]['content'] }}{{ messages[0].role }}{{ messages[0].missing }}|{{ messages | length }}", {"messages": [{"role": "user", "content": "hi"}]}),
    ("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d.keys() | list }} {{ d.values() | list }} {{ d | first }}", {"d": {"a": 1, "b": 2}}),
    ("{{ xs | join(', ') }} {{ xs | first }} {{ xs | last }} {{ 'abc' | list }} {{ -3 | abs }} {{ '12' | int + 1 }} {{ 3.7 | int }}", {"xs": ["a", "b"]}),
    ("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {% for i in range(2) %}{{ i }}{% endfor %}", {}),
    ("{{ 'adjacent' 'strings' }} {{ \"dq 'x'\" }} {{ 'multi\nline' }}", {}),
    ("{% set d = dict(a=1, b='x') %}{{ d.a }}{{ d['b'] }}{{ d | tojson }}", {}),
    ("{% generation %}G{% endgeneration %}", {}),
    ("{{ tools }} {{ documents }} {{ tools is none }}", {}),
    ("{{ 10 - 3 - 2 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' + 'b' | upper }}", {}),
    ("{{ xs | select('odd') | list }} {{ xs | reject('equalto', 2) | join(',') }} {{ xs | select | list }} {{ xs | select('>', 1) | list }}", {"xs": [0, 1, 2, 3]}),
    ("{{ ms | selectattr('role', 'equalto', 'user') | list | length }} {{ ms | rejectattr('role', 'equalto', 'user') | map_free }}", {"ms": [{"role": "user"}, {"role": "bot"}]}),
    ("{{ ms | selectattr('role', 'equalto', 'user') | list | length }} {{ ms | selectattr('x') | list }} {{ ms | rejectattr('f.g') | list }}", {"ms": [{"role": "user", "x": 1}, {"role": "bot", "f": {"g": 0}}]}),
    ("{{ d | items | list }} {{ d.items() | list }} {% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ {'a': 1} == {'a': 1} }} {{ [1] == [1] }}", {"d": {"a": 1, "b": [2]}}),
    ("{{ messages[1:] | length }} {{ messages[-1].content }} {{ (messages | last).role }} {{ messages | selectattr('role', 'eq', 'user') | first }}", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
    ("  {%- if true %}x{% endif %}\n  {{ 'y' }}\n  {%+ if true %}z{% endif %}\n\t{% if true %}w{% endif %}", {}),
    ("{% for i in [1, 2] %}\n  {% for j in [3] %}\n    {{ i }}{{ j }}\n  {% endfor %}\n{% endfor %}", {}),
    ("{% if x is defined and x %}{{ x }}{% endif %}{{ 'a' if none is none else 'b' }}{{ y is not defined }}", {"x": 0}),
    ("{{ xs | select | length }}", {"xs": [1]}),
    ("{{ strftime_now('100%% sure') }}|{{ strftime_now is defined }}", {}),
    ("{{ x.y }}", {}),
    ("{{ 'a' + x }}", {}),
    ("{{ raise_exception('boom ' ~ 1) }}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{{ none + 1 }}", {}),
    ("{% for x in 5 %}{% endfor %}", {}),
]

# Constructs jinja2 renders and ftune refuses (with an error naming them).
UNSUPPORTED = [
    "{% macro m() %}x{% endmacro %}{{ m() }}",
    "{% set x %}block{% endset %}{{ x }}",
    "{{ xs | map('upper') | list }}",
    "{{ 'a %s' % 'b' }}",
    "{% filter upper %}x{% endfilter %}",
    "{{ strftime_now('%z') }}",
    "{% raw %}{{ x }}{% endraw %}",
    "{{ ['é'] }}",
    "{{ 'é' | upper }}",
    "{{ d.items }}",
    "{{ xs | select }}",
    "{{ d.items() }}",
    "{% for a in xs %}{{ loop.cycle(1, 2) }}{% endfor %}",
]


# Random templates over the supported subset (a differential check): each
# one's jinja2 output, or the fact that jinja2 fails.
RANDOM_VARS = {
    "s": "  Héllo, wörld: a-b (c) ", "t": "x</think>y", "e": "", "n": 7, "k": -3, "f": 2.5,
    "g": 1e-07, "b": True, "z": None, "xs": [3, 1, 4, 1, 5], "ss": ["a", "bb", " c "],
    "d": {"k": "v", "n": 2, "l": [1, 2]}, "m": {"role": "user", "content": " hi\n"},
    "msgs": [{"role": "system", "content": "sys"}, {"role": "user", "content": "u1"},
             {"role": "assistant", "content": " a1 "}],
}
RAND_LITERALS = ["0", "1", "-2", "17", "0.5", "2.0", "1e20", "'a'", "'xy z'", "''", "' é '",
                 "\"q'uote\"", "none", "true", "false", "[1, 2, 3]", "['a', 'b']", "{'k': 1}",
                 "(1, 'x')"]
RAND_NAMES = list(RANDOM_VARS) + ["undef"]
RAND_FILTERS = ["trim", "length", "upper", "lower", "title", "capitalize", "default('dflt')",
                "tojson", "string", "int", "join(',')", "first", "last", "list",
                "replace('l', 'L')", "abs", "select('odd') | list", "reject('even') | list",
                "items | list", "default(0, true)", "tojson(indent=2)", "trim('x')", "count"]
RAND_TESTS = ["defined", "undefined", "none", "string", "mapping", "iterable", "number",
              "integer", "odd", "even", "sequence", "boolean", "divisibleby(2)", "eq(1)"]
RAND_METHODS = ["strip()", "lstrip()", "rstrip()", "split()", "split(',')", "split('</think>')[-1]",
                "startswith('x')", "endswith(' ')", "upper()", "lower()", "title()",
                "replace(' ', '_')", "get('k')", "get('zz', 5)", "items() | list", "keys() | list",
                "values() | list"]
RAND_BINOPS = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "and", "or",
               "in", "not in", "**"]


def rand_expr(rng, depth):
    r = rng.random()
    if depth <= 0 or r < 0.25:
        return rng.choice(RAND_LITERALS) if rng.random() < 0.4 else rng.choice(RAND_NAMES)
    if r < 0.45:
        return f"{rand_expr(rng, depth - 1)} {rng.choice(RAND_BINOPS)} {rand_expr(rng, depth - 1)}"
    if r < 0.6:
        return f"{rand_expr(rng, depth - 1)} | {rng.choice(RAND_FILTERS)}"
    if r < 0.68:
        neg = "not " if rng.random() < 0.3 else ""
        return f"{rand_expr(rng, depth - 1)} is {neg}{rng.choice(RAND_TESTS)}"
    if r < 0.78:
        return f"{rng.choice(RAND_NAMES)}.{rng.choice(RAND_METHODS)}"
    if r < 0.86:
        idx = rng.choice(["[0]", "[-1]", "[1:]", "[:2]", "[::-1]", "['k']", ".role", ".content", "[9]"])
        return f"{rng.choice(RAND_NAMES)}{idx}"
    if r < 0.92:
        return f"({rand_expr(rng, depth - 1)} if {rand_expr(rng, depth - 1)} else {rand_expr(rng, depth - 1)})"
    if r < 0.96:
        return f"not {rand_expr(rng, depth - 1)}"
    return f"({rand_expr(rng, depth - 1)})"


def rand_stmt(rng, depth):
    ws = lambda: rng.choice(["", "-"])  # noqa: E731
    pad = lambda: rng.choice(["", " ", "\n", "\n  ", "  \n    ", "\t"])  # noqa: E731
    r = rng.random()
    if depth <= 0 or r < 0.4:
        return f"{pad()}{{{{{ws()} {rand_expr(rng, 2)} {ws()}}}}}{pad()}"
    if r < 0.6:
        return (f"{pad()}{{%{ws()} if {rand_expr(rng, 2)} {ws()}%}}{rand_stmt(rng, depth - 1)}"
                f"{{%{ws()} else {ws()}%}}{rand_stmt(rng, depth - 1)}{{%{ws()} endif {ws()}%}}{pad()}")
    if r < 0.8:
        it = rng.choice(["xs", "ss", "msgs", "d", "s", "range(3)", "xs | select('odd')", "d.items()",
                         "undef", "[]"])
        var = "k, v" if it == "d.items()" else "x"
        body = rng.choice(["{{ x }}", "{{ loop.index }}/{{ loop.length }}", "{{ k }}={{ v }}",
                           "{% if loop.last %}L{% endif %}", "{{ loop.first }}"])
        if var == "x":
            body = body.replace("{{ k }}={{ v }}", "{{ x }}")
        return (f"{pad()}{{%{ws()} for {var} in {it} {ws()}%}}{pad()}{body}{rand_stmt(rng, depth - 1)}"
                f"{{%{ws()} endfor {ws()}%}}{pad()}")
    return f"{pad()}{{% set v = {rand_expr(rng, 2)} %}}{pad()}{{{{ v }}}}{pad()}"


def random_cases(n=1000):
    rng = random.Random(20261208)
    out = []
    from transformers.utils.chat_template_utils import _compile_jinja_template
    for _ in range(n):
        template = "".join(rand_stmt(rng, 2) for _ in range(rng.randint(1, 3)))
        case = {"template": template, "random": True}  # variables: "random_vars"
        try:
            case["out"] = _compile_jinja_template(template).render(messages=[], tools=None,
                                                                  documents=None, **RANDOM_VARS)
        except Exception as e:  # noqa: BLE001
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    return out


def snippet_cases():
    from transformers.utils.chat_template_utils import _compile_jinja_template
    out = []
    for template, variables in SNIPPETS:
        ctx = {"messages": [], "tools": None, "documents": None, "add_generation_prompt": False}
        ctx.update(variables)
        case = {"template": template, "vars": variables}
        try:
            case["out"] = _compile_jinja_template(template).render(**ctx)
        except Exception as e:  # jinja2 fails: ftune must fail too
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    for template in UNSUPPORTED:
        ctx = {"messages": [], "tools": None, "documents": None, "d": {"a": 1}, "xs": ["a"]}
        try:
            _compile_jinja_template(template).render(**ctx)
        except Exception as e:
            raise SystemExit(f"unsupported case {template!r} fails in jinja2 too: {e}")
        out.append({"template": template, "vars": {"d": {"a": 1}, "xs": ["a"]},
                    "unsupported": True})
    return out + random_cases()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/chat"))
    args = ap.parse_args()
    texts = load_texts()
    tdir = os.path.join(ROOT, "tests/fixtures/chat/templates")
    for i, (name, fname, bos, eos, alternation, tool_style) in enumerate(FAMILIES):
        if not os.path.exists(os.path.join(tdir, fname)):
            print(f"{name}: no {fname} in {tdir} (not shipped): skipped")
            continue
        with open(os.path.join(tdir, fname), encoding="utf-8") as f:
            template = f.read()
        tok = tiny_tokenizer(template, bos, eos)
        cases = family_cases(tok, 1000 + i, texts, alternation, tool_style)
        doc = {"family": name, "template": fname, "bos_token": bos, "eos_token": eos,
               "cases": cases}
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
        errs = sum(1 for c in cases if "error" in c)
        fails = sum(1 for c in cases if "fails" in c)
        print(f"{name}: {len(cases)} conversations ({errs} raise, {fails} other errors)")
    snippets = snippet_cases()
    with open(os.path.join(args.out, "snippets.json"), "w", encoding="utf-8") as f:
        json.dump({"random_vars": RANDOM_VARS, "cases": snippets}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"snippets: {len(snippets)}")


if __name__ == "__main__":
    main()
