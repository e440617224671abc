"""Helpers for widgetd's integration tests: start a real daemon on
127.0.0.1 with a throw-away configuration, find its processes, talk raw
HTTP to it.  Tests exit 77 (automake's SKIP) when they need root."""

import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    raise AssertionError(msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok - " + msg, flush=True)


def need_root():
    if os.geteuid() != 0:
        print("SKIP: needs root", flush=True)
        sys.exit(SKIP)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it returns something true or timeout seconds pass."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return v
        time.sleep(step)


def pid_gone(pid):
    """True once pid has exited (a zombie or no process at all)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True


def sanitized():
    """A sanitizer build (build.h): children keep their stderr (proc.c),
    and the sanitizer's allocator, not glibc's, manages the heap."""
    top = os.environ.get("top_builddir", ".")
    try:
        with open(os.path.join(top, "build.h")) as f:
            return "#define WIDGETD_SANITIZED 1" in f.read()
    except OSError:
        return False


# What tests of the request path add: plain http to loopback upstreams.
TEST_EGRESS = """egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8", "::1/128" ]; timeout = 5; };"""


class Daemon:
    def __init__(self, workers=2, extra="", limits="", drain=20,
                 egress="", tenants=None, keepers=None):
        self.binary = os.environ.get("WIDGETD") or "./widgetd"
        self.dir = tempfile.mkdtemp(prefix="widgetd-it.")
        self.chroot = os.path.join(self.dir, "empty")
        os.mkdir(self.chroot, 0o755)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.port2 = None       # a second listener when set
        self.conf = os.path.join(self.dir, "widgetd.conf")
        self.logpath = os.path.join(self.dir, "log")
        self.workers = workers
        self.limits = limits
        self.drain = drain
        self.extra = extra
        self.egress = egress
        self.keepers = keepers
        # None: one default tenant "test" on reg.json and store/.
        self.tenants = tenants
        # Publishers the configuration starts (tenants with a repository).
        self.publishers = 0
        self.proc = None
        # The control socket's directory (owned by whoever runs widgetd).
        self.rundir = os.path.join(self.dir, "run")
        os.mkdir(self.rundir, 0o755)
        # The tenant's store: secrets/ (the keeper's) and variables/.
        self.store = os.path.join(self.dir, "store")
        os.mkdir(self.store, 0o755)
        self.registry = os.path.join(self.dir, "reg.json")
        self.write_registry('{"connectors": []}\n')
        self.write_conf()

    def conf_text(self, workers=None, broken=False):
        w = self.workers if workers is None else workers
        second = ""
        if self.port2:
            second = f', {{ address = "127.0.0.1"; port = {self.port2}; }}'
        text = f"""
listen = ( {{ address = "127.0.0.1"; port = {self.port}; }}{second} );
user = "nobody";
keeper_user = "daemon";
chroot = "{self.chroot}";
workers = {w};
control_socket = "{self.rundir}/control.sock";
limits = {{ drain_timeout = {self.drain}; {self.limits} }};
{self.egress}
{self.extra}
"""
        if self.keepers is not None:
            text += "keepers = %d;\n" % self.keepers
        if self.tenants is None:
            text += ('tenants = ( { id = "test"; registry = "reg.json"; '
                     'store = "store"; } );\n')
        else:
            text += "tenants = ( %s );\n" % ", ".join(self.tenants)
        if broken:
            text += "workers = = 3;\n"
        return text

    def write_registry(self, text, path=None):
        path = path or self.registry
        if not isinstance(text, str):
            text = json.dumps(text)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.chmod(path + ".tmp", 0o644)
        os.rename(path + ".tmp", path)

    def connectors(self, *conns, composites=(), path=None):
        """Write a registry of these connector objects."""
        self.write_registry({"connectors": list(conns),
                             "composite_connectors": list(composites)},
                            path)

    def _store_file(self, store, kind, name, value, mode, owner):
        d = os.path.join(store or self.store, kind)
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, name)
        with open(p + ".tmp", "wb") as f:
            f.write(value.encode() if isinstance(value, str) else value)
        os.chmod(p + ".tmp", mode)
        if owner is not None and os.geteuid() == 0:
            os.chown(d, owner, -1)
            os.chown(p + ".tmp", owner, -1)
        os.rename(p + ".tmp", p)

    def set_secret(self, name, value, store=None):
        """A secret as SPEC 4 lays it out (0600, the keeper's user)."""
        import pwd
        uid = pwd.getpwnam("daemon").pw_uid if os.geteuid() == 0 else None
        self._store_file(store, "secrets", name, value, 0o600, uid)
        os.chmod(os.path.join(store or self.store, "secrets"), 0o700)

    def set_variable(self, name, value, store=None):
        self._store_file(store, "variables", name, value, 0o644, None)

    def widgetctl(self, *args, stdin=None, timeout=60):
        """Run widgetctl -c this configuration; a CompletedProcess."""
        ctl = os.environ.get("WIDGETCTL") or "./widgetctl"
        return subprocess.run([ctl, "-c", self.conf, *args], input=stdin,
                              capture_output=True, timeout=timeout)

    def control(self, request, timeout=60):
        """One request object on the control socket; its reply object."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(os.path.join(self.rundir, "control.sock"))
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return json.loads(data)
        finally:
            s.close()

    def call(self, method, path, headers=(), body=b"", host="localhost"):
        """One request on a fresh connection: (status, headers, body)."""
        return request(self.port, method, path, headers, body, host=host)

    def write_conf(self, **kw):
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.conf_text(**kw))
        os.rename(tmp, self.conf)

    def start(self, args=("-d", "-v"), preexec=None):
        # The free port may be taken by someone else before widgetd binds
        # it (other tests run in parallel): then try another.
        for attempt in range(3):
            self.log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(
                [self.binary, *args, "-c", self.conf],
                stdout=self.log, stderr=self.log, preexec_fn=preexec)
            wait_for(lambda: self.proc.poll() is not None or
                     self.all_ready(), 30)
            if self.proc.poll() is None and self.all_ready():
                return self
            if (self.proc.poll() is not None and
                    "cannot bind the listeners" in self.logtext()):
                self.port = free_port()
                self.write_conf()
                continue
            break
        self.dump_log()
        if self.proc.poll() is not None:
            fail("daemon exited early with %s" % self.proc.returncode)
        fail("daemon did not come up")

    def nkeepers(self):
        """Keepers the daemon runs: keepers, never more than workers."""
        return min(self.keepers or 1, self.workers)

    def all_ready(self):
        if self.proc.poll() is not None:
            return None     # exited: start() decides
        kids = self.children()
        if len(kids) != self.workers + self.nkeepers() + self.publishers:
            return False
        # Every child has said it is ready: it does so after it dropped
        # its privileges and installed its own filter.  (Seccomp: 2 in
        # /proc says nothing here: children inherit the parent's filter
        # from fork.)
        try:
            st = self.control({"command": "status"}, timeout=5)
        except (OSError, ValueError):
            return False
        procs = st.get("processes") or []
        if (sorted(p.get("pid") for p in procs) != sorted(kids) or
                not all(p.get("ready") for p in procs)):
            return False
        try:
            st, _, _ = request(self.port, "GET", "/widget-service/health")
        except OSError:
            return False
        return st == 200

    def logtext(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode(errors="replace")

    def dump_log(self):
        sys.stdout.write("---- daemon log ----\n" + self.logtext() +
                         "---- end ----\n")

    def children(self, role=None):
        """{pid: role} of the daemon's live children (by -R role)."""
        out = {}
        ppid = self.proc.pid
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            fields = st.rsplit(")", 1)[1].split()
            if int(fields[1]) != ppid or fields[0] == "Z":
                continue
            if b"-R" in cmd:
                r = cmd[cmd.index(b"-R") + 1].decode()
                if role is None or r == role:
                    out[int(d)] = r
        return out

    def detached_parent_pid(self):
        """The pid of a daemon started without -d (it detached), or None."""
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if self.conf.encode() in cmd and b"-R" not in cmd:
                return int(p)
        return None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=40):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def cleanup(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                for pid in self.children():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait()
            # A sanitizer report from any process fails the test.
            text = self.logtext() if os.path.exists(self.logpath) else ""
            if ("AddressSanitizer" in text or "runtime error:" in text or
                    "LeakSanitizer" in text):
                self.dump_log()
                fail("sanitizer report in the daemon's log")
            # SIGSYS: a seccomp filter killed a child for a syscall.
            if "killed by signal %d" % signal.SIGSYS in text:
                self.dump_log()
                fail("a child was killed by its seccomp filter")
        finally:
            if not os.environ.get("WDTEST_KEEP"):
                shutil.rmtree(self.dir, ignore_errors=True)


def status_of(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].split()
    return None


class Conn:
    """A client connection with a read buffer (responses may arrive
    together, e.g. pipelined)."""

    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return len(chunk)

    def closed_by_peer(self):
        """True when the peer closed (EOF or reset) and nothing is left."""
        try:
            while self._fill():
                pass
        except ConnectionResetError:
            pass
        return True

    def response(self, head=False):
        """(status, headers lower-cased, body), or None when the peer
        closed (or reset) before a status line arrived."""
        try:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill():
                    if self.buf == b"":
                        return None
                    fail("closed inside a response head: %r" % self.buf[:200])
        except ConnectionResetError:
            if self.buf == b"":
                return None
            raise
        head_b, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head_b.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
        if not m:
            fail("bad status line %r" % lines[0])
        hdrs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if head else int(hdrs.get("content-length", "0"))
        self.buf = rest
        while len(self.buf) < n:
            if not self._fill():
                fail("connection closed inside a body")
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(m.group(1)), hdrs, body

    def request(self, method, path, headers=(), body=b"", host="localhost"):
        self.send(build(method, path, headers, body, host))
        r = self.response(head=(method == "HEAD"))
        if r is None:
            raise ConnectionResetError("closed without a response")
        return r

    def close(self):
        self.sock.close()


def read_all(s):
    """Everything s receives up to the end of file, and the error that
    ended it instead (a reset), if any."""
    data, err = b"", None
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        err = e
    return data, err


def build(method, path, headers=(), body=b"", host="localhost"):
    req = f"{method} {path} HTTP/1.1\r\n"
    if host is not None:
        req += f"Host: {host}\r\n"
    for h in headers:
        req += h + "\r\n"
    if body:
        req += f"Content-Length: {len(body)}\r\n"
    return (req + "\r\n").encode() + body


def request(port, method, path, headers=(), body=b"", timeout=15,
            host="localhost"):
    """One request on a fresh connection."""
    c = Conn(port, timeout)
    try:
        return c.request(method, path, headers, body, host=host)
    finally:
        c.close()


def envelope(body):
    doc = json.loads(body)
    return doc["errors"]["code"], doc


def inode_of_client(port, client_port):
    """Inode of the server-side socket of our connection (/proc/net/tcp)."""
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, remote = parts[1], parts[2]
            if (int(local.split(":")[1], 16) == port and
                    int(remote.split(":")[1], 16) == client_port):
                return parts[9]
    return None


def holder(pids, inode):
    """Which of pids holds socket:[inode]."""
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == \
                            f"socket:[{inode}]":
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


def served_by(d, conn, pids, timeout=10):
    """Wait until one of pids holds conn's server side; return it."""
    ino = inode_of_client(d.port, conn.sock.getsockname()[1])
    return wait_for(lambda: holder(pids, ino), timeout)
