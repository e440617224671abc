"""widgetctl reload, status and stop (SPEC §2) against a fake daemon: a
UNIX socket in this process that records each request line and answers
with a canned reply, so that widgetctl's output, exit statuses and error
messages are checked without a running widgetd."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import check

WIDGETCTL = os.environ.get("WIDGETCTL") or "./widgetctl"


class FakeDaemon:
    """Serves path; replies maps a command to the bytes sent back (None:
    close without a word).  after(request) runs once a reply is sent."""

    def __init__(self, path, replies, after=None):
        self.path = path
        self.replies = replies
        self.after = after
        self.requests = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o600)
        self.sock.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                line = b""
                while not line.endswith(b"\n"):
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    line += chunk
                if not line:
                    continue        # stop -w probing: connect, close
                req = json.loads(line)
                self.requests.append(req)
                reply = self.replies.get(req.get("command"))
                if reply is not None:
                    c.sendall(reply)
            if self.after:
                self.after(req)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def ctl(*args, preexec=None):
    return subprocess.run([WIDGETCTL, *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=preexec)


STATUS = {
    "ok": True, "pid": 4242, "uptime_s": 86400 * 2 + 3600 * 5 + 7,
    "generation": 7, "config": "/etc/widgetd.conf",
    "cache": {"hits": 10, "misses": 2},         # later issues: ignored
    "processes": [
        {"role": "keeper", "slot": 0, "pid": 4243, "uptime_s": 42,
         "respawns": 1, "generation": 7, "queue": 3},
        {"role": "worker", "slot": 0, "pid": 4250, "uptime_s": 125,
         "respawns": 0, "generation": 7, "connections": 12, "keeper": 0},
        {"role": "worker", "slot": 1, "pid": 4251, "uptime_s": 3599,
         "respawns": 2, "generation": 6, "connections": 0, "keeper": 0},
    ],
    "connectors": [
        {"tenant": "acme", "permalink": "weather-api", "kind": "connector",
         "calls": 1500, "errors": 12, "upstream_errors": 4,
         "status": {"200": 1488, "502": 4, "404": 8}, "cache_hits": 9,
         "future_counter": 1},
        {"tenant": "globex", "permalink": "dashboard", "kind": "composite",
         "calls": 3, "errors": 0, "upstream_errors": 0,
         "status": {"200": 3}},
    ],
}

STATUS_TEXT = """\
widgetd pid 4242, up 2d05h, generation 7, configuration /etc/widgetd.conf

ROLE    SLOT   PID  UPTIME  RESPAWNS  GEN  CONNS  KEEPER
keeper     0  4243     42s         1    7      -       -
worker     0  4250   2m05s         0    7     12       0
worker     1  4251  59m59s         2    6      0       0

