"""The keeper's egress (keeper_egress.c) against real servers, through
tests/egress_driver: TLS with a CA made here with the openssl CLI, the
window, the body and header limits, connection reuse, resolve pins,
redirects, redaction, a call under the keeper's sandbox; then the SSRF
table inside a private network namespace (unshare -n -m, root only), where
every special address is aliased on lo, a listener on all of them counts
connections, and /etc/hosts and resolv.conf are the test's own: each
refused address must give the policy error and reach nobody, each allowed
one must work.  Network traffic stays on this machine: loopback outside
the namespace, a namespace with nothing but lo inside."""

import base64
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import SKIP, check, fail, wait_for  # noqa: E402

BUILD = os.environ.get("top_builddir", ".")
DRIVER = os.path.join(BUILD, "tests", "egress_driver")
CANARY = "sk_test_CANARY_4f9a2c7e81d3b6"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=(), chunked=False):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7000):
                part = body[i:i + 7000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        n = int(q.get("n", "0"))
        if u.path == "/ok":
            self.reply(200, b"ok", [("X-Multi", "a"), ("X-Multi", "b")])
        elif u.path == "/redirect":
            self.reply(302, b"moved", [
                ("Location", "http://127.0.0.1:%s/stolen" % q["to"])])
        elif u.path == "/stall":
            time.sleep(6)
            self.close_connection = True
        elif u.path == "/big":
            self.reply(200, bytes(i % 251 for i in range(n)),
                       chunked="chunked" in q)
        elif u.path == "/headers":
            # n lines in all: Server, Date and Content-Length among them.
            self.reply(200, b"ok", [("X-H-%d" % i, "v")
                                    for i in range(n - 3)])
        elif u.path == "/echo":
            # The API key comes back in every form an upstream might use.
            key = self.headers.get("X-Api-Key", "").encode()
            body = json.dumps({
                "request": self.requestline,
                "headers": dict(self.headers.items()),
                "b64": base64.b64encode(key).decode(),
                "b64url": base64.urlsafe_b64encode(key).decode()
                .rstrip("="),
                "hex": key.hex(),
                "pct": urllib.parse.quote(key, safe=""),
            }).encode()
            self.reply(200, body, [("X-Echo", key.decode()),
                                   ("X-Echo-B64",
                                    base64.b64encode(key).decode())])
        else:
            self.reply(404, b"")


class Upstream(http.server.ThreadingHTTPServer):
    """Counts every TCP connection it accepts, with the local address it
    arrived on; TLS when given a context (the handshake after the count)."""
    daemon_threads = True
    block_on_close = False

    def __init__(self, addr, ctx=None, family=socket.AF_INET):
        self.address_family = family
        self.ctx = ctx
        self.accepted = []
        self.lock = threading.Lock()
        super().__init__(addr, Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            # Dual stack: one listener for every local v4 and v6 address.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                                   0)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()

    def get_request(self):
        sock, addr = self.socket.accept()
        with self.lock:
            self.accepted.append(sock.getsockname()[0])
        if self.ctx is not None:
            sock = self.ctx.wrap_socket(sock, server_side=True)
        return sock, addr

    def handle_error(self, request, client_address):
        pass    # failed handshakes, clients that went away

    @property
    def port(self):
        return self.server_address[1]

    def count(self):
        with self.lock:
            return len(self.accepted)


class Sentinel:
    """A TCP listener that only counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.n = 0
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.n += 1
                c.close()
            except socket.timeout:
                pass


def driver(*args, timeout=30):
    """Run the driver; (list of results, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([DRIVER, *args], capture_output=True, timeout=timeout)
    el = time.monotonic() - t0
    if p.returncode != 0:
        fail("driver %s exited %d: %s" % (" ".join(args), p.returncode,
                                          p.stderr.decode()))
    return [json.loads(line) for line in p.stdout.decode().splitlines()], el


def one(*args, **kw):
    r, _ = driver(*args, **kw)
    if len(r) != 1:
        fail("expected one result, got %d" % len(r))
    return r[0]


def body(r):
    return base64.b64decode(r["body_b64"])


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   capture_output=True)


def make_pki(d):
    """Two CAs; a server certificate for good.test and 127.0.0.1 from the
    first, one for the same names from the second (untrusted)."""
    ext = os.path.join(d, "ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:good.test,IP:127.0.0.1\n")
    for ca in ("ca", "other"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca + ".key",
                "-out", ca + ".pem", "-days", "2", "-subj",
                "/CN=widgetd test " + ca, cwd=d)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", ca + "-srv.key", "-out", ca + "-srv.csr",
                "-subj", "/CN=good.test", cwd=d)
        openssl("x509", "-req", "-in", ca + "-srv.csr", "-CA", ca + ".pem",
                "-CAkey", ca + ".key", "-set_serial", "7", "-days", "2",
                "-extfile", ext, "-out", ca + "-srv.pem", cwd=d)


def tls_ctx(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, name + "-srv.pem"),
                        os.path.join(d, name + "-srv.key"))
    return ctx


