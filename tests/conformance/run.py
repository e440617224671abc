#!/usr/bin/env python3
"""Template conformance: widgetd's engine against Python Jinja2.

Every case under cases/*.cases is rendered twice: by Jinja2 (the oracle,
a SandboxedEnvironment with autoescape off and the connector filters and
functions defined below) and by `$WIDGETCTL render`.  The outputs must be
equal byte for byte; when Jinja2 raises, widgetctl must fail too (exit
status 1 and a `line:col: message` on stderr; the messages themselves are
not compared).

Usage:
    run.py [--widgetctl PATH] [--jinja-only] [-k SUBSTRING] [-v] [FILE...]

    --widgetctl PATH  the widgetctl binary (default: $WIDGETCTL)
    --jinja-only      render with Jinja2 only and print each case's output
                      (to check new cases before the engine runs them)
    -k SUBSTRING      only the cases whose name contains SUBSTRING
    -v                print every case, not only failures

Case file format (see cases/README): a file holds many cases.

    === name-of-case
    now: 1700000000          optional header lines, `key: value`
    var: region=eu           (repeatable) a stored variable for get_variable
    expect: error            Jinja2 must fail on this case (a sanity check)
    requires: pyjwt          skip the case when this Python module is missing
    differs: REASON          a documented difference: Jinja2 must succeed and
                             widgetctl must fail cleanly (see below)
    --- context              optional: the JSON render context (an object)
    {"items": [1, 2]}
    --- expect               optional: Jinja2's output must equal this text
    1,2
    --- template             required, and the last section of the case
    {{ items | join(',') }}

A section runs to the next `---`/`===` line or the end of the file, and
its trailing empty lines are layout, not text.  To keep trailing newlines
(or trailing blank lines) close the section with a line `--- end`: the text
before it is kept as is, except the newline just before `--- end`.  So
"{{ a }}\n\n--- end" is the template "{{ a }}\n".  A template section only
ends at `=== `, `--- end` or the end of the file.  Lines before the first
`===` are comments.

A `differs: REASON` case records a deliberate, documented difference from
Jinja2 (widgetd-templates(7), DIFFERENCES), e.g. 64-bit integers where
Python has big ints.  Jinja2 must render it (and match `--- expect` if
given); widgetctl must fail cleanly: exit status 1, a `line:col: message`
on stderr, no sanitizer report.  Such a case counts as passed and is
listed at the end under "documented differences"; if widgetctl renders
it, the case fails (the difference is gone: drop the header).  `differs`
and `expect: error` exclude each other.

The last line printed is `conformance: N passed, M failed` and the exit
status is 0 only when M is 0.
"""

import argparse
import base64
import difflib
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import jinja2
    import jinja2.sandbox
except ImportError:
    print("conformance: python3-jinja2 is missing", file=sys.stderr)
    sys.exit(77)

DEFAULT_NOW = 1700000000
HERE = os.path.dirname(os.path.abspath(__file__))


class Case:
    def __init__(self, path, line, name):
        self.path = path
        self.line = line
        self.name = name
        self.now = DEFAULT_NOW
        self.vars = {}
        self.var_order = []
        self.expect_error = False
        self.requires = []
        self.differs = None     # reason of a documented difference
        self.context_text = None
        self.context = {}
        self.expect = None
        self.template = None

    def where(self):
        return "%s:%d: %s" % (os.path.basename(self.path), self.line,
                              self.name)


class CaseError(Exception):
    pass


