"""widgetctl secret and variable (SPEC §2, §4) end to end: values from
standard input only for secrets, the argv refusal, masking in list, -t
selection and its errors, refusals, exit codes and messages, modes and
owners, and the terminal prompt without echo."""

import os
import pty
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check

CTL = os.environ.get("WIDGETCTL") or "./widgetctl"
KEEPER = "daemon"

top = tempfile.mkdtemp(prefix="wdctl-store.")
os.chmod(top, 0o755)


def conf(name, tenants):
    path = os.path.join(top, name)
    with open(path, "w") as f:
        f.write('listen = ( { address = "127.0.0.1"; port = 8080; } );\n'
                'user = "nobody";\nkeeper_user = "%s";\n'
                "tenants = ( %s );\n" % (KEEPER, ", ".join(tenants)))
    return path


def tenant(tid, hosts=None):
    h = "" if hosts is None else "hosts = [ %s ]; " % ", ".join(
        '"%s"' % x for x in hosts)
    return ('{ id = "%s"; %sregistry = "reg.json"; store = "%s"; }'
            % (tid, h, tid))


def run(cfg, *args, data=b""):
    return subprocess.run([CTL, "-c", cfg, *args], input=data,
                          capture_output=True, timeout=30)


def content(tid, kind, name):
    with open(os.path.join(top, tid, kind, name), "rb") as f:
        return f.read()


def exists(tid, kind, name):
    return os.path.lexists(os.path.join(top, tid, kind, name))