def loopback_tests(d):
    ca = os.path.join(d, "ca.pem")
    other = os.path.join(d, "other.pem")
    tls = Upstream(("127.0.0.1", 0), tls_ctx(d, "ca"))
    untrusted = Upstream(("127.0.0.1", 0), tls_ctx(d, "other"))
    plain = Upstream(("127.0.0.1", 0))
    p = tls.port
    pin = "good.test:%d:127.0.0.1" % p
    loop = ["--allow", "127.0.0.0/8"]

    r = one("--url", "https://good.test:%d/ok" % p, "--ca", ca,
            "--resolve", pin, *loop)
    check(r["error"] == "ok" and r["status"] == 200 and body(r) == b"ok",
          "https with the configured CA and a resolve pin: 200 (%s)" %
          r["message"])
    check([h for h in r["headers"] if h[0] == "X-Multi"] ==
          [["X-Multi", "a"], ["X-Multi", "b"]],
          "repeated response headers kept in order")
    check(r["ip"] == "127.0.0.1" and r["host"] == "good.test" and
          r["timing"]["tls"] > 0 and
          r["timing"]["tls"] <= r["timing"]["ttfb"] <= r["timing"]["total"],
          "result names host and address; TLS timing within the total")

    r = one("--url", "https://127.0.0.1:%d/ok" % p, "--ca", ca, *loop)
    check(r["error"] == "ok", "https to a literal address in allow_networks "
          "(certificate for the IP)")

    r = one("--url", "https://good.test:%d/ok" % untrusted.port, "--ca", ca,
            "--resolve", "good.test:%d:127.0.0.1" % untrusted.port, *loop)
    check(r["error"] == "tls" and "not trusted" in r["message"],
          "certificate from another CA refused: " + r["message"])
    r = one("--url", "https://good.test:%d/ok" % p, "--ca", other,
            "--resolve", pin, *loop)
    check(r["error"] == "tls" and "not trusted" in r["message"],
          "only the configured bundle is trusted: " + r["message"])
    r = one("--url", "https://good.test:%d/ok" % p, "--resolve", pin, *loop)
    check(r["error"] == "tls", "the system bundle does not know the test CA")
    r = one("--url", "https://bad.test:%d/ok" % p, "--ca", ca,
            "--resolve", "bad.test:%d:127.0.0.1" % p, *loop)
    check(r["error"] == "tls" and r["message"] ==
          "certificate is not for bad.test",
          "certificate for another name refused: " + r["message"])

    before = plain.count()
    r = one("--url", "http://127.0.0.1:%d/ok" % plain.port, "--ca", ca, *loop)
    check(r["error"] == "policy" and "scheme http not allowed" in
          r["message"] and plain.count() == before,
          "plain http refused without allow_http, nothing connected")
    r = one("--url", "http://127.0.0.1:%d/ok" % plain.port, "--ca", ca,
            "--allow-http", *loop)
    check(r["error"] == "ok" and r["status"] == 200,
          "plain http with allow_http")
    before = tls.count()
    r = one("--url", "https://good.test:%d/ok" % p, "--ca", ca,
            "--resolve", pin)
    check(r["error"] == "policy" and r["message"] ==
          "destination 127.0.0.1 refused: loopback address" and
          tls.count() == before,
          "a pin to loopback without allow_networks: refused, 0 connections")

    # Redirects: returned as they are; the target sees nobody.
    s = Sentinel()
    r = one("--url", "https://good.test:%d/redirect?to=%d" % (p, s.port),
            "--ca", ca, "--resolve", pin, *loop)
    time.sleep(0.5)
    s.stop = True
    loc = [h[1] for h in r["headers"] if h[0] == "Location"]
    check(r["error"] == "ok" and r["status"] == 302 and body(r) == b"moved"
          and loc == ["http://127.0.0.1:%d/stolen" % s.port],
          "a 302 comes back as a response with its Location")
    check(s.n == 0, "the redirect's sentinel listener saw 0 connections")

    # The window.
    r, el = driver("--url", "https://good.test:%d/stall" % p, "--ca", ca,
                   "--resolve", pin, "--timeout-ms", "1000", *loop)
    r = r[0]
    check(r["error"] == "timeout" and 1.0 <= el < 6.0,
          "a stalled upstream times out in %.2f s (window 1 s)" % el)
    r, el = driver("--url", "https://good.test:%d/stall" % p, "--ca", ca,
                   "--resolve", pin, "--deadline-ms", "700", *loop)
    r = r[0]
    check(r["error"] == "timeout" and 0.7 <= el < 5.7,
          "an absolute deadline: timeout in %.2f s (700 ms)" % el)

    # Bodies: Content-Length and chunked, at and over the limit.
    for kind in ("", "&chunked=1"):
        n = 300000
        r = one("--url", "https://good.test:%d/big?n=%d%s" % (p, n, kind),
                "--ca", ca, "--resolve", pin, *loop)
        check(r["error"] == "ok" and body(r) == bytes(i % 251
                                                      for i in range(n)),
              "%s body of %d bytes intact" %
              ("chunked" if kind else "Content-Length", n))
        r = one("--url", "https://good.test:%d/big?n=1000%s" % (p, kind),
                "--ca", ca, "--resolve", pin, "--max-body", "1000", *loop)
        check(r["error"] == "ok" and r["body_len"] == 1000,
              "body exactly at upstream_body passes (%s)" %
              ("chunked" if kind else "Content-Length"))
        r = one("--url", "https://good.test:%d/big?n=1001%s" % (p, kind),
                "--ca", ca, "--resolve", pin, "--max-body", "1000", *loop)
        check(r["error"] == "too_big" and r["body_len"] == 0 and
              r["message"] == "upstream body over 1000 bytes",
              "one byte over upstream_body is an error, not a truncated "
              "body (%s)" % ("chunked" if kind else "Content-Length"))

    # Header caps.
    r = one("--url", "https://good.test:%d/headers?n=30" % p, "--ca", ca,
            "--resolve", pin, "--max-headers", "30", *loop)
    check(r["error"] == "ok", "30 header lines with max 30")
    r = one("--url", "https://good.test:%d/headers?n=31" % p, "--ca", ca,
            "--resolve", pin, "--max-headers", "30", *loop)
    check(r["error"] == "protocol" and "more than 30 header lines" in
          r["message"], "31 header lines with max 30: " + r["message"])
    r = one("--url", "https://good.test:%d/headers?n=60" % p, "--ca", ca,
            "--resolve", pin, "--header-bytes", "512", *loop)
    check(r["error"] == "protocol" and "bytes of headers" in r["message"],
          "header bytes over the cap: " + r["message"])

    # Reuse: two calls, one connection, one TLS handshake.
    fresh = Upstream(("127.0.0.1", 0), tls_ctx(d, "ca"))
    rs, _ = driver("--url", "https://good.test:%d/ok" % fresh.port, "--ca",
                   ca, "--resolve", "good.test:%d:127.0.0.1" % fresh.port,
                   "--repeat", "3", *loop)
    check([x["reused"] for x in rs] == [False, True, True] and
          fresh.count() == 1 and rs[1]["timing"]["tls"] == 0,
          "three calls over one connection (server saw %d)" % fresh.count())

    # Redaction: the canary in every form the upstream echoes it in.
    hf = os.path.join(d, "headers")
    sf = os.path.join(d, "secrets")
    with open(hf, "w") as f:
        f.write("X-Api-Key: %s\n" % CANARY)
    with open(sf, "w") as f:
        f.write(CANARY + "\n")
    r = one("--url", "https://good.test:%d/echo" % p, "--ca", ca,
            "--resolve", pin, "--header-file", hf, "--redact-file", sf, *loop)
    text = body(r) + json.dumps(r["headers"]).encode()
    forms = [CANARY.encode(), base64.b64encode(CANARY.encode()),
             base64.urlsafe_b64encode(CANARY.encode()).rstrip(b"="),
             CANARY.encode().hex().encode(),
             urllib.parse.quote(CANARY, safe="").encode()]
    check(r["error"] == "ok" and not any(f in text for f in forms) and
          r["redactions"] >= 7 and b"[REDACTED]" in body(r),
          "the echoed canary is redacted in headers and body, raw, base64, "
          "base64url, hex and percent-encoded (%d marks)" % r["redactions"])
    doc = json.loads(body(r))
    check(doc["request"] == "GET /echo HTTP/1.1" and
          doc["headers"].get("X-Api-Key") == "[REDACTED]" and
          set(doc["headers"]) == {"Host", "X-Api-Key", "Accept",
                                  "Accept-Encoding"},
          "the request carried the connector's header and nothing else "
          "but Host, Accept, Accept-Encoding: %s" % sorted(doc["headers"]))

    # The keeper's sandbox: Landlock to the resolver files, seccomp.
    rs, _ = driver("--url", "https://good.test:%d/ok" % p, "--ca", ca,
                   "--resolve", pin, "--repeat", "2", "--sandbox", *loop)
    check([x["error"] for x in rs] == ["ok", "ok"],
          "https calls under the keeper's seccomp filter and Landlock")

    for srv in (tls, untrusted, plain, fresh):
        srv.shutdown()


