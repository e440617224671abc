"""Mock upstreams for widgetd's integration tests: HTTP or HTTPS servers on
loopback that record every request and answer as each test tells them.

    up = Upstream()                      # plain http on 127.0.0.1
    up.route("/v1/", lambda r: (200, {"Content-Type": "application/json"},
                                b'{"ok": true}'))
    ...
    up.requests                          # every request seen, in order

The default answer for every path echoes the request: method, path, query,
headers and body as JSON, and every request header back as an
"X-Echo-<name>" response header, so a test can see exactly what widgetd
sent (and check that what must not come back does not)."""

import atexit
import http.server
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time


class Request:
    def __init__(self, handler, body):
        self.method = handler.command
        self.target = handler.path
        self.path, _, self.query = handler.path.partition("?")
        # Header names as sent; a list keeps repeated ones.
        self.header_list = list(handler.headers.items())
        self.headers = {k.lower(): v for k, v in self.header_list}
        self.body = body
        self.time = time.monotonic()
        try:
            cert = handler.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        self.peer_cn = None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    self.peer_cn = v

    def header(self, name):
        return self.headers.get(name.lower())

    def echo(self):
        return {"method": self.method, "path": self.path,
                "query": self.query,
                "headers": [[k, v] for k, v in self.header_list],
                "body": self.body.decode("utf-8", "replace")}


def echo_answer(req):
    body = json.dumps(req.echo()).encode()
    hdrs = {"Content-Type": "application/json"}
    for k, v in req.header_list:
        hdrs["X-Echo-" + k] = v
    return 200, hdrs, body


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        up = self.server.upstream
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        req = Request(self, body)
        with up.lock:
            up.requests.append(req)
            up.connections.add(self.client_address)
        answer = up.answer_for(req)
        if answer is None:
            # Say nothing at all: the connection just closes.
            self.close_connection = True
            return
        status, hdrs, data = answer
        self.send_response(status)
        for k, v in (hdrs or {}).items():
            if isinstance(v, (list, tuple)):
                for one in v:
                    self.send_header(k, one)
            else:
                self.send_header(k, v)
        if data is None:
            data = b""
        if "Content-Length" not in (hdrs or {}):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
    do_HEAD = do_OPTIONS = _serve


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: with 200 calls at once the
    # kernel drops connection attempts, retried 1, 3, 7 s later, and a
    # test sees the upstream's backlog as widgetd's latency.
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A peer that went away mid-answer (a killed worker's call, a
        # timeout) is the test's business, not a traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Upstream:
    """A recording HTTP(S) server on address:0 (a free port)."""

    def __init__(self, address="127.0.0.1", tls=None, port=0):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = set()
        self.routes = []
        self.httpd = _Server((address, port), _Handler)
        self.httpd.upstream = self
        if tls is not None:
            self.httpd.socket = tls.wrap_server(self.httpd.socket)
        self.port = self.httpd.server_address[1]
        self.address = address
        self.scheme = "https" if tls is not None else "http"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path="", host=None):
        h = host or self.address
        if ":" in h and not h.startswith("["):
            h = "[%s]" % h
        return "%s://%s:%d%s" % (self.scheme, h, self.port, path)

    def route(self, prefix, fn):
        """Answer requests whose path starts with prefix with fn(req) ->
        (status, headers, body), or None to close without answering."""
        with self.lock:
            self.routes.insert(0, (prefix, fn))

    def answer_for(self, req):
        with self.lock:
            routes = list(self.routes)
        for prefix, fn in routes:
            if req.path.startswith(prefix):
                return fn(req)
        return echo_answer(req)

    def seen(self, prefix=""):
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.connections.clear()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TestCA:
    """A certificate authority made now, with the openssl command line,
    and server certificates it signs."""

    def __init__(self, name="widgetd test CA"):
        self.dir = tempfile.mkdtemp(prefix="widgetd-ca.")
        # Its keys are of no use once the test has ended.
        atexit.register(shutil.rmtree, self.dir, True)
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        self._run(["openssl", "req", "-x509", "-newkey", "ec",
                   "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                   "-keyout", self.key, "-out", self.cert, "-days", "2",
                   "-subj", "/CN=" + name])

    def _run(self, args):
        subprocess.run(args, check=True, capture_output=True)

    def client(self, name="widgetd client"):
        """A client certificate this CA signs: (cert PEM, key PEM)."""
        base = os.path.join(self.dir, "cli%d" % len(os.listdir(self.dir)))
        key, csr, crt = base + ".key", base + ".csr", base + ".pem"
        self._run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                   "-out", csr, "-subj", "/CN=" + name])
        self._run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert,
                   "-CAkey", self.key, "-CAcreateserial", "-out", crt,
                   "-days", "2"])
        with open(crt) as f, open(key) as g:
            return f.read(), g.read()

    def server(self, names=("localhost",), ips=("127.0.0.1",),
               require_client=False):
        """A TLS context for a server certificate valid for names/ips;
        with require_client, clients must present a certificate this CA
        signed."""
        base = os.path.join(self.dir, "srv%d" % len(os.listdir(self.dir)))
        key, csr, crt, ext = (base + ".key", base + ".csr", base + ".pem",
                              base + ".ext")
        san = ",".join(["DNS:" + n for n in names] +
                       ["IP:" + i for i in ips])
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % san)
        self._run(["openssl", "req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                   "-out", csr, "-subj", "/CN=" + (names[0] if names else
                                                   ips[0])])
        self._run(["openssl", "x509", "-req", "-in", csr, "-CA", self.cert,
                   "-CAkey", self.key, "-CAcreateserial", "-out", crt,
                   "-days", "2", "-extfile", ext])
        return _TLS(crt, key, self.cert if require_client else None)


class _TLS:
    def __init__(self, cert, key, client_ca=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        if client_ca is not None:
            self.ctx.verify_mode = ssl.CERT_REQUIRED
            self.ctx.load_verify_locations(client_ca)

    def wrap_server(self, sock):
        return self.ctx.wrap_socket(sock, server_side=True)


class Sentinel:
    """A listener that only counts connections (a redirect's target, an
    address that must never be reached)."""

    def __init__(self, address="127.0.0.1", port=0):
        fam = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()
