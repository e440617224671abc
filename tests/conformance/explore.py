#!/usr/bin/env python3
"""Random differential exploration: widgetctl render against Jinja2.

Not part of `make check`.  Generates random expressions from the language
SPEC §6 describes, renders each with both engines (run.py's oracle) and
prints every disagreement as a ready-to-paste case, so a human can reduce
it and add it to cases/*.cases.

Usage:
    explore.py [--widgetctl PATH] [-n COUNT] [-s SEED]
"""

import argparse
import os
import random
import sys
import tempfile

sys.dont_write_bytecode = True      # keep the source tree (and dist) clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the oracle and the widgetctl driver)

CONTEXT = {
    "n": 7, "m": -3, "f": 2.5, "z": 0, "s": "Hello, Wörld", "e": "",
    "l": [3, 1, 2], "ls": ["b", "A", "c"], "d": {"a": 1, "b": [1, 2]},
    "u": [{"name": "x", "v": 2, "ok": True}, {"name": "Y", "v": -1,
                                               "ok": False}],
    "none": None, "t": True,
}

STRS = ["'abc'", "'A b C'", "'  pad '", "'it\\'s'", "'ü日'", "''",
        "'a,b,,c'", "'%s-%d'", "'<&>'", "'12'", "'3.5'"]
NUMS = ["0", "1", "-1", "7", "-7", "2", "3", "0.5", "-2.5", "1e3", "10",
        "100", "0.1"]
LEAVES = (["n", "m", "f", "z", "s", "e", "l", "ls", "d", "u", "none", "t",
           "missing", "d.a", "d['b']", "u[0]", "l[1:]", "s[::-1]",
           "true", "false", "none", "[]", "{}", "[1, 'a', none]",
           "{'k': 'v', 'n': 1}", "(1, 2)"] + STRS + NUMS)
BINOPS = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", ">",
          "<=", ">=", "and", "or", "in", "not in"]
FILTERS = ["abs", "capitalize", "count", "first", "last", "float", "int",
           "length", "list", "lower", "upper", "title", "trim", "string",
           "sum", "sort", "unique|list", "reverse|list", "max", "min",
           "tojson", "json_encode", "urlencode", "wordcount",
           "default('D')", "default('D', true)", "join(',')",
           "replace('a', 'X')", "truncate(5, true, '.', 0)", "round(1)",
           "round(0, 'floor')", "int(base=16)", "indent(2)",
           "select('odd')|list", "reject('none')|list", "slice(2)|list",
           "dictsort", "map('string')|list", "format(1)", "list|length",
           "base64_encode", "sort(reverse=true)", "groupby('v')|list",
           "map(attribute='name')|list", "selectattr('ok')|list",
           "sum(attribute='v')", "sort(attribute='name')|list",
           "center(9)", "batch(2)|list", "wordwrap(5)", "striptags",
           "pprint", "e", "items|list", "xmlattr"]
TESTS = ["defined", "undefined", "none", "number", "string", "mapping",
         "iterable", "sequence", "even", "odd", "divisibleby 3", "eq 1",
         "ne 1", "lt 2", "gt 2", "in [1, 2]", "in 'abc'"]
METHODS = [".lower()", ".upper()", ".strip()", ".split()", ".split(',')",
           ".startswith('a')", ".endswith('c')", ".replace('a', 'b')",
           ".items()|list", ".keys()|list", ".values()|list", ".get('a')",
           ".get('zz', 0)", ".find('b')", ".zfill(4)", ".rsplit(' ', 1)",
           ".count('a')", ".title()", ".isdigit()", ".splitlines()",
           ".lstrip('a')", ".ljust(4, '*')"]


def expr(rnd, depth=0):
    r = rnd.random()
    if depth > 2 or r < 0.3:
        return rnd.choice(LEAVES)
    if r < 0.55:
        return "(%s %s %s)" % (expr(rnd, depth + 1), rnd.choice(BINOPS),
                               expr(rnd, depth + 1))
    if r < 0.75:
        return "(%s | %s)" % (expr(rnd, depth + 1), rnd.choice(FILTERS))
    if r < 0.82:
        return "(%s is %s)" % (expr(rnd, depth + 1), rnd.choice(TESTS))
    if r < 0.9:
        return "(%s)%s" % (expr(rnd, depth + 1), rnd.choice(METHODS))
    if r < 0.95:
        return "(%s if %s else %s)" % (expr(rnd, depth + 1),
                                       expr(rnd, depth + 1),
                                       expr(rnd, depth + 1))
    return "(not %s)" % expr(rnd, depth + 1)


TEXTS = ["", " ", "  ", "\n", " \n ", "\n\n", "a", " b ", "\t", "x\n  ",
         "\n  y", ",", "{", "}", "#"]


def dash(rnd):
    return "-" if rnd.random() < 0.3 else ""


