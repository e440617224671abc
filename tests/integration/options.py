"""Command line (SPEC §2): -V, -n with a good and a broken configuration,
usage errors; and limits.connections."""

import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Conn, Daemon, build, check

d = Daemon(workers=1)
try:
    def run(*args):
        return subprocess.run([d.binary, *args], capture_output=True,
                              text=True, timeout=30)

    r = run("-V")
    check(r.returncode == 0 and r.stdout.startswith("widgetd "),
          "-V prints the version (%r)" % r.stdout)
    # And the commit the build came from: HEAD's in a checkout, the one a
    # tarball recorded (.commit) otherwise.
    src = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    got = re.search(r"\(commit ([0-9a-f]{7,40})(-dirty)?\)$", r.stdout.strip())
    if os.path.exists(os.path.join(src, ".git")):
        head = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        check(got is not None and len(got.group(1)) >= 12 and
              head.startswith(got.group(1)),
              "-V names HEAD %s (%r)" % (head[:12], r.stdout))
    elif os.path.exists(os.path.join(src, ".commit")):
        with open(os.path.join(src, ".commit")) as f:
            want = f.read().strip()
        check(got is not None and got.group(0) == "(commit %s)" % want,
              "-V names the tarball's commit %s (%r)" % (want, r.stdout))
    else:
        check("(commit" not in r.stdout, "-V claims no commit (%r)" %
              r.stdout)
    r = run("-n", "-c", d.conf)
    check(r.returncode == 0 and r.stdout.strip() == "configuration OK",
          "-n on a valid file: configuration OK, exit 0")
    d.write_conf(broken=True)
    r = run("-n", "-c", d.conf)
    check(r.returncode == 1, "-n on a broken file: exit 1")
    check("configuration OK" not in r.stdout, "and no OK")
    check(d.conf + ":" in r.stderr, "error names file:line (%r)" % r.stderr)
    # Two errors in one file: both reported.
    with open(d.conf, "w") as f:
        f.write(d.conf_text().replace("workers = 1;", "workers = -5;")
                .replace("drain_timeout = 20;",
                         'drain_timeout = 20; idle_timeout = "x";'))
    r = run("-n", "-c", d.conf)
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) >= 2,
          "every error is printed (%r)" % r.stderr)
    # The registries a configuration names are checked too (SPEC §2).
    d.write_conf()
    d.write_registry('{\n  "connectors": [\n    ,\n  ]\n}\n')
    r = run("-n", "-c", d.conf)
    check(r.returncode == 1 and "configuration OK" not in r.stdout,
          "-n on a broken registry: exit 1")
    check(re.search(re.escape(d.registry) + r":3:\d+: ", r.stderr) is not None,
          "registry error as file:line:col (%r)" % r.stderr)
    r = run("-d", "-c", d.conf)
    check(r.returncode == 1, "start with a broken registry: exit 1")
    os.unlink(d.registry)
    r = run("-n", "-c", d.conf)
    check(r.returncode == 1 and "reg.json" in r.stderr,
          "-n with a missing registry: exit 1 (%r)" % r.stderr)
    d.write_registry('{"connectors": []}\n')
    r = run("-n", "-c", os.path.join(d.dir, "missing.conf"))
    check(r.returncode == 1 and r.stderr != "", "-n on a missing file: exit 1")
    r = run("-x")
    check(r.returncode == 1 and "usage" in r.stderr, "unknown option: usage")
    d.write_conf(broken=True)
    r = run("-d", "-c", d.conf)
    check(r.returncode == 1, "start with an invalid file: exit 1")
    r = run("-R", "parent", "-c", d.conf)
    check(r.returncode == 1, "-R with an unknown role refused")
finally:
    d.cleanup()

# limits.connections (per worker): at the limit the parent stops accepting;
# a waiting client is served as soon as a connection closes.
d = Daemon(workers=1, limits="connections = 2;")
try:
    d.start()
    a, b = Conn(d.port), Conn(d.port)
    check(a.request("GET", "/widget-service/health")[0] == 200, "first")
    check(b.request("GET", "/widget-service/health")[0] == 200, "second")
    c = Conn(d.port, timeout=1.5)
    c.send(build("GET", "/widget-service/health"))
    try:
        r = c.response()
        check(False, "third connection answered over the limit (%s)" % (r,))
    except socket.timeout:
        check(True, "third connection waits while the worker is full")
    check("not accepting" in d.logtext(), "the pause is logged")
    a.close()
    c.sock.settimeout(15)
    r = c.response()
    check(r is not None and r[0] == 200, "served once a slot is free")
    b.close()
    c.close()
    check(d.stop() == 0, "SIGTERM: exit status 0")
finally:
    d.cleanup()