TENANT  CONNECTOR    KIND       CALLS  ERRORS  UPSTREAM-ERRORS  CACHE-HITS  UPSTREAM  RETRIES  REFUSED  STATUS
acme    weather-api  connector   1500      12                4           9         -        -        -  200:1488 404:8 502:4
globex  dashboard    composite      3       0                0           -         -        -        -  200:3
"""


def line(obj):
    return (json.dumps(obj) + "\n").encode()


tmp = tempfile.mkdtemp(prefix="widgetctl-it.")
os.chmod(tmp, 0o755)
sock = os.path.join(tmp, "ctl.sock")

# status: the tables, unknown members ignored; --json as it came.
d = FakeDaemon(sock, {"status": line(STATUS)})
r = ctl("-s", sock, "status")
check(r.returncode == 0, "status exits 0 (%r)" % r.stderr)
check(d.requests == [{"command": "status"}], "status sends {command: status}")
if r.stdout != STATUS_TEXT:
    print(r.stdout)
check(r.stdout == STATUS_TEXT, "status prints processes and connectors")
r = ctl("-s", sock, "status", "--json")
check(r.returncode == 0 and json.loads(r.stdout) == STATUS,
      "status --json prints the reply")
r = ctl("-s", sock, "status", "extra")
check(r.returncode == 2 and "usage: widgetctl status" in r.stderr,
      "status with an operand: usage, exit 2")
d.close()

# reload: the generation, or the daemon's errors one per line, exit 1.
d = FakeDaemon(sock, {"reload": line({"ok": True, "generation": 8})})
r = ctl("-s", sock, "reload")
check(r.returncode == 0 and r.stdout == "reloaded: generation 8\n",
      "reload prints the new generation (%r)" % r.stdout)
check(d.requests == [{"command": "reload"}], "reload sends {command: reload}")
d.replies["reload"] = line({
    "ok": False, "error": "configuration invalid, keeping generation 8",
    "errors": ["/etc/widgetd.conf:3: workers: must be 1 to 256",
               "/var/lib/widgetd/acme/connectors_registry.json:4:17: "
               "connector 'x' (x): url: not a URL [url]", 5,
               "bad\x1b[2J"]})
r = ctl("-s", sock, "reload")
check(r.returncode == 1, "a refused reload exits 1")
check(r.stdout == "", "and prints nothing on stdout")
check(r.stderr ==
      "widgetctl: reload: configuration invalid, keeping generation 8\n"
      "/etc/widgetd.conf:3: workers: must be 1 to 256\n"
      "/var/lib/widgetd/acme/connectors_registry.json:4:17: "
      "connector 'x' (x): url: not a URL [url]\n"
      "bad?[2J\n",
      "the error, then each of errors on its own line, no escapes (%r)"
      % r.stderr)
d.close()

# stop, and stop -w waiting for the socket to go.
d = FakeDaemon(sock, {"stop": line({"ok": True})})
r = ctl("-s", sock, "stop")
check(r.returncode == 0 and r.stdout == "" and r.stderr == "",
      "stop exits 0 quietly")
check(d.requests == [{"command": "stop"}], "stop sends {command: stop}")
d.close()


def go_away(req):
    if req.get("command") == "stop":
        threading.Timer(0.6, d.close).start()


d = FakeDaemon(sock, {"stop": line({"ok": True})}, after=go_away)
t0 = time.monotonic()
r = ctl("-s", sock, "stop", "-w")
took = time.monotonic() - t0
check(r.returncode == 0, "stop -w exits 0 once the socket is gone (%r)"
      % r.stderr)
check(0.5 <= took < 10, "stop -w waited for it (%.2f s)" % took)
check(not os.path.exists(sock), "the socket is gone")

# A killed daemon leaves its socket: stop -w sees nobody listens.
d = FakeDaemon(sock, {"stop": line({"ok": True})},
               after=lambda req: d.sock.close())
t0 = time.monotonic()
r = ctl("-s", sock, "stop", "-w")
check(r.returncode == 0 and time.monotonic() - t0 < 10,
      "stop -w: a socket nobody listens on counts as stopped")
d.close()

# Not running: exit 3, whether there is no socket or a stale one.
r = ctl("-s", sock, "status")
check(r.returncode == 3, "no socket: exit 3")
check(r.stderr == "widgetctl: the daemon is not running (no socket at %s)\n"
      % sock, "no socket: says so (%r)" % r.stderr)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sock)
s.close()
r = ctl("-s", sock, "reload")
check(r.returncode == 3 and "not running (nothing listens at %s)" % sock
      in r.stderr, "stale socket: exit 3 (%r)" % r.stderr)
os.unlink(sock)

# Replies widgetctl cannot use.
for reply, why in ((b"not json\n", "malformed reply from the daemon: "),
                   (b"[1]\n", "not a JSON object"),
                   (b'{"ok":"yes"}\n', 'no boolean "ok"'),
                   (b'{"ok":true}{}\n', "malformed reply"),
                   (b'{"ok":tr', "incomplete JSON"),
                   (None, "closed the connection without a reply")):
    d = FakeDaemon(sock, {"status": reply})
    r = ctl("-s", sock, "status")
    check(r.returncode == 1 and why in r.stderr,
          "reply %r: exit 1, %r (%r)" % (reply, why, r.stderr))
    d.close()

# The daemon's own refusal of a stranger is passed on.
d = FakeDaemon(sock, {"status": b'{"ok":false,"error":"permission denied"}\n'})
r = ctl("-s", sock, "status")
check(r.returncode == 1 and
      r.stderr == "widgetctl: status: permission denied\n",
      "a refusal is printed (%r)" % r.stderr)

# The socket is root's: anyone else is told so by the kernel already.
if os.geteuid() == 0:
    def nobody():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    r = ctl("-s", sock, "status", preexec=nobody)
    check(r.returncode == 1 and "%s: permission denied (the control socket "
          "is for root only)" % sock in r.stderr,
          "not root: permission denied (%r)" % r.stderr)
else:
    print("# skipped: the permission test needs root")
d.close()

# Without -s the socket comes from the configuration.
conf = os.path.join(tmp, "widgetd.conf")
base = ('listen = ( { address = "127.0.0.1"; port = 8080; } );\n'
        'tenants = ( { id = "t"; registry = "r.json"; store = "s"; } );\n')
with open(conf, "w") as f:
    f.write(base + 'control_socket = "ctl.sock";\n')   # relative to conf
d = FakeDaemon(sock, {"status": line(STATUS)})
r = ctl("-c", conf, "status")
check(r.returncode == 0 and r.stdout == STATUS_TEXT,
      "-c: control_socket of the configuration, relative to its directory")
d.close()
with open(conf, "w") as f:
    f.write(base)
r = ctl("-c", conf, "status")
check(r.returncode == 3 and r.stderr.startswith(
      "widgetctl: the daemon is not running (no socket at /") and
      r.stderr.endswith("/widgetd/control.sock)\n"),
      "no control_socket: RUNSTATEDIR/widgetd/control.sock (%r)" % r.stderr)
with open(conf, "w") as f:
    f.write(base + "workers = = 2;\n")
r = ctl("-c", conf, "reload")
check(r.returncode == 1 and
      "%s: invalid configuration; give the control socket with -s" % conf
      in r.stderr and conf + ":3:" in r.stderr,
      "a broken configuration: its errors and a hint (%r)" % r.stderr)

r = ctl("-s", sock, "stop", "-x")
check(r.returncode == 2 and "usage: widgetctl stop [-w]" in r.stderr,
      "stop -x: usage, exit 2")

for name in os.listdir(tmp):
    os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