try:
    two = conf("two.conf", [tenant("acme", ["community.acme.example"]),
                            tenant("dflt")])
    c = run(two, "secret", "set", "api_key", data=b"hunter2\n")
    check(c.returncode == 0 and c.stdout == b"" and c.stderr == b"",
          "secret set from stdin: exit 0, silent (%r)" % c.stderr)
    check(content("dflt", "secrets", "api_key") == b"hunter2",
          "one trailing newline dropped; no -t: the default tenant")
    check(not exists("acme", "secrets", "api_key"),
          "the other tenant's store untouched")
    st = os.stat(os.path.join(top, "dflt", "secrets", "api_key"))
    dst = os.stat(os.path.join(top, "dflt", "secrets"))
    check(stat.S_IMODE(st.st_mode) == 0o600 and
          stat.S_IMODE(dst.st_mode) == 0o700,
          "secret 0600 in a 0700 directory")
    if os.geteuid() == 0:
        pw = pwd.getpwnam(KEEPER)
        check(st.st_uid == pw.pw_uid and st.st_gid == pw.pw_gid and
              dst.st_uid == pw.pw_uid,
              "as root: the secret and secrets/ belong to keeper_user")
    else:
        print("skip - owners (not root)")

    # A value on the command line: refused before anything is read.
    c = run(two, "secret", "set", "api_key", "s3cr3t-on-argv")
    check(c.returncode == 2 and b"standard input only" in c.stderr and
          b"nothing was stored" in c.stderr,
          "secret value in argv: exit 2 with why (%r)" % c.stderr)
    check(b"s3cr3t-on-argv" not in c.stderr + c.stdout,
          "and the value is not repeated")
    check(content("dflt", "secrets", "api_key") == b"hunter2",
          "and the stored value is unchanged")

    c = run(two, "secret", "set", "-r", "pem", data=b"-----KEY-----\n")
    check(c.returncode == 0 and
          content("dflt", "secrets", "pem") == b"-----KEY-----\n",
          "-r keeps the trailing newline")
    run(two, "secret", "set", "longer_one", data=b"x" * 5000)
    run(two, "secret", "set", "utf", data="\u00e9clair".encode())
    run(two, "secret", "set", "space", data=b" leading")
    c = run(two, "secret", "list")
    check(c.returncode == 0, "secret list: exit 0")
    check(c.stdout == ("api_key\th*******\nlonger_one\tx*******\n"
                       "pem\t-*******\nspace\t?*******\n"
                       "utf\t\u00e9*******\n").encode(),
          "list: sorted, the first character and a fixed mask (%r)"
          % c.stdout)
    check(b"hunter2" not in c.stdout and b"KEY" not in c.stdout,
          "list shows no value")

    # Tenant selection.
    c = run(two, "secret", "list", "-t", "acme")
    check(c.returncode == 1 and (os.path.join(top, "acme") +
                                 ": No such file").encode() in c.stderr,
          "-t acme: its own store, not made yet: exit 1 (%r)" % c.stderr)
    c = run(two, "secret", "set", "-t", "acme", "api_key", data=b"acme\n")
    check(c.returncode == 0 and
          content("acme", "secrets", "api_key") == b"acme" and
          content("dflt", "secrets", "api_key") == b"hunter2",
          "-t acme writes acme's store only")
    c = run(two, "secret", "list", "-t", "acme")
    check(c.returncode == 0 and c.stdout == b"api_key\ta*******\n",
          "-t acme lists acme's")
    c = run(two, "secret", "list", "-t", "nope")
    check(c.returncode == 1 and
          b"no tenant 'nope' in " + two.encode() +
          b" (tenants: acme, dflt)" in c.stderr,
          "unknown -t: exit 1, the choices named (%r)" % c.stderr)
    nodef = conf("nodef.conf", [tenant("a", ["a.example"]),
                                tenant("b", ["b.example"])])
    c = run(nodef, "variable", "list")
    check(c.returncode == 1 and
          b"several tenants and no default one; name one with -t "
          b"(tenants: a, b)" in c.stderr,
          "no -t, no default: exit 1 naming the choices (%r)" % c.stderr)
    c = run(nodef, "variable", "set", "-t", "b", "x", "1")
    check(c.returncode == 0 and content("b", "variables", "x") == b"1",
          "... and with -t it works")
    one = conf("one.conf", [tenant("solo", ["solo.example"])])
    c = run(one, "variable", "set", "x", "2")
    check(c.returncode == 0 and content("solo", "variables", "x") == b"2",
          "the only tenant needs no -t, even with hosts")

    # Variables: argv or stdin, get, list with control bytes escaped.
    c = run(two, "variable", "set", "region", "eu-west-1")
    check(c.returncode == 0 and
          content("dflt", "variables", "region") == b"eu-west-1",
          "variable set from argv")
    vst = os.stat(os.path.join(top, "dflt", "variables", "region"))
    vdst = os.stat(os.path.join(top, "dflt", "variables"))
    check(stat.S_IMODE(vst.st_mode) == 0o644 and
          stat.S_IMODE(vdst.st_mode) == 0o755,
          "variable 0644 in a 0755 directory")
    c = run(two, "variable", "set", "multi", data=b"a\tb\\c\nd\n")
    check(c.returncode == 0 and
          content("dflt", "variables", "multi") == b"a\tb\\c\nd",
          "variable set from stdin, one newline dropped")
    c = run(two, "variable", "get", "multi")
    check(c.returncode == 0 and c.stdout == b"a\tb\\c\nd\n",
          "get: the exact value and a newline")
    c = run(two, "variable", "list")
    check(c.returncode == 0 and
          c.stdout == b"multi\ta\\tb\\\\c\\nd\nregion\teu-west-1\n",
          "variable list: name, tab, escaped value (%r)" % c.stdout)
    c = run(two, "variable", "get", "nope")
    check(c.returncode == 1 and
          b"no variable 'nope' in tenant 'dflt'" in c.stderr,
          "get of a missing variable: exit 1")
    c = run(two, "variable", "get", "multi", "extra")
    check(c.returncode == 2 and b"usage:" in c.stderr, "get NAME VALUE: usage")

    # Refusals: exit 1 with the reason; nothing changes.
    c = run(two, "secret", "set", "api-key", data=b"x")
    check(c.returncode == 1 and
          b"'api-key' is not a valid name" in c.stderr,
          "bad name: exit 1 (%r)" % c.stderr)
    c = run(two, "secret", "set", "empty", data=b"\n")
    check(c.returncode == 1 and b"an empty value is refused" in c.stderr and
          not exists("dflt", "secrets", "empty"),
          "empty value: exit 1 (%r)" % c.stderr)
    c = run(two, "variable", "set", "e", "")
    check(c.returncode == 1 and b"an empty value is refused" in c.stderr,
          "empty variable from argv: exit 1")
    c = run(two, "secret", "set", "region", data=b"x")
    check(c.returncode == 1 and
          b"'region' is already a variable" in c.stderr and
          not exists("dflt", "secrets", "region"),
          "a variable's name as a secret: exit 1 (%r)" % c.stderr)
    c = run(two, "variable", "set", "api_key", "x")
    check(c.returncode == 1 and b"'api_key' is already a secret" in c.stderr,
          "a secret's name as a variable: exit 1")
    c = run(two, "secret", "set", "big", data=b"x" * 65537)
    check(c.returncode == 1 and b"longer than 65536 bytes" in c.stderr and
          not exists("dflt", "secrets", "big"),
          "over 65536 bytes: exit 1 (%r)" % c.stderr)
    c = run(two, "secret", "set", "big", data=b"x" * 65536 + b"\n")
    check(c.returncode == 0 and
          len(content("dflt", "secrets", "big")) == 65536,
          "65536 bytes and a newline: stored")

    # rm.
    c = run(two, "secret", "rm", "big")
    check(c.returncode == 0 and not exists("dflt", "secrets", "big"),
          "secret rm: gone")
    c = run(two, "secret", "rm", "big")
    check(c.returncode == 1 and
          b"no secret 'big' in tenant 'dflt'" in c.stderr,
          "rm of a missing name: exit 1 (%r)" % c.stderr)
    c = run(two, "variable", "rm", "region")
    check(c.returncode == 0 and not exists("dflt", "variables", "region"),
          "variable rm")
    c = run(two, "secret", "set", "region", data=b"now-secret")
    check(c.returncode == 0, "once removed, the name may change kind")

    # Usage errors: exit 2.
    for args in (["secret"], ["secret", "get", "api_key"],
                 ["secret", "frob"], ["secret", "set"],
                 ["secret", "rm", "a", "b"], ["secret", "list", "x"],
                 ["secret", "rm", "-r", "a"], ["variable", "set"],
                 ["variable", "set", "a", "b", "c"]):
        c = run(two, *args)
        check(c.returncode == 2 and b"usage:" in c.stderr,
              "%s: usage, exit 2" % " ".join(args))

    # A configuration that does not load.
    c = run(os.path.join(top, "missing.conf"), "secret", "list")
    check(c.returncode == 1 and b"invalid configuration" in c.stderr,
          "missing configuration: exit 1")

    # An entry the daemon would refuse: listed as a problem, exit 1.
    os.mkdir(os.path.join(top, "dflt", "secrets", "adir"))
    c = run(two, "secret", "list")
    check(c.returncode == 1 and b"api_key\th*******\n" in c.stdout and
          b"secrets/adir: a directory, not a regular file" in c.stderr,
          "list with a bad entry: the rest listed, exit 1 (%r)" % c.stderr)
    os.rmdir(os.path.join(top, "dflt", "secrets", "adir"))

    # A terminal: a secret is asked for without echo; a variable echoes.
    def on_tty(args, typed):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(CTL, [CTL, "-c", two, *args])
        out = b""
        deadline = time.monotonic() + 20
        while b"': " not in out and time.monotonic() < deadline:
            out += os.read(fd, 1024)
        os.write(fd, typed)
        while True:
            try:
                b = os.read(fd, 1024)
            except OSError:
                break
            if not b:
                break
            out += b
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status), out

    code, out = on_tty(["secret", "set", "typed"], b"t-y-p-e-d\n")
    check(code == 0 and b"secret 'typed': " in out,
          "a terminal is prompted (%r)" % out)
    check(b"t-y-p-e-d" not in out, "and the secret is not echoed")
    check(content("dflt", "secrets", "typed") == b"t-y-p-e-d",
          "the line is stored without its newline")
    code, out = on_tty(["variable", "set", "shown"], b"v-i-s-i-b-l-e\n")
    check(code == 0 and b"v-i-s-i-b-l-e" in out and
          content("dflt", "variables", "shown") == b"v-i-s-i-b-l-e",
          "a variable typed on a terminal is echoed and stored")
finally:
    shutil.rmtree(top, ignore_errors=True)
