"""The control socket end to end (issue 7, SPEC §2) against a real daemon:
widgetctl status (processes, respawns after a kill, per-connector
counters equal to the calls this test made, by status), reload (good;
bad, with every error as file:line and exit 1 while the old
configuration keeps serving), -s, the socket's mode and a non-root peer
refused, secret set while running (the next call carries the new value,
through either keeper), variable set (a new generation, the next call
carries it), a reload that moves control_socket, and stop (clean exit,
socket removed)."""

import json
import os
import pwd
import re
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import Upstream
from wdtest import (TEST_EGRESS, Conn, Daemon, check, fail, free_port,
                    served_by, wait_for)

T0 = time.monotonic()
CTL = os.environ.get("WIDGETCTL") or "./widgetctl"
up = Upstream()
up.route("/fail", lambda req: (500, {}, b"upstream broke"))

SECRET1 = "first-secret-value-0123"
SECRET2 = "second-secret-value-4567"


def ctl_s(sock, *args, user=None):
    """widgetctl -s sock (no configuration at all)."""
    pre = None
    if user is not None:
        pw = pwd.getpwnam(user)

        def pre():
            os.setgid(pw.pw_gid)
            os.setgroups([])
            os.setuid(pw.pw_uid)
    return subprocess.run([CTL, "-s", sock, *args], capture_output=True,
                          timeout=60, preexec_fn=pre)


def status(d):
    r = d.widgetctl("status", "--json")
    if r.returncode != 0:
        fail("status: %r" % r.stderr)
    return json.loads(r.stdout)


def connectors(d, extra=()):
    d.connectors(
        {"name": "Echo", "permalink": "echo", "method": "GET",
         "url": up.url("/echo"), "query_parameters": [
             {"key": "region", "value": "{{ get_variable('region') }}"}]},
        {"name": "Fail", "permalink": "fail", "method": "GET",
         "url": up.url("/fail")},
        {"name": "Down", "permalink": "down", "method": "GET",
         "url": "http://127.0.0.1:%d/nobody" % DEAD_PORT},
        {"name": "Post", "permalink": "post", "method": "POST",
         "url": up.url("/post")},
        {"name": "Keyed", "permalink": "keyed", "method": "GET",
         "url": up.url("/keyed"),
         "authentication": {"type": "api_key", "config": {
             "key": "X-Api-Key", "value": "{{ get_secret('key') }}",
             "in": "header"}}},
        *extra)


def execute(d, permalink, method="GET"):
    return d.call(method, "/widget-service/connectors/%s/execute" %
                  permalink)[0]