def block(rnd, depth=0):
    """A random statement sequence exercising whitespace control."""
    out = []
    for _ in range(rnd.randint(1, 4)):
        out.append(rnd.choice(TEXTS))
        r = rnd.random()
        if r < 0.3:
            out.append("{{%s %s %s}}" % (dash(rnd), expr(rnd, 2), dash(rnd)))
        elif r < 0.45 and depth < 2:
            out.append("{%%%s if %s %s%%}%s{%%%s else %s%%}%s{%%%s endif %s%%}" %
                       (dash(rnd), expr(rnd, 2), dash(rnd), block(rnd, depth + 1),
                        dash(rnd), dash(rnd), block(rnd, depth + 1),
                        dash(rnd), dash(rnd)))
        elif r < 0.6 and depth < 2:
            out.append("{%%%s for x in %s %s%%}%s{{ loop.index }}{{ x }}%s"
                       "{%%%s endfor %s%%}" %
                       (dash(rnd), rnd.choice(["l", "ls", "s", "d", "u", "[]",
                                               "range(3)", "missing"]),
                        dash(rnd), rnd.choice(TEXTS), block(rnd, depth + 1),
                        dash(rnd), dash(rnd)))
        elif r < 0.7:
            out.append("{%%%s set v = %s %s%%}{{ v }}" %
                       (dash(rnd), expr(rnd, 2), dash(rnd)))
        elif r < 0.75:
            out.append("{#%s c %s#}" % (dash(rnd), dash(rnd)))
        elif depth < 2:
            out.append(scoped(rnd, depth))
    out.append(rnd.choice(TEXTS))
    return "".join(out)


# What --blocks templates start with: a namespace and a macro that takes
# a caller, for the statements below.
PRELUDE = ("{% set ns = namespace(c=0) %}{% macro m(a=1) %}[{{ a }}"
           "{{ caller() if caller is defined }}]{% endmacro %}")


def scoped(rnd, depth):
    """A statement with a scope of its own: macros, call blocks, with,
    filter and set blocks, namespaces, loops with tuple targets."""
    e = expr(rnd, 2)
    inner = block(rnd, depth + 1)
    return rnd.choice([
        "{%% macro k(%s) %%}%s{{ x }}{%% endmacro %%}{{ k(%s) }}" %
        (rnd.choice(["", "x", "x, y=1", "x=1"]), inner,
         rnd.choice([e, "*[1, 2]", "**{'x': 1}", "y=" + e])),
        "{%% call%s m(%s) %%}%s{%% endcall %%}" %
        (rnd.choice(["", "(x)", "(x, y=2)"]), e, inner),
        "{%% with x = %s %%}%s{{ x }}{%% endwith %%}" % (e, inner),
        "{%% filter %s %%}%s{%% endfilter %%}" %
        (rnd.choice(["upper", "trim", "title", "e", "indent(2)"]), inner),
        "{%% set v %%}%s{%% endset %%}{{ v | length }}" % inner,
        "{%% set ns.c = %s %%}{{ ns.c }}" % e,
        "{%% for x, y in %s %%}%s{{ loop.cycle('a', 'b') }}{%% else %%}"
        "-{%% endfor %%}" % (rnd.choice(["d.items()", "u | groupby('v')",
                                          "[(1, 2), [3, 4]]", e]), inner),
        "{%% for x in %s recursive %%}{{ x }}{{ loop.changed(x) }}"
        "{%% if x is sequence and x is not string %%}{{ loop(x) }}"
        "{%% endif %%}{%% endfor %%}" % rnd.choice(["[[1, [2]], 3]", e]),
    ])


class Args:
    jinja_only = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widgetctl", default=os.environ.get("WIDGETCTL"))
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("-s", type=int, default=1)
    ap.add_argument("--blocks", action="store_true",
                    help="random statement sequences instead of expressions")
    a = ap.parse_args()
    rnd = random.Random(a.s)
    args = Args()
    args.widgetctl = a.widgetctl
    bad = 0
    with tempfile.TemporaryDirectory(prefix="wd-explore.") as tmpdir:
        for i in range(a.n):
            c = run.Case("explore", i, "explore-%d-%d" % (a.s, i))
            if a.blocks:
                c.template = PRELUDE + block(rnd)
            else:
                c.template = "{{ %s }}" % expr(rnd)
            c.context = CONTEXT
            ok, out = run.render_jinja(c)
            if ok and " at 0x" in out:
                continue
            why = run.check_case(c, args, tmpdir)
            if why is not None:
                bad += 1
                print("=== %s\n--- template\n%s\n--- end\n# %s\n" %
                      (c.name, c.template,
                       why.replace("\n", "\n# ").rstrip("# \n")))
    print("explore: %d of %d disagree" % (bad, a.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