# --- the SSRF table, inside a network namespace -------------------------

ALIASES4 = ["10.1.2.3", "172.16.5.5", "192.168.7.7", "169.254.169.254",
            "100.64.0.1", "198.18.0.1", "8.8.8.8"]
ALIASES6 = ["fd00::5", "2002:a01:203::1", "64:ff9b::a01:203",
            "64:ff9b::7f00:1", "64:ff9b::808:808", "2001:db8::5", "fe80::5",
            "2606:4700::1111"]

# (what, address, reason in the policy error)
REFUSED = [
    ("loopback", "127.0.0.1", "loopback"),
    ("loopback, not .1", "127.9.9.9", "loopback"),
    ("loopback v6", "::1", "loopback"),
    ("v4-mapped loopback", "::ffff:127.0.0.1", "loopback"),
    ("private 10/8", "10.1.2.3", "private"),
    ("private 172.16/12", "172.16.5.5", "private"),
    ("private 192.168/16", "192.168.7.7", "private"),
    ("v4-mapped private", "::ffff:10.1.2.3", "private"),
    ("unique local v6", "fd00::5", "unique local"),
    ("cloud metadata", "169.254.169.254", "link-local"),
    ("link-local v6", "fe80::5", "link-local"),
    ("carrier-grade NAT", "100.64.0.1", "carrier-grade NAT"),
    ("unspecified", "0.0.0.0", "unspecified"),
    ("unspecified v6", "::", "unspecified"),
    ("6to4 of 10.1.2.3", "2002:a01:203::1", "private"),
    ("NAT64 of 10.1.2.3", "64:ff9b::a01:203", "private"),
    ("NAT64 of 127.0.0.1", "64:ff9b::7f00:1", "loopback"),
    ("multicast", "224.0.0.1", "multicast"),
    ("multicast v6", "ff02::1", "multicast"),
    ("broadcast", "255.255.255.255", "broadcast"),
    ("benchmarking", "198.18.0.1", "benchmarking"),
    ("documentation v6", "2001:db8::5", "documentation"),
]