DEAD_PORT = free_port()     # nothing listens there: 502
d = Daemon(workers=2, keepers=2, egress=TEST_EGRESS)
try:
    connectors(d)
    d.set_secret("key", SECRET1)
    d.set_variable("region", "eu-1")
    d.start()
    sock = os.path.join(d.rundir, "control.sock")

    # --- the socket: mode, owner, -s, a non-root peer ------------------
    sst = os.lstat(sock)
    check(stat.S_ISSOCK(sst.st_mode) and stat.S_IMODE(sst.st_mode) == 0o600
          and sst.st_uid == os.geteuid(),
          "control socket %o, owned by uid %d" % (stat.S_IMODE(sst.st_mode),
                                                  sst.st_uid))
    r = ctl_s(sock, "status", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["pid"] == d.proc.pid,
          "widgetctl -s SOCKET status, without a configuration")
    r = ctl_s(sock + ".nope", "status")
    check(r.returncode == 3 and b"not running" in r.stderr,
          "-s naming no socket: 'not running', exit 3")
    if os.geteuid() == 0:
        r = ctl_s(sock, "status", user="nobody")
        check(r.returncode == 1 and b"permission denied" in r.stderr,
              "nobody: the 0600 socket refuses the connection (%s)" %
              r.stderr.decode().strip())
        # Past the mode, the daemon's own check (SO_PEERCRED) refuses.
        os.chmod(sock, 0o666)
        r = ctl_s(sock, "reload", user="nobody")
        os.chmod(sock, 0o600)
        uid = pwd.getpwnam("nobody").pw_uid
        check(r.returncode == 1 and b"permission denied" in r.stderr,
              "nobody through a 0666 socket: the daemon answers "
              "'permission denied' (%s)" % r.stderr.decode().strip())
        check(wait_for(lambda: re.search(r"control: .*uid %d" % uid,
                                         d.logtext()), 5),
              "the refusal is logged with the peer's uid")
        check(status(d)["generation"] == 1, "and nothing was reloaded")

    # --- status: per-connector counters --------------------------------
    made = {}
    for permalink, method, n in (("echo", "GET", 3), ("fail", "GET", 2),
                                 ("down", "GET", 2), ("post", "GET", 1),
                                 ("keyed", "GET", 1), ("echo", "POST", 1)):
        for _ in range(n):
            s = execute(d, permalink, method)
            made.setdefault(permalink, {})
            made[permalink][str(s)] = made[permalink].get(str(s), 0) + 1
    execute(d, "no-such-connector")
    check(made == {"echo": {"200": 3, "400": 1}, "fail": {"500": 2},
                   "down": {"502": 2}, "post": {"400": 1},
                   "keyed": {"200": 1}},
          "calls made: %s" % made)
    st = status(d)
    rows = {c["permalink"]: c for c in st["connectors"]}
    for permalink, codes in made.items():
        row = rows.get(permalink)
        check(row is not None and row["status"] == codes and
              row["calls"] == sum(codes.values()) and row["tenant"] == "test"
              and row["kind"] == "connector",
              "status --json: %s %s" % (permalink, row and row["status"]))
        # widgetd's own error answers; the upstream's 500, passed
        # through, is the upstream's answer.
        errs = sum(v for k, v in codes.items()
                   if int(k) >= 400 and permalink != "fail")
        check(row["errors"] == errs, "%s: errors %d (its own error "
              "answers)" % (permalink, errs))
    check(rows["down"]["upstream_errors"] == 2 and
          rows["echo"]["upstream_errors"] == 0 and
          rows["fail"]["upstream_errors"] == 0,
          "upstream_errors: the two calls that reached no upstream")
    check("no-such-connector" not in rows, "no row for an unknown permalink")
    r = d.widgetctl("status")
    text = r.stdout.decode()
    check(re.search(r"^widgetd pid %d, up \d+s, generation 1, configuration "
                    "%s$" % (d.proc.pid, re.escape(d.conf)), text, re.M),
          "status: the header line (%s)" % text.splitlines()[0])
    # CACHE-HITS UPSTREAM RETRIES REFUSED come from the pushed metrics.
    check(re.search(r"^test\s+echo\s+connector\s+4\s+1\s+0\s+\S+\s+\S+\s+"
                    r"\S+\s+\S+\s+200:3 400:1$", text, re.M) and
          re.search(r"^test\s+down\s+connector\s+2\s+2\s+2\s+\S+\s+\S+\s+"
                    r"\S+\s+\S+\s+502:2$", text, re.M),
          "status: the connector table")

    # --- status: processes, after a kill ------------------------------
    procs = {(p["role"], p["slot"]): p for p in st["processes"]}
    check(sorted(procs) == [("keeper", 0), ("keeper", 1), ("worker", 0),
                            ("worker", 1)] and
          set(p["pid"] for p in procs.values()) == set(d.children()),
          "status: a keeper 0, a keeper 1, workers 0 and 1, with their pids")
    check(all(p["respawns"] == 0 and p["generation"] == 1 and
              0 < p["uptime_s"] < time.monotonic() - T0 + 1
              for p in procs.values()), "status: uptimes, no respawns yet")
    check(procs[("worker", 0)]["keeper"] == 0 and
          procs[("worker", 1)]["keeper"] == 1, "status: each worker's keeper")
    victim = procs[("worker", 1)]["pid"]
    time.sleep(1.1)
    os.kill(victim, signal.SIGKILL)
    t_kill = time.monotonic()
    check(wait_for(lambda: victim not in d.children() and d.all_ready(), 20),
          "worker 1 killed and started again")
    st2 = status(d)
    since = time.monotonic() - t_kill
    p2 = {(p["role"], p["slot"]): p for p in st2["processes"]}
    # Worker 1's uptime counts from its new start, after the kill;
    # worker 0's from before the test slept 1.1 s.
    check(p2[("worker", 1)]["pid"] != victim and
          p2[("worker", 1)]["respawns"] == 1 and
          p2[("worker", 1)]["uptime_s"] <= since and
          p2[("worker", 0)]["uptime_s"] > since + 1.0 and
          p2[("worker", 0)]["respawns"] == 0,
          "status: worker 1 has a new pid, 1 respawn and a new uptime "
          "(%.2f s; worker 0 %.2f s)" % (p2[("worker", 1)]["uptime_s"],
                                         p2[("worker", 0)]["uptime_s"]))
    r = d.widgetctl("status")
    check(re.search(r"^worker\s+1\s+%d\s+\d+s\s+1\s+1\s+\d+\s+1$" %
                    p2[("worker", 1)]["pid"], r.stdout.decode(), re.M),
          "status table: worker 1's row")

    # --- secret set while running -------------------------------------
    # A call through each worker, so each keeper is asked.
    def keyed_through_each_worker():
        wpids = set(d.children("worker"))
        seen, conns = set(), []
        for _ in range(20):
            if seen == wpids:
                break
            c = Conn(d.port)
            conns.append(c)
            s, _, _ = c.request("GET",
                                "/widget-service/connectors/keyed/execute")
            if s != 200:
                fail("keyed: %d" % s)
            seen.add(served_by(d, c, wpids))
        for c in conns:
            c.close()
        return seen == wpids

    up.reset()
    check(keyed_through_each_worker() and
          {r.header("x-api-key") for r in up.seen("/keyed")} == {SECRET1},
          "before: both keepers send the first secret")
    r = d.widgetctl("secret", "set", "key", stdin=SECRET2.encode())
    check(r.returncode == 0, "widgetctl secret set key (%s)" %
          r.stderr.decode().strip())
    up.reset()
    check(keyed_through_each_worker() and
          {r.header("x-api-key") for r in up.seen("/keyed")} == {SECRET2},
          "right after: both keepers send the new secret")
    check(SECRET2 not in d.logtext() and SECRET1 not in d.logtext(),
          "no secret in the log")
    check(status(d)["generation"] == 1, "a secret needs no new generation")

    # A variable goes through a new generation (a reload).
    r = d.widgetctl("variable", "set", "region", "us-2")
    check(r.returncode == 0 and status(d)["generation"] == 2,
          "variable set: a new generation (%s)" % r.stderr.decode().strip())
    up.reset()
    check(execute(d, "echo") == 200 and
          up.seen("/echo")[-1].query == "region=us-2",
          "right after: the call carries the new variable")

    # --- reload: good, then bad ----------------------------------------
    connectors(d, extra=({"name": "New", "permalink": "new",
                          "method": "GET", "url": up.url("/new")},))
    r = d.widgetctl("reload")
    check(r.returncode == 0 and r.stdout == b"reloaded: generation 3\n",
          "reload: %r" % r.stdout)
    check(execute(d, "new") == 200, "the new connector answers")

    # A registry with two errors: both, as file:line:col, exit 1.
    good_registry = open(d.registry).read()
    doc = json.loads(good_registry)
    doc["connectors"].append({"name": "Bad", "permalink": "bad",
                              "method": "GET", "url": "ftp://x/"})
    doc["connectors"].append({"name": "Bad2", "permalink": "bad2",
                              "method": "FETCH", "url": up.url("/b")})
    d.write_registry(json.dumps(doc, indent=1))
    r = d.widgetctl("reload")
    err = r.stderr.decode()
    lines = [x for x in err.splitlines() if x.startswith(d.registry + ":")]
    check(r.returncode == 1 and len(lines) >= 2 and
          all(re.match(re.escape(d.registry) + r":\d+:\d+: ", x)
              for x in lines),
          "bad registry: exit 1, each error as file:line:col (%s)" %
          " | ".join(err.splitlines()))
    check(r.stdout == b"", "nothing on standard output")
    check(execute(d, "new") == 200 and execute(d, "bad") == 404 and
          status(d)["generation"] == 3, "generation 3 keeps serving")
    d.write_registry(good_registry)

    # A configuration with an error: widgetctl -c cannot read it either.
    d.limits = "request_body = 0;"
    d.write_conf()
    r = d.widgetctl("reload")
    check(r.returncode == 1 and b"limits.request_body" in r.stderr and
          b"-s" in r.stderr, "widgetctl -c a broken file: its errors, and "
          "asks for -s (%s)" % r.stderr.decode().strip().replace("\n", " | "))
    r = ctl_s(sock, "reload")
    err = r.stderr.decode()
    check(r.returncode == 1 and re.search(
        "^" + re.escape(d.conf) + r":\d+: limits\.request_body: ", err, re.M),
        "with -s: the daemon refuses, file:line (%s)" %
        err.strip().replace("\n", " | "))
    r = ctl_s(sock, "status", "--json")
    check(execute(d, "new") == 200 and
          json.loads(r.stdout)["generation"] == 3,
          "generation 3 keeps serving")
    d.limits = ""

    # --- a reload that moves the control socket ------------------------
    moved = os.path.join(d.dir, "run2", "ctl.sock")
    d.extra = 'control_socket = "%s";' % moved
    text = d.conf_text().replace('control_socket = "%s/control.sock";\n' %
                                 d.rundir, "")
    with open(d.conf, "w") as f:
        f.write(text)
    r = ctl_s(sock, "reload")
    check(r.returncode == 0 and r.stdout == b"reloaded: generation 4\n",
          "reload moving control_socket answered on the old socket (%r %r)"
          % (r.stdout, r.stderr))
    check(wait_for(lambda: not os.path.exists(sock), 5),
          "the old socket is removed")
    mst = os.lstat(moved)
    check(stat.S_IMODE(mst.st_mode) == 0o600 and
          stat.S_IMODE(os.stat(os.path.dirname(moved)).st_mode) == 0o755,
          "the new one is 0600 in a new 0755 directory")
    check(d.widgetctl("status").returncode == 0,
          "widgetctl -c finds the new socket")
    check(ctl_s(sock, "status").returncode == 3,
          "the old path: 'not running'")

    # --- stop -----------------------------------------------------------
    t = time.monotonic()
    r = d.widgetctl("stop", "-w")
    check(r.returncode == 0, "widgetctl stop -w (%.2f s)" %
          (time.monotonic() - t))
    check(d.proc.wait(10) == 0, "the daemon exited 0")
    check(not os.path.exists(moved), "the socket is removed")
    check(not d.children(), "no child left")
    check(d.widgetctl("status").returncode == 3, "status: not running")
finally:
    d.cleanup()
    up.close()
    print("# control: %.1f s" % (time.monotonic() - T0))