def parse_file(path):
    """Split one .cases file into Case objects."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = text.split("\n")
    cases = []
    case = None
    section = None      # name of the open section, or "header"
    buf = []

    def close_section(keep):
        if case is None or section in (None, "header"):
            return
        lines_ = list(buf)
        # Blank lines between cases are layout; `--- end` keeps them.
        while not keep and lines_ and lines_[-1] == "":
            lines_.pop()
        body = "\n".join(lines_)
        if section == "context":
            case.context_text = body
        elif section == "expect":
            case.expect = body
        elif section == "template":
            case.template = body
        else:
            raise CaseError("%s:%d: unknown section %r" %
                            (path, case.line, section))

    for i, line in enumerate(lines):
        lineno = i + 1
        if line.startswith("=== "):
            close_section(False)
            case = Case(path, lineno, line[4:].strip())
            cases.append(case)
            section = "header"
            buf = []
            continue
        if case is None:
            continue
        if line == "--- end":
            close_section(True)
            section = None
            buf = []
            continue
        if line.startswith("--- ") and section != "template":
            close_section(False)
            section = line[4:].strip()
            buf = []
            continue
        if section is None:
            if line.strip():
                raise CaseError("%s:%d: text after `--- end`" %
                                (path, lineno))
            continue
        if section == "header":
            if not line.strip():
                continue
            key, sep, value = line.partition(":")
            if not sep:
                raise CaseError("%s:%d: expected `key: value`" %
                                (path, lineno))
            key = key.strip()
            value = value.strip()
            if key == "now":
                case.now = int(value)
            elif key == "var":
                name, eq, val = value.partition("=")
                if not eq:
                    raise CaseError("%s:%d: var needs name=value" %
                                    (path, lineno))
                case.vars[name] = val
                case.var_order.append(name)
            elif key == "requires":
                case.requires.append(value)
            elif key == "expect" and value == "error":
                case.expect_error = True
            elif key == "differs":
                if not value:
                    raise CaseError("%s:%d: `differs:` needs a reason" %
                                    (path, lineno))
                case.differs = value
            else:
                raise CaseError("%s:%d: unknown header %r" %
                                (path, lineno, key))
            continue
        buf.append(line)
    close_section(False)
    for c in cases:
        if c.differs is not None and c.expect_error:
            raise CaseError("%s:%d: case %r has both `differs:` and "
                            "`expect: error`" % (path, c.line, c.name))
        if c.template is None:
            raise CaseError("%s:%d: case %r has no template" %
                            (path, c.line, c.name))
        if c.context_text is not None and c.context_text.strip():
            try:
                c.context = json.loads(c.context_text)
            except ValueError as e:
                raise CaseError("%s:%d: bad context JSON: %s" %
                                (path, c.line, e))
            if not isinstance(c.context, dict):
                raise CaseError("%s:%d: context must be a JSON object" %
                                (path, c.line))
    return cases


# --- The oracle ------------------------------------------------------------

class LiteralUndefined(jinja2.Undefined):
    """An undefined value that prints as the expression that produced it."""

    def __init__(self, text):
        super().__init__(hint="variable is not set")
        self._literal_text = text

    def __str__(self):
        return self._literal_text


def make_env(case):
    """A Jinja2 sandbox with the hosted product's connector extras."""
    env = jinja2.sandbox.SandboxedEnvironment(autoescape=False)

    def from_json(s):
        return json.loads(s)

    def json_encode(v):
        return json.dumps(v)

    def base64_encode(s):
        return base64.b64encode(str(s).encode("utf-8")).decode("ascii")

    def base64_decode(s):
        return base64.b64decode(str(s)).decode("utf-8")

    def get_variable(name):
        # A variable that is not set leaves its expression in the output
        # (platform-docs §12) and is undefined, so `default` replaces it:
        # what the hosted product does and widgetd's engine documents.
        if name not in case.vars:
            return LiteralUndefined("{{ get_variable('%s') }}" % name)
        return case.vars[name]

    def get_secret(name):
        # widgetctl render prints a secret as its template literal, the way
        # X-Debug-Request shows it; only plain use and concatenation are
        # modelled here.
        return "{{ get_secret('%s') }}" % name

    def now(offset=0):
        return case.now + offset

    env.filters["from_json"] = from_json
    env.filters["json_encode"] = json_encode
    env.filters["base64_encode"] = base64_encode
    env.filters["base64_decode"] = base64_decode
    env.globals["get_variable"] = get_variable
    env.globals["get_secret"] = get_secret
    env.globals["now"] = now
    try:
        import jwt as pyjwt

        def jwt_encode(payload, key, algorithm="HS256", headers=None):
            if algorithm != "HS256":
                raise ValueError("the harness only signs HS256")
            return pyjwt.encode(payload, key, algorithm=algorithm,
                                headers=headers)
        env.globals["jwt_encode"] = jwt_encode
    except ImportError:
        pass
    return env


def have_module(name):
    try:
        __import__({"pyjwt": "jwt"}.get(name, name))
        return True
    except ImportError:
        return False


def render_jinja(case):
    """Return (ok, text) where text is the output or the error message."""
    try:
        env = make_env(case)
        t = env.from_string(case.template)
        return True, t.render(**case.context)
    except Exception as e:      # any failure is an expected error
        return False, "%s: %s" % (type(e).__name__, e)


def render_widgetctl(widgetctl, case, tmpdir):
    """Return (status, stdout bytes, stderr text)."""
    tpath = os.path.join(tmpdir, "case.tmpl")
    cpath = os.path.join(tmpdir, "case.json")
    with open(tpath, "wb") as f:
        f.write(case.template.encode("utf-8"))
    with open(cpath, "w") as f:
        json.dump(case.context, f)
    # Options first: widgetctl's commands parse options before operands.
    argv = [widgetctl, "render"]
    for name in case.var_order:
        argv += ["--var", "%s=%s" % (name, case.vars[name])]
    argv += ["--now", str(case.now), tpath, cpath]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
    except subprocess.TimeoutExpired:
        return None, b"", "timed out after 30 s"
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


ERR_RE = re.compile(r"(^|\s)\d+:\d+: \S")
SAN_RE = re.compile(r"ERROR: (Address|Leak|Memory)Sanitizer|runtime error: "
                    r"|==\d+== ERROR")


