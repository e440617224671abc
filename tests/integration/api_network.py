"""Network failures of an execute call (issue 7, platform-docs 17 and 18):
a refused connection, an upstream that closes without answering or
answers garbage, one that stalls past the window (egress.timeout, here
1 s) before its headers or inside its body, and a body over
limits.upstream_body are each 502 with scope "Downstream
(network/external service)".  Server-Timing's external entry names the
host, or "Timeout" when the window ran out; X-Connector-Timing says
timeout: true and carries the error.  The daemon keeps serving."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wdtest import Daemon, check, free_port        # noqa: E402
from upstream import Upstream                      # noqa: E402
from apiutil import access_is, common, envelope, execute  # noqa: E402

SCOPE = "Downstream (network/external service)"
EGRESS = """egress = { allow_http = true;
    allow_networks = [ "127.0.0.0/8", "::1/128" ]; timeout = 1; };"""
LIMIT = 4096


class Raw:
    """A loopback listener answering every connection with fixed bytes,
    then holding it open for hold seconds."""

    def __init__(self, answer, hold=0.0):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.answer, self.hold = answer, hold
        self.count = 0
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.one, args=(c,), daemon=True).start()

    def one(self, c):
        self.count += 1
        try:
            c.settimeout(5)
            c.recv(65536)
            c.sendall(self.answer)
            time.sleep(self.hold)
        except OSError:
            pass
        c.close()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)


release = threading.Event()


def stall(req):
    release.wait(4)     # past the 1 s window; released at the end
    return 200, {"Content-Type": "text/plain"}, b"late"


up = Upstream()
# widgetd stops reading a body over the limit: not the upstream's error.
up.httpd.handle_error = lambda *args: None
up.route("/stall", stall)
up.route("/close", lambda r: None)
up.route("/big", lambda r: (200, {"Content-Type": "text/plain"},
                            b"b" * (LIMIT + 1)))
up.route("/fits", lambda r: (200, {"Content-Type": "text/plain"},
                             b"f" * LIMIT))
body_stall = Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc",
                 hold=3)
garbage = Raw(b"this is not HTTP\r\n\r\n")
unframed = Raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
               b"Connection: close\r\n\r\n" + b"u" * (LIMIT * 3))
closed = free_port()     # nothing listens here
d = Daemon(workers=1, egress=EGRESS, limits="upstream_body = %d;" % LIMIT)
try:
    d.connectors(
        {"name": "refused", "permalink": "refused",
         "url": "http://127.0.0.1:%d/x" % closed},
        {"name": "stall", "permalink": "stall", "url": up.url("/stall"),
         "response_body": "{{ response.body }}"},
        {"name": "close", "permalink": "close", "url": up.url("/close")},
        {"name": "big", "permalink": "big", "url": up.url("/big")},
        {"name": "fits", "permalink": "fits", "url": up.url("/fits")},
        {"name": "body-stall", "permalink": "body-stall",
         "url": body_stall.url()},
        {"name": "garbage", "permalink": "garbage", "url": garbage.url()},
        {"name": "unframed", "permalink": "unframed",
         "url": unframed.url()})
    d.start()

    def failed(permalink, what, timeout=False, error=None):
        t0 = time.monotonic()
        st, h, b = d.call("GET", execute(permalink))
        took = time.monotonic() - t0
        check(st == 502, "%s: 502 (%d %r)" % (what, st, b[:200]))
        doc = envelope(b, 502, None, what, scope=SCOPE)
        check(doc["errors"].get("detail"), "%s: a detail (%s)" %
              (what, doc["errors"].get("detail")))
        rid = common(h, what, external="127.0.0.1", timeout=timeout,
                     error=error)
        ct = json.loads(h["x-connector-timing"])
        access_is(d, rid, what, "test", permalink, 502, error=SCOPE)
        return doc, ct, took

    doc, ct, _ = failed("refused", "connection refused",
                        error="Connection refused")
    check("Connection refused" in doc["errors"]["detail"],
          "the detail says the connection was refused")

    doc, ct, took = failed("stall", "a stalled upstream", timeout=True)
    check(950 <= ct["external_ms"] < 3000 and 0.9 < took < 8,
          "the 1 s window ran out after about 1 s (external_ms %.1f, "
          "%.2f s)" % (ct["external_ms"], took))
    check(ct.get("error") == "Timeout", "X-Connector-Timing error is "
          "Timeout (%r)" % ct.get("error"))
    check(len(up.seen("/stall")) == 1, "the stalled upstream was asked "
          "once (no retry)")

    doc, ct, took = failed("body-stall", "a body stalled halfway",
                           timeout=True)
    check(950 <= ct["external_ms"] < 3000,
          "a body stalled halfway times out in the window too (%.1f)" %
          ct["external_ms"])

    failed("close", "closed without an answer")
    failed("garbage", "an answer that is not HTTP")

    doc, ct, _ = failed("big", "a body over limits.upstream_body")
    n = len(up.requests)
    st, h, b = d.call("GET", execute("fits"))
    check(st == 200 and b == b"f" * LIMIT and len(up.requests) == n + 1,
          "a body of exactly limits.upstream_body comes back whole")
    common(h, "a body at the limit", external="127.0.0.1")
    failed("unframed", "a body without a length, over the limit")

    st, h, b = d.call("GET", "/widget-service/health")
    check(st == 200, "health is 200 after every failure")
    check("broke the protocol" not in d.logtext() and
          len(d.children("worker")) == 1, "no worker was replaced")
finally:
    release.set()
    d.cleanup()
    up.close()