ALLOWED = [
    ("public", "8.8.8.8", []),
    ("public v6", "2606:4700::1111", []),
    ("NAT64 of a public address", "64:ff9b::808:808", []),
    ("private inside allow_networks", "10.1.2.3", ["10.1.2.0/24"]),
    ("v4-mapped inside allow_networks", "::ffff:10.1.2.3", ["10.1.2.0/24"]),
    ("6to4 inside allow_networks", "2002:a01:203::1", ["10.1.2.0/24"]),
    ("unique local inside allow_networks", "fd00::5", ["fd00::/8"]),
    ("metadata address named in allow_networks", "169.254.169.254",
     ["169.254.169.254/32"]),
]


def hostname(addr):
    return "h-" + addr.replace(":", "-").replace(".", "-") + ".test"


def urlhost(addr):
    return "[%s]" % addr if ":" in addr else addr


def netns_tests():
    """Runs as root inside unshare -n -m."""
    def sh(*a):
        subprocess.run(a, check=True, capture_output=True)

    sh("ip", "link", "set", "lo", "up")
    for a in ALIASES4:
        sh("ip", "addr", "add", a + "/32", "dev", "lo")
    for a in ALIASES6:
        sh("ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
    d = tempfile.mkdtemp(prefix="egress-ns.")
    hosts = os.path.join(d, "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n")
        for _, a, _ in REFUSED + ALLOWED:
            if a != "::ffff:127.0.0.1" and not a.startswith("::ffff:"):
                f.write("%s %s\n" % (a, hostname(a)))
        f.write("10.1.2.3 mixed.test\n8.8.8.8 mixed.test\n")
    resolv = os.path.join(d, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    sh("mount", "--bind", hosts, "/etc/hosts")
    sh("mount", "--bind", resolv, "/etc/resolv.conf")

    srv = Upstream(("::", 0), family=socket.AF_INET6)
    p = srv.port
    ca = "/etc/ssl/certs/ca-certificates.crt"
    base = ["--ca", ca, "--allow-http"]

    def attempt(addr, how, allow):
        if how == "literal":
            host = urlhost(addr)
            if addr.startswith("fe80:"):
                host = "[%s%%25lo]" % addr
            extra = []
        elif how == "hosts":
            host, extra = hostname(addr), []
        else:
            host = "pin.test"
            extra = ["--resolve", "pin.test:%d:%s" % (p, urlhost(addr))]
        args = ["--url", "http://%s:%d/ok" % (host, p), *base, *extra]
        for a in allow:
            args += ["--allow", a]
        return one(*args)

    for what, addr, why in REFUSED:
        for how in ("literal", "hosts", "pin"):
            if how == "hosts" and addr.startswith("::ffff:"):
                continue    # glibc turns mapped entries into plain v4
            before = srv.count()
            r = attempt(addr, how, [])
            time.sleep(0.05)
            check(r["error"] == "policy" and why in r["message"] and
                  srv.count() == before,
                  "%s %s (%s): refused, 0 connections: %s" %
                  (what, addr, how, r["message"]))
    for what, addr, allow in ALLOWED:
        for how in ("literal", "hosts", "pin"):
            if how == "hosts" and addr.startswith("::ffff:"):
                continue
            before = srv.count()
            r = attempt(addr, how, allow)
            check(r["error"] == "ok" and r["status"] == 200 and
                  srv.count() == before + 1,
                  "%s %s (%s): connected (%s)" % (what, addr, how,
                                                  r["error"]))

    # Spellings of 127.0.0.1 that resolvers and URL parsers accept.
    for lit in ("127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433",
                "[::127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]"):
        before = srv.count()
        r = one("--url", "http://%s:%d/ok" % (lit, p), *base)
        check(r["error"] == "policy" and srv.count() == before,
              "%s: refused, 0 connections: %s" % (lit, r["message"]))

    # A name with a refused and an allowed address: the allowed one.
    before = list(srv.accepted)
    r = one("--url", "http://mixed.test:%d/ok" % p, *base)
    new = srv.accepted[len(before):]
    check(r["error"] == "ok" and r["ip"] == "8.8.8.8" and
          new == ["::ffff:8.8.8.8"],
          "a name with 10.1.2.3 and 8.8.8.8 connects to 8.8.8.8 only (%s)" %
          new)
    r = one("--url", "http://nx.test:%d/ok" % p, *base)
    check(r["error"] == "dns" and r["message"] == "cannot resolve nx.test",
          "a name nobody resolves: " + r["message"])
    rs, _ = driver("--url", "http://%s:%d/ok" % (hostname("8.8.8.8"), p),
                   *base, "--sandbox")
    check(rs[0]["error"] == "ok",
          "under the sandbox, a name is resolved through /etc/hosts")
    before = srv.count()
    rs, _ = driver("--url", "http://%s:%d/ok" % (hostname("10.1.2.3"), p),
                   *base, "--sandbox")
    check(rs[0]["error"] == "policy" and srv.count() == before,
          "under the sandbox, a name for a private address is refused")
    srv.shutdown()
    shutil.rmtree(d)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--netns":
        netns_tests()
        return
    if not os.access(DRIVER, os.X_OK):
        fail("no driver at " + DRIVER)
    if shutil.which("openssl") is None:
        print("SKIP: no openssl command")
        sys.exit(SKIP)
    d = tempfile.mkdtemp(prefix="egress-it.")
    try:
        make_pki(d)
        loopback_tests(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)

    if os.geteuid() != 0 or shutil.which("unshare") is None or \
            shutil.which("ip") is None:
        print("# SKIP the SSRF table: it needs root, unshare and ip "
              "(a private network namespace)")
        return
    probe = subprocess.run(["unshare", "-n", "-m", "true"],
                           capture_output=True)
    if probe.returncode != 0:
        print("# SKIP the SSRF table: unshare -n -m is not permitted here: "
              + probe.stderr.decode().strip())
        return
    p = subprocess.run(["unshare", "-n", "-m", sys.executable,
                        os.path.abspath(__file__), "--netns"], timeout=600)
    if p.returncode != 0:
        fail("the SSRF table inside the namespace failed")


if __name__ == "__main__":
    main()
