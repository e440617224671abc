"""A configuration edited without a reload changes nothing (issue 7), not
even for processes started again after a crash: every worker and the
keeper are killed (SIGKILL) after widgetd.conf, the registry and the
variables were changed on disk, and the replacements still run the
generation the parent validated: the old connectors (one removed on disk
still answers, one added is still unknown), the old variables (one names
the upstream's origin, which the keeper checks, the other a query
value), the old limits (a worker's request_body, the keeper's
upstream_body).  The same after a broken edit.  Only a reload brings in
the new files.

And children never open a configuration file: strace -f follows the
daemon while its children are started again and records every open of
the configuration, the registry, the variables or the directories that
hold them, and no child's descriptor is such a file."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import TEST_EGRESS, Daemon, check, envelope, fail, wait_for

T0 = time.monotonic()
up1, up2 = Upstream(), Upstream()
for up, name in ((up1, "one"), (up2, "two")):
    up.route("/", (lambda n: lambda req: (
        200, {"Content-Type": "application/json"},
        json.dumps({"upstream": n, "path": req.path, "query": req.query,
                    "pad": "p" * 600}).encode()))(name))
# Small answers: within either generation's upstream_body.
up1.route("/post", lambda req: (200, {}, b"posted"))
up1.route("/only-", lambda req: (200, {}, b"only"))


def registry(version):
    conns = [{"name": "Conn", "permalink": "conn", "method": "GET",
              "url": "{{ get_variable('base') }}/%s" % version,
              "query_parameters": [
                  {"key": "tag", "value": "{{ get_variable('tag') }}"}]},
             {"name": "Post", "permalink": "post", "method": "POST",
              "url": up1.url("/post")}]
    conns.append({"name": "Only " + version, "method": "GET",
                  "permalink": "only-" + version,
                  "url": up1.url("/only-" + version)})
    return conns


def limits(version):
    # v1: small request bodies, big upstream answers; v2 the reverse.
    return ("request_body = 1000; upstream_body = 100000;" if version == "v1"
            else "request_body = 100000; upstream_body = 100;")


def write(d, version):
    d.limits = limits(version)
    d.write_conf()
    d.connectors(*registry(version))
    up = up1 if version == "v1" else up2
    d.set_variable("base", "http://127.0.0.1:%d" % up.port)
    d.set_variable("tag", "tag-" + version)


def call(d, permalink, method="GET", body=b""):
    return d.call(method, "/widget-service/connectors/%s/execute" %
                  permalink, ["Content-Type: application/json"]
                  if body else [], body)


def behaves(d, version, why):
    """Every call answers as the generation of version would."""
    st, _, b = call(d, "conn")
    if version == "v1":
        ok = st == 200 and json.loads(b)["upstream"] == "one"
        want = "upstream one"
    else:
        ok = st == 502      # the new upstream_body is 100 bytes
        want = "502 (upstream_body 100)"
    check(ok, "%s: conn -> %s (%d %s)" % (why, want, st, b[:80]))
    if version == "v1":
        doc = json.loads(b)
        check(doc["path"] == "/v1" and doc["query"] == "tag=tag-v1",
              "%s: old URL and old variable (%s?%s)" % (why, doc["path"],
                                                        doc["query"]))
        check(up1.seen("/v1") and not up2.seen("/"),
              "%s: the new upstream was never called" % why)
    st, _, b = call(d, "post", "POST", b'{"x": "%s"}' % (b"y" * 5000))
    check(st == (413 if version == "v1" else 200),
          "%s: a 5 kB body -> %d (request_body %s)" % (
              why, st, "1000" if version == "v1" else "100000"))
    for v in ("v1", "v2"):
        st, _, b = call(d, "only-" + v)
        if v == version:
            check(st == 200, "%s: only-%s answers" % (why, v))
        else:
            check(st == 404 and envelope(b)[0] == "CONNECTOR_NOT_FOUND",
                  "%s: only-%s is unknown" % (why, v))


def respawn_all(d, why):
    """SIGKILL every child; wait until all are back and serving."""
    old = set(d.children())
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    check(wait_for(lambda: not (set(d.children()) & old) and d.all_ready(),
                   20), "%s: every worker and the keeper started again" % why)
    return old


def opened_paths(trace, parent):
    """[(pid, path)] of successful opens in an strace -f -o log (a call
    strace splits into "<unfinished ...>" and "resumed>" lines too)."""
    out, pending = [], {}
    with open(trace) as f:
        for line in f:
            parts = line.split(None, 1)
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            pid, rest = int(parts[0]), parts[1]
            if "resumed>" in rest:
                path = pending.pop(pid, None)
            elif "open" in rest and '"' in rest:
                path = rest.split('"')[1]
                if "<unfinished" in rest:
                    pending[pid] = path
                    continue
            else:
                continue
            if path is not None and "= -1" not in rest:
                out.append((pid, path))
    return out


def is_config(path):
    """A file of the configuration, by any name an open may use (the
    variables are opened relative to their directory)."""
    return os.path.basename(path.rstrip("/")) in (
        "widgetd.conf", "reg.json", "variables", "base", "tag")


def strace_start(d, trace):
    p = subprocess.Popen(
        ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2",
         "-o", trace, "-p", str(d.proc.pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Attached once the parent shows a tracer.
    check(wait_for(lambda: open("/proc/%d/status" % d.proc.pid).read()
                   .split("TracerPid:")[1].split()[0] != "0", 10),
          "strace is following the daemon")
    return p


def strace_stop(p):
    p.send_signal(signal.SIGINT)
    p.wait(10)


d = Daemon(workers=2, egress=TEST_EGRESS)
strace = None
try:
    write(d, "v1")
    d.start()
    behaves(d, "v1", "at start")

    # Everything on disk changes; nobody reloads.  Every child dies and
    # is started again, followed by strace.
    write(d, "v2")
    trace = os.path.join(d.dir, "strace.log")
    if shutil.which("strace"):
        strace = strace_start(d, trace)
    old = respawn_all(d, "edited, not reloaded")
    # Calls of the new children, still under strace.
    behaves(d, "v1", "after the respawn")
    kids = set(d.children())
    if strace is not None:
        strace_stop(strace)
        strace = None
        opens = opened_paths(trace, d.proc.pid)
        child_opens = [(p, f) for p, f in opens if p != d.proc.pid]
        check(child_opens, "strace saw the new children's own opens (%d)"
              % len(child_opens))
        bad = [(p, f) for p, f in opens if is_config(f)]
        check(not bad, "no process opened the configuration, the registry "
              "or a variable while children were started again (%s)" % bad)
    else:
        print("# strace missing: only descriptors are checked")
    # No child holds a configuration file open either.
    for pid in kids:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            # Standard error is the log file the test gave widgetd -d.
            if int(fd) <= 2 and target in (d.logpath, "/dev/null"):
                continue
            if target.startswith(d.dir) or target.endswith(".json") or \
                    target.endswith(".conf"):
                fail("child %d holds %s" % (pid, target))
    check(True, "no child holds a file of the configuration open")

    # A broken edit on disk, and everything dies again: nothing breaks.
    with open(d.conf, "a") as f:
        f.write("workers = = 3;\n")
    d.write_registry('{"connectors": [ {"name": 1} ]\n')
    d.set_variable("base", "file:///etc/passwd")
    respawn_all(d, "broken on disk")
    behaves(d, "v1", "after a broken edit and a respawn")
    # widgetctl cannot read the broken file either: -s names the socket.
    sock = os.path.join(d.rundir, "control.sock")
    check(d.widgetctl("-s", sock, "status").returncode == 0,
          "status still answers")
    check("crash loop" not in d.logtext(), "no crash loop")

    # A reload of the broken files is refused: still v1.
    r = d.widgetctl("-s", sock, "reload")
    err = r.stderr.decode()
    check(r.returncode == 1 and "widgetd.conf:" in err and "reg.json" not in
          err, "reload of the broken files refused, naming widgetd.conf "
          "(%s)" % err.strip().replace("\n", " | "))
    behaves(d, "v1", "after a refused reload")

    # The good new files, and a reload (under strace: the parent reads
    # them, which shows the trace would see an open; no child does).
    write(d, "v2")
    if shutil.which("strace"):
        trace = os.path.join(d.dir, "strace2.log")
        strace = strace_start(d, trace)
    r = d.widgetctl("reload")
    check(r.returncode == 0, "reload of v2: %s" % r.stdout.decode().strip())
    if strace is not None:
        strace_stop(strace)
        strace = None
        opens = opened_paths(trace, d.proc.pid)
        mine = {f for p, f in opens if p == d.proc.pid and is_config(f)}
        check({d.conf, d.registry} <= mine and "tag" in
              {os.path.basename(f) for f in mine},
              "reload: strace saw the parent open the files (%s)" %
              sorted(mine))
        bad = [(p, f) for p, f in opens if p != d.proc.pid and is_config(f)]
        check(not bad, "reload: no child opened one (%s)" % bad)
    behaves(d, "v2", "reloaded")
    check(up2.seen("/v2")[-1].query == "tag=tag-v2",
          "reloaded: the new origin and the new variable")
    # A respawn now keeps v2 (the generation in force, not the first).
    respawn_all(d, "after the reload")
    behaves(d, "v2", "after the reload and a respawn")
    log = d.logtext()
    check("evicted" not in log, "no worker was evicted by a keeper")
finally:
    if strace is not None:
        strace.kill()
        strace.wait()
    d.cleanup()
    up1.close()
    up2.close()
    print("# snapshot: %.1f s" % (time.monotonic() - T0))
