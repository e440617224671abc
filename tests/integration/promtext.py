"""A strict reader of the Prometheus text exposition format (0.0.4), for
the ops tests: every line must be a comment (# HELP / # TYPE) or a sample
of a family whose TYPE came first; label values are unescaped; a sample
appears once.  samples(text) -> {(name, frozenset(labels)): value}."""

import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL = re.compile(r'(%s)="((?:[^"\\]|\\.)*)"(,|$)' % LABEL_NAME)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class FormatError(Exception):
    pass


def _labels(text):
    out = {}
    pos = 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise FormatError("bad labels: %r" % text)
        v = m.group(2).replace('\\"', '"').replace("\\n", "\n")
        v = v.replace("\\\\", "\\")
        if m.group(1) in out:
            raise FormatError("label twice: %r" % text)
        out[m.group(1)] = v
        pos = m.end()
    return out


def samples(text):
    if not text.endswith("\n"):
        raise FormatError("no final newline")
    types = {}
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
                raise FormatError("bad comment: %r" % line)
            if parts[1] == "TYPE":
                if parts[3] not in TYPES or parts[2] in types:
                    raise FormatError("bad TYPE: %r" % line)
                types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or not line:
            raise FormatError("stray line: %r" % line)
        m = SAMPLE.match(line)
        if not m:
            raise FormatError("bad sample: %r" % line)
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and family not in types:
            raise FormatError("sample before its TYPE: %r" % line)
        if name.endswith("_total") and types.get(name) not in (None,
                                                               "counter"):
            raise FormatError("_total on a %s" % types.get(name))
        labels = frozenset(_labels(m.group(2) or "").items())
        key = (name, labels)
        if key in out:
            raise FormatError("sample twice: %r" % line)
        out[key] = float(m.group(3))
    return out


def value(s, name, **labels):
    """The sample name{labels} (exactly those labels), or None."""
    return s.get((name, frozenset(labels.items())))


def total(s, name, **labels):
    """The sum of every sample of name whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in s.items() if n == name and want <= ls)