def show(b):
    """Text for a diff: keep every byte visible, mark the end."""
    if isinstance(b, bytes):
        b = b.decode("utf-8", "backslashreplace")
    return [l + "\n" for l in b.split("\n")[:-1]] + [b.split("\n")[-1] + "<EOF>\n"]


def check_case(case, args, tmpdir):
    """Return None when the case passes, else a failure description."""
    ok, jout = render_jinja(case)
    if case.expect_error and ok:
        return "case is marked `expect: error` but Jinja2 rendered:\n" + jout
    if case.differs is not None and not ok:
        return ("case is marked `differs:` but Jinja2 failed: %s" % jout)
    if not case.expect_error and not ok and case.expect is not None:
        return "Jinja2 failed unexpectedly: " + jout
    if ok and case.expect is not None and jout != case.expect:
        return ("Jinja2's output differs from the case's `--- expect`:\n" +
                "".join(difflib.unified_diff(show(case.expect), show(jout),
                                             "expect", "jinja2")))
    if ok and " at 0x" in jout:
        return "Jinja2's output holds an address; the case is not deterministic"
    if args.jinja_only:
        return None
    status, out, err = render_widgetctl(args.widgetctl, case, tmpdir)
    if status is None:
        return "widgetctl " + err
    if status < 0:
        return "widgetctl died of signal %d\nstderr: %s" % (-status, err)
    # A sanitizer build exits 1 like a template error: look at what it said.
    if SAN_RE.search(err):
        return "widgetctl: sanitizer report:\n" + err
    if case.differs is not None:
        # the documented difference: widgetctl refuses what Jinja2 renders
        if status == 0:
            return ("case is marked `differs: %s` but widgetctl rendered "
                    "it:\n%s" % (case.differs,
                                 out.decode("utf-8", "backslashreplace")))
        if status != 1 or not ERR_RE.search(err):
            return ("documented difference, but widgetctl exited %d with "
                    "stderr %r (want exit 1 and `line:col: message`)" %
                    (status, err))
        return None
    if not ok:
        if status == 0:
            return ("Jinja2 fails (%s) but widgetctl rendered:\n%s" %
                    (jout, out.decode("utf-8", "backslashreplace")))
        if status != 1 or not ERR_RE.search(err):
            return ("both fail, but widgetctl exited %d with stderr %r "
                    "(want exit 1 and `line:col: message`)" % (status, err))
        return None
    if status != 0:
        return ("widgetctl failed (exit %d): %s\nJinja2 rendered:\n%s" %
                (status, err.strip(), jout))
    want = jout.encode("utf-8")
    if out != want:
        return ("output differs:\n" +
                "".join(difflib.unified_diff(show(want), show(out),
                                             "jinja2", "widgetctl")))
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--widgetctl", default=os.environ.get("WIDGETCTL"))
    ap.add_argument("--jinja-only", action="store_true")
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("-v", dest="verbose", action="store_true")
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(HERE, "cases",
                                                        "*.cases")))
    if not args.jinja_only and not args.widgetctl:
        ap.error("no widgetctl: set $WIDGETCTL or pass --widgetctl")

    cases = []
    names = set()
    try:
        for f in files:
            for c in parse_file(f):
                key = (os.path.basename(f), c.name)
                if key in names:
                    raise CaseError("%s: duplicate case name" % c.where())
                names.add(key)
                cases.append(c)
    except CaseError as e:
        print("conformance: %s" % e)
        print("conformance: 0 passed, 1 failed")
        return 1
    if args.pattern:
        cases = [c for c in cases if args.pattern in c.name]

    passed = failed = skipped = 0
    differences = []
    with tempfile.TemporaryDirectory(prefix="wd-conf.") as tmpdir:
        for c in cases:
            if any(not have_module(m) for m in c.requires):
                skipped += 1
                print("SKIP %s (needs %s)" % (c.where(), ", ".join(c.requires)))
                continue
            why = check_case(c, args, tmpdir)
            if why is None:
                passed += 1
                if args.jinja_only:
                    ok, out = render_jinja(c)
                    print("=== %s (%s)" % (c.where(),
                                           "output" if ok else "error"))
                    sys.stdout.write(out if ok else out + "\n")
                    if ok:
                        sys.stdout.write("<EOF>\n")
                elif args.verbose:
                    print("PASS %s" % c.where())
                if c.differs is not None and not args.jinja_only:
                    differences.append(c)
            else:
                failed += 1
                print("FAIL %s" % c.where())
                print("--- template:\n%s<EOF>" % c.template)
                print(why.rstrip("\n"))
                print()
            sys.stdout.flush()
    if differences:
        print("documented differences (Jinja2 renders, widgetctl refuses "
              "by design):")
        for c in differences:
            print("  %s: %s" % (c.where(), c.differs))
    if skipped:
        print("conformance: %d skipped" % skipped)
    print("conformance: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
